/* Named link conditions (natsim/links/NAME.link): delay, jitter and loss of a
 * node's link into the internet, from published measurements. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../common/inifile.h"
#include "../natsim/profile.h"
#include "internal.h"

static int preset_key(void *user, const char *section, const char *key, const char *value, int line,
		      struct diag *d)
{
	struct link_preset *p = user;
	bool loss = !strcmp(key, "loss");
	double *at = !strcmp(key, "delay_ms") ? &p->delay_ms : !strcmp(key, "jitter_ms") ? &p->jitter_ms
							    : !strcmp(key, "rate_mbit") ? &p->rate_mbit : loss ? &p->loss : NULL;

	(void)line;
	if (strcmp(section, "link"))
		return diag_set(d, "unknown section [%s] (expected [link])", section);
	if (!strcmp(key, "source"))
		return 0; /* for the reader: the figures' origin */
	if (!at)
		return diag_set(d, "unknown key \"%s\" in [link] (expected delay_ms, jitter_ms, loss, rate_mbit, source)", key);
	if (parse_double(value, 0, loss ? 1 : 100000, at))
		return diag_set(d, "%s: \"%s\" is not a %s", key, value,
				loss ? "fraction from 0 to 1" : "number of ms from 0 to 60000");
	return 0;
}

static int preset_section(void *user, const char *section, int line, struct diag *d)
{
	(void)user;
	(void)line;
	return strcmp(section, "link") ? diag_set(d, "unknown section [%s] (expected [link])", section) : 0;
}

int link_preset_load(const char *name, struct link_preset *p, struct diag *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct ini_cb cb = { preset_section, preset_key, p };
	size_t n = strlen(name);

	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return diag_set(d, "link: \"%s\" is not a link preset's name", name);
	if (!n || n > 64)
		return diag_set(d, "link: \"%s\" is not a link preset's name", name);
	/* beside the NAT presets: natsim/links, or share/natlab/links installed */
	snprintf(path, sizeof(path), "%s/../links/%s.link", nat_profile_dir(dir, sizeof(dir)), name);
	{
		FILE *f = fopen(path, "re");

		if (!f)
			return diag_set(d, "link: no preset \"%s\" (looked for %s)", name, path);
		fclose(f);
	}
	return ini_file_parse(path, &cb, d);
}
