/* SPDX-License-Identifier: MIT */
/*
 * Per-fd state of the compat layer.
 *
 * An entry caches what kind of file the number refers to (learnt lazily
 * with fstat and SO_TYPE), the engine readiness object used to wait on it,
 * and a count of calls currently inside the fd.  close() and the implicit
 * close of dup2()/dup3() go through urnet__fd_close(), which wakes blocked
 * callers, waits until every call has left and only then lets the kernel
 * release the number, so no call inside the fd can act on a reused fd.
 * A quick try (quick.c) does not enter: like the C library's call it
 * races a close, and only a call that waits on the engine is inside.
 */
#ifndef URNET_COMPAT_FDTABLE_H
#define URNET_COMPAT_FDTABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "ready.h"

enum urnet__fdkind {
	URNET__FDK_UNKNOWN = 0,
	URNET__FDK_OTHER,	/* neither: libc handles everything */
	URNET__FDK_STREAM,	/* SOCK_STREAM socket */
	URNET__FDK_DGRAM,	/* SOCK_DGRAM socket: UDP, unixgram */
};

/* A socket whose blocking calls the engine serves. */
static inline bool urnet__fdkind_served(enum urnet__fdkind k)
{
	return k == URNET__FDK_STREAM || k == URNET__FDK_DGRAM;
}

struct urnet__fdent {
	_Atomic uint32_t state;		/* call count | URNET__FD_* flags; futex word */
	_Atomic uint32_t kind;
	struct urnet__ready *_Atomic ready;
	struct urnet__ready *_Atomic zombie;	/* ready of a file closed behind our back */
	_Atomic uint64_t dev, ino;	/* identity of the file the kind was learnt on */
	/* fdmode.h cache words: O_NONBLOCK, and SO_RCVTIMEO/SO_SNDTIMEO in us. */
	_Atomic uint64_t nonblock;
	_Atomic uint64_t timeo_us[2];
	/*
	 * Bit per direction: the program set a negative SO_RCVTIMEO or
	 * SO_SNDTIMEO through this number, which Linux takes as a zero
	 * timeout but reads back as {0, 0}, like none.  Preload module only.
	 */
	_Atomic uint32_t timeo_zero;
	/*
	 * Bit per direction: the last wait in it was short, so the next may
	 * wait in the kernel itself (call.h, urnet__call_waits_in_kernel).
	 */
	_Atomic uint32_t short_wait;
};

/*
 * Enter fd: returns its entry with a call counted, or NULL when the number
 * is outside the table (the caller then leaves everything to libc).  Waits
 * while a close of the same number is in progress.
 */
URNET__HIDDEN struct urnet__fdent *urnet__fd_enter(int fd);
URNET__HIDDEN void urnet__fd_leave(struct urnet__fdent *e);

/*
 * The table: fd's entry is urnet__fd_chunks[fd >> URNET__FD_CHUNK_SHIFT]
 * [fd & (URNET__FD_CHUNK_SIZE - 1)], each chunk mapped on first touch.
 */
#define URNET__FD_CHUNK_SHIFT	10
#define URNET__FD_CHUNK_SIZE	(1u << URNET__FD_CHUNK_SHIFT)
#define URNET__FD_NCHUNKS	1024u		/* fds >= 2^20 are left to libc */
#define URNET__FD_CLOSING	(1u << 31)	/* in state: a close has begun */

extern URNET__HIDDEN struct urnet__fdent *_Atomic urnet__fd_chunks[URNET__FD_NCHUNKS];

/* fd's entry, or NULL when the number is outside the table or its chunk unmapped. */
static inline struct urnet__fdent *urnet__fd_lookup(int fd)
{
	struct urnet__fdent *c;

	if ((unsigned)fd >= URNET__FD_CHUNK_SIZE * URNET__FD_NCHUNKS)
		return NULL;
	c = atomic_load_explicit(&urnet__fd_chunks[(unsigned)fd >> URNET__FD_CHUNK_SHIFT],
				 memory_order_acquire);
	return c ? &c[(unsigned)fd & (URNET__FD_CHUNK_SIZE - 1)] : NULL;
}

/*
 * fd's entry without entering it, for a call that reads what the entry
 * caches and then makes one non-blocking try (quick.c): NULL when the
 * number has no entry yet or a close of it is under way.
 */
static inline struct urnet__fdent *urnet__fd_peek(int fd)
{
	struct urnet__fdent *e = urnet__fd_lookup(fd);

	if (!e || (atomic_load_explicit(&e->state, memory_order_relaxed) & URNET__FD_CLOSING))
		return NULL;
	return e;
}

