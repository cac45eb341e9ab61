/* SPDX-License-Identifier: MIT */
/*
 * echo-engine: an event-loop echo server on urnet's generic async API
 * (urnet_engine_submit), go-uring's "plain echo server".  There is no loop
 * of our own: every step is an io_uring operation handed to the default
 * engine, and the next step is submitted from the completion callback, on
 * the engine thread.  It runs echo-uring's algorithm (echo_bufq.h: multishot
 * accept, a multishot recv per connection into provided buffers, here an
 * urnet_buf_ring, sends straight from those buffers), so that the
 * comparison shows what the engine's dispatch costs over raw liburing.
 * io_uring backend only: an event loop cannot run on operations that block.
 * Needs Linux 6.0 (multishot recv, provided buffer rings).
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
#include "echo_bufq.h"
#include "urnet_engine.h"

static urnet_engine *engine;
static urnet_buf_ring *br;
static int lfd;

/* What a send needs besides its connection: a callback's arg is one pointer. */
struct send_req {
	struct echo_conn *c;
	int bid;
	unsigned off, len;
};

static void submit(urnet_prep_fn prep, urnet_complete_fn done, void *arg)
{
	int ret = urnet_engine_submit(engine, prep, done, arg);

	if (ret < 0) {
		fprintf(stderr, "echo-engine: submit: %s\n", strerror(-ret));
		exit(1);
	}
}

static const struct echo_ops ops;

static void recv_prep(struct io_uring_sqe *sqe, void *arg)
{
	struct echo_conn *c = arg;

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = ECHO_BGID;
}

static void recv_done(int res, unsigned flags, void *arg)
{
	if (res == -EINVAL) {
		fprintf(stderr, "echo-engine: no multishot recv: needs Linux 6.0\n");
		exit(1);
	}
	echo_on_recv(&ops, arg, res, flags);
}

static void arm_recv(struct echo_conn *c)
{
	submit(recv_prep, recv_done, c);
}

/*
 * At most one send per connection is in flight, so its request lives in the
 * connection.  echo_conn first: echo_conn_put frees the whole.
 */
struct conn {
	struct echo_conn ec;
	struct send_req send;
};

static void send_prep(struct io_uring_sqe *sqe, void *arg)
{
	struct send_req *s = arg;

	io_uring_prep_send(sqe, s->c->fd, (char *)urnet_buf_ring_buf(br, (unsigned)s->bid) + s->off,
			   s->len, MSG_NOSIGNAL);
}

static void send_done(int res, unsigned flags, void *arg)
{
	(void)flags;
	echo_on_send(&ops, ((struct send_req *)arg)->c, res);
}

static void send_buf(struct echo_conn *c, int bid, unsigned off, unsigned len)
{
	struct send_req *s = &((struct conn *)c)->send;

	*s = (struct send_req){ c, bid, off, len };
	submit(send_prep, send_done, s);
}

static void buf_recycle(int bid)
{
	urnet_buf_ring_put(br, (unsigned)bid);
}

static const struct echo_ops ops = { arm_recv, send_buf, buf_recycle };

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
	echo_conn_init(&c->ec, res);
	echo_arm_recv(&ops, &c->ec);
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
	br = urnet_buf_ring_new(engine, ECHO_BGID, ECHO_NR_BUFS, ECHO_BUF_SIZE);
	if (!br) {
		fprintf(stderr, "echo-engine: provided buffer ring: %s (Linux 5.19+)\n",
			strerror(errno));
		return 1;
	}
	lfd = bench_listen(argc, argv, 0);
	submit(accept_prep, accept_done, NULL);
	for (;;)
		pause();	/* the engine thread does all the work */
}
