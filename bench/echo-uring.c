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
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"

#define RING_ENTRIES	4096
#define NR_BUFS		4096		/* power of two */
#define BUF_SIZE	4096
#define BGID		0

enum { OP_ACCEPT, OP_RECV, OP_SEND };

struct conn {
	int fd;
	int recv_armed;
	int send_busy;
	int dead;
	int head, tail;		/* queue of filled buffers to send back, -1 = empty */
	unsigned sent;		/* bytes of the head buffer already sent */
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int buf_next[NR_BUFS];	/* send queue links */
static unsigned buf_len[NR_BUFS];
static int lfd;

static uint64_t tag(struct conn *c, int op)
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

static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, tag(c, OP_RECV));
	c->recv_armed = 1;
}

static void send_head(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();
	int bid = c->head;

	io_uring_prep_send(sqe, c->fd, bufs + (size_t)bid * BUF_SIZE + c->sent,
			   buf_len[bid] - c->sent, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, tag(c, OP_SEND));
	c->send_busy = 1;
}

static void buf_recycle(int bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(NR_BUFS), 0);
	io_uring_buf_ring_advance(br, 1);
}

/* Pop the head buffer and give it back to the kernel. */
static void queue_pop(struct conn *c)
{
	int bid = c->head;

	c->head = buf_next[bid];
	if (c->head < 0)
		c->tail = -1;
	c->sent = 0;
	buf_recycle(bid);
}

/* Free the conn once the kernel holds no operation on it. */
static void conn_put(struct conn *c)
{
	if (!c->dead || c->recv_armed || c->send_busy)
		return;
	while (c->head >= 0)
		queue_pop(c);
	close(c->fd);
	free(c);
}

static void conn_kill(struct conn *c)
{
	if (!c->dead) {
		c->dead = 1;
		shutdown(c->fd, SHUT_RDWR);	/* ends the multishot recv */
	}
	conn_put(c);
}

static void on_accept(int res, unsigned flags)
{
	struct conn *c;
	int one = 1;

	if (!(flags & IORING_CQE_F_MORE))
		arm_accept();
	if (res < 0) {
		if (res != -ECONNABORTED && res != -EINTR)
			fprintf(stderr, "echo-uring: accept: %s\n", strerror(-res));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(res);
		return;
	}
	setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = res;
	c->head = c->tail = -1;
	arm_recv(c);
}

static void on_recv(struct conn *c, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		c->recv_armed = 0;
	if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
		int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);

		buf_len[bid] = (unsigned)res;
		buf_next[bid] = -1;
		if (c->dead) {
			buf_recycle(bid);
		} else {
			if (c->tail >= 0)
				buf_next[c->tail] = bid;
			else
				c->head = bid;
			c->tail = bid;
			if (!c->send_busy)
				send_head(c);
		}
	}
	if (c->recv_armed)
		return;
	if (res == -ENOBUFS && !c->dead)	/* all buffers queued for sending */
		arm_recv(c);
	else if (res <= 0 || c->dead)
		conn_kill(c);
	else
		arm_recv(c);
}

static void on_send(struct conn *c, int res)
{
	c->send_busy = 0;
	if (res < 0 || c->dead) {
		conn_kill(c);
		return;
	}
	c->sent += (unsigned)res;
	if (c->sent == buf_len[c->head])
		queue_pop(c);
	if (c->head >= 0)
		send_head(c);
}

static void ring_setup(void)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct io_uring_buf_reg reg = { .ring_entries = NR_BUFS, .bgid = BGID };
	int ret = -EINVAL;

	for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p = {
			.flags = tries[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
			.cq_entries = RING_ENTRIES * 4,
		};

		ret = io_uring_queue_init_params(RING_ENTRIES, &ring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret < 0) {
		fprintf(stderr, "echo-uring: io_uring setup: %s\n", strerror(-ret));
		exit(1);
	}
	br = mmap(NULL, NR_BUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	bufs = malloc((size_t)NR_BUFS * BUF_SIZE);
	if (br == MAP_FAILED || !bufs) {
		perror("echo-uring: buffers");
		exit(1);
	}
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	ret = io_uring_register_buf_ring(&ring, &reg, 0);
	if (ret < 0) {
		fprintf(stderr, "echo-uring: provided buffer ring: %s (Linux 5.19+)\n",
			strerror(-ret));
		exit(1);
	}
	io_uring_buf_ring_init(br);
	for (int i = 0; i < NR_BUFS; i++)
		buf_recycle(i);
}

int main(int argc, char **argv)
{
	lfd = bench_listen(argc, argv, 0);
	ring_setup();
	arm_accept();
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int ret = io_uring_submit_and_wait(&ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "echo-uring: io_uring_enter: %s\n", strerror(-ret));
			return 1;
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct conn *c = (struct conn *)(uintptr_t)(cqe->user_data & ~3ull);

			switch (cqe->user_data & 3) {
			case OP_ACCEPT:
				on_accept(cqe->res, cqe->flags);
				break;
			case OP_RECV:
				on_recv(c, cqe->res, cqe->flags);
				break;
			case OP_SEND:
				on_send(c, cqe->res);
				break;
			}
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
	}
}
