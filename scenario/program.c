/* A user's program as a strategy: a [strategy.NAME] section (command, like), or
 * exec:COMMAND in a strategies list. Its attempts are recorded as "exec:NAME". */
#include <stdio.h>
#include <string.h>

#include "../common/strategy.h"
#include "internal.h"

/* what a program's name may hold: what a file's name mostly does, and the
 * rendezvous protocol's tokens too */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.';
}

static bool name_ok(const char *n)
{
	size_t len = strlen(n);

	if (!len || len >= PROGRAM_NAME_MAX)
		return false;
	for (; *n; n++)
		if (!name_char(*n))
			return false;
	return true;
}

int program_find(const struct scenario *s, const char *name)
{
	for (int i = 0; i < s->n_programs; i++)
		if (!strcmp(s->programs[i].name, name))
			return i;
	return -1;
}

static struct run_program *program_add(struct scenario *s, const char *name, int line, struct diag *d)
{
	struct run_program *p;

	if (s->n_programs == RUN_MAX_STRATEGIES) {
		diag_set(d, "at most %d programs", RUN_MAX_STRATEGIES);
		return NULL;
	}
	p = &s->programs[s->n_programs++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->line = line;
	return p;
}

int program_section(struct scenario *s, const char *name, int line, struct diag *d)
{
	int i = program_find(s, name);
	struct run_program *p;

	if (!name_ok(name))
		return diag_set(d, "[strategy.%s]: a program's name is up to %d letters, digits, '-', '_' or '.'",
				name, PROGRAM_NAME_MAX - 1);
	if (strategy_by_name(name) && strategy_by_name(name)->id != STRATEGY_EXEC)
		return diag_set(d, "[strategy.%s]: %s is a built-in strategy", name, name);
	if (i >= 0 && s->programs[i].declared)
		return diag_set(d, "duplicate section [strategy.%s] (first at line %d)", name, s->programs[i].line);
	/* a strategies list may have named it already: the section says what it is */
	p = i >= 0 ? &s->programs[i] : program_add(s, name, line, d);
	if (!p)
		return -1;
	if (p->from_path)
		return diag_set(d, "[strategy.%s]: exec:%s already names a program %s", name, p->command, name);
	p->declared = true;
	p->line = line;
	p->command[0] = '\0';
	return 0;
}

int program_key(struct run_program *p, const char *key, const char *value, int line, struct diag *d)
{
	if (!strcmp(key, "command")) {
		if (!*value || strlen(value) >= sizeof(p->command))
			return diag_set(d, "command: empty or longer than %zu characters", sizeof(p->command) - 1);
		snprintf(p->command, sizeof(p->command), "%s", value);
		p->command_line = line;
		return 0;
	}
	if (!strcmp(key, "like")) {
		const struct strategy *st = strategy_by_name(value);

		if (!st || st->id == STRATEGY_EXEC)
			return diag_set(d, "like: \"%s\" is not a built-in strategy", value);
		snprintf(p->like, sizeof(p->like), "%s", st->name);
		return 0;
	}
	if (!strcmp(key, "lead_ms")) {
		if (parse_double(value, 0, 10000, &p->lead_ms))
			return diag_set(d, "lead_ms: \"%s\" is not a number of ms from 0 to 10000", value);
		return 0;
	}
	if (!strcmp(key, "server_command")) {
		if (!*value || strlen(value) >= sizeof(p->server_command))
			return diag_set(d, "server_command: empty or longer than %zu characters",
					sizeof(p->server_command) - 1);
		snprintf(p->server_command, sizeof(p->server_command), "%s", value);
		p->server_line = line;
		return 0;
	}
	if (!strcmp(key, "server_port")) {
		double v;

		if (parse_double(value, 1, 65535, &v) || v != (unsigned)v)
			return diag_set(d, "server_port: \"%s\" is not a port from 1 to 65535", value);
		p->server_port = (unsigned)v;
		p->server_port_line = line;
		return 0;
	}
	return diag_set(d, "unknown key \"%s\" in [strategy.%s] (expected command, like, lead_ms, server_command, server_port)",
			key, p->name);
}

int program_token(struct scenario *s, const char *tok, int line, char *out, size_t len, struct diag *d)
{
	size_t pre = strlen(STRATEGY_EXEC_PREFIX);
	const char *rest = strncmp(tok, STRATEGY_EXEC_PREFIX, pre) ? NULL : tok + pre;
	char name[PROGRAM_NAME_MAX];
	struct run_program *p;
	int i;

	if (rest && !*rest)
		return diag_set(d, "strategies: exec: needs a program");
	if (rest && !name_ok(rest)) {
		/* exec:PATH: named for the path's last part */
		const char *base = strrchr(rest, '/') ? strrchr(rest, '/') + 1 : rest;
		size_t k = 0;

		if (strlen(rest) >= sizeof(p->command))
			return diag_set(d, "strategies: exec:%.40s...: too long", rest);
		for (; base[k] && k < sizeof(name) - 1; k++)
			name[k] = name_char(base[k]) ? base[k] : '_';
		name[k] = '\0';
		if (!k)
			return diag_set(d, "strategies: exec:%s names no program", rest);
		i = program_find(s, name);
		if (i >= 0 && strcmp(s->programs[i].command, rest))
			return diag_set(d, "strategies: two programs named %s: name one with a [strategy.NAME] section",
					name);
		if (i < 0) {
			p = program_add(s, name, 0, d);
			if (!p)
				return -1;
			snprintf(p->command, sizeof(p->command), "%s", rest);
			p->from_path = true;
		}
	} else {
		/* exec:NAME or NAME: a [strategy.NAME] section, before or after this
		 * line; without one, exec:NAME runs the command NAME */
		snprintf(name, sizeof(name), "%s", rest ? rest : tok);
		if (!name_ok(name))
			return diag_set(d, "strategies: \"%s\" is no strategy", tok);
		i = program_find(s, name);
		p = i >= 0 ? &s->programs[i] : program_add(s, name, 0, d);
		if (!p)
			return -1;
		if (rest)
			p->exec_named = true;
		if (!p->ref_line)
			p->ref_line = line;
	}
	snprintf(out, len, "%s%s", STRATEGY_EXEC_PREFIX, name);
	return 0;
}

const struct run_program *scenario_program(const struct scenario *s, const char *strategy)
{
	size_t pre = strlen(STRATEGY_EXEC_PREFIX);
	int i = strncmp(strategy, STRATEGY_EXEC_PREFIX, pre) ? -1 : program_find(s, strategy + pre);

	return i < 0 ? NULL : &s->programs[i];
}

/* A program's own server: its port told, and one that nothing else in the lab's
 * rendezvous host takes (natlab's server and its STUN port, another program's). */
static int programs_server_check(const struct scenario *s, int i, struct diag *d)
{
	const struct run_program *p = &s->programs[i];
	unsigned rv = s->matrix.line ? s->matrix.run.server_port : s->run.server_port;

	if (!rv)
		rv = RUN_SERVER_PORT;
	if (p->server_command[0] && !p->server_port)
		return diag_set(d, "%s:%d: [strategy.%s]: server_command needs server_port (where it listens: the attempts wait for it)",
				s->path, p->server_line, p->name);
	if (!p->server_port)
		return 0;
	if (!p->server_command[0])
		return diag_set(d, "%s:%d: [strategy.%s]: server_port without a server_command", s->path,
				p->server_port_line, p->name);
	if (p->server_port == rv || p->server_port == rv + 1)
		return diag_set(d, "%s:%d: [strategy.%s]: server_port %u is natlab's rendezvous server's (server_port %u and the next)",
				s->path, p->server_port_line, p->name, p->server_port, rv);
	for (int k = 0; k < i; k++)
		if (s->programs[k].server_port == p->server_port)
			return diag_set(d, "%s:%d: [strategy.%s]: server_port %u is [strategy.%s]'s too (line %d)", s->path,
					p->server_port_line, p->name, p->server_port, s->programs[k].name,
					s->programs[k].server_port_line);
	return 0;
}

int resolve_programs(struct scenario *s, struct diag *d)
{
	for (int i = 0; i < s->n_programs; i++) {
		struct run_program *p = &s->programs[i];

		if (p->declared && !p->command[0])
			return diag_set(d, "%s:%d: [strategy.%s] has no command", s->path, p->line, p->name);
		if (programs_server_check(s, i, d))
			return -1;
		if (p->declared || p->from_path)
			continue;
		if (!p->exec_named) {
			char known[160] = "";

			for (int k = 0; k < STRATEGY_COUNT; k++)
				if (k != STRATEGY_EXEC)
					snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s, ",
						 strategy_table[k].name);
			return diag_set(d, "%s:%d: strategies: unknown strategy \"%s\" (expected %sexec:COMMAND or a [strategy.%s] section)",
					s->path, p->ref_line, p->name, known, p->name);
		}
		memcpy(p->command, p->name, sizeof(p->name)); /* names are shorter than commands */
	}
	return 0;
}
