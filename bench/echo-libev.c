/* SPDX-License-Identifier: MIT */
/*
 * echo-libev: single-threaded libev loop, non-blocking sockets; the same
 * echo logic as echo-epoll, written the way libev programs usually are
 * (one ev_io per connection, its events switched between read and write).
 * libev picks its backend itself (epoll on Linux).
 */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"

#define BUF_SIZE	(16 * 1024)

struct conn {
	ev_io io;	/* first: the watcher pointer is the conn pointer */
	size_t off;	/* unsent bytes are pending[off, len) */
	size_t len;
	char pending[BUF_SIZE];
};

static void conn_close(struct ev_loop *loop, struct conn *c)
{
	ev_io_stop(loop, &c->io);
	close(c->io.fd);
	free(c);
}

static void conn_events(struct ev_loop *loop, struct conn *c, int events)
{
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->io.fd, events);
	ev_io_start(loop, &c->io);
}

/* 1 when all sent, 0 when the socket is full, -1 on error. */
static int conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->io.fd, c->pending + c->off, c->len - c->off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 1;
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = (struct conn *)w;
	int r;

	if (revents & EV_WRITE) {
		r = conn_flush(c);
		if (r == 1)
			conn_events(loop, c, EV_READ);
	} else {
		ssize_t n = recv(c->io.fd, c->pending, sizeof(c->pending), 0);

		if (n <= 0) {
			r = n < 0 && errno == EAGAIN ? 0 : -1;
		} else {
			c->off = 0;
			c->len = (size_t)n;
			r = conn_flush(c);
			if (r == 0)	/* peer not reading: wait for room */
				conn_events(loop, c, EV_WRITE);
		}
	}
	if (r < 0)
		conn_close(loop, c);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	int one = 1;

	(void)revents;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != ECONNABORTED)
				perror("echo-libev: accept4");
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->off = c->len = 0;
		ev_io_init(&c->io, on_conn, fd, EV_READ);
		ev_io_start(loop, &c->io);
	}
}

int main(int argc, char **argv)
{
	int lfd = bench_listen(argc, argv, SOCK_NONBLOCK);
	struct ev_loop *loop = ev_default_loop(0);
	ev_io acceptor;

	if (!loop) {
		fprintf(stderr, "echo-libev: no event loop\n");
		return 1;
	}
	ev_io_init(&acceptor, on_accept, lfd, EV_READ);
	ev_io_start(loop, &acceptor);
	ev_run(loop, 0);
	return 0;
}
