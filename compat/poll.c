/* SPDX-License-Identifier: MIT */
/*
 * poll and ppoll with their waits on the engine (pollwait.h): the kernel
 * answers, the engine waits.
 */
#include "config.h"

#include <errno.h>

#include "libc.h"
#include "pollwait.h"
#include "urnet_compat.h"

struct pollargs {
	struct urnet__pollcall pc;
	struct pollfd *fds;
};

static int poll_ask(struct urnet__pollcall *pc, const sigset_t *mask)
{
	struct pollargs *a = (struct pollargs *)pc;
	struct timespec zero = { 0, 0 };
	int ret = urnet__libc()->ppoll(a->fds, pc->n, &zero, mask);

	return ret < 0 ? -errno : ret;
}

static int poll_block(struct urnet__pollcall *pc, int64_t deadline_ns, const sigset_t *mask)
{
	struct pollargs *a = (struct pollargs *)pc;
	struct timespec left;
	int ret;

	if (deadline_ns)
		urnet__deadline_left(deadline_ns, &left);
	ret = urnet__libc()->ppoll(a->fds, pc->n, deadline_ns ? &left : NULL, mask);
	return ret < 0 ? -errno : ret;
}

/* The kernel's answer for a number closed while the call waited: POLLNVAL. */
static int poll_closed(struct urnet__pollcall *pc, const uint8_t *closing)
{
	struct pollargs *a = (struct pollargs *)pc;
	int ret = poll_ask(pc, NULL);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < pc->n; i++) {
		if (!closing[i])
			continue;
		if (!a->fds[i].revents)
			ret++;
		a->fds[i].revents = POLLNVAL;
	}
	return ret;
}

static int poll_run(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask)
{
	struct pollargs a = {
		.pc = {
			.ask = poll_ask,
			.block = poll_block,
			.closed = poll_closed,
			.fds = fds,
			.n = n,
			.mask = mask,
		},
		.fds = fds,
	};
	int ret;

	urnet__pollcall_timeout(&a.pc, timeout_ns);
	ret = urnet__pollcall_run(&a.pc);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

int urnet_poll(struct pollfd *fds, nfds_t n, int timeout)
{
	return poll_run(fds, n, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL);
}

int urnet_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
		const sigset_t *mask)
{
	int64_t ns = urnet__timespec_ns(timeout);

	if (ns == -EINVAL) {
		errno = EINVAL;
		return -1;
	}
	return poll_run(fds, n, ns, mask);
}
