/* exec:NAME: the user's own program, started at the agreed instant with what it
 * needs to know in its environment (docs/programs.md); exit 0 = connected. Its
 * last line of output goes into the report for natlab run to read (JSON: path,
 * rtt_ms). Its process group is ended at the deadline. On descriptor 3 it has a
 * line channel to its partner's program through the rendezvous server (RELAY 08),
 * for its own signalling (ICE candidates). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../peer.h"
#include "strategies.h"

extern char **environ;

/* the program's signalling descriptor, and the longest line it carries: a RELAY
 * line's hex is twice as long */
#define SIGNAL_FD 3
#define SIGNAL_TAG "08"
#define SIGNAL_LINE_MAX ((PROTO_LINE_MAX - sizeof("RELAY " SIGNAL_TAG "\n")) / 2)

struct signal_chan {
	int fd; /* natlab's end; -1 once the program closed its own */
	bool rv_open; /* the rendezvous connection, until the server closes it */
	char buf[4096]; /* from the program, up to its next newline */
	size_t len;
	bool skipping; /* in a line too long to pass: dropped to its end */
	char out[65536]; /* to the program, what its socket did not take yet */
	size_t out_len;
	unsigned sent, received, dropped;
};

/* what the program is told, ahead of the instant: only the spawn is left at it */
void program_prepare(struct peer *p)
{
	char ep[32], v[48];
	int64_t start = (int64_t)p->go.start_ns + p->offset_ns - p->clock_offset_ns;

	/* what natlab run hands the peer alone */
	unsetenv("NATLAB_PROBE_SECRET");
	unsetenv("NATLAB_BUILD_LOCK");
	unsetenv("NATLAB_TURN_PASSWORD");
	snprintf(v, sizeof(v), "%d", p->side);
	setenv("NATLAB_SIDE", v, 1);
	setenv("NATLAB_STRATEGY", p->strategy, 1);
	setenv("NATLAB_ATTEMPT", p->attempt, 1);
	proto_fmt_endpoint(&p->go.peer_tcp, ep, sizeof(ep));
	setenv("NATLAB_PEER_ENDPOINT", ep, 1);
	*strrchr(ep, ':') = '\0';
	setenv("NATLAB_PEER_ADDR", ep, 1);
	snprintf(v, sizeof(v), "%u", ntohs(p->go.peer_tcp.sin_port));
	setenv("NATLAB_PEER_PORT", v, 1);
	snprintf(v, sizeof(v), "%u", p->port);
	setenv("NATLAB_LOCAL_PORT", v, 1);
	proto_fmt_endpoint(&p->server, ep, sizeof(ep));
	setenv("NATLAB_RENDEZVOUS", ep, 1);
	/* where a [strategy.NAME] server_command runs: the rendezvous host */
	*strrchr(ep, ':') = '\0';
	setenv("NATLAB_SERVER_ADDR", ep, 1);
	/* in real time, which is what the program reads: the instant this host's
	 * clock (clock_offset_ms off) shows the start */
	snprintf(v, sizeof(v), "%.9f", (double)start / 1e9);
	setenv("NATLAB_START", v, 1);
	snprintf(v, sizeof(v), "%g", (double)p->clock_offset_ns / 1e6);
	setenv("NATLAB_CLOCK_OFFSET_MS", v, 1);
	snprintf(v, sizeof(v), "%g", p->deadline_s);
	setenv("NATLAB_DEADLINE_S", v, 1);
	snprintf(v, sizeof(v), "%d", SIGNAL_FD);
	setenv("NATLAB_SIGNAL_FD", v, 1);
}

static unsigned newlines(const char *b, size_t n)
{
	unsigned k = 0;

	for (size_t i = 0; i < n; i++)
		k += b[i] == '\n';
	return k;
}

/* room left in a TCP socket's send buffer, in bytes */
static int rv_room(int fd)
{
	int queued = 0, size = 0;
	socklen_t len = sizeof(size);

	if (ioctl(fd, SIOCOUTQ, &queued) || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &len))
		return 0;
	return size - queued;
}

