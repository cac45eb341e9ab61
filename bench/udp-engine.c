/* SPDX-License-Identifier: MIT */
/*
 * udp-engine: udp-uring's algorithm as an event loop on urnet's generic
 * async API (urnet_engine_submit with completion callbacks on the engine
 * thread): one multishot recvmsg into an urnet_buf_ring, each reply a
 * sendmsg straight out of its buffer, returned to the ring when the send
 * completed.  What the engine's dispatch costs over raw liburing.
 * io_uring backend only; Linux 6.0+.  Usage: udp-engine PORT
 */
#define _GNU_SOURCE
#include <stdint.h>

#define URNET_BENCH_UDP_URING
#include "udp_bench.h"
#include "urnet_engine.h"

static urnet_engine *engine;
static urnet_buf_ring *br;
static int fd;

static void submit(urnet_prep_fn prep, urnet_complete_fn done, void *arg)
{
	int ret = urnet_engine_submit(engine, prep, done, arg);

	if (ret < 0) {
		fprintf(stderr, "udp-engine: submit: %s\n", strerror(-ret));
		exit(1);
	}
}

static void recv_prep(struct io_uring_sqe *sqe, void *arg)
{
	(void)arg;
	io_uring_prep_recvmsg_multishot(sqe, fd, &udp_ms_template, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UDP_BGID;
}

static void send_prep(struct io_uring_sqe *sqe, void *arg)
{
	unsigned bid = (unsigned)(uintptr_t)arg;

	io_uring_prep_sendmsg(sqe, fd, &udp_replies[bid].msg, 0);
}

static void send_done(int res, unsigned flags, void *arg)
{
	(void)res;
	(void)flags;
	urnet_buf_ring_put(br, (unsigned)(uintptr_t)arg);
}

static void recv_done(int res, unsigned flags, void *arg)
{
	unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

	if (!(flags & IORING_CQE_F_MORE))
		submit(recv_prep, recv_done, arg);
	if (res < 0) {
		if (res == -EINVAL) {
			fprintf(stderr, "udp-engine: no multishot recvmsg: needs Linux 6.0\n");
			exit(1);
		}
		return;	/* -ENOBUFS: every buffer is out in a send; rearmed above */
	}
	if (!udp_ms_reply(urnet_buf_ring_buf(br, bid), res, bid)) {
		urnet_buf_ring_put(br, bid);
		return;
	}
	submit(send_prep, send_done, (void *)(uintptr_t)bid);
}

int main(int argc, char **argv)
{
	fd = udp_bench_socket(argc, argv, 0, NULL, NULL);
	engine = urnet_default_engine();
	if (!engine)
		udp_die(argv[0], "engine");
	/* That backend runs operations one after another, each blocking. */
	if (strcmp(urnet_engine_backend(engine), "io_uring") != 0) {
		fprintf(stderr, "udp-engine: needs the io_uring backend, not %s\n",
			urnet_engine_backend(engine));
		return 1;
	}
	br = urnet_buf_ring_new(engine, UDP_BGID, UDP_NR_BUFS, UDP_BUF_SIZE);
	if (!br)
		udp_die(argv[0], "provided buffer ring");
	submit(recv_prep, recv_done, NULL);
	for (;;)
		pause();	/* the engine thread does all the work */
}
