/* SPDX-License-Identifier: MIT */
/*
 * http-threads: the HTTP/1.1 example on plain blocking sockets, a thread
 * per connection; the baseline for bench/http-urnet (same protocol code,
 * bench/http.c).
 *   http-threads PORT [DOCROOT]   (0 = any free port; prints port=N)
 */
#define _GNU_SOURCE	/* accept4 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_listen.h"
#include "http.h"

static const char *docroot = ".";

static ssize_t sock_read(void *conn, void *buf, size_t len)
{
	return recv((int)(intptr_t)conn, buf, len, 0);
}

static ssize_t sock_writev(void *conn, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	return sendmsg((int)(intptr_t)conn, &msg, MSG_NOSIGNAL);
}

/* A blocking sendfile sends everything unless a signal or an error stops it. */
static ssize_t sock_sendfile(void *conn, int fd, off_t *off, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = sendfile((int)(intptr_t)conn, fd, off, len - done);

		if (n <= 0)
			return done ? (ssize_t)done : n;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static void *serve(void *arg)
{
	struct http_io io = { .read = sock_read, .writev = sock_writev,
			      .sendfile = sock_sendfile, .conn = arg };

	http_serve(&io, docroot);
	close((int)(intptr_t)arg);
	return NULL;
}

int main(int argc, char **argv)
{
	int port = argc == 2 || argc == 3 ? bench_parse_port(argv[1]) : -1;
	pthread_attr_t attr;
	int lfd, one = 1;

	if (port < 0) {
		fprintf(stderr, "usage: http-threads PORT [DOCROOT]   (0 = any free port)\n");
		return 2;
	}
	if (argc == 3)
		docroot = argv[2];
	/* sendfile(2) has no MSG_NOSIGNAL: a client that leaves must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	lfd = bench_listen_port(argv[0], port, 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t tid;

		if (fd < 0) {
			perror("http-threads: accept4");
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&tid, &attr, serve, (void *)(intptr_t)fd)) {
			fprintf(stderr, "http-threads: cannot start a thread\n");
			close(fd);
		}
	}
}
