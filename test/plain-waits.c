/* SPDX-License-Identifier: MIT */
/*
 * A libc-only program with known blocked calls, for test/top.sh to look at
 * through urnet-top while it runs under urnet-run: 100 threads in read()
 * on connections to a known listener, 10 in accept() on listeners of their
 * own, 5 in connect() to a listener whose backlog is full, and POLLERS
 * (argv[1], 10 unless given) in poll() on connections nobody writes to.
 * It prints one
 * "expect CALL FD LOCAL PEER NAME" line per blocked call, then "ready",
 * and obeys its standard input: "release N" ends reader N's read (the
 * thread returns and is joined; "released FD" is printed once it has),
 * "quit" exits with the rest still blocked.
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <time.h>

#include "plain_util.h"

#define READERS 100
#define ACCEPTERS 10
#define CONNECTERS 5
#define POLLERS_MAX 10

struct blocked_call {
	pthread_t t;
	int fd;
	char name[16];
	struct sockaddr_in peer;	/* connect's */
};

static struct blocked_call readers[READERS], accepters[ACCEPTERS], connecters[CONNECTERS];
static struct blocked_call pollers[POLLERS_MAX];

static void *read_main(void *arg)
{
	struct blocked_call *b = arg;
	char c;

	pthread_setname_np(pthread_self(), b->name);
	CHECK(read(b->fd, &c, 1) == 1, "read");
	return NULL;
}

static void *accept_main(void *arg)
{
	struct blocked_call *b = arg;

	pthread_setname_np(pthread_self(), b->name);
	accept(b->fd, NULL, NULL);	/* never returns: nobody connects */
	return NULL;
}

static void *poll_main(void *arg)
{
	struct blocked_call *b = arg;
	struct pollfd p = { .fd = b->fd, .events = POLLIN };

	pthread_setname_np(pthread_self(), b->name);
	poll(&p, 1, -1);	/* never returns: nobody writes */
	return NULL;
}

static void *connect_main(void *arg)
{
	struct blocked_call *b = arg;

	pthread_setname_np(pthread_self(), b->name);
	connect(b->fd, (struct sockaddr *)&b->peer, sizeof(b->peer));
	return NULL;
}

static const char *text(const struct sockaddr_in *a, char *buf, size_t size)
{
	char host[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
	snprintf(buf, size, "%s:%u", host, ntohs(a->sin_port));
	return buf;
}

static void expect(const char *call, int fd, const char *name, const struct sockaddr_in *peer)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char l[64], p[64] = "-";

	CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0, "getsockname");
	if (peer)
		text(peer, p, sizeof(p));
	/* A connect's local port is the kernel's pick: checked as "any". */
	printf("expect %s %d %s %s %s\n", call, fd,
	       strcmp(call, "connect") ? text(&a, l, sizeof(l)) : "*", p, name);
}

/* The listener's accept queue holds n connections (TCP_INFO of a listener). */
static void wait_queue(int l, unsigned n)
{
	for (int i = 0; i < 10000; i++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		CHECK(getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0, "TCP_INFO");
		if (ti.tcpi_unacked >= n)
			return;
		usleep(1000);
	}
	CHECK(0, "the backlog never filled");
}

int main(int argc, char **argv)
{
	struct sockaddr_in la, full;
	int l, fl, filler, peers[READERS], poll_peers[POLLERS_MAX];
	int npoll = argc > 1 ? atoi(argv[1]) : POLLERS_MAX;
	char line[64];

	mode = "waits";
	watchdog(600);
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(npoll >= 0 && npoll <= POLLERS_MAX, "the number of pollers");
	l = tcp_listener(&la, READERS + POLLERS_MAX);
	for (int i = 0; i < READERS; i++) {
		struct blocked_call *b = &readers[i];

		b->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(b->fd >= 0, "socket");
		CHECK(connect(b->fd, (struct sockaddr *)&la, sizeof(la)) == 0, "connect");
		peers[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		CHECK(peers[i] >= 0, "accept");
		snprintf(b->name, sizeof(b->name), "rd-%d", i);
		expect("read", b->fd, b->name, &la);
	}
	for (int i = 0; i < npoll; i++) {
		struct blocked_call *b = &pollers[i];

		b->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(b->fd >= 0, "socket");
		CHECK(connect(b->fd, (struct sockaddr *)&la, sizeof(la)) == 0, "connect");
		poll_peers[i] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		CHECK(poll_peers[i] >= 0, "accept");
		snprintf(b->name, sizeof(b->name), "poll-%d", i);
		expect("poll", b->fd, b->name, &la);
	}
	for (int i = 0; i < ACCEPTERS; i++) {
		struct blocked_call *b = &accepters[i];
		struct sockaddr_in a;

		b->fd = tcp_listener(&a, 4);
		snprintf(b->name, sizeof(b->name), "acc-%d", i);
		expect("accept", b->fd, b->name, NULL);
	}
	/* Backlog 0 holds one connection; SYNs past it are dropped and retried. */
	fl = tcp_listener(&full, 0);
	filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(filler >= 0, "socket");
	CHECK(connect(filler, (struct sockaddr *)&full, sizeof(full)) == 0, "connect filler");
	wait_queue(fl, 1);
	for (int i = 0; i < CONNECTERS; i++) {
		struct blocked_call *b = &connecters[i];

		b->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(b->fd >= 0, "socket");
		b->peer = full;
		snprintf(b->name, sizeof(b->name), "con-%d", i);
		expect("connect", b->fd, b->name, &full);
	}
	for (int i = 0; i < READERS; i++)
		CHECK(pthread_create(&readers[i].t, NULL, read_main, &readers[i]) == 0, "thread");
	for (int i = 0; i < ACCEPTERS; i++)
		CHECK(pthread_create(&accepters[i].t, NULL, accept_main, &accepters[i]) == 0,
		      "thread");
	for (int i = 0; i < CONNECTERS; i++)
		CHECK(pthread_create(&connecters[i].t, NULL, connect_main, &connecters[i]) == 0,
		      "thread");
	for (int i = 0; i < npoll; i++)
		CHECK(pthread_create(&pollers[i].t, NULL, poll_main, &pollers[i]) == 0, "thread");
	printf("pid %d\nready\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		int n;

		if (sscanf(line, "release %d", &n) == 1 && n >= 0 && n < READERS) {
			CHECK(write(peers[n], "x", 1) == 1, "write");
			CHECK(pthread_join(readers[n].t, NULL) == 0, "join");
			printf("released %d\n", readers[n].fd);
		} else if (!strncmp(line, "quit", 4)) {
			break;
		}
	}
	fflush(stdout);
	_exit(0);
}
