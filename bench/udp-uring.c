/* SPDX-License-Identifier: MIT */
/*
 * udp-uring: the io_uring ceiling for a UDP echo, raw liburing: one
 * thread, the ring's only issuer (SINGLE_ISSUER | DEFER_TASKRUN, falling
 * back to COOP_TASKRUN, then a plain ring); one multishot recvmsg reading
 * every datagram with its sender's address into a ring of provided
 * buffers; each reply a sendmsg straight out of its buffer, which returns
 * to the ring when the send completed; SQEs batched into the
 * io_uring_enter that waits for the next completions.  Linux 6.0+.
 * Usage: udp-uring PORT
 */
#define _GNU_SOURCE
#include <stdint.h>

#define URNET_BENCH_UDP_URING
#include "bench_uring.h"
#include "udp_bench.h"

#define RING_ENTRIES	4096

enum { OP_RECV, OP_SEND };

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static int fd;

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {	/* SQ full: hand the batch over now */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void recycle(unsigned bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * UDP_BUF_SIZE, UDP_BUF_SIZE,
			      (unsigned short)bid, io_uring_buf_ring_mask(UDP_NR_BUFS), 0);
	io_uring_buf_ring_advance(br, 1);
}

static void arm_recv(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_recvmsg_multishot(sqe, fd, &udp_ms_template, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UDP_BGID;
	io_uring_sqe_set_data64(sqe, OP_RECV);
}

static void on_recv(int res, unsigned flags)
{
	unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
	struct msghdr *reply;
	struct io_uring_sqe *sqe;

	if (!(flags & IORING_CQE_F_MORE))
		arm_recv();
	if (res < 0) {
		if (res == -EINVAL) {
			fprintf(stderr, "udp-uring: no multishot recvmsg: needs Linux 6.0\n");
			exit(1);
		}
		return;	/* -ENOBUFS: every buffer is out in a send; rearmed above */
	}
	reply = udp_ms_reply(bufs + (size_t)bid * UDP_BUF_SIZE, res, bid);
	if (!reply) {
		recycle(bid);
		return;
	}
	sqe = get_sqe();
	io_uring_prep_sendmsg(sqe, fd, reply, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)bid << 1 | OP_SEND);
}

static void ring_setup(void)
{
	bench_uring_setup(&ring, RING_ENTRIES, "udp-uring");
	br = bench_buf_ring_setup(&ring, UDP_NR_BUFS, UDP_BGID, UDP_BUF_SIZE, &bufs,
				  "udp-uring");
	for (unsigned i = 0; i < UDP_NR_BUFS; i++)
		recycle(i);
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
	if ((cqe->user_data & 1) == OP_RECV)
		on_recv(cqe->res, cqe->flags);
	else
		recycle((unsigned)(cqe->user_data >> 1));
}

int main(int argc, char **argv)
{
	fd = udp_bench_socket(argc, argv, 0, NULL, NULL);
	ring_setup();
	arm_recv();
	bench_uring_run(&ring, on_cqe, "udp-uring");
	return 0;
}
