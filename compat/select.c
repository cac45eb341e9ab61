/* SPDX-License-Identifier: MIT */
/*
 * select and pselect with their waits on the engine (pollwait.h): the
 * kernel's select answers, with a zero timeout, on a copy of the sets the
 * program passed; the engine waits on the fds of those sets as poll
 * events.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libc.h"
#include "pollwait.h"
#include "urnet_compat.h"

/* Calls on this many fds or fewer build their poll list without allocating. */
#define STACK_FDS 16

struct selargs {
	struct urnet__pollcall pc;
	int nfds;
	size_t bytes;		/* of each set the kernel reads */
	fd_set *set[3];		/* the program's: read, write, except */
	fd_set in[3];		/* what it asked for */
};

/* The kernel reads whole longs of each set: nfds bits, rounded up. */
static size_t set_bytes(int nfds)
{
	size_t bits = 8 * sizeof(long);

	return ((size_t)nfds + bits - 1) / bits * sizeof(long);
}

static void sets_restore(struct selargs *a)
{
	for (int k = 0; k < 3; k++)
		if (a->set[k])
			memcpy(a->set[k], &a->in[k], a->bytes);
}

static int sel_ask(struct urnet__pollcall *pc, const sigset_t *mask)
{
	struct selargs *a = (struct selargs *)pc;
	struct timespec zero = { 0, 0 };
	int ret;

	sets_restore(a);
	ret = urnet__libc()->pselect(a->nfds, a->set[0], a->set[1], a->set[2], &zero, mask);
	return ret < 0 ? -errno : ret;
}

static int sel_block(struct urnet__pollcall *pc, int64_t deadline_ns, const sigset_t *mask)
{
	struct selargs *a = (struct selargs *)pc;
	struct timespec left;
	int ret;

	sets_restore(a);
	if (deadline_ns)
		urnet__deadline_left(deadline_ns, &left);
	ret = urnet__libc()->pselect(a->nfds, a->set[0], a->set[1], a->set[2],
				     deadline_ns ? &left : NULL, mask);
	return ret < 0 ? -errno : ret;
}

/* A number closed while the call waited: the kernel's select says EBADF. */
static int sel_closed(struct urnet__pollcall *pc, const uint8_t *closing)
{
	(void)pc;
	(void)closing;
	return -EBADF;
}

/* The sets as poll events, with the readiness each set of select(2) counts. */
static size_t sets_to_poll(const struct selargs *a, struct pollfd *p, size_t cap)
{
	size_t n = 0;

	for (int fd = 0; fd < a->nfds; fd++) {
		short ev = 0;

		if (a->set[0] && FD_ISSET(fd, &a->in[0]))
			ev |= POLLIN | POLLRDNORM | POLLRDBAND;
		if (a->set[1] && FD_ISSET(fd, &a->in[1]))
			ev |= POLLOUT | POLLWRNORM | POLLWRBAND;
		if (a->set[2] && FD_ISSET(fd, &a->in[2]))
			ev |= POLLPRI;
		if (!ev)
			continue;
		if (n < cap)
			p[n] = (struct pollfd){ .fd = fd, .events = ev };
		n++;
	}
	return n;
}

/*
 * Sets larger than fd_set (nfds above FD_SETSIZE) are the program's own
 * size, which only the kernel's bound on nfds (its fd table) knows: those
 * calls are the kernel's alone.
 */
static int sel_run(int nfds, fd_set *r, fd_set *w, fd_set *x, int64_t timeout_ns,
		   const sigset_t *mask)
{
	struct pollfd stack[STACK_FDS], *p = stack;
	struct selargs a = {
		.pc = {
			.ask = sel_ask,
			.block = sel_block,
			.closed = sel_closed,
			.mask = mask,
		},
		.nfds = nfds,
		.set = { r, w, x },
	};
	size_t n;
	int ret;

	urnet__pollcall_timeout(&a.pc, timeout_ns);
	if (nfds < 0 || nfds > FD_SETSIZE) {
		a.nfds = nfds;
		ret = sel_block(&a.pc, a.pc.zero ? 1 : a.pc.deadline_ns, mask);
		goto out;
	}
	a.bytes = set_bytes(nfds);
	for (int k = 0; k < 3; k++)
		if (a.set[k])
			memcpy(&a.in[k], a.set[k], a.bytes);
	n = sets_to_poll(&a, stack, STACK_FDS);
	if (n > STACK_FDS) {
		p = malloc(n * sizeof(*p));
		if (!p) {
			ret = sel_block(&a.pc, a.pc.zero ? 1 : a.pc.deadline_ns, mask);
			goto out;
		}
		sets_to_poll(&a, p, n);
	}
	a.pc.fds = p;
	a.pc.n = n;
	ret = urnet__pollcall_run(&a.pc);
	/* On an error the kernel leaves the sets as they were. */
	if (ret < 0)
		sets_restore(&a);
	if (p != stack)
		free(p);
out:
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

int urnet_select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout)
{
	int64_t ns = -1, deadline;
	int ret, err;

	if (timeout) {
		/* The kernel's check (poll_select_set_timeout): usec may carry into sec. */
		long long sec = (long long)timeout->tv_sec + timeout->tv_usec / 1000000;

		if (timeout->tv_usec < 0 || sec < 0) {
			errno = EINVAL;
			return -1;
		}
		ns = sec >= INT64_MAX / 1000000000 - 1 ? -1 :
		     sec * 1000000000 + (timeout->tv_usec % 1000000) * 1000;
	}
	deadline = ns > 0 ? urnet_now_ns() + ns : 0;
	ret = sel_run(nfds, r, w, x, ns, NULL);
	err = errno;
	/* As Linux does: the time left, written back also after EINTR. */
	if (timeout && deadline) {
		struct timespec left;

		urnet__deadline_left(deadline, &left);
		timeout->tv_sec = left.tv_sec;
		timeout->tv_usec = left.tv_nsec / 1000;
	}
	errno = err;
	return ret;
}

int urnet_pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *timeout,
		  const sigset_t *mask)
{
	int64_t ns = urnet__timespec_ns(timeout);

	if (ns == -EINVAL) {
		errno = EINVAL;
		return -1;
	}
	return sel_run(nfds, r, w, x, ns, mask);
}
