/* SPDX-License-Identifier: MIT */
/*
 * Dial-by-name latency: COUNT sequential dials of NAME:port to a listener
 * of its own on 127.0.0.1 (which accepts and closes), each timed from the
 * call to the connected socket, then closed.  Modes:
 *   urnet      urnet_dial("tcp", "NAME:port"): c-ares lookup on the engine
 *   gai        getaddrinfo(NAME) + blocking connect(), the libc way
 *   urnet-ip   urnet_dial("tcp", "127.0.0.1:port"): no lookup, the floor
 *   resolve    urnet_resolve(NAME) alone, no connect
 *   gai-resolve getaddrinfo(NAME) alone, no connect
 * Prints "MODE count p50_us p99_us mean_us".  bench/dns-run runs it in a
 * network namespace of its own, against dnsmasq on its loopback.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "latency.h"
#include "urnet.h"

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg, fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0)
		close(fd);
	return NULL;
}

static int dial_gai(const char *name, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *a;
	int fd = -1, ret = getaddrinfo(name, port, &hints, &res);

	if (ret) {
		fprintf(stderr, "getaddrinfo %s: %s\n", name, gai_strerror(ret));
		return -1;
	}
	for (a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd >= 0 && !connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct latency_hist *h = malloc(sizeof(*h));
	char addr[300], port[16];
	double sum = 0;
	pthread_t th;
	int lfd, count;

	if (argc != 4 || !h) {
		fprintf(stderr, "usage: %s urnet|gai|urnet-ip|resolve|gai-resolve NAME COUNT\n", argv[0]);
		return 2;
	}
	count = atoi(argv[3]);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len))
		return perror("listen"), 1;
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	if (!strcmp(argv[1], "urnet-ip"))
		snprintf(addr, sizeof(addr), "127.0.0.1:%s", port);
	else
		snprintf(addr, sizeof(addr), "%s:%s", argv[2], port);
	pthread_create(&th, NULL, acceptor, &lfd);
	latency_init(h);
	/* The first dials start the engine and warm caches: not counted. */
	for (int i = -50; i < count; i++) {
		int64_t t0 = urnet_now_ns(), t1;

		if (!strcmp(argv[1], "resolve")) {
			struct sockaddr_storage ss[4];

			if (urnet_resolve("tcp", argv[2], 0, ss, 4) < 1) {
				fprintf(stderr, "resolve: %s\n", urnet_resolve_error());
				return 1;
			}
			t1 = urnet_now_ns();
		} else if (!strcmp(argv[1], "gai-resolve")) {
			struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;

			if (getaddrinfo(argv[2], port, &hints, &res))
				return 1;
			t1 = urnet_now_ns();
			freeaddrinfo(res);
		} else if (!strcmp(argv[1], "gai")) {
			int fd = dial_gai(argv[2], port);

			if (fd < 0)
				return 1;
			t1 = urnet_now_ns();
			close(fd);
		} else {
			urnet_conn *c = urnet_dial("tcp", addr, 5000000000LL);

			if (!c) {
				fprintf(stderr, "dial %s: %s (%s)\n", addr, strerror(errno),
					urnet_resolve_error());
				return 1;
			}
			t1 = urnet_now_ns();
			urnet_conn_close(c);
		}
		if (i >= 0) {
			latency_add(h, (uint64_t)(t1 - t0));
			sum += (double)(t1 - t0);
		}
	}
	printf("%s %d %.1f %.1f %.1f\n", argv[1], count, latency_quantile(h, 0.5) / 1e3,
	       latency_quantile(h, 0.99) / 1e3, sum / count / 1e3);
	shutdown(lfd, SHUT_RDWR);
	return 0;
}
