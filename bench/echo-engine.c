/* SPDX-License-Identifier: MIT */
/*
 * echo-engine: an event-loop echo server on urnet's generic async API
 * (urnet_engine_submit), go-uring's "plain echo server".  There is no loop
 * of our own: every step is an io_uring operation handed to the default
 * engine, and the next step is submitted from the completion callback, on
 * the engine thread.  Compared with echo-uring this shows what the engine's
 * queue and callback dispatch cost over raw liburing.
 *
 * Per connection: recv into its buffer, send that back (resubmitting the
 * rest after a short send), recv again.  Accept is multishot where the
 * kernel supports it and resubmitted whenever a completion says it ended.
 * io_uring backend only: an event loop cannot run on operations that block.
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"
#include "urnet_engine.h"

#define BUF_SIZE	4096

struct conn {
	int fd;
	unsigned len;	/* bytes in buf */
	unsigned sent;
	char buf[BUF_SIZE];
};

static urnet_engine *engine;
static int lfd;

static void submit(urnet_prep_fn prep, urnet_complete_fn done, void *arg)
{
	int ret = urnet_engine_submit(engine, prep, done, arg);

	if (ret < 0) {
		fprintf(stderr, "echo-engine: submit: %s\n", strerror(-ret));
		exit(1);
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c);
}

static void recv_prep(struct io_uring_sqe *sqe, void *arg)
{
	struct conn *c = arg;

	io_uring_prep_recv(sqe, c->fd, c->buf, sizeof(c->buf), 0);
}

static void send_prep(struct io_uring_sqe *sqe, void *arg)
{
	struct conn *c = arg;

	io_uring_prep_send(sqe, c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL);
}

static void send_done(int res, unsigned flags, void *arg);

static void recv_done(int res, unsigned flags, void *arg)
{
	struct conn *c = arg;

	(void)flags;
	if (res <= 0) {
		conn_close(c);
		return;
	}
	c->len = (unsigned)res;
	c->sent = 0;
	submit(send_prep, send_done, c);
}

static void send_done(int res, unsigned flags, void *arg)
{
	struct conn *c = arg;

	(void)flags;
	if (res < 0) {
		conn_close(c);
		return;
	}
	c->sent += (unsigned)res;
	if (c->sent < c->len)
		submit(send_prep, send_done, c);
	else
		submit(recv_prep, recv_done, c);
}

static int accept_multishot = 1;

static void accept_prep(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	if (accept_multishot)
		io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	else
		io_uring_prep_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void accept_done(int res, unsigned flags, void *arg)
{
	struct conn *c;
	int one = 1;

	if (res == -EINVAL && accept_multishot) {	/* kernel before 5.19 */
		accept_multishot = 0;
		submit(accept_prep, accept_done, arg);
		return;
	}
	if (!(flags & IORING_CQE_F_MORE))
		submit(accept_prep, accept_done, arg);
	if (res < 0) {
		if (res != -ECONNABORTED && res != -EINTR)
			fprintf(stderr, "echo-engine: accept: %s\n", strerror(-res));
		return;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		close(res);
		return;
	}
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = res;
	submit(recv_prep, recv_done, c);
}

int main(int argc, char **argv)
{
	engine = urnet_default_engine();
	if (!engine) {
		perror("echo-engine: engine");
		return 1;
	}
	/* That backend runs operations one after another, each blocking. */
	if (strcmp(urnet_engine_backend(engine), "io_uring") != 0) {
		fprintf(stderr, "echo-engine: needs the io_uring backend, not %s\n",
			urnet_engine_backend(engine));
		return 1;
	}
	lfd = bench_listen(argc, argv, 0);
	submit(accept_prep, accept_done, NULL);
	for (;;)
		pause();	/* the engine thread does all the work */
}