/* the program's lines, each to the partner as RELAY 08 + hex; one that cannot
 * pass (too long for a RELAY line, a NUL byte in it, the server gone) is
 * dropped whole and counted */
static bool signal_out(struct peer *p, struct signal_chan *sc)
{
	ssize_t n = read(sc->fd, sc->buf + sc->len, sizeof(sc->buf) - sc->len);
	char *start = sc->buf, *nl;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			sc->dropped += sc->len > 0; /* a last line without its newline */
			sc->len = 0;
			close(sc->fd);
			sc->fd = -1;
		}
		return false;
	}
	sc->len += (size_t)n;
	while ((nl = memchr(start, '\n', sc->len - (size_t)(start - sc->buf)))) {
		size_t ll = (size_t)(nl - start);
		char line[PROTO_LINE_MAX];
		int m;

		if (sc->skipping || ll > SIGNAL_LINE_MAX || memchr(start, '\0', ll) || !sc->rv_open) {
			sc->dropped++;
		} else {
			m = snprintf(line, sizeof(line), "RELAY " SIGNAL_TAG);
			proto_hex(start, ll, line + m);
			m += (int)(2 * ll);
			line[m++] = '\n';
			/* whole lines only, and never a wait: a server that does not
			 * read (its buffer short of twice the line) or that closed the
			 * connection (no SIGPIPE) loses the line, counted */
			if (rv_room(p->rv) >= 2 * m && send(p->rv, line, (size_t)m, MSG_NOSIGNAL | MSG_DONTWAIT) == m)
				sc->sent++;
			else
				sc->dropped++;
		}
		sc->skipping = false;
		start = nl + 1;
	}
	sc->len -= (size_t)(start - sc->buf);
	memmove(sc->buf, start, sc->len);
	if (sc->len == sizeof(sc->buf)) { /* no end in sight: the rest goes with it */
		sc->skipping = true;
		sc->len = 0;
	}
	return true;
}

/* what the program's socket takes of what waits for it; the program closed its
 * end: dropped */
static void signal_flush(struct signal_chan *sc)
{
	ssize_t n;

	if (sc->fd < 0 || !sc->out_len)
		return;
	n = send(sc->fd, sc->out, sc->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		sc->received += newlines(sc->out, (size_t)n); /* taken by the program's socket */
		sc->out_len -= (size_t)n;
		memmove(sc->out, sc->out + n, sc->out_len);
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* its end is closed: what waits is lost; what it wrote last is still
		 * read (signal_out closes at its end) */
		sc->dropped += newlines(sc->out, sc->out_len);
		sc->out_len = 0;
	}
}

/* the partner's lines: those already in the peer's buffer (one may have come
 * with GO), then what the connection has now, without waiting */
static void signal_in(struct peer *p, struct signal_chan *sc, bool readable)
{
	char line[PROTO_LINE_MAX], text[SIGNAL_LINE_MAX + 2];

	if (readable && p->rlen == sizeof(p->rbuf)) {
		sc->rv_open = false; /* a line longer than the protocol's */
	} else if (readable) {
		ssize_t n = recv(p->rv, p->rbuf + p->rlen, sizeof(p->rbuf) - p->rlen, MSG_DONTWAIT);

		if (n > 0)
			p->rlen += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			sc->rv_open = false;
	}
	/* read_line with its time already up: the lines buffered, no read */
	while (read_line(p->rv, p->rbuf, &p->rlen, sizeof(p->rbuf), line, 0, NULL) == 1) {
		size_t n;

		if (strncmp(line, "RELAY " SIGNAL_TAG, 8))
			continue;
		if (proto_unhex(line + 8, text, sizeof(text) - 1)) {
			sc->dropped++;
			continue;
		}
		n = strlen(text);
		text[n++] = '\n';
		if (sc->fd >= 0 && sc->out_len + n <= sizeof(sc->out)) {
			memcpy(sc->out + sc->out_len, text, n);
			sc->out_len += n;
		} else {
			sc->dropped++;
		}
	}
	signal_flush(sc);
}

