/* SPDX-License-Identifier: MIT */
/*
 * Waiting on several readiness objects at once, for poll() and select()
 * served by the engine.  Not installed.
 *
 * A group is one waiting call; each member is one of its fds, joined to
 * that fd's readiness object (ready.h) in the directions the call asks
 * for.  A readiness report or a kick on any member bumps the group's own
 * sequence counter, which the call sleeps on: a futex wait, or with a
 * signal mask to apply (ppoll, pselect) a ppoll of a per-thread eventfd,
 * so that the mask is swapped in atomically with the sleep as the
 * kernel's ppoll does.  The syscall backend sleeps in ppoll on the fds
 * themselves and their objects' kick eventfds.  What the call reports is
 * never taken from here: the caller asks the kernel (poll or select with
 * a zero timeout) after every wake, so the results are the kernel's.
 */
#ifndef URNET_ENGINE_READY_GROUP_H
#define URNET_ENGINE_READY_GROUP_H

#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ready.h"

struct urnet__ready_group;

struct urnet__ready_member {
	struct urnet__ready *r;
	short events;			/* what the call polls for (syscall backend) */
	uint8_t dirs;			/* bit per direction to be woken for */
	/* Set by the group. */
	uint8_t joined;
	struct urnet__ready_group *g;
	struct urnet__list link;	/* in r->members while joined */
};

struct urnet__ready_group {
	_Atomic uint32_t seq;		/* futex word: bumped by any member's report or kick */
	_Atomic uint32_t sleeping;
	int wake_fd;			/* the thread's eventfd when waiting with a mask */
	struct urnet__ready_member *m;
	size_t n;
	struct pollfd *scratch;		/* syscall backend: 2 * n entries */
};

/* What a caller's fd needs of its object: the directions of a poll event mask. */
URNET__HIDDEN uint8_t urnet__ready_group_dirs(short events);

/*
 * Join every member (m[i].r, .events and .dirs set) to its object; the
 * engine's polls are armed by the waits.  with_mask: the waits will apply
 * a signal mask.  scratch: 2 * n pollfds for the syscall backend.  0, or
 * -errno (no eventfd for the mask).
 */
URNET__HIDDEN int urnet__ready_group_join(struct urnet__ready_group *g,
					  struct urnet__ready_member *m, size_t n,
					  bool with_mask, struct pollfd *scratch);
URNET__HIDDEN void urnet__ready_group_leave(struct urnet__ready_group *g);

/* Take before asking the kernel whether any member is ready. */
static inline uint32_t urnet__ready_group_snapshot(struct urnet__ready_group *g)
{
	return atomic_load_explicit(&g->seq, memory_order_seq_cst);
}

/*
 * Sleep until a member may have changed since snap, or the absolute
 * CLOCK_MONOTONIC deadline (0: none), with mask as the thread's signal
 * mask if not NULL.  0 (ask the kernel again; may be spurious),
 * -ETIMEDOUT, -ECANCELED (a member's object is being closed), -EINTR (a
 * signal handler ran, whatever its SA_RESTART: poll and select are never
 * restarted).  A cancellation point.
 */
URNET__HIDDEN int urnet__ready_group_wait(struct urnet__ready_group *g, uint32_t snap,
					  int64_t deadline_ns, const sigset_t *mask);

/* From urnet__ready_signal: r reported readiness in dir, or was kicked. */
URNET__HIDDEN void urnet__ready_group_signal(struct urnet__ready *r, int dir,
					     urnet_engine *ring);

#endif
