/* SPDX-License-Identifier: MIT */
/*
 * close, dup2, dup3: every way a number stops naming its file goes through
 * urnet__fd_close(), which wakes the calls blocked on it (EBADF) and waits
 * for them to leave before the kernel may hand the number out again.  And
 * the calls that hand out a number for a new file mark it fresh.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>

#include "fdtable.h"
#include "libc.h"
#include "urnet_compat.h"

struct dup_args {
	int oldfd, newfd, flags;
	bool three;
};

static int do_close(void *arg)
{
	return urnet__libc()->close(*(int *)arg);
}

static int do_dup(void *arg)
{
	struct dup_args *a = arg;

	if (a->three)
		return urnet__libc()->dup3(a->oldfd, a->newfd, a->flags);
	return urnet__libc()->dup2(a->oldfd, a->newfd);
}

int urnet_close(int fd)
{
	return urnet__fd_close(fd, do_close, &fd);
}

static int dup_common(struct dup_args *a)
{
	/*
	 * When the kernel would refuse (bad oldfd, same numbers) newfd stays
	 * open and its blocked callers must not be disturbed.
	 */
	if (a->oldfd == a->newfd || fcntl(a->oldfd, F_GETFD) < 0 || a->newfd < 0)
		return do_dup(a);
	return urnet__fd_close(a->newfd, do_dup, a);
}

int urnet_dup2(int oldfd, int newfd)
{
	struct dup_args a = { oldfd, newfd, 0, false };

	return dup_common(&a);
}

int urnet_dup3(int oldfd, int newfd, int flags)
{
	struct dup_args a = { oldfd, newfd, flags, true };

	return dup_common(&a);
}

struct range_args {
	unsigned first, last;
	int flags;
};

static int do_close_range(void *arg)
{
	struct range_args *a = arg;

	return urnet__libc()->close_range(a->first, a->last, a->flags);
}

int urnet__close_range(unsigned first, unsigned last, int flags)
{
	struct range_args a = { first, last, flags };

	/*
	 * CLOSE_RANGE_CLOEXEC closes nothing now; CLOSE_RANGE_UNSHARE closes
	 * in a private copy of the table that no other thread waits on.
	 */
	if (flags == 0 && first <= last)
		return urnet__fd_close_range(first, last, do_close, do_close_range, &a);
	return do_close_range(&a);
}

int urnet__socket(int domain, int type, int protocol)
{
	int fd = urnet__libc()->socket(domain, type, protocol);

	if (fd >= 0)
		urnet__fd_fresh(fd);
	return fd;
}

int urnet__dup(int fd)
{
	int nfd = urnet__libc()->dup(fd);

	if (nfd >= 0)
		urnet__fd_fresh(nfd);
	return nfd;
}

int urnet__recvmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags,
		    struct timespec *timeout)
{
	int got = urnet__libc()->recvmmsg(fd, vec, n, flags, timeout);

	for (int i = 0; i < got; i++)
		urnet__fd_fresh_rights(&vec[i].msg_hdr);
	return got;
}

int urnet__socketpair(int domain, int type, int protocol, int sv[2])
{
	int ret = urnet__libc()->socketpair(domain, type, protocol, sv);

	if (ret == 0) {
		urnet__fd_fresh(sv[0]);
		urnet__fd_fresh(sv[1]);
	}
	return ret;
}