/* keeps the last line of what the program printed */
static void keep_output(struct peer *p, const char *buf, size_t n, char *line, size_t *len)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (*len) {
				memcpy(p->program_last, line, *len);
				p->program_last[*len] = '\0';
			}
			*len = 0;
		} else if (*len < sizeof(p->program_last) - 1) {
			line[(*len)++] = buf[i];
		}
	}
}

/* A simple command (no list, pipeline, group, subshell or command substitution;
 * not led by an assignment, a redirection, a keyword or a builtin that is no
 * program) is run by the shell with exec, so that the program is the group's
 * leader: SIGTERM at the deadline reaches it and its grace is its own (a shell
 * that forks ends at once and the group is killed), its exit status is the
 * record's, and its closing descriptor 3 is seen (the shell kept it open).
 * 2>&1 and ${VAR} are simple; a command this does not take runs as before. */
static bool simple_command(const char *cmd)
{
	static const char *const not_programs[] = {
		"if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for", "in",
		"!", "{", "}", "function", "select", "time", "[[", "exec", "exit", "cd", "export", "set",
		"unset", ".", "source", "eval", "trap", "wait", "read", "shift", "alias", "command", ":",
		"ulimit", "umask", "readonly", "local", "return", "break", "continue", "getopts", "hash",
		"type", "times", "jobs", "fg", "bg", NULL,
	};
	static const char name_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
	size_t n = strcspn(cmd, " \t");
	const char *eq = memchr(cmd, '=', n);
	int braces = 0; /* inside ${...} */

	if (!n || strcspn(cmd, "<>") < n || (eq && strspn(cmd, name_chars) == (size_t)(eq - cmd)))
		return false;
	for (const char *c = cmd; *c; c++) {
		bool after_redirect = c > cmd && (c[-1] == '>' || c[-1] == '<');

		if (strchr(";|()`\n", *c) || (*c == '&' && !after_redirect) || (*c == '{' && (c == cmd || c[-1] != '$')) ||
		    (*c == '}' && !braces))
			return false;
		braces += *c == '{' ? 1 : *c == '}' ? -1 : 0;
	}
	for (int i = 0; not_programs[i]; i++)
		if (strlen(not_programs[i]) == n && !strncmp(cmd, not_programs[i], n))
			return false;
	return true;
}

