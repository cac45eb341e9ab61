/* SPDX-License-Identifier: MIT */
/*
 * http-urnet: the HTTP/1.1 example on urnet's object API, a thread per
 * connection with plain blocking calls; the protocol code (bench/http.c) is
 * shared with bench/http-threads.
 *   http-urnet PORT [DOCROOT]   (0 = any free port; prints port=N)
 * Routes: GET /ping, POST /echo, GET /static/NAME (a file in DOCROOT).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bench_listen.h"
#include "http.h"
#include "urnet.h"

static const char *docroot = ".";

static ssize_t conn_read(void *conn, void *buf, size_t len)
{
	return urnet_conn_read(conn, buf, len);
}

static ssize_t conn_writev(void *conn, const struct iovec *iov, int iovcnt)
{
	return urnet_conn_writev(conn, iov, iovcnt);
}

static ssize_t conn_sendfile(void *conn, int fd, off_t *off, size_t len)
{
	return urnet_conn_sendfile(conn, fd, off, len);
}

static void *serve(void *arg)
{
	struct http_io io = { .read = conn_read, .writev = conn_writev,
			      .sendfile = conn_sendfile, .conn = arg };

	http_serve(&io, docroot);
	urnet_conn_close(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	int port = argc == 2 || argc == 3 ? bench_parse_port(argv[1]) : -1;
	urnet_listener *l;
	pthread_attr_t attr;
	char addr[32];

	if (port < 0) {
		fprintf(stderr, "usage: http-urnet PORT [DOCROOT]   (0 = any free port)\n");
		return 2;
	}
	if (argc == 3)
		docroot = argv[2];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	l = urnet_listen("tcp4", addr);
	if (!l) {
		fprintf(stderr, "http-urnet: listen %s: %s\n", addr, strerror(errno));
		return 1;
	}
	printf("port=%s\n", strrchr(urnet_listener_addr(l), ':') + 1);
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		urnet_conn *c = urnet_listener_accept(l);
		pthread_t tid;

		if (!c) {
			perror("http-urnet: accept");
			continue;
		}
		if (pthread_create(&tid, &attr, serve, c)) {
			fprintf(stderr, "http-urnet: cannot start a thread\n");
			urnet_conn_close(c);
		}
	}
}
