/* SPDX-License-Identifier: MIT */
/*
 * The wait of poll, ppoll, select and pselect on the engine: hold every
 * number, join their readiness objects into one group, and between the
 * kernel's answers sleep on it.  See pollwait.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fdtable.h"
#include "libc.h"
#include "pollwait.h"
#include "ready_group.h"

/* Calls on this many fds or fewer wait without allocating. */
#define STACK_FDS 8

struct pollstate {
	size_t cap;		/* entries of each array */
	size_t nm;		/* members (fds held) so far */
	struct urnet__fdent **ents;
	size_t *idx;		/* member -> index in pc->fds */
	uint8_t *closing;	/* by index in pc->fds */
	struct urnet__ready_member *m;
	struct pollfd *scratch;	/* 2 * cap */
	struct urnet__ready_group g;
	bool joined;
	bool fallback;		/* the kernel must make the call instead */
	void *heap;
};

struct stack_arrays {
	struct urnet__fdent *ents[STACK_FDS];
	size_t idx[STACK_FDS];
	uint8_t closing[STACK_FDS];
	struct urnet__ready_member m[STACK_FDS];
	struct pollfd scratch[2 * STACK_FDS];
};

static bool state_alloc(struct pollstate *s, size_t n, struct stack_arrays *st)
{
	size_t each = sizeof(*s->ents) + sizeof(*s->idx) + sizeof(*s->m) +
		      2 * sizeof(*s->scratch) + sizeof(*s->closing);
	char *p;

	memset(s, 0, sizeof(*s));
	s->cap = n;
	if (n <= STACK_FDS) {
		s->ents = st->ents;
		s->idx = st->idx;
		s->closing = st->closing;
		s->m = st->m;
		s->scratch = st->scratch;
		memset(s->closing, 0, n);
		return true;
	}
	if (n > SIZE_MAX / each)
		return false;
	p = s->heap = calloc(n, each);
	if (!p)
		return false;
	/* Largest alignment first. */
	s->m = (void *)p;
	p += n * sizeof(*s->m);
	s->ents = (void *)p;
	p += n * sizeof(*s->ents);
	s->idx = (void *)p;
	p += n * sizeof(*s->idx);
	s->scratch = (void *)p;
	p += 2 * n * sizeof(*s->scratch);
	s->closing = (void *)p;
	return true;
}

/* Leaves the group and every number held: also when the thread is cancelled. */
static void state_release(void *arg)
{
	struct pollstate *s = arg;

	if (s->joined)
		urnet__ready_group_leave(&s->g);
	s->joined = false;
	while (s->nm)
		urnet__fd_leave(s->ents[--s->nm]);
}

/*
 * Hold fd and find its readiness object.  false: the engine cannot wait on
 * it (a number beyond the table, no engine, no descriptor to spare).
 */
static bool hold(struct pollstate *s, const struct pollfd *p, size_t i)
{
	struct urnet__fdent *e = urnet__fd_enter(p->fd);
	struct urnet__ready *r;

	if (!e)
		return false;
	s->ents[s->nm] = e;
	s->idx[s->nm] = i;
	s->nm++;
	urnet__fd_kind(e, p->fd);
	/* The compat API does not see the program's own socket() or dup(). */
	if (!urnet__fd_new_numbers_tracked() && !urnet__fd_revalidate(e, p->fd))
		urnet__fd_kind(e, p->fd);
	r = urnet__fd_ready(e, p->fd);
	if (!r)
		return false;
	s->m[s->nm - 1] = (struct urnet__ready_member){
		.r = r,
		.events = p->events,
		.dirs = urnet__ready_group_dirs(p->events),
	};
	return true;
}

static bool any_closing(struct pollstate *s)
{
	bool any = false;

	for (size_t k = 0; k < s->nm; k++)
		if (urnet__fd_closing(s->ents[k])) {
			s->closing[s->idx[k]] = 1;
			any = true;
		}
	return any;
}

