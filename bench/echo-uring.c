/* SPDX-License-Identifier: MIT */
/*
 * echo-uring: the io_uring ceiling, raw liburing written the way its
 * maintainers advise for network servers:
 *  - one thread, the ring's only issuer: SINGLE_ISSUER | DEFER_TASKRUN
 *    (falling back to COOP_TASKRUN, then to a plain ring, on older kernels);
 *  - multishot accept, and one multishot recv per connection reading into a
 *    ring of provided buffers, so an idle connection holds no buffer;
 *  - sends straight from the provided buffer, which returns to the ring when
 *    the send completed; at most one send in flight per connection so that
 *    the bytes stay in order;
 *  - SQEs batched: everything queued while handling one batch of CQEs goes
 *    to the kernel in the same io_uring_enter that waits for the next.
 * Needs Linux 6.0 (multishot recv, provided buffer rings).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"
#include "bench_uring.h"
#include "echo_bufq.h"

#define RING_ENTRIES	4096

enum { OP_ACCEPT, OP_RECV, OP_SEND };

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int lfd;

static uint64_t tag(struct echo_conn *c, int op)
{
	return (uint64_t)(uintptr_t)c | (uint64_t)op;
}

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {	/* SQ full: hand the batch over now */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, OP_ACCEPT);
}

static void arm_recv(struct echo_conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = ECHO_BGID;
	io_uring_sqe_set_data64(sqe, tag(c, OP_RECV));
}

static void send_buf(struct echo_conn *c, int bid, unsigned off, unsigned len)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_send(sqe, c->fd, bufs + (size_t)bid * ECHO_BUF_SIZE + off, len,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, tag(c, OP_SEND));
}

static void buf_recycle(int bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * ECHO_BUF_SIZE, ECHO_BUF_SIZE,
			      (unsigned short)bid, io_uring_buf_ring_mask(ECHO_NR_BUFS), 0);
	io_uring_buf_ring_advance(br, 1);
}

static const struct echo_ops ops = { arm_recv, send_buf, buf_recycle };

static void on_accept(int res, unsigned flags)
{
	struct echo_conn *c;
	int one = 1;

	if (!(flags & IORING_CQE_F_MORE))
		arm_accept();
	if (res < 0) {
		if (res != -ECONNABORTED && res != -EINTR)
			fprintf(stderr, "echo-uring: accept: %s\n", strerror(-res));
		return;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		close(res);
		return;
	}
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	echo_conn_init(c, res);
	echo_arm_recv(&ops, c);
}

static void ring_setup(void)
{
	bench_uring_setup(&ring, RING_ENTRIES, "echo-uring");
	br = bench_buf_ring_setup(&ring, ECHO_NR_BUFS, ECHO_BGID, ECHO_BUF_SIZE, &bufs,
				  "echo-uring");
	for (int i = 0; i < ECHO_NR_BUFS; i++)
		buf_recycle(i);
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
	struct echo_conn *c = (struct echo_conn *)(uintptr_t)(cqe->user_data & ~3ull);

	switch (cqe->user_data & 3) {
	case OP_ACCEPT:
		on_accept(cqe->res, cqe->flags);
		break;
	case OP_RECV:
		echo_on_recv(&ops, c, cqe->res, cqe->flags);
		break;
	case OP_SEND:
		echo_on_send(&ops, c, cqe->res);
		break;
	}
}

int main(int argc, char **argv)
{
	lfd = bench_listen(argc, argv, 0);
	ring_setup();
	arm_accept();
	bench_uring_run(&ring, on_cqe, "echo-uring");
	return 0;
}
