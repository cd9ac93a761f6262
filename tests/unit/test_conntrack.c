/* The conntrack watch against a real conntrack table, in a network namespace of
 * the test's own (it goes with the process): a connection whose entry was
 * forgotten while it was open comes back as an entry picked up from its middle,
 * and ct_watch_forget_strays deletes that one and keeps a new connection's. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../natsim/conntrack.h"

/* a TCP pair over loopback: *client connected to *server (accepted) */
static void tcp_pair(int lfd, int *client, int *server)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &len), 0);
	*client = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*client >= 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept(lfd, NULL, NULL);
	assert_true(*server >= 0);
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

struct find {
	uint16_t sport;
	int found, state;
};

static int find_sport(const struct ct_entry *e, void *arg)
{
	struct find *f = arg;

	if (e->proto == IPPROTO_TCP && e->orig.sport == f->sport) {
		f->found++;
		f->state = e->tcp_state;
	}
	return 0;
}

static int in_table(uint16_t sport)
{
	struct find f = { .sport = sport };
	struct diag d;

	assert_int_equal(ct_dump(-1, find_sport, &f, &d), 0);
	return f.found;
}

static void strays_go_new_connections_stay(void **state)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct ct_watch *w;
	struct diag d;
	struct find f;
	int lfd, c1, s1, c2, s2;
	uint16_t p1, p2;

	(void)state;
	if (unshare(CLONE_NEWNET)) {
		if (errno == EPERM)
			skip(); /* not root: no namespace of its own, no conntrack to look at */
		fail_msg("unshare: %s", strerror(errno));
	}
	/* loopback up, and a rule that needs conntrack, which turns it on here */
	assert_int_equal(system("ip link set lo up && nft 'add table ip t; "
				"add chain ip t out { type filter hook output priority 0; }; "
				"add rule ip t out ct state new counter'"),
			 0);
	w = ct_watch_open(-1, &d);
	assert_non_null(w);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&any, sizeof(any)), 0);
	assert_int_equal(listen(lfd, 4), 0);

	/* the last attempt's connection, then the NAT forgets it while it is open */
	tcp_pair(lfd, &c1, &s1);
	p1 = local_port(c1);
	assert_int_equal(ct_watch_forget(w, &d), 0);
	assert_int_equal(in_table(p1), 0);
	/* its next segment (a late close's last ACK, here data) is picked up */
	assert_int_equal(send(c1, "x", 1, 0), 1);
	usleep(20000);
	f = (struct find){ .sport = p1 };
	assert_int_equal(ct_dump(-1, find_sport, &f, &d), 0);
	assert_int_equal(f.found, 1);
	assert_int_not_equal(f.state, -1);
	/* and this attempt's own connection, from its SYN */
	tcp_pair(lfd, &c2, &s2);
	p2 = local_port(c2);
	usleep(20000);

	assert_int_equal(ct_watch_forget_strays(w, &d), 1);
	assert_int_equal(in_table(p1), 0);
	assert_int_equal(in_table(p2), 1);
	/* the new one is still watched: the next forget takes it */
	f = (struct find){ .sport = p2 };
	assert_int_equal(ct_watch_each(w, find_sport, &f), 0);
	assert_int_equal(f.found, 1);
	assert_int_equal(ct_watch_forget_strays(w, &d), 0);
	assert_int_equal(ct_watch_forget(w, &d), 0);
	assert_int_equal(in_table(p2), 0);

	close(c1);
	close(s1);
	close(c2);
	close(s2);
	close(lfd);
	ct_watch_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strays_go_new_connections_stay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
