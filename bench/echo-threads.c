/* SPDX-License-Identifier: MIT */
/*
 * echo-threads: the classic server, libc only.  One thread per connection,
 * blocking recv/send.  This is the program urnet has to keep up with, and
 * the one run under urnet-run for the preload comparison.
 *
 * Thread stacks are small (64 KiB) so that 10,000 connections fit; the echo
 * buffer lives on that stack.
 */
#define _GNU_SOURCE	/* accept4 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"

#define STACK_SIZE	(64 * 1024)
#define BUF_SIZE	(16 * 1024)

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[BUF_SIZE];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
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
	pthread_attr_t attr;
	int one = 1;

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
