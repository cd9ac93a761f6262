/* Named link conditions (natsim/links/NAME.link): delay, jitter and loss of a
 * node's link into the internet, from published measurements. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/inifile.h"
#include "../natsim/profile.h"
#include "internal.h"

/* A link's figures, in the order of their bits in lab_node.link_keys: the keys,
 * their bounds, and what an error calls them. A node's keys, [matrix]'s and a
 * preset's are read by this one table. */
static const struct {
	const char *key;
	double lo, hi;
	const char *what;
} figures[] = {
	{ "delay_ms", 0, 60000, "number of ms from 0 to 60000" },
	{ "jitter_ms", 0, 60000, "number of ms from 0 to 60000" },
	{ "loss", 0, 1, "fraction from 0 to 1" },
	{ "rate_mbit", 0.01, 100000, "number of Mbit/s from 0.01 to 100000" },
	{ "duplicate", 0, 1, "fraction from 0 to 1" },
};

int link_figure_index(const char *key)
{
	for (int k = 0; k < (int)(sizeof(figures) / sizeof(figures[0])); k++)
		if (!strcmp(figures[k].key, key))
			return k;
	return -1;
}

int link_figure(const char *key, const char *value, double *out, struct diag *d)
{
	int k = link_figure_index(key);

	if (k >= 0 && parse_double(value, figures[k].lo, figures[k].hi, out))
		return diag_set(d, "%s: \"%s\" is not a %s", key, value, figures[k].what);
	return k;
}

static int preset_key(void *user, const char *section, const char *key, const char *value, int line,
		      struct diag *d)
{
	struct link_preset *p = user;
	double *at[] = { &p->delay_ms, &p->jitter_ms, &p->loss, &p->rate_mbit }, v;
	int k = link_figure_index(key);

	(void)line;
	if (strcmp(section, "link"))
		return diag_set(d, "unknown section [%s] (expected [link])", section);
	if (!strcmp(key, "source"))
		return 0; /* for the reader: the figures' origin */
	if (k < 0 || k >= (int)(sizeof(at) / sizeof(at[0])))
		return diag_set(d, "unknown key \"%s\" in [link] (expected delay_ms, jitter_ms, loss, rate_mbit, source)", key);
	if (link_figure(key, value, &v, d) < 0)
		return -1;
	*at[k] = v;
	return 0;
}

static int preset_section(void *user, const char *section, int line, struct diag *d)
{
	(void)user;
	(void)line;
	return strcmp(section, "link") ? diag_set(d, "unknown section [%s] (expected [link])", section) : 0;
}

/* "no preset": with the names there are, so that a typo is seen at once */
static int no_preset(const char *name, const char *path, struct diag *d)
{
	char dir[PATH_MAX], names[16][64], have[16 * 66] = "", *shown;
	const char *slash = strrchr(path, '/');
	int n, rc;

	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	n = natsim_names(dir, ".link", names, 16);
	for (int i = 0; i < n; i++)
		snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", i ? ", " : "", names[i]);
	shown = realpath(dir, NULL); /* not natsim/profiles/../links */
	rc = diag_set(d, "link: no preset \"%s\" (%s%s in %s)", name, n ? "there are " : "none", have,
		      shown ? shown : dir);
	free(shown);
	return rc;
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
			return no_preset(name, path, d);
		fclose(f);
	}
	return ini_file_parse(path, &cb, d);
}
