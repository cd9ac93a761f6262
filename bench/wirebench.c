/* Load for `make bench` (bench/wire.sh): UDP packets per second and TCP throughput
 * between two hosts of a lab. Bounded in time and size; lab addresses only.
 *   wirebench udp-sink PORT SECONDS        prints datagrams received
 *   wirebench udp-blast ADDR PORT SECONDS  sends 64-byte datagrams, prints how many
 *   wirebench tcp-sink PORT                prints bytes and seconds until EOF
 *   wirebench tcp-send ADDR PORT MB [CC]   sends MB megabytes (with congestion control CC:
 *                                          without, the namespace's default, the machine's)
 *   wirebench udp-echo PORT SECONDS        answers every datagram
 *   wirebench udp-ping ADDR PORT N         prints the median of N round trips, in ms
 *   wirebench owd-send ADDR PORT N INTERVAL_MS
 *                                          sends N datagrams INTERVAL_MS apart, each carrying
 *                                          its CLOCK_REALTIME send time (taken right before
 *                                          sendto); first a warm-up datagram until owd-recv
 *                                          echoes one (ARP resolved, receiver bound), 10 s at most
 *   wirebench owd-recv PORT N SECONDS      prints the one-way delay of each datagram, in us, one
 *                                          a line: its kernel receive time (SO_TIMESTAMPNS) less
 *                                          its send time (every namespace shares CLOCK_REALTIME);
 *                                          until N arrived or SECONDS passed; echoes warm-ups
 *   wirebench hog CPU ON_MS OFF_MS SECONDS  starves core CPU on purpose (bench/starve.sh): real-time
 *                                          priority 50, above natlab's, spinning ON_MS then sleeping
 *                                          OFF_MS, for SECONDS at most */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in addr(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };

	if (ip && inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "wirebench: bad address %s\n", ip);
		exit(2);
	}
	return a;
}

/* A TCP socket, with congestion control cc where given (the load of bench/latency.sh:
 * BBR paces from timers that fire as softirqs on whatever core is running) */
static int tcp_socket(const char *cc)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc))) {
		fprintf(stderr, "wirebench: congestion control %s: %s\n", cc, strerror(errno));
		close(fd);
		return -1;
	}
	if (fd < 0)
		perror("socket");
	return fd;
}

static int64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* owd-send/owd-recv datagram: magic, sequence number, send time (CLOCK_REALTIME ns) */
#define OWD_DATA 0x4f574431u /* "OWD1" */
#define OWD_WARM 0x5741524du /* "WARM" */
struct owd_msg {
	uint32_t magic, seq;
	int64_t sent_ns;
};

static int owd_send(const char *ip, const char *port, int n, double interval_ms)
{
	struct sockaddr_in a = addr(ip, port);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 50000 };
	struct owd_msg m = { .magic = OWD_WARM };
	struct timespec next;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), warm = 0;
	long step = (long)(interval_ms * 1e6);

	if (fd < 0 || n < 1 || step < 0)
		return perror("owd-send"), 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* warm-up: the first datagram would wait for ARP, and owd-recv may not be bound yet */
	for (int tries = 0; !warm; tries++) {
		struct owd_msg r;

		if (tries == 200)
			return fprintf(stderr, "owd-send: no echo from %s:%s\n", ip, port), 1;
		sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&a, sizeof(a));
		if (recv(fd, &r, sizeof(r), 0) == (ssize_t)sizeof(r) && r.magic == OWD_WARM)
			warm = 1;
	}
	m.magic = OWD_DATA;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int i = 0; i < n; i++) {
		m.seq = (uint32_t)i;
		m.sent_ns = real_ns();
		if (sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&a, sizeof(a)) != (ssize_t)sizeof(m))
			perror("owd-send: sendto");
		next.tv_nsec += step % 1000000000L;
		next.tv_sec += step / 1000000000L + next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	close(fd);
	return 0;
}

