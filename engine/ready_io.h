/* SPDX-License-Identifier: MIT */
/*
 * The one path from a blocking call to the engine, shared by the object
 * API (api/conn_io.c) and the BSD compat layer (compat/stream.c): try the
 * non-blocking syscall; on EAGAIN sleep until readiness in that direction
 * may have changed since a snapshot taken before the try; try again.  And
 * the iovec bookkeeping of transfers that go on after a short one.  Not
 * installed.
 */
#ifndef URNET_ENGINE_READY_IO_H
#define URNET_ENGINE_READY_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ready.h"

/* From a wait callback: try the syscall again without having slept. */
#define URNET__IO_RETRY 1

struct urnet__io {
	/* NULL until the wait callback makes one (compat does so lazily). */
	struct urnet__ready *ready;
	int dir;
	/*
	 * Reads that take data out of the queue: the bytes asked for, so that
	 * a short read is seen (urnet__ready_note_drained).  0 otherwise.
	 */
	size_t drain_want;
	/* One non-blocking try: the bytes moved, or -errno. */
	ssize_t (*try_io)(struct urnet__io *io);
	/*
	 * The try said EAGAIN (tried), or the last read drained the socket and
	 * no try was made yet (!tried): sleep on snap.  0: slept, try again;
	 * URNET__IO_RETRY: try again at once (with a new snapshot if ready was
	 * just set); negative: the loop returns it.
	 */
	int (*wait)(struct urnet__io *io, uint32_t snap, bool tried);
};

/* Run io until the try does not say EAGAIN: its result, or the wait's error. */
URNET__HIDDEN ssize_t urnet__ready_io(struct urnet__io *io);

/*
 * shutdown(fd, how), then wake r's waiters (r may be NULL) so that they
 * look at the socket again at once, rather than trust a poll to report
 * the new state.  shutdown's result, errno kept.
 */
URNET__HIDDEN int urnet__ready_shutdown(struct urnet__ready *r, int fd, int how);

/*
 * A read of fd, a datagram socket waited on through r (NULL: none yet),
 * got EAGAIN: true when the socket is shut down for reading, where the
 * kernel's blocking read returns 0 but its non-blocking one EAGAIN while
 * a poll says readable.  Asked of the kernel only after a sleep woke to
 * EAGAIN, or once r's poll reported a hang-up (which a poll armed earlier
 * reports once, so a later read must look).
 */
URNET__HIDDEN bool urnet__dgram_read_shut(struct urnet__ready *r, int fd, bool slept);

/* The total length of iov[0..cnt), or -EINVAL past SSIZE_MAX. */
URNET__HIDDEN ssize_t urnet__iov_total(const struct iovec *iov, size_t cnt);

/*
 * What is left of an iovec array once part of it moved, handed out as a
 * window of up to URNET__IOV_WINDOW entries refilled as it empties, so that
 * a transfer that goes on never allocates.  The array itself is not
 * modified.
 */
#define URNET__IOV_WINDOW 64

struct urnet__iov_rest {
	const struct iovec *src;
	size_t cnt;
	size_t idx;		/* first entry not wholly moved */
	size_t off;		/* bytes of src[idx] already moved */
	struct iovec win[URNET__IOV_WINDOW];
};

URNET__HIDDEN void urnet__iov_rest_init(struct urnet__iov_rest *rest, const struct iovec *iov,
					size_t cnt);
/* n more bytes moved. */
URNET__HIDDEN void urnet__iov_rest_skip(struct urnet__iov_rest *rest, size_t n);
/* The entries for the next try, *cnt of them (0: nothing left). */
URNET__HIDDEN struct iovec *urnet__iov_rest_window(struct urnet__iov_rest *rest, size_t *cnt);

#endif
