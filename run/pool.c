/* The pool of natlab run: its labs as worker processes, as many side by side as
 * the cores (fewer when the timer wake-ups are late), their progress, meta.json. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../cli/subcommands.h"
#include "../common/cpus.h"
#include "../common/libnfct.h"
#include "../common/outfile.h"
#include "../common/sibling.h"
#include "../common/timing.h"
#include "../netns/lab.h"
#include "child.h"
#include "jobs.h"
#include "lab_job.h"
#include "output.h"
#include "pick.h"
#include "precision.h"
#include "run.h"

/* Labs in flight per core, and attempts in their opening at once (opening_s():
 * the peers' rendezvous, the punch, its answers) per core. A lab waiting out a
 * failing attempt's deadline, near half of a suite's lab time, sends a SYN
 * retransmission or two and is no load (a refused retry redials a round trip
 * apart: opening_s() says when its opening lasts to the deadline), so it does
 * not count against the labs that are punching: the openings are what the
 * cores must keep on time (the suite at 8 labs a core, uncounted, had 7
 * openings at once on the mean and 16 at its peaks). Suites on 2026-12-02
 * (wall time, dcutr's emitted-skew p95): 8 labs a core 228 s, 0.26 ms; 16 labs
 * and 4 openings a core 199 and 198 s, 0.36 (with an experiment since dropped)
 * and 0.41 ms; 16 and 5 175 s, 0.51 ms, past the bound (0.5); 16 and 6 158 and
 * 159 s, 0.45 and 0.48 ms, at its edge. 4 keeps a margin. Since an opening
 * lets go in the gap a skew of seconds leaves and a clock-started punch's ends
 * at its answers (opening_s()): 172-177 s, dcutr's p95 0.32-0.44 ms (four runs;
 * 0.32-0.42 before, 200-205 s). Since staying peers connect before the opening
 * and dcutr's wire is raised for its window: 161-164 s, 0.27-0.46 ms. */
#define LABS_PER_CORE 16
#define OPENINGS_PER_CORE 4

/* 'a' an attempt of the plan, 'r' one run again, 'e' an edge probe: the search
 * decides how many, so each adds to the total too */
struct progress {
	unsigned total, done, again, probes;
};

static void count_progress(const char *b, ssize_t n, struct progress *p)
{
	for (ssize_t i = 0; i < n; i++) {
		if (b[i] == 'r') {
			p->again++;
		} else {
			p->done++;
			p->total += b[i] == 'e';
			p->probes += b[i] == 'e';
		}
	}
}

/* A bar with done/total and an ETA on a terminal; a plain line per tenth if not. */
static void show_progress(unsigned done, unsigned total, int labs, const struct timespec *t0,
			  bool tty, unsigned *last_tenth, bool final)
{
	double el = seconds_since(t0), eta = done ? el / done * (total - done) : 0;
	int width = 30, fill = total ? (int)((double)done / total * width) : width;

	if (tty) {
		fprintf(stderr, "\r[%.*s%.*s] %u/%u attempts, %d labs, %02d:%02d elapsed, ETA %02d:%02d ",
			fill, "##############################", width - fill,
			"..............................", done, total, labs, (int)el / 60, (int)el % 60,
			(int)eta / 60, (int)eta % 60);
		if (final)
			fputc('\n', stderr);
	} else if (total && (done * 10 / total > *last_tenth || (final && *last_tenth < 10))) {
		*last_tenth = done * 10 / total;
		fprintf(stderr, "natlab: %u/%u attempts, %.0f s elapsed, ETA %.0f s\n", done, total, el, eta);
	}
}

/* A shard says which it is, of what plan, and whether it ran all of its labs
 * (exit 0), for natlab merge to check */
static json_t *shard_facts(const struct run_shard *shard, const char *const *names, int n_files, int rc)
{
	json_t *files;

	if (!shard || !shard->count)
		return NULL;
	files = json_array();
	for (int i = 0; i < n_files; i++)
		json_array_append_new(files, json_string(names[i]));
	return json_pack("{s:{s:i,s:i,s:i,s:s,s:o,s:i}}", "shard", "index", shard->index, "count", shard->count,
			 "plan_jobs", shard->plan_jobs, "plan", shard->plan, "scenarios", files, "exit", rc);
}

