/* SPDX-License-Identifier: MIT */
/*
 * A plain libc program stuck on a silent peer, built without urnet: it
 * sets no timeout of its own (except in mode "own"), so bare it would wait
 * for ever.  test/preload-iotimeout.sh runs it under urnet-run with
 * --io-timeout / --connect-timeout and checks that the waits end there.
 *   silent LIMIT_MS   recv from a peer that never writes, then accept on a
 *                     listener nobody connects to
 *   own LIMIT_MS      the same recv with an SO_RCVTIMEO of 5 x LIMIT_MS:
 *                     the program's own timeout is the one that ends it
 *   connect LIMIT_MS  a blocking connect to a listener whose backlog is full
 * Each wait prints its result and whether it lasted at least the limit
 * that should end it; the time it took goes to stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "plain_util.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void report(const char *what, long ret, long long start, long long want_ms)
{
	long long took = now_ms() - start;
	int err = errno;

	printf("%s: %ld %s, lasted the limit: %d\n", what, ret, ret < 0 ? strerrorname_np(err) : "",
	       took >= want_ms);
	fprintf(stderr, "%s took %lld ms (limit %lld ms)\n", what, took, want_ms);
}

static int silent_case(long long limit, bool own)
{
	struct sockaddr_in a;
	char buf[16];
	long long start;
	long ret;
	int c, s, l;

	tcp_pair(&c, &s);
	if (own) {
		struct timeval tv = { (5 * limit) / 1000, ((5 * limit) % 1000) * 1000 };

		CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, "setsockopt");
		limit *= 5;
	}
	start = now_ms();
	ret = (long)recv(c, buf, sizeof(buf), 0);
	report("recv", ret, start, limit);
	if (own)
		return 0;
	l = tcp_listener(&a, 8);
	start = now_ms();
	ret = accept(l, NULL, NULL);
	report("accept", ret, start, limit);
	return 0;
}

static int connect_case(long long limit)
{
	struct sockaddr_in a;
	struct pollfd pf;
	long long start;
	int l = tcp_listener(&a, 0), held[2], fd;
	long ret;

	/* One connection fills a backlog of 0; the kernel then drops further SYNs. */
	for (int i = 0; i < 2; i++) {
		held[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		CHECK(held[i] >= 0, "socket");
		if (connect(held[i], (struct sockaddr *)&a, sizeof(a)) < 0 && i == 0) {
			pf = (struct pollfd){ .fd = held[i], .events = POLLOUT };
			CHECK(poll(&pf, 1, 10000) == 1, "first connect");
		}
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0, "socket");
	start = now_ms();
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	report("connect", ret, start, limit);
	close(l);
	return 0;
}

int main(int argc, char **argv)
{
	long long limit;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3)
		return 2;
	mode = argv[1];
	limit = atoll(argv[2]);
	watchdog(60);
	if (!strcmp(mode, "silent"))
		return silent_case(limit, false);
	if (!strcmp(mode, "own"))
		return silent_case(limit, true);
	if (!strcmp(mode, "connect"))
		return connect_case(limit);
	return 2;
}
