/* SPDX-License-Identifier: MIT */
/*
 * One compat call on one fd: entering the fd, the blocking/timeout state
 * learnt on the first EAGAIN, and waiting on the engine.
 *
 * Fast path: the caller tries the syscall with MSG_DONTWAIT.  Only when it
 * returns EAGAIN does the call look at the fd's O_NONBLOCK flag (the caller
 * wants that EAGAIN) and its SO_RCVTIMEO/SO_SNDTIMEO, and sleep until the
 * engine reports readiness.
 */
#ifndef URNET_COMPAT_CALL_H
#define URNET_COMPAT_CALL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "fdtable.h"
#include "ready.h"

/* Calls the kernel never makes wait: libc's answer is the answer. */
#define URNET__NEVER_WAITS (MSG_DONTWAIT | MSG_ERRQUEUE)

/* Returned by the stream paths: hand this call to libc after leaving the fd. */
#define URNET__PASS	(-100000)

struct urnet__call {
	int fd;
	struct urnet__fdent *ent;
	struct urnet__ready *ready;
	bool prepared[2];
	bool nonblock;
	bool flags_known;
	bool plain;		/* one buffer of ours, no control data: recvfrom/sendto do */
	bool dgram;		/* SOCK_DGRAM: every call moves whole datagrams */
	/*
	 * Part of the data has moved: as in the kernel, any signal handler
	 * now ends the call with that count, SA_RESTART or not.
	 */
	bool progress;
	int64_t deadline[2];
	/* The deadline is a time limit of urnet's (iotimeout.h), not SO_*TIMEO's. */
	bool limited[2];
	bool connecting;	/* the wait is a connect's: URNET_CONNECT_TIMEOUT's */
	/* A loop of several calls (MSG_WAITALL, sendfile): its waits stay urnet's. */
	bool no_kernel_wait;
	/*
	 * The file's identity is left to the waits: on io_uring the engine
	 * wakes them when the number names another file (swept moves on).
	 */
	bool check_when_swept;
	uint32_t swept;
	void *stack_hi;		/* frame of URNET__CALL_RUN's caller (sanitizer builds) */
};

/*
 * Enter fd: true when it is a stream or datagram socket this layer serves (the call
 * then holds the fd and must end with urnet__call_end), false when libc
 * should do everything.
 */
URNET__HIDDEN bool urnet__call_begin(struct urnet__call *c, int fd);
URNET__HIDDEN void urnet__call_end(struct urnet__call *c);
/* pthread_cleanup_push() handler. */
URNET__HIDDEN void urnet__call_cleanup(void *c);

/*
 * n = expr, evaluated with c (the caller's struct urnet__call) entered on
 * fd when fd is a stream socket this layer serves, and left again after
 * it, also when the thread is cancelled while expr waits; n = URNET__PASS
 * when libc should make the call.  When n >= 0, errno is as it was before
 * (the tries that said EAGAIN on the way set it).  Every interposed call
 * is one of these:
 *
 *	struct urnet__call c;
 *	ssize_t n;
 *
 *	URNET__CALL_RUN(c, fd, n, stream_recvmsg(&c, msg, flags));
 *	if (n == URNET__PASS)
 *		return urnet__libc()->recvmsg(fd, msg, flags);
 *	return urnet__ret(n);
 */
#define URNET__CALL_RUN(c, fd, n, expr) do {				\
	volatile int errno_ = errno;					\
	if (!urnet__call_begin(&(c), (fd))) {				\
		(n) = URNET__PASS;					\
		break;							\
	}								\
	(c).stack_hi = __builtin_frame_address(0);			\
	pthread_cleanup_push(urnet__call_cleanup, &(c));		\
	(n) = (expr);							\
	pthread_cleanup_pop(1);						\
	/* A call that succeeds leaves errno alone, as the C library's does. */ \
	if ((n) >= 0)							\
		errno = errno_;						\
} while (0)

/*
 * Before a call that blocks in the kernel rather than on the engine (the
 * rare cases the engine cannot wait for: an accept that lost the race for
 * a connection, recv(MSG_PEEK|MSG_WAITALL), connect to a full unix
 * backlog).  The call leaves the fd first, so that it waits exactly as
 * without urnet: a close() of the number from another thread neither
 * waits for it nor touches the socket, which dup'd fds and other processes
 * may share.  0, or -EBADF when a close had already begun.
 */
URNET__HIDDEN int urnet__call_to_kernel(struct urnet__call *c);

/*
 * A read or write about to be made that the kernel may make whole, as
 * the C library's blocking call does: the last wait on the fd in dir was
 * short (URNET_KERNEL_WAIT_US), the fd is blocking, no time limit of
 * urnet's applies, and after part of the data moved, no SO_*TIMEO would
 * start again for the rest.  true: the call has left the fd (c->ent is
 * NULL) and makes the blocking call next; false: it tries, and waits on
 * the engine.
 */
URNET__HIDDEN bool urnet__call_waits_in_kernel(struct urnet__call *c, int dir);