void run_program(struct peer *p)
{
	char command[sizeof("exec ") + 4096]; /* a scenario's command is 511 characters at most */
	char *const argv[] = { "sh", "-c", command, NULL };
	char line[sizeof(p->program_last)];
	size_t len = 0;
	/* its deadline counts from its instant, not from its early start */
	double start = mono(), until = start + (double)p->lead_ns / 1e9 + p->deadline_s, kill_at = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int out[2], sig_pair[2], pidfd = -1, status = 0, sig = SIGTERM, rc;
	struct signal_chan sc = { .fd = -1, .rv_open = true };
	pid_t pid;
	bool done = false, leader_gone = false;

	p->outcome = "error";
	if (!p->command) {
		p->err = EINVAL;
		return;
	}
	if ((size_t)snprintf(command, sizeof(command), "%s%s", simple_command(p->command) ? "exec " : "",
			     p->command) >= sizeof(command)) {
		p->err = E2BIG;
		return;
	}
	if (pipe2(out, O_CLOEXEC)) {
		p->err = errno;
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sig_pair)) {
		p->err = errno;
		close(out[0]);
		close(out[1]);
		return;
	}
	posix_spawn_file_actions_init(&fa);
	/* not natlab run's terminal: a read there would stop it (SIGTTIN) */
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, sig_pair[1], SIGNAL_FD);
	if (p->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, p->cwd);
	posix_spawnattr_init(&at);
	/* a group of its own: what it starts ends with it at the deadline */
	/* ... and SIGPIPE as the program expects it, not as the peer ignores it */
	{
		sigset_t def;

		sigemptyset(&def);
		sigaddset(&def, SIGPIPE);
		posix_spawnattr_setsigdefault(&at, &def);
	}
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&at, 0);
	mark_sent(p);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
	timing_calm(&p->tm);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(out[1]);
	close(sig_pair[1]);
	sc.fd = sig_pair[0];
	fcntl(sc.fd, F_SETFL, O_NONBLOCK);
	if (rc) {
		p->err = rc;
		close(out[0]);
		close(sc.fd);
		return;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	p->tries = 1;
	signal_in(p, &sc, false); /* a line that came with GO */
	while (!done) {
		/* a descriptor of -1 is left out of poll */
		struct pollfd pf[4] = { { .fd = leader_gone ? -1 : pidfd, .events = POLLIN },
					{ .fd = out[0], .events = POLLIN },
					{ .fd = sc.fd, .events = POLLIN | (sc.out_len ? POLLOUT : 0) },
					{ .fd = sc.rv_open ? p->rv : -1, .events = POLLIN } };
		double now = mono(), wait = (kill_at ? kill_at : until) - now;
		char buf[4096];
		ssize_t n;

		if (wait <= 0) {
			/* past the deadline: its group is asked to end, then made to */
			kill(-pid, sig);
			if (sig == SIGKILL)
				break;
			sig = SIGKILL;
			kill_at = now + 0.5;
			p->outcome = "timeout";
			p->err = ETIMEDOUT;
			continue;
		}
		/* without a pidfd (an old kernel): a look every 10 ms */
		if ((pidfd < 0 || leader_gone) && wait > 0.01)
			wait = 0.01;
		if (poll(pf, 4, (int)(wait * 1000) + 1) < 0 && errno != EINTR)
			break;
		/* what the program wrote before what it is sent: its last words first */
		if (sc.fd >= 0 && (pf[2].revents & (POLLIN | POLLHUP | POLLERR)))
			signal_out(p, &sc);
		if (sc.fd >= 0 && (pf[2].revents & POLLOUT))
			signal_flush(&sc);
		if (sc.rv_open)
			signal_in(p, &sc, pf[3].revents & (POLLIN | POLLHUP | POLLERR));
		if (out[0] >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			n = read(out[0], buf, sizeof(buf));
			if (n > 0)
				keep_output(p, buf, (size_t)n, line, &len);
			else {
				close(out[0]);
				out[0] = -1;
			}
		}
		if (!leader_gone && (pidfd < 0 || (pf[0].revents & POLLIN))) {
			siginfo_t si = { 0 };

			/* ended, not yet reaped: its zombie keeps the group's id, so what
			 * it left running in the group is killed with certainty, then it
			 * is reaped. A shell that ran a compound command ends at the
			 * deadline's SIGTERM, which its group had too: the group keeps its
			 * grace, until its members have closed the output or it is over */
			if (!waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) && si.si_pid == pid)
				leader_gone = true;
		}
		if (leader_gone && (!kill_at || out[0] < 0)) {
			kill(-pid, SIGKILL);
			done = waitpid(pid, &status, 0) == pid;
		}
	}
	if (!done) {
		kill(-pid, SIGKILL);
		done = waitpid(pid, &status, 0) == pid;
	}
	if (out[0] >= 0) {
		char buf[4096];
		ssize_t n;

		fcntl(out[0], F_SETFL, O_NONBLOCK);
		while ((n = read(out[0], buf, sizeof(buf))) > 0)
			keep_output(p, buf, (size_t)n, line, &len);
		close(out[0]);
	}
	keep_output(p, "\n", 1, line, &len); /* a last line without its newline */
	/* the lines the program wrote before it ended, and what it was not given */
	while (sc.fd >= 0 && signal_out(p, &sc))
		;
	sc.dropped += newlines(sc.out, sc.out_len);
	if (sc.fd >= 0)
		close(sc.fd);
	p->signal_sent = sc.sent;
	p->signal_received = sc.received;
	p->signal_dropped = sc.dropped;
	if (pidfd >= 0)
		close(pidfd);
	/* from its instant (NATLAB_START), not from its early start */
	p->connect_ms = (mono() - start) * 1000 - (double)p->lead_ns / 1e6;
	p->program_exit = !done ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (!strcmp(p->outcome, "timeout"))
		return;
	p->err = 0;
	p->outcome = p->program_exit == 0 ? "connected" : "failed";
}
