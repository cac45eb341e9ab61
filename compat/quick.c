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

/* -errno of a C library call that failed; errno as the caller left it. */
static ssize_t neg_errno(ssize_t n, int saved)
{
	int err = errno;

	errno = saved;
	return n < 0 ? -err : n;
}

/*
 * The kernel's blocking call, whole.  Apart from the callers so that
 * their locals never live across the cancellation frame's setjmp; e is
 * read back from memory after it.
 */
static __attribute__((noinline)) ssize_t kernel_recv(struct urnet__fdent *e, int fd, void *buf,
						     size_t len, int flags, struct sockaddr *addr,
						     socklen_t *addrlen, int saved)
{
	struct urnet__fdent *volatile ent = e;
	ssize_t n;

	URNET__KERNEL_CALL(ent, fd, URNET__READ, n,
			   neg_errno(urnet__libc()->recvfrom(fd, buf, len, flags, addr, addrlen),
				     saved));
	return n;
}

static __attribute__((noinline)) ssize_t kernel_send(struct urnet__fdent *e, int fd,
						     const void *buf, size_t len, int flags,
						     const struct sockaddr *addr, socklen_t addrlen,
						     int saved)
{
	struct urnet__fdent *volatile ent = e;
	ssize_t n;

	URNET__KERNEL_CALL(ent, fd, URNET__WRITE, n,
			   neg_errno(urnet__libc()->sendto(fd, buf, len, flags, addr, addrlen),
				     saved));
	return n;
}

ssize_t urnet__quick_recv(int fd, void *buf, size_t len, int flags, struct sockaddr *addr,
			  socklen_t *addrlen)
{
	struct urnet__fdent *e = urnet__fd_peek(fd);
	ssize_t n = quick_check(e, URNET__READ);
	int saved = errno;

	if (n == QUICK_KERNEL)
		return kernel_recv(e, fd, buf, len, flags, addr, addrlen, saved);
	if (n)
		return n;
	n = urnet__libc()->recvfrom(fd, buf, len, flags | MSG_DONTWAIT, addr, addrlen);
	return n >= 0 ? n : quick_fail(e, errno, saved);
}

ssize_t urnet__quick_send(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *addr, socklen_t addrlen, bool *part)
{
	struct urnet__fdent *e = urnet__fd_peek(fd);
	ssize_t n = quick_check(e, URNET__WRITE);
	int saved = errno;

	if (n == QUICK_KERNEL)
		return kernel_send(e, fd, buf, len, flags, addr, addrlen, saved);
	if (n)
		return n;
	n = urnet__libc()->sendto(fd, buf, len, flags | MSG_DONTWAIT, addr, addrlen);
	if (n < 0)
		return quick_fail(e, errno, saved);
	/* A stream socket took part of it: the rest waits (the kernel's answer was whole). */
	*part = (size_t)n < len;
	return n;
}
