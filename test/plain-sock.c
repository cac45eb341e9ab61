/* SPDX-License-Identifier: MIT */
/*
 * A plain libc program (built without urnet) for socket corner cases where
 * a program under urnet-run must see exactly what it sees on bare Linux.
 * test/preload-sock.sh runs each mode bare and under the interposer on both
 * engine backends and compares the standard output, which holds only what
 * the program observed (return values, errno names, counts, relative fd
 * numbers), never timings or ports.
 *
 *   connect-again-eintr   a blocking connect interrupted by a handler
 *                         without SA_RESTART, called again: it waits
 *   connect-nonblock-then-block  EINPROGRESS, O_NONBLOCK cleared, a
 *                         blocking connect waits for the handshake
 *   connect-again-timeout the same with SO_SNDTIMEO: EALREADY at expiry
 *   connect-refused-again a refused connect, tried again on the same socket
 *   fd-limit              blocked readers and accept at RLIMIT_NOFILE
 *   fd-limit-hard         the same with the hard limit as low
 *   fd-numbers            socket()/open() numbers after the first wait
 *   negative-rcvtimeo     a negative SO_RCVTIMEO is a zero timeout
 *   negative-sndtimeo     a negative SO_SNDTIMEO is a zero timeout
 *   dup3-invalid          failing dup2/dup3 leave newfd and its reader alone
 *   modes-while-blocked   SO_RCVTIMEO and O_NONBLOCK set while a recv waits
 *
 * Connects that must take a while go to a listener whose accept queue is
 * full: loopback TCP drops the SYN and sends it again after about a second.
 * A watchdog ends the program if anything hangs.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "plain_util.h"

#define WATCHDOG_S	30


static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EALREADY: return "EALREADY";
	case EBADF: return "EBADF";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EINPROGRESS: return "EINPROGRESS";
	case EINTR: return "EINTR";
	case EINVAL: return "EINVAL";
	case EISCONN: return "EISCONN";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	default: return strerror(e);
	}
}

/* "what: ret errno" for a call that returned ret. */
static void say(const char *what, long ret, int err)
{
	if (ret < 0)
		printf("%s: %ld %s\n", what, ret, ename(err));
	else
		printf("%s: %ld\n", what, ret);
	fflush(stdout);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void set_timeo(int fd, int opt, long sec, long usec)
{
	struct timeval tv = { sec, usec };

	CHECK(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) == 0, "setsockopt timeout");
}

static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	CHECK(fl >= 0, "F_GETFL");
	CHECK(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0, "F_SETFL");
}

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0, "socket");
	return fd;
}

/*
 * A listener whose accept queue is full (backlog 0 holds one connection):
 * a new connect's SYN is dropped until the test accepts *filler.
 */
static int full_listener(struct sockaddr_in *a, int *filler)
{
	int l = tcp_listener(a, 0);

	*filler = tcp_socket();
	CHECK(connect(*filler, (struct sockaddr *)a, sizeof(*a)) == 0, "filler connect");
	return l;
}

static void accept_one(int l)
{
	int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);

	CHECK(s >= 0, "accept");
	close(s);
}

/* ---------------------------------------------------------------- connect */

static _Atomic int signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

struct kick {
	pid_t tid;
	pthread_t th;
	int sig;	/* sent first when the thread sleeps, or 0 */
	int listener;	/* then accept the queued filler here, or -1 */
};

static void *kick_main(void *arg)
{
	struct kick *k = arg;

	blocked(k->tid);
	if (k->sig)
		pthread_kill(k->th, k->sig);
	if (k->listener >= 0)
		accept_one(k->listener);
	return NULL;
}

static void kick_start(struct kick *k, pthread_t *t, int sig, int l)
{
	k->tid = (pid_t)syscall(SYS_gettid);
	k->th = pthread_self();
	k->sig = sig;
	k->listener = l;
	CHECK(pthread_create(t, NULL, kick_main, k) == 0, "pthread_create");
}

static void mode_connect_again_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	struct sockaddr_in a;
	struct kick k;
	pthread_t t;
	int filler, l = full_listener(&a, &filler), fd = tcp_socket(), ret, calls = 0;

	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	kick_start(&k, &t, SIGUSR1, -1);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect", ret, errno);
	pthread_join(t, NULL);
	/* The usual retry loop; the handshake finishes once the queue has room. */
	accept_one(l);
	do {
		ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
		calls++;
	} while (ret < 0 && errno == EINTR);
	say("connect again", ret, errno);
	printf("calls: %d\n", calls);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect once more", ret, errno);
	printf("signals: %d\n", atomic_load(&signals_seen));
}

