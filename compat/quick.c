/* SPDX-License-Identifier: MIT */
/*
 * The quick try of a one-buffer read or write (recv, recvfrom, read, send,
 * sendto, write).  Most of the reads and writes a program makes do not
 * wait: the data is there, or the socket buffer has room.  Such a call
 * needs nothing of urnet but the answer to "is this a socket the engine
 * serves?", which the fd's entry caches.  So the caller's call is made
 * first with MSG_DONTWAIT, before the call enters the fd or sets up its
 * cancellation frame, and whatever the kernel answers is the call's
 * answer, unless it is EAGAIN, which the full path (stream.c) takes from
 * there: learning the fd's mode, waiting on the engine or in the kernel.
 *
 * The try does not enter the fd.  Entering is what lets a close wake the
 * calls that wait on the number and wait for them to leave; a try that
 * does not wait needs neither.  Like the C library's own call it may race
 * a close of the number in another thread, and then acts on whatever the
 * kernel finds under the number, as the C library's call would.  It is a
 * cancellation point as the caller's call is (it is the C library's call),
 * and holds nothing a cancellation would have to give back.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>

#include "call.h"
#include "fdmode.h"
#include "libc.h"

/* From quick_check: the kernel's blocking call goes first. */
#define QUICK_KERNEL	1

/*
 * 0: a try may go first on e in dir: a socket the engine serves, whose
 * last wait in dir was not short.  QUICK_KERNEL: its last wait in dir was
 * short and nothing needs asking first (urnet__kernel_wait_known), so the
 * kernel's blocking call is the whole call.  URNET__PASS: not a served
 * socket, the C library's call is the whole call.  URNET__QUICK_FULL: the
 * full path (no entry, a close under way, a kind or a mode to learn).
 */
static ssize_t quick_check(struct urnet__fdent *e, int dir)
{
	uint32_t kind;

	if (!e)
		return URNET__QUICK_FULL;
	kind = atomic_load_explicit(&e->kind, memory_order_acquire);
	if (kind == URNET__FDK_OTHER)
		return URNET__PASS;
	if (!urnet__fdkind_served(kind))
		return URNET__QUICK_FULL;
	if (!(atomic_load_explicit(&e->short_wait, memory_order_relaxed) & (1u << dir)))
		return 0;
	return urnet__kernel_wait_known(e, dir) ? QUICK_KERNEL : URNET__QUICK_FULL;
}

/*
 * The try failed with err: the call's answer, or URNET__QUICK_FULL with
 * errno as the caller left it (the full path may yet succeed).  EAGAIN is
 * the answer only on a socket known to be non-blocking; ENOTSOCK means
 * the number names another file now, which the full path finds out.
 */
static ssize_t quick_fail(struct urnet__fdent *e, int err, int saved)
{
	uint32_t nb;

	if (err == EAGAIN && urnet__fd_mode_get(&e->nonblock, &nb) && nb)
		return -EAGAIN;
	if (err == EAGAIN || err == ENOTSOCK) {
		errno = saved;
		return URNET__QUICK_FULL;
	}
	return -err;
}

/* The caller's call, recvfrom (dir URNET__READ) or sendto, with flags. */
struct quick_call {
	int fd;
	int dir;
	void *buf;
	size_t len;
	struct sockaddr *addr;
	socklen_t *addrlen;	/* recvfrom's */
	socklen_t addrlen_in;	/* sendto's */
	int saved;		/* errno as the caller left it */
};

static inline __attribute__((always_inline)) ssize_t libc_call(const struct quick_call *q,
								 int flags)
{
	ssize_t n = q->dir == URNET__READ
		? urnet__libc()->recvfrom(q->fd, q->buf, q->len, flags, q->addr, q->addrlen)
		: urnet__libc()->sendto(q->fd, q->buf, q->len, flags, q->addr, q->addrlen_in);

	return n < 0 ? -errno : n;
}

/*
 * The kernel's blocking call, whole.  Apart from quick_io so that its
 * locals never live across the cancellation frame's setjmp (e is read
 * back from memory after it), and given q by value so that the record
 * is made in memory on this path only.
 */
static __attribute__((noinline)) ssize_t kernel_call(struct urnet__fdent *e, struct quick_call q,
						     int flags)
{
	struct urnet__fdent *volatile ent = e;
	ssize_t n;

	URNET__KERNEL_CALL(ent, q.fd, q.dir, n, libc_call(&q, flags));
	errno = q.saved;
	return n;
}

/*
 * See urnet__quick_recv and urnet__quick_send in call.h.  Inlined into
 * each, so that the record and the direction fold away on the hot path.
 */
static inline __attribute__((always_inline)) ssize_t quick_io(const struct quick_call *q,
								int flags, bool *part)
{
	struct urnet__fdent *e = urnet__fd_peek(q->fd);
	ssize_t n = quick_check(e, q->dir);

	if (n == QUICK_KERNEL)
		return kernel_call(e, *q, flags);
	if (n)
		return n;
	n = libc_call(q, flags | MSG_DONTWAIT);
	if (n < 0)
		return quick_fail(e, (int)-n, q->saved);
	/* A stream socket took part of it: the rest waits (the kernel's answer was whole). */
	if (q->dir == URNET__WRITE)
		*part = (size_t)n < q->len;
	return n;
}

ssize_t urnet__quick_recv(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			  socklen_t *addrlen)
{
	struct quick_call q = { .fd = fd, .dir = URNET__READ, .buf = buf, .len = len,
				.addr = addr, .addrlen = addrlen, .saved = errno };

	return quick_io(&q, flags, NULL);
}

ssize_t urnet__quick_send(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *addr, socklen_t addrlen, bool *part)
{
	struct quick_call q = { .fd = fd, .dir = URNET__WRITE, .buf = (void *)buf, .len = len,
				.addr = (struct sockaddr *)addr, .addrlen_in = addrlen,
				.saved = errno };

	return quick_io(&q, flags, part);
}