/* The loop itself; *fallback: the kernel must make the call instead. */
static int wait_loop(struct urnet__pollcall *pc, struct pollstate *s, bool *fallback)
{
	for (;;) {
		uint32_t snap = urnet__ready_group_snapshot(&s->g);
		int ret, w;

		/* After the snapshot: a close that began before it is seen here. */
		if (any_closing(s))
			return pc->closed(pc, s->closing);
		ret = pc->ask(pc, pc->mask);
		if (ret != 0 || pc->zero)
			return ret;
		w = urnet__ready_group_wait(&s->g, snap, pc->deadline_ns, pc->mask);
		switch (w) {
		case 0:
			continue;
		case -ECANCELED:
			if (any_closing(s))
				continue;
			/*
			 * Not a close: the compat API found a number naming
			 * another file (urnet__fd_revalidate) and let go of the
			 * old one's object; the kernel waits for the rest.
			 */
			*fallback = true;
			return 0;
		case -ETIMEDOUT:
			return pc->ask(pc, pc->mask);
		case -EINTR:
			return -EINTR;
		default:
			*fallback = true;
			return 0;
		}
	}
}

/* Written once, by the preload module's constructor, before any thread runs. */
static bool kernel_only;

void urnet__pollcall_kernel_only(void)
{
	kernel_only = true;
}

/* Hold every fd, join, wait. */
static int run_held(struct urnet__pollcall *pc, struct pollstate *s)
{
	for (size_t i = 0; i < pc->n; i++)
		if (pc->fds[i].fd >= 0 && !hold(s, &pc->fds[i], i)) {
			s->fallback = true;
			return 0;
		}
	if (urnet__ready_group_join(&s->g, s->m, s->nm, pc->mask != NULL, s->scratch)) {
		s->fallback = true;
		return 0;
	}
	s->joined = true;
	return wait_loop(pc, s, &s->fallback);
}

int urnet__pollcall_run(struct urnet__pollcall *pc)
{
	struct stack_arrays st;
	struct pollstate s;
	size_t waitable = 0;
	int saved = errno, ret;

	/*
	 * The kernel first: a zero timeout is its answer alone, and it checks
	 * the arguments (EFAULT, EINVAL, EBADF) before anything here reads
	 * them.
	 */
	ret = pc->ask(pc, pc->mask);
	if (ret != 0 || pc->zero)
		return ret;
	for (size_t i = 0; i < pc->n; i++)
		waitable += pc->fds[i].fd >= 0;
	/* Nothing the engine could wait on (a sleep), or not ours to wait on. */
	if (!waitable || kernel_only || urnet__in_foreign_child() ||
	    !state_alloc(&s, waitable, &st))
		return pc->block(pc, pc->deadline_ns, pc->mask);
	pthread_cleanup_push(state_release, &s);
	ret = run_held(pc, &s);
	pthread_cleanup_pop(1);
	free(s.heap);
	if (s.fallback)
		ret = pc->block(pc, pc->deadline_ns, pc->mask);
	if (ret >= 0)
		errno = saved;
	return ret;
}

void urnet__pollcall_timeout(struct urnet__pollcall *pc, int64_t ns)
{
	int64_t now = urnet_now_ns();

	pc->zero = ns == 0;
	pc->deadline_ns = 0;
	/* Too long for the clock: as good as none. */
	if (ns > 0 && ns < INT64_MAX - now)
		pc->deadline_ns = now + ns;
}

int64_t urnet__timespec_ns(const struct timespec *ts)
{
	if (!ts)
		return -1;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL;
	if (ts->tv_sec >= INT64_MAX / 1000000000 - 1)
		return -1;
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

void urnet__deadline_left(int64_t deadline_ns, struct timespec *ts)
{
	int64_t left = deadline_ns - urnet_now_ns();

	if (left < 0)
		left = 0;
	ts->tv_sec = left / 1000000000;
	ts->tv_nsec = left % 1000000000;
}