static void mode_connect_nonblock_then_block(void)
{
	struct sockaddr_in a;
	struct kick k;
	pthread_t t;
	int filler, l = full_listener(&a, &filler), fd = tcp_socket(), ret;

	set_nonblock(fd, 1);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("nonblocking connect", ret, errno);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("nonblocking connect again", ret, errno);
	set_nonblock(fd, 0);
	kick_start(&k, &t, 0, l);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("blocking connect", ret, errno);
	pthread_join(t, NULL);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect once more", ret, errno);
	CHECK(write(fd, "x", 1) == 1, "write");
	say("write after connect", 1, 0);
}

static void mode_connect_again_timeout(void)
{
	struct sockaddr_in a;
	int filler, l = full_listener(&a, &filler), fd = tcp_socket(), ret;

	set_timeo(fd, SO_SNDTIMEO, 0, 200000);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect with SO_SNDTIMEO", ret, errno);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect again", ret, errno);
	accept_one(l);
	set_timeo(fd, SO_SNDTIMEO, 0, 0);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect without timeout", ret, errno);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect once more", ret, errno);
}

/* A refused connect leaves the socket free for another try, as bare. */
static void mode_connect_refused_again(void)
{
	struct sockaddr_in a;
	int l = tcp_listener(&a, 8), fd = tcp_socket(), ret;

	close(l);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect to a closed port", ret, errno);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect again", ret, errno);
	l = tcp_listener(&a, 8);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect to a listener", ret, errno);
	close(l);
}

/* ---------------------------------------------------------------- descriptors */

#define PAIRS	25

struct reader {
	int fd;
	ssize_t n;
	int err;
	pid_t tid;
	_Atomic int started;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	char c;

	r->tid = (pid_t)syscall(SYS_gettid);
	atomic_store(&r->started, 1);
	r->n = recv(r->fd, &c, 1, 0);
	r->err = errno;
	return NULL;
}

/* A thread blocked in recv(fd); blocked already unless !sure. */
static void reader_run(struct reader *r, pthread_t *t, int fd, bool sure)
{
	r->fd = fd;
	r->n = -2;
	atomic_store(&r->started, 0);
	CHECK(pthread_create(t, NULL, reader_main, r) == 0, "pthread_create");
	while (!atomic_load(&r->started))
		sleep_ms(1);
	if (sure)
		blocked(r->tid);
}

static void reader_start(struct reader *r, pthread_t *t, int fd)
{
	reader_run(r, t, fd, true);
}

/* Take every free number below the limit; returns how many. */
static int fill_fds(int *fds, int max)
{
	int n = 0;

	while (n < max) {
		int fd = dup(0);

		if (fd < 0) {
			CHECK(errno == EMFILE, "dup to fill the table");
			break;
		}
		fds[n++] = fd;
	}
	return n;
}

static void *connect_to(void *arg)
{
	struct sockaddr_in *a = arg;
	int fd = tcp_socket();

	CHECK(connect(fd, (struct sockaddr *)a, sizeof(*a)) == 0, "connect");
	return (void *)(long)fd;
}

/* hard: the hard limit too, so that nothing may go past it. */
static void fd_limit(bool hard)
{
	struct reader r[PAIRS];
	pthread_t t[PAIRS], ct;
	struct rlimit rl;
	struct sockaddr_in a;
	int sv[PAIRS][2], fill[64], nfill, ok = 0, bad = 0, l, ret;
	void *cfd;

	if (hard) {
		/*
		 * A server that has run for a while: urnet has started (a
		 * process that cannot start it at all has no urnet-stats line).
		 */
		int w[2];

		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, w) == 0, "socketpair");
		reader_start(&r[0], &t[0], w[0]);
		CHECK(send(w[1], "w", 1, 0) == 1, "send");
		pthread_join(t[0], NULL);
		close(w[0]);
		close(w[1]);
	}
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	rl.rlim_cur = 64;
	if (hard)
		rl.rlim_max = 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
	l = tcp_listener(&a, 8);
	for (int i = 0; i < PAIRS; i++)
		CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]) == 0,
		      "socketpair");
	nfill = fill_fds(fill, 64);
	printf("process at its limit: %s\n", nfill > 0 && dup(0) < 0 ? "yes" : "no");
	/*
	 * Every reader blocks, and each gets its byte.  Looking in /proc would
	 * take a number: give them time to block instead (no result depends
	 * on it).
	 */
	for (int i = 0; i < PAIRS; i++)
		reader_run(&r[i], &t[i], sv[i][0], false);
	sleep_ms(300);
	for (int i = 0; i < PAIRS; i++)
		CHECK(send(sv[i][1], "x", 1, MSG_NOSIGNAL) == 1, "send");
	for (int i = 0; i < PAIRS; i++) {
		pthread_join(t[i], NULL);
		if (r[i].n == 1)
			ok++;
		else
			bad++;
	}
	printf("blocked readers: %d got their byte, %d failed\n", ok, bad);
	if (bad)
		for (int i = 0; i < PAIRS; i++)
			if (r[i].n != 1)
				say("failed reader", r[i].n, r[i].err);
	/* The kernel's accept needs a number before it waits for a connection. */
	ret = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	say("accept at the limit, nothing queued", ret, errno);
	/*
	 * Two numbers free: the connecting socket's and the accepted one's.
	 * (Not with the hard limit as low: urnet then keeps its descriptors
	 * in the top numbers below it, which these are.)
	 */
	if (hard)
		return;
	close(fill[--nfill]);
	close(fill[--nfill]);
	CHECK(pthread_create(&ct, NULL, connect_to, &a) == 0, "pthread_create");
	pthread_join(ct, &cfd);
	ret = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	say("accept with one number free", ret < 0 ? ret : 0, errno);
	ret = socket(AF_INET, SOCK_STREAM, 0);
	say("socket at the limit", ret, errno);
}

