/* SPDX-License-Identifier: MIT */
/*
 * The ring and the provided-buffer ring of the raw liburing servers
 * (echo-uring, udp-uring), set up the way liburing's maintainers advise
 * for network servers: the ring's only issuer with deferred task work
 * (SINGLE_ISSUER | DEFER_TASKRUN), falling back to COOP_TASKRUN, then to
 * a plain ring, on older kernels.  Header-only; exits on failure.
 */
#ifndef URNET_BENCH_BENCH_URING_H
#define URNET_BENCH_BENCH_URING_H

#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static inline void bench_uring_setup(struct io_uring *ring, unsigned int entries,
				     const char *prog)
{
	static const unsigned tries[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int ret = -EINVAL;

	for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p = {
			.flags = tries[i] | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE,
			.cq_entries = entries * 4,
		};

		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret < 0) {
		fprintf(stderr, "%s: io_uring setup: %s\n", prog, strerror(-ret));
		exit(1);
	}
}

/*
 * nbufs buffers of size bytes in *bufs, registered as buffer group bgid;
 * the caller adds them to the returned ring.
 */
static inline struct io_uring_buf_ring *bench_buf_ring_setup(struct io_uring *ring,
							     unsigned int nbufs,
							     unsigned short bgid, size_t size,
							     char **bufs, const char *prog)
{
	struct io_uring_buf_reg reg = { .ring_entries = nbufs, .bgid = bgid };
	struct io_uring_buf_ring *br;
	int ret;

	br = mmap(NULL, nbufs * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	*bufs = malloc((size_t)nbufs * size);
	if (br == MAP_FAILED || !*bufs) {
		fprintf(stderr, "%s: buffers: out of memory\n", prog);
		exit(1);
	}
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	ret = io_uring_register_buf_ring(ring, &reg, 0);
	if (ret < 0) {
		fprintf(stderr, "%s: provided buffer ring: %s (Linux 5.19+)\n", prog,
			strerror(-ret));
		exit(1);
	}
	io_uring_buf_ring_init(br);
	return br;
}

/*
 * The loop: everything queued while handling one batch of completions
 * goes to the kernel in the io_uring_enter that waits for the next.
 */
static inline void bench_uring_run(struct io_uring *ring,
				   void (*on_cqe)(const struct io_uring_cqe *), const char *prog)
{
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int ret = io_uring_submit_and_wait(ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "%s: io_uring_enter: %s\n", prog, strerror(-ret));
			exit(1);
		}
		io_uring_for_each_cqe(ring, head, cqe) {
			on_cqe(cqe);
			seen++;
		}
		io_uring_cq_advance(ring, seen);
	}
}

#endif