/* The cached kind, learnt on first use. */
URNET__HIDDEN enum urnet__fdkind urnet__fd_kind(struct urnet__fdent *e, int fd);

/*
 * Before waiting: false when fd no longer is the file the entry was learnt
 * on (it was closed behind our back); the entry is then reset.  Also false,
 * with nothing reset, in a foreign child (the call is then libc's).
 */
URNET__HIDDEN bool urnet__fd_revalidate(struct urnet__fdent *e, int fd);

/* The readiness object, created on first need.  NULL + errno on failure. */
URNET__HIDDEN struct urnet__ready *urnet__fd_ready(struct urnet__fdent *e, int fd);

/* A close of this number has started: blocked calls must return EBADF. */
URNET__HIDDEN bool urnet__fd_closing(struct urnet__fdent *e);

/* fd was just created by the kernel (accept): drop what was cached for it. */
URNET__HIDDEN void urnet__fd_fresh(int fd);

/* newfd was just made a duplicate of oldfd (dup, dup2, dup3, F_DUPFD). */
URNET__HIDDEN void urnet__fd_fresh_dup(int oldfd, int newfd);

/* Note (on) or forget a zero timeout set on fd in dir (see timeo_zero). */
URNET__HIDDEN void urnet__fd_set_timeo_zero(int fd, int dir, bool on);

static inline bool urnet__fd_timeo_zero(struct urnet__fdent *e, int dir)
{
	return atomic_load_explicit(&e->timeo_zero, memory_order_acquire) >> dir & 1;
}

/* Every fd that arrived in msg's SCM_RIGHTS messages is fresh.  True if any came. */
URNET__HIDDEN bool urnet__fd_fresh_rights(const struct msghdr *msg);

/*
 * The preload module sees every C library call that makes a number name a
 * new file (socket, socketpair, accept, accept4, dup, dup2, dup3,
 * fcntl(F_DUPFD), SCM_RIGHTS through recvmsg and recvmmsg), and each one
 * marks the number fresh.  Its calls then trust an entry's cached file
 * instead of checking the file's identity before every wait; only a raw
 * system call could replace the file unseen, and a long wait rechecks for
 * that (urnet__call_wait).  Turned on once, by the preload module.
 */
URNET__HIDDEN void urnet__fd_track_new_numbers(void);
URNET__HIDDEN bool urnet__fd_new_numbers_tracked(void);

/*
 * Release the number fd with release(arg) (close, dup2, dup3) once no call
 * is inside it.  Returns what release returned, errno preserved from it.
 */
URNET__HIDDEN int urnet__fd_close(int fd, int (*release)(void *), void *arg);

/*
 * Close [first, last] in one go with release_all(arg) (close_range): every
 * number in the range the engine knows goes through
 * urnet__fd_close(fd, release, &fd) first, the others forget their cached
 * kind, and no call enters a number of the range until release_all has
 * returned.  Returns what release_all returned, errno preserved from it.
 */
URNET__HIDDEN int urnet__fd_close_range(unsigned first, unsigned last,
					int (*release)(void *),
					int (*release_all)(void *), void *arg);

/* The interposer's extra entry points (compat/close.c). */
URNET__HIDDEN int urnet__close_range(unsigned first, unsigned last, int flags);
URNET__HIDDEN int urnet__socket(int domain, int type, int protocol);
URNET__HIDDEN int urnet__socketpair(int domain, int type, int protocol, int sv[2]);
URNET__HIDDEN int urnet__dup(int fd);

/* In a forked child: forget the parent's engine state (no thread is inside). */
URNET__HIDDEN void urnet__fdtable_after_fork(void);

/*
 * True in a child that shares this process's memory without being one of
 * its threads: vfork(), posix_spawn() (clone with CLONE_VM|CLONE_VFORK),
 * clone(CLONE_VM), and also a child made without fork handlers (raw
 * clone, syscall(SYS_vfork), _Fork).  The fd table, the readiness objects
 * and the engines describe the parent's files, which the parent's threads
 * go on using; such a child must hand its calls to the C library and
 * change nothing there (a close would wait for the parent's blocked
 * callers to leave, which the child can never see).  Costs a getpid
 * system call: only for the calls a child makes before exec (close, dup2,
 * ...) and on slow paths, never on a read or write that does not wait.
 */
URNET__HIDDEN bool urnet__in_foreign_child(void);

#endif