/*
 * The same asked of e alone, before any call entered it (quick.c): true
 * only when nothing has to be asked of the kernel first, that is when
 * the fd is known to be blocking and no engine poll of it is in the ring.
 */
URNET__HIDDEN bool urnet__kernel_wait_known(struct urnet__fdent *e, int dir);

/*
 * n = expr, the kernel's blocking call on fd in dir, listed among the
 * parked calls while it lasts (also when the thread is cancelled in it);
 * then how long it took is noted on e (urnet__call_note_wait).
 * n = URNET__PASS when it said ENOTSOCK: the number names another file
 * now, and the C library's call is the answer.
 */
#define URNET__KERNEL_CALL(e, fd, dir, n, expr) do {			\
	int64_t start_ = urnet__kernel_wait_begin((fd), (dir));		\
	pthread_cleanup_push(urnet__kernel_wait_cleanup,			\
			     __builtin_frame_address(0));			\
	(n) = (expr);							\
	pthread_cleanup_pop(0);						\
	(n) = urnet__kernel_wait_end((e), (dir), start_, (n));		\
} while (0)

URNET__HIDDEN int64_t urnet__kernel_wait_begin(int fd, int dir);
/* Its pthread_cleanup_push() handler; stack_hi: the frame it was pushed in. */
URNET__HIDDEN void urnet__kernel_wait_cleanup(void *stack_hi);
URNET__HIDDEN ssize_t urnet__kernel_wait_end(struct urnet__fdent *e, int dir, int64_t start,
					     ssize_t n);

/* A wait on e in dir took ns: whether the next may be the kernel's. */
URNET__HIDDEN void urnet__call_note_wait(struct urnet__fdent *e, int dir, int64_t ns);

/* O_NONBLOCK of the file, read once per call.  -errno on failure. */
URNET__HIDDEN int urnet__call_nonblock(struct urnet__call *c);

/*
 * After an EAGAIN in dir: 0 when the call may wait (ready object and
 * deadline in place), -EAGAIN when the fd is non-blocking, URNET__PASS
 * when the number changed files under us, the caller is a foreign child
 * (urnet__in_foreign_child) or the engine cannot wait on it (the C
 * library's blocking call then waits in the kernel), other -errno on
 * failure.
 * Checks the file's identity first (accept, connect).
 */
URNET__HIDDEN int urnet__call_prepare(struct urnet__call *c, int dir);

/*
 * The same for a read or write, the calls made once per request: where
 * every new number is seen (urnet__fd_new_numbers_tracked) the identity
 * check is left to the wait, which makes it only if the wait lasts.
 */
URNET__HIDDEN int urnet__call_prepare_io(struct urnet__call *c, int dir);

/*
 * Sleep until dir may have changed since snap.  0: retry the syscall;
 * -EAGAIN: SO_*TIMEO expired; -EINTR: a signal handler interrupted;
 * -EBADF: the fd is being closed; URNET__PASS: the number turned out to
 * name another file (only after urnet__call_prepare_io).  A cancellation
 * point.  kind: what the list of parked calls shows (enum urnet__wait_kind;
 * URNET__WK_NONE: read or write, from dir).
 */
URNET__HIDDEN int urnet__call_wait(struct urnet__call *c, int dir, uint32_t snap,
				   unsigned kind);

/*
 * stream.c: the try-wait loop of recvmmsg (dir URNET__READ) or sendmmsg
 * on vec[0..vlen): the messages moved (at least one), or -errno.
 */
URNET__HIDDEN ssize_t urnet__call_mmsg(struct urnet__call *c, int dir, struct mmsghdr *vec,
				       unsigned int vlen, int flags);

/*
 * A blocking send of all of m on c's fd (stream.c), with the kernel's
 * rules for stopping early; the bytes queued, or -errno when none were.
 * c->progress set beforehand makes any signal end it with a count.
 */
URNET__HIDDEN ssize_t urnet__stream_sendmsg(struct urnet__call *c, const struct msghdr *m,
					    int flags);

/*
 * quick.c: a one-buffer read (recv, recvfrom, read) or write (send,
 * sendto, write) tried with MSG_DONTWAIT before the call enters the fd.
 * n >= 0 or -errno: the call's answer, except that for a send *part
 * says the try queued only part of buf and the rest is the full path's,
 * as a send that made progress (*part is left alone otherwise);
 * URNET__PASS: the number is not a served socket, the C library's call
 * is the whole call; URNET__QUICK_FULL: nothing moved, the full path
 * makes the call (it waits, or there is something to learn first).
 */
#define URNET__QUICK_FULL	(URNET__PASS - 1)

URNET__HIDDEN ssize_t urnet__quick_recv(int fd, void *buf, size_t len, int flags,
					struct sockaddr *addr, socklen_t *addrlen);
URNET__HIDDEN ssize_t urnet__quick_send(int fd, const void *buf, size_t len, int flags,
					const struct sockaddr *addr, socklen_t addrlen, bool *part);

/* Turn -errno into -1 + errno. */
static inline ssize_t urnet__ret(ssize_t n)
{
	if (n >= 0)
		return n;
	errno = (int)-n;
	return -1;
}

#endif