static int owd_recv(const char *port, int n, double seconds)
{
	struct sockaddr_in a = addr(NULL, port);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1, got = 0;
	double end = now() + seconds;

	if (fd < 0 || n < 1 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)))
		return perror("owd-recv"), 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return perror("bind"), 1;
	while (got < n && now() < end) {
		union {
			char buf[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctl;
		struct sockaddr_in from;
		struct owd_msg m;
		struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
		struct msghdr h = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				    .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
		struct timespec ts = { 0 };
		int stamped = 0;

		if (recvmsg(fd, &h, 0) != (ssize_t)sizeof(m))
			continue;
		if (m.magic == OWD_WARM) {
			sendto(fd, &m, sizeof(m), 0, (struct sockaddr *)&from, h.msg_namelen);
			continue;
		}
		if (m.magic != OWD_DATA)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				stamped = 1;
			}
		if (!stamped)
			return fprintf(stderr, "owd-recv: no SCM_TIMESTAMPNS\n"), 1;
		printf("%.3f\n", (double)((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - m.sent_ns) / 1e3);
		got++;
	}
	if (got < n)
		fprintf(stderr, "owd-recv: %d of %d datagrams in %g s\n", got, n, seconds);
	close(fd);
	return got ? 0 : 1;
}

int main(int argc, char *argv[])
{
	static char buf[1 << 16];
	const char *mode = argc > 1 ? argv[1] : "";
	int one = 1;

	if (!strcmp(mode, "udp-sink") && argc == 4) {
		struct sockaddr_in a = addr(NULL, argv[2]);
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
		int fd = socket(AF_INET, SOCK_DGRAM, 0), size = 1 << 24;
		double end = now() + atof(argv[3]);
		struct mmsghdr m[64];
		struct iovec iov[64];
		long n = 0;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			return perror("bind"), 1;
		/* in batches, as the blaster sends: one recv per datagram made the sink, not
		 * the path, the bottleneck once the wire took a core of its own */
		memset(m, 0, sizeof(m));
		for (int i = 0; i < 64; i++) {
			iov[i] = (struct iovec){ .iov_base = buf + i * 2048, .iov_len = 2048 };
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		while (now() < end) {
			int k = recvmmsg(fd, m, 64, MSG_WAITFORONE, NULL);

			if (k > 0)
				n += k;
		}
		printf("%ld\n", n);
		return 0;
	}
	if (!strcmp(mode, "udp-blast") && argc == 5) {
		struct sockaddr_in a = addr(argv[2], argv[3]);
		struct mmsghdr m[64];
		struct iovec iov = { .iov_base = buf, .iov_len = 64 };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		double end = now() + atof(argv[4]);
		long n = 0;

		if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return perror("connect"), 1;
		memset(m, 0, sizeof(m));
		for (int i = 0; i < 64; i++) {
			m[i].msg_hdr.msg_iov = &iov;
			m[i].msg_hdr.msg_iovlen = 1;
		}
		while (now() < end) {
			int k = sendmmsg(fd, m, 64, 0);

			if (k > 0)
				n += k;
		}
		printf("%ld\n", n);
		return 0;
	}
	if (!strcmp(mode, "tcp-sink") && argc == 3) {
		struct sockaddr_in a = addr(NULL, argv[2]);
		int fd = socket(AF_INET, SOCK_STREAM, 0), c;
		double start;
		long long total = 0;
		ssize_t k;

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1))
			return perror("listen"), 1;
		c = accept(fd, NULL, NULL);
		start = now();
		while ((k = recv(c, buf, sizeof(buf), 0)) > 0)
			total += k;
		printf("%lld %.6f\n", total, now() - start);
		return 0;
	}
	if (!strcmp(mode, "tcp-send") && (argc == 5 || argc == 6)) {
		struct sockaddr_in a = addr(argv[2], argv[3]);
		const char *cc = argc == 6 ? argv[5] : NULL;
		int fd = tcp_socket(cc);
		long long left = atoll(argv[4]) * 1000000LL;

		if (fd < 0)
			return 1;
		for (int tries = 0; connect(fd, (struct sockaddr *)&a, sizeof(a)); tries++) {
			if (tries == 50)
				return perror("connect"), 1;
			close(fd);
			if ((fd = tcp_socket(cc)) < 0)
				return 1;
			usleep(20000);
		}
		while (left > 0) {
			ssize_t k = send(fd, buf, left < (long long)sizeof(buf) ? (size_t)left : sizeof(buf), 0);

			if (k <= 0)
				return perror("send"), 1;
			left -= k;
		}
		close(fd);
		return 0;
	}
	if (!strcmp(mode, "udp-echo") && argc == 4) {
		struct sockaddr_in a = addr(NULL, argv[2]), from;
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		double end = now() + atof(argv[3]);

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)))
			return perror("bind"), 1;
		while (now() < end) {
			socklen_t len = sizeof(from);
			ssize_t k = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

			if (k > 0)
				sendto(fd, buf, (size_t)k, 0, (struct sockaddr *)&from, len);
		}
		return 0;
	}
	if (!strcmp(mode, "udp-ping") && argc == 5) {
		struct sockaddr_in a = addr(argv[2], argv[3]);
		struct timeval tv = { .tv_sec = 2, .tv_usec = 0 };
		int fd = socket(AF_INET, SOCK_DGRAM, 0), n = atoi(argv[4]), got = 0;
		double *rtt = calloc((size_t)n + 1, sizeof(double));

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (!rtt || n < 1 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return perror("udp-ping"), 1;
		send(fd, "warm", 4, 0); /* ARP first */
		recv(fd, buf, sizeof(buf), 0);
		for (int i = 0; i < n; i++) {
			double t = now();

			send(fd, "ping", 4, 0);
			if (recv(fd, buf, sizeof(buf), 0) > 0)
				rtt[got++] = (now() - t) * 1000;
			usleep(5000);
		}
		for (int i = 1; i < got; i++) /* insertion sort: n is small */
			for (int j = i; j > 0 && rtt[j] < rtt[j - 1]; j--) {
				double x = rtt[j];
				rtt[j] = rtt[j - 1];
				rtt[j - 1] = x;
			}
		if (!got)
			return fprintf(stderr, "udp-ping: no answer\n"), 1;
		printf("%.3f\n", rtt[got / 2]);
		free(rtt);
		return 0;
	}
	if (!strcmp(mode, "hog") && argc == 6) {
		cpu_set_t set;
		struct sched_param sp = { .sched_priority = 50 };
		double on = atof(argv[3]) / 1e3, off = atof(argv[4]) / 1e3, end = now() + atof(argv[5]);

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[2]), &set);
		if (sched_setaffinity(0, sizeof(set), &set) || sched_setscheduler(0, SCHED_FIFO, &sp)) {
			perror("wirebench hog");
			return 1;
		}
		while (now() < end) {
			double until = now() + on;

			while (now() < until)
				;
			usleep((useconds_t)(off * 1e6));
		}
		return 0;
	}
	if (!strcmp(mode, "owd-send") && argc == 6)
		return owd_send(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
	if (!strcmp(mode, "owd-recv") && argc == 5)
		return owd_recv(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: wirebench udp-sink PORT SECONDS | udp-blast ADDR PORT SECONDS | "
			"tcp-sink PORT | tcp-send ADDR PORT MB [CC] | udp-echo PORT SECONDS | udp-ping ADDR PORT N | "
			"owd-send ADDR PORT N INTERVAL_MS | owd-recv PORT N SECONDS\n");
	return 2;
}
