/* SPDX-License-Identifier: MIT */
/*
 * echo-epoll: single-threaded epoll loop, non-blocking sockets, level
 * triggered.  Data read is sent straight back; only when the socket buffer
 * is full does the rest wait in a per-connection buffer, with EPOLLOUT
 * armed and reading paused until it drained.
 */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"

#define BUF_SIZE	(16 * 1024)
#define MAX_EVENTS	256

struct conn {
	int fd;
	size_t off;	/* unsent bytes are pending[off, len) */
	size_t len;
	char pending[BUF_SIZE];
};

static int epfd;

static void conn_close(struct conn *c)
{
	close(c->fd);	/* also removes it from the epoll set */
	free(c);
}

static int conn_watch(struct conn *c, int op, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(epfd, op, c->fd, &ev);
}

/* Send pending[off, len); 1 when all gone, 0 when the socket is full, -1 on error. */
static int conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->pending + c->off, c->len - c->off,
				 MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 1;
}

static int on_readable(struct conn *c)
{
	ssize_t n = recv(c->fd, c->pending, sizeof(c->pending), 0);
	int r;

	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	c->off = 0;
	c->len = (size_t)n;
	r = conn_flush(c);
	if (r == 0)	/* peer not reading: stop reading until it does */
		return conn_watch(c, EPOLL_CTL_MOD, EPOLLOUT);
	return r < 0 ? -1 : 0;
}

static int on_writable(struct conn *c)
{
	int r = conn_flush(c);

	if (r == 1)
		return conn_watch(c, EPOLL_CTL_MOD, EPOLLIN);
	return r;
}

static void on_accept(int lfd)
{
	int one = 1;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != ECONNABORTED)
				perror("echo-epoll: accept4");
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->off = c->len = 0;
		if (conn_watch(c, EPOLL_CTL_ADD, EPOLLIN) < 0)
			conn_close(c);
	}
}

int main(int argc, char **argv)
{
	int lfd = bench_listen(argc, argv, SOCK_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct epoll_event evs[MAX_EVENTS];

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("echo-epoll: epoll");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(epfd, evs, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int r;

			if (!c) {
				on_accept(lfd);
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				r = on_writable(c);
			else
				r = on_readable(c);
			if (r < 0)
				conn_close(c);
		}
	}
}
