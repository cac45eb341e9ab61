/* SPDX-License-Identifier: MIT */
/*
 * echo-threads: the classic server, libc only.  One thread per connection,
 * blocking recv/send.  This is the program urnet has to keep up with, and
 * the one run under urnet-run for the preload comparison.
 *
 * Thread stacks are small (64 KiB) so that 10,000 connections fit; the echo
 * buffer lives on that stack.
 *
 * ECHO_POLL_MS=N: poll the connection with a timeout of N ms before every
 * read, the shape of the many servers that wait in poll rather than in
 * recv (bench/poll-run's echo-poll).
 */
#define _GNU_SOURCE	/* accept4 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"

#define STACK_SIZE	(64 * 1024)
#define BUF_SIZE	(16 * 1024)

/* ECHO_POLL_MS, or -1: read without polling first. */
static int poll_ms = -1;

/* Before a read: poll's answer, as a server that waits in poll sees it. */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll_ms < 0)
		return true;
	while (poll(&p, 1, poll_ms) == 0)
		;	/* the timeout: an idle connection, poll again */
	return !(p.revents & POLLNVAL);
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[BUF_SIZE];
	ssize_t n;

	while (readable(fd) && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);

			if (w < 0)
				goto out;
			off += w;
		}
	}
out:
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int lfd = bench_listen(argc, argv, 0);
	const char *pm = getenv("ECHO_POLL_MS");
	pthread_attr_t attr;
	int one = 1;

	if (pm && *pm)
		poll_ms = atoi(pm);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t tid;

		if (fd < 0) {
			perror("echo-threads: accept4");
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&tid, &attr, serve, (void *)(intptr_t)fd) != 0) {
			fprintf(stderr, "echo-threads: cannot start a thread\n");
			close(fd);
		}
	}
}