/* the lines of a file natlab opened to append to (so not through a symlink) */
static long count_lines(const char *path)
{
	char buf[65536];
	long lines = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	if (fd >= 0)
		close(fd);
	return lines;
}

/* meta.json's run: the CPUs the run counted (its affinity, or its labs' [lab]
 * cpus) and the records an earlier run left, beside the shard's facts */
static json_t *run_facts(long cpus, long records_before, json_t *shard)
{
	json_t *j = shard ? shard : json_object();

	json_object_set_new(j, "cpus", json_integer(cpus));
	if (records_before)
		json_object_set_new(j, "records_before", json_integer(records_before));
	return j;
}

/* how many CPUs the files' labs may run on, all of them put together (their
 * wires' too); 0 where one file's programs may run anywhere */
static long files_cpus(struct scenario *const *files, int n_files)
{
	uint64_t all = 0;

	for (int i = 0; i < n_files; i++) {
		if (!files[i]->cpus)
			return 0;
		all |= files[i]->cpus | files[i]->wire_cpus;
	}
	return n_files ? cpus_count(all) : 0;
}

int run_files(const char *const *names, int n_files, const char *out, long jarg, struct run_shard *shard)
{
	char outdir[PATH_MAX], path[PATH_MAX + 32], probe[PATH_MAX];
	struct scenario **files = calloc((size_t)n_files, sizeof(*files));
	struct run_job *jobs = NULL;
	struct run_ctx c = { .probe = probe, .outdir = outdir, .cores = { -1, -1 }, .openings = { -1, -1 },
				.owed = { -1, -1 }, .wires = -1 };
	int64_t late_p50, late_p99;
	struct timespec t0;
	sigset_t old;
	long cores = cpus_count(0), cpus = 0; /* those this process may use: a CI job's cpuset, taskset */
	long records_before = 0; /* in attempts.jsonl before this run's */
	int n_started = 0, n_jobs = 0, running = 0, round_trips = 0, rc = 0, progress[2] = { -1, -1 };
	struct progress pr = { 0 };
	unsigned last_tenth = 0;
	pid_t kids[LABS_PER_CORE * 64] = { 0 }, parent;
	bool kid_round_trips[LABS_PER_CORE * 64] = { false }, *started = NULL;
	bool tty = isatty(2), told = false, output_failed = false;
	ssize_t n;

	if (!files)
		return fail(1, "out of memory");
	{
		/* the NATs' mappings are read and forgotten through it between attempts:
		 * without it each attempt would find the last one's, so no run at all */
		struct nfct_api nfct;
		struct diag d;

		if (nfct_api_load(&nfct, &d)) {
			free(files);
			return fail(1, "%s", d.msg);
		}
		nfct_api_unload(&nfct);
	}
	if (cores < 1)
		cores = 1;
	/* how late this machine wakes a sleeper right now: it states the run's
	 * precision, and a machine that cannot wake on time gets fewer labs at once */
	/* 500 wake-ups: the host takes a core away for 1-4 ms once or twice a
	 * second here, which spoils one or two of them, not the p99 */
	timing_measure_late(500, 1000000, &late_p50, &late_p99);
	/* one bad moment is not a starved machine: the best of up to three looks,
	 * the last a second on. Started right after another suite had ended, two
	 * looks 0.1 s apart both saw 569 us on an otherwise idle machine, and the
	 * run halved its labs (453 s instead of 260) */
	for (int look = 1; look < 3 && late_p99 / 1000 > PRECISION_TIMER_P99_US; look++) {
		int64_t p50, p99;

		usleep(look == 1 ? 100000 : 1000000);
		timing_measure_late(500, 1000000, &p50, &p99);
		if (p99 < late_p99) {
			late_p50 = p50;
			late_p99 = p99;
		}
	}
	rc = jobs_plan(files, names, n_files, shard, &jobs, &n_jobs, &pr.total);
	if (rc)
		goto out;
	{
		/* every lab on a few CPUs ([lab] cpus in each file): as many at once as
		 * those can keep */
		long pinned = files_cpus(files, n_files);

		if (pinned && pinned < cores)
			cores = pinned;
	}
	cpus = cores;
	if (jarg) {
		cores = jarg;
	} else if (late_p99 / 1000 > PRECISION_TIMER_P99_US && cores > 1) {
		fprintf(stderr, "natlab: timer wake-ups are %lld us late at p99 (bound %d): %ld labs busy "
				"at once instead of %ld\n", (long long)(late_p99 / 1000), PRECISION_TIMER_P99_US,
			cores / 2, cores);
		cores /= 2;
	}
	started = calloc((size_t)n_jobs + 1, sizeof(*started));
	if (!started) {
		rc = fail(1, "out of memory");
		goto out;
	}
	/* a shard's labs are named for it: shards on machines that do not know of
	 * each other draw their labs' suffixes alone, and a merge must not meet two
	 * labs (their captures) of one name */
	for (int i = 0; shard && shard->count && i < n_files; i++) {
		char suffix[16];
		size_t keep = strlen(files[i]->name), room;

		snprintf(suffix, sizeof(suffix), "_s%d", shard->index);
		room = sizeof(files[i]->name) - 1 - strlen(suffix);
		if (keep > room)
			keep = room;
		snprintf(files[i]->name + keep, sizeof(files[i]->name) - keep, "%s", suffix);
	}
	if (sibling_program("natlab-probe", probe, sizeof(probe))) {
		rc = fail(1, "%s: %s (run make)", probe, strerror(errno));
		goto out;
	}
	if (out) {
		snprintf(outdir, sizeof(outdir), "%s", out);
	} else {
		char stamp[32];
		time_t t = time(NULL);

		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime(&t));
		snprintf(outdir, sizeof(outdir), "results/%s-%s", stamp, files[0]->name);
	}
	snprintf(path, sizeof(path), "%s/attempts.jsonl", outdir);
	if (mkdirs(outdir) ||
	    (c.records = outfile_open(path, O_APPEND, 0644)) < 0) {
		rc = fail(1, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	/* an earlier run's records stay, and meta.json then covers both: said */
	records_before = count_lines(path);
	if (records_before)
		fprintf(stderr, "natlab: %s has %ld records already: this run's go after them, and meta.json's "
				"outcomes and precision cover them all\n",
			path, records_before);
	snprintf(path, sizeof(path), "%s/wire.jsonl", outdir);
	if ((c.wires = outfile_open(path, O_APPEND, 0644)) < 0) {
		rc = fail(1, "cannot write %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(c.build_lock, sizeof(c.build_lock), "%s/.build.lock", outdir);
	{
		int fd = outfile_open(c.build_lock, 0, 0644);

		if (fd < 0) {
			rc = fail(1, "cannot write %s: %s", c.build_lock, strerror(errno));
			goto out;
		}
		close(fd);
	}
	if (pipe2(c.cores, O_CLOEXEC | O_NONBLOCK) || pipe2(c.openings, O_CLOEXEC | O_NONBLOCK) ||
	    pipe2(c.owed, O_CLOEXEC | O_NONBLOCK) ||
	    pipe2(progress, O_CLOEXEC | O_NONBLOCK)) {
		rc = fail(1, "pipe: %s", strerror(errno));
		goto out;
	}
	if (cores > 64)
		cores = 64;
	for (long i = 0; i < cores; i++)
		core_give(&c);
	for (long i = 0; i < OPENINGS_PER_CORE * cores; i++)
		opening_give(&c);

	c.progress = progress[1];
	c.whole_pcap = n_jobs == 1;
	/* Ctrl-C stops every lab between attempts: the records so far stay, the labs go */
	lab_block_signals(&old);
	parent = getpid();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(stdout);
	fflush(stderr);
	while (n_started < n_jobs || running) {
		struct pollfd p = { .fd = progress[0], .events = POLLIN };
		char b[256];
		int status, next;
		pid_t pid = 0;

		while (n_started < n_jobs && running < LABS_PER_CORE * cores && !lab_stop_pending() &&
		       (next = jobs_pick(jobs, n_jobs, started, round_trips, ROUND_TRIP_LABS_PER_CORE * (int)cores)) >= 0) {
			pid = fork();
			if (pid == 0) {
				struct diag d;
				struct scenario *s;
				int r;

				/* run killed outright: each lab stops after its attempt and goes
				 * (SIGTERM stays blocked: it is taken between attempts) */
				prctl(PR_SET_PDEATHSIG, SIGTERM);
				if (getppid() != parent)
					raise(SIGTERM);
				/* with the run gone, writing it our progress must not kill us
				 * before our lab is down */
				signal(SIGPIPE, SIG_IGN);
				s = job_scenario(files, &jobs[next], &d);

				close(progress[0]);
				if (!s)
					_exit(fail(1, "%s", d.msg));
				r = run_lab(s, &c);
				fflush(stderr);
				_exit(r);
			}
			if (pid < 0) {
				rc = fail(1, "fork: %s", strerror(errno));
				break;
			}
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (!kids[k]) {
					kids[k] = pid;
					kid_round_trips[k] = jobs[next].round_trips;
					break;
				}
			started[next] = true;
			n_started++;
			round_trips += jobs[next].round_trips;
			running++;
		}
		if (pid < 0 && !running)
			break;
		if (poll(&p, 1, 250) > 0 && (n = read(progress[0], b, sizeof(b))) > 0)
			count_progress(b, n, &pr);
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (kids[k] == pid) {
					kids[k] = 0;
					round_trips -= kid_round_trips[k];
				}
			running--;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				int code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;

				if (!rc || code == 130)
					rc = code;
				output_failed |= code == RUN_OUTPUT_FAILED;
			}
		}
		if (output_failed && !told) {
			/* nothing more can be kept: the other labs stop after their attempt */
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (kids[k])
					kill(kids[k], SIGTERM);
			n_jobs = n_started;
			told = true;
		}
		if (lab_stop_pending() && !told) {
			/* a signal for this process alone: pass it to the labs, start no more */
			for (int k = 0; k < LABS_PER_CORE * 64; k++)
				if (kids[k])
					kill(kids[k], SIGTERM);
			n_jobs = n_started;
			told = true;
		}
		show_progress(pr.done, pr.total, running, &t0, tty, &last_tenth, false);
	}
	while ((n = read(progress[0], path, sizeof(path))) > 0)
		count_progress(path, n, &pr);
	show_progress(pr.done, pr.total, 0, &t0, tty, &last_tenth, true);
	if (output_failed) {
		rc = fail(1, "stopped: %s takes no more records; the %u in attempts.jsonl are whole",
			  outdir, pr.done + pr.again);
	} else if (lab_stop_pending() || rc == 130) {
		rc = fail(130, "interrupted; %u records in %s/attempts.jsonl", pr.done + pr.again, outdir);
	} else if (!rc) {
		char probes[64] = "";

		if (pr.probes)
			snprintf(probes, sizeof(probes), ", %u of them probing window edges", pr.probes);
		fprintf(stderr, "natlab: %u attempts%s (and %u run again off schedule) in %s/attempts.jsonl\n",
			pr.done, probes, pr.again, outdir);
	}
	if (!lab_stop_pending() && rc != 130 && !output_failed && write_meta(outdir, cores, pr.done, pr.again, late_p50, late_p99, run_facts(cpus, records_before, shard_facts(shard, names, n_files, rc))))
		rc = rc ? rc : 1;
	printf("%s\n", outdir);
	fflush(stdout);
	/* the signal is handled: taken off the queue, it cannot kill us on unblocking */
	lab_stop_take();
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	if (c.wires >= 0)
		close(c.wires);
	if (c.build_lock[0])
		unlink(c.build_lock);
	for (int i = 0; i < 2; i++) {
		if (c.cores[i] >= 0)
			close(c.cores[i]);
		if (c.openings[i] >= 0)
			close(c.openings[i]);
		if (c.owed[i] >= 0)
			close(c.owed[i]);
		if (progress[i] >= 0)
			close(progress[i]);
	}
	if (c.records > 0)
		close(c.records);
	for (int i = 0; i < n_files; i++)
		free(files[i]);
	free(files);
	free(jobs);
	free(started);
	return rc;
}
