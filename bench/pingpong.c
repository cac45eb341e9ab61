/* SPDX-License-Identifier: MIT */
/*
 * pingpong: the latency of one blocking round trip, urnet against the
 * kernel's own blocking path.
 *
 *   pingpong [-n ROUNDTRIPS] [-r REPEATS]
 *
 * One connection over loopback, a 1-byte message bounced between two
 * threads of this process; each thread blocks in read until the byte
 * arrives.  Mode "plain" uses blocking libc sockets, mode "urnet" the
 * object API on both ends (urnet_listen/dial, urnet_conn_read/write).  The
 * modes run alternately REPEATS times; the first 10% of every run is
 * warm-up and not recorded.
 *
 * Every round trip waits twice (the echo thread for the ping, the caller
 * for the pong), so the engine's cost per blocking operation is the
 * difference of the medians divided by two.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "latency.h"
#include "urnet.h"

/* One end of the connection, either kind. */
struct end {
	int fd;
	urnet_conn *uc;
};

struct pair {
	struct end client, server;
	urnet_listener *ul;
	int lfd;
};

static long roundtrips = 10000;
static long repeats = 3;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t end_read(struct end *e, char *b)
{
	return e->uc ? urnet_conn_read(e->uc, b, 1) : recv(e->fd, b, 1, 0);
}

static ssize_t end_write(struct end *e, const char *b)
{
	return e->uc ? urnet_conn_write(e->uc, b, 1) : send(e->fd, b, 1, MSG_NOSIGNAL);
}

static void end_close(struct end *e)
{
	if (e->uc)
		urnet_conn_close(e->uc);
	else
		close(e->fd);
}

static void pair_plain(struct pair *p)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int one = 1;

	memset(p, 0, sizeof(*p));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(p->lfd, 1) < 0 || getsockname(p->lfd, (struct sockaddr *)&sin, &len) < 0)
		die("pingpong: listen");
	p->client.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->client.fd < 0 || connect(p->client.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		die("pingpong: connect");
	p->server.fd = accept(p->lfd, NULL, NULL);
	if (p->server.fd < 0)
		die("pingpong: accept");
	setsockopt(p->client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(p->server.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void pair_urnet(struct pair *p)
{
	memset(p, 0, sizeof(*p));
	p->lfd = -1;
	p->ul = urnet_listen("tcp", "127.0.0.1:0");
	if (!p->ul)
		die("pingpong: urnet_listen");
	p->client.uc = urnet_dial("tcp", urnet_listener_addr(p->ul), 0);
	if (!p->client.uc)
		die("pingpong: urnet_dial");
	p->server.uc = urnet_listener_accept(p->ul);
	if (!p->server.uc)
		die("pingpong: urnet_listener_accept");
	urnet_conn_set_nodelay(p->client.uc, 1);
	urnet_conn_set_nodelay(p->server.uc, 1);
}

static void pair_close(struct pair *p)
{
	end_close(&p->client);
	end_close(&p->server);
	if (p->ul)
		urnet_listener_close(p->ul);
	else
		close(p->lfd);
}

static void *echo_main(void *arg)
{
	struct end *e = arg;
	char b;

	while (end_read(e, &b) == 1)
		if (end_write(e, &b) != 1)
			break;
	return NULL;
}

static void run(struct pair *p, struct latency_hist *h)
{
	long warm = roundtrips / 10;
	pthread_t echo;
	char b = 'x';

	if (pthread_create(&echo, NULL, echo_main, &p->server))
		die("pingpong: pthread_create");
	for (long i = 0; i < warm + roundtrips; i++) {
		int64_t t0 = now_ns();

		if (end_write(&p->client, &b) != 1 || end_read(&p->client, &b) != 1)
			die("pingpong: round trip");
		if (i >= warm)
			latency_add(h, (uint64_t)(now_ns() - t0));
	}
	/* EOF ends the echo thread */
	if (p->client.uc)
		urnet_conn_close_write(p->client.uc);
	else
		shutdown(p->client.fd, SHUT_WR);
	pthread_join(echo, NULL);
}

static long parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 100000000) {
		fprintf(stderr, "pingpong: bad %s '%s'\n"
			"usage: pingpong [-n ROUNDTRIPS] [-r REPEATS]\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static struct latency_hist plain, ur;
	double p50[2], p99[2];
	int c;

	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		if (c == 'n')
			roundtrips = parse_count(optarg, "round trip count");
		else if (c == 'r')
			repeats = parse_count(optarg, "repeat count");
		else {
			fprintf(stderr, "usage: pingpong [-n ROUNDTRIPS] [-r REPEATS]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: pingpong [-n ROUNDTRIPS] [-r REPEATS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	latency_init(&plain);
	latency_init(&ur);
	for (long r = 0; r < repeats; r++) {
		struct pair p;

		pair_plain(&p);
		run(&p, &plain);
		pair_close(&p);
		pair_urnet(&p);
		run(&p, &ur);
		pair_close(&p);
	}
	p50[0] = latency_quantile(&plain, 0.5);
	p99[0] = latency_quantile(&plain, 0.99);
	p50[1] = latency_quantile(&ur, 0.5);
	p99[1] = latency_quantile(&ur, 0.99);
	printf("pingpong: 1-byte round trips over one loopback connection, %ld x %ld per mode\n",
	       repeats, roundtrips);
	printf("  plain  p50 %.0f ns  p99 %.0f ns\n", p50[0], p99[0]);
	printf("  urnet  p50 %.0f ns  p99 %.0f ns  (engine %s)\n", p50[1], p99[1],
	       urnet_engine_backend(urnet_default_engine()));
	printf("  urnet overhead per blocking operation: %.0f ns (median)\n",
	       (p50[1] - p50[0]) / 2);
	printf("result plain_p50_ns=%.0f plain_p99_ns=%.0f urnet_p50_ns=%.0f urnet_p99_ns=%.0f"
	       " overhead_ns_per_op=%.0f\n", p50[0], p99[0], p50[1], p99[1],
	       (p50[1] - p50[0]) / 2);
	return 0;
}