static void mode_fd_limit(void)
{
	fd_limit(false);
}

static void mode_fd_limit_hard(void)
{
	fd_limit(true);
}

static void mode_fd_numbers(void)
{
	struct reader r;
	pthread_t t;
	int sv[2], base, fd, fd2;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	base = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(base >= 0, "socket");
	close(base);
	/* The first call that waits: urnet starts its engine here. */
	reader_start(&r, &t, sv[0]);
	CHECK(send(sv[1], "x", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	say("recv", r.n, r.err);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fd2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	printf("socket after the wait: base%+d\n", fd - base);
	printf("open after the wait: base%+d\n", fd2 - base);
	close(fd);
	close(fd2);
	/* A second socket that waits (the syscall backend's per-socket state). */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	close(fd);
	close(sv[0]);
	close(sv[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	reader_start(&r, &t, sv[1]);
	CHECK(send(sv[0], "y", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	say("recv on another socket", r.n, r.err);
	fd2 = dup(0);
	printf("dup after the waits: base%+d\n", fd2 - base);
}

/* ---------------------------------------------------------------- timeouts */

static void print_timeo(int fd, int opt, const char *what)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	CHECK(getsockopt(fd, SOL_SOCKET, opt, &tv, &len) == 0, "getsockopt");
	printf("%s reads back: {%ld, %ld}\n", what, (long)tv.tv_sec, (long)tv.tv_usec);
}

static void mode_negative_rcvtimeo(void)
{
	struct sockaddr_in a;
	struct reader r;
	pthread_t t;
	int sv[2], l = tcp_listener(&a, 8), d, ret;
	char c;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	set_timeo(sv[0], SO_RCVTIMEO, -1, 0);
	print_timeo(sv[0], SO_RCVTIMEO, "SO_RCVTIMEO {-1, 0}");
	ret = (int)recv(sv[0], &c, 1, 0);
	say("recv", ret, errno);
	ret = (int)read(sv[0], &c, 1);
	say("read", ret, errno);
	d = dup(sv[0]);
	ret = (int)recv(d, &c, 1, 0);
	say("recv on a dup", ret, errno);
	close(d);
	set_timeo(sv[0], SO_RCVTIMEO, -5, 999999);
	ret = (int)recv(sv[0], &c, 1, 0);
	say("recv, {-5, 999999}", ret, errno);
	/* A timeout set again to none, then a tiny one: both wait. */
	set_timeo(sv[0], SO_RCVTIMEO, 0, 0);
	reader_start(&r, &t, sv[0]);
	CHECK(send(sv[1], "x", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	say("recv after {0, 0}", r.n, r.err);
	set_timeo(l, SO_RCVTIMEO, -1, 0);
	ret = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	say("accept", ret, errno);
	/* A socket that takes the number after close starts with no timeout. */
	close(sv[0]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	reader_start(&r, &t, sv[0]);
	CHECK(send(sv[1], "y", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	say("recv on the number's next socket", r.n, r.err);
}

static void mode_negative_sndtimeo(void)
{
	static char big[1 << 22];
	struct sockaddr_in a;
	int sv[2], filler, l = full_listener(&a, &filler), fd = tcp_socket();
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	set_timeo(sv[0], SO_SNDTIMEO, -1, 0);
	print_timeo(sv[0], SO_SNDTIMEO, "SO_SNDTIMEO {-1, 0}");
	n = send(sv[0], big, sizeof(big), 0);
	printf("send of 4 MiB: %s\n", n > 0 && n < (ssize_t)sizeof(big) ? "partial" :
	       n < 0 ? ename(errno) : "all");
	n = send(sv[0], big, sizeof(big), 0);
	say("send to a full buffer", n, errno);
	n = write(sv[0], big, 1);
	say("write to a full buffer", n, errno);
	set_timeo(fd, SO_SNDTIMEO, -1, 0);
	n = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect to a full backlog", n, errno);
	n = connect(fd, (struct sockaddr *)&a, sizeof(a));
	say("connect again", n, errno);
	close(l);
}

/* ---------------------------------------------------------------- dup */

static void mode_dup3_invalid(void)
{
	struct reader r;
	struct rlimit rl;
	pthread_t t;
	int sv[2], other[2], closed, ret;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, other) == 0, "socketpair");
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	/*
	 * One wait first: urnet opens its own descriptors then, and one
	 * holds the lowest free number for a moment.
	 */
	reader_start(&r, &t, sv[0]);
	CHECK(send(sv[1], "w", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	closed = dup(0);
	close(closed);
	reader_start(&r, &t, sv[0]);
	ret = dup3(other[0], sv[0], 0x40000000);
	say("dup3 with bad flags", ret, errno);
	ret = dup3(sv[0], sv[0], 0);
	say("dup3 onto itself", ret, errno);
	ret = dup3(sv[0], sv[0], O_CLOEXEC);
	say("dup3 onto itself, O_CLOEXEC", ret, errno);
	ret = dup2(sv[0], sv[0]);
	say("dup2 onto itself", ret == sv[0] ? 0 : -1, errno);
	ret = dup2(closed, sv[0]);
	say("dup2 from a closed number", ret, errno);
	ret = dup3(closed, sv[0], O_CLOEXEC);
	say("dup3 from a closed number", ret, errno);
	ret = dup2(-1, sv[0]);
	say("dup2 from -1", ret, errno);
	ret = dup2(other[0], (int)rl.rlim_cur);
	say("dup2 to the limit", ret, errno);
	ret = dup3(other[0], -1, 0);
	say("dup3 to -1", ret, errno);
	CHECK(send(sv[1], "x", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	say("the reader of newfd", r.n, r.err);
}

/* ---------------------------------------------------------------- modes */

static void mode_modes_while_blocked(void)
{
	struct reader r;
	pthread_t t;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	/* A first wait, so that the ones below wait for data, not for urnet's start. */
	reader_start(&r, &t, sv[0]);
	CHECK(send(sv[1], "w", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	reader_start(&r, &t, sv[0]);
	set_timeo(sv[0], SO_RCVTIMEO, 0, 100000);
	sleep_ms(300);
	CHECK(send(sv[1], "x", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	say("recv blocked while SO_RCVTIMEO was set", r.n, r.err);
	set_timeo(sv[0], SO_RCVTIMEO, 0, 0);
	reader_start(&r, &t, sv[0]);
	set_nonblock(sv[0], 1);
	sleep_ms(300);
	CHECK(send(sv[1], "y", 1, 0) == 1, "send");
	pthread_join(t, NULL);
	say("recv blocked while O_NONBLOCK was set", r.n, r.err);
}

static const struct {
	const char *name;
	void (*run)(void);
} modes[] = {
	{ "connect-again-eintr", mode_connect_again_eintr },
	{ "connect-nonblock-then-block", mode_connect_nonblock_then_block },
	{ "connect-again-timeout", mode_connect_again_timeout },
	{ "connect-refused-again", mode_connect_refused_again },
	{ "fd-limit", mode_fd_limit },
	{ "fd-limit-hard", mode_fd_limit_hard },
	{ "fd-numbers", mode_fd_numbers },
	{ "negative-rcvtimeo", mode_negative_rcvtimeo },
	{ "negative-sndtimeo", mode_negative_sndtimeo },
	{ "dup3-invalid", mode_dup3_invalid },
	{ "modes-while-blocked", mode_modes_while_blocked },
};

int main(int argc, char **argv)
{
	if (argc == 2) {
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			if (strcmp(argv[1], modes[i].name) == 0) {
				mode = argv[1];
				setvbuf(stdout, NULL, _IOLBF, 0);
				signal(SIGPIPE, SIG_IGN);
				watchdog(WATCHDOG_S);
				modes[i].run();
				fflush(stdout);
				return 0;
			}
		}
	}
	fprintf(stderr, "usage: plain-sock MODE (see the source)\n");
	return 2;
}
