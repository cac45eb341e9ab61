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
#include <linux/close_range.h>
#include <sys/resource.h>

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
	/* urnet's own descriptor: on bare Linux the number would be unused. */
	if (urnet__own_fd_is(fd)) {
		errno = EBADF;
		return -1;
	}
	return urnet__fd_close(fd, do_close, &fd);
}

/*
 * What the kernel checks before it touches newfd (fs/file.c ksys_dup3):
 * a call it refuses leaves newfd open, and the calls blocked on it must not
 * be disturbed.  dup2 onto itself changes nothing either.
 */
static bool dup_leaves_newfd(const struct dup_args *a)
{
	struct rlimit rl;

	if (a->three && (a->flags & ~O_CLOEXEC))
		return true;				/* EINVAL */
	if (a->oldfd == a->newfd || a->newfd < 0)
		return true;				/* EINVAL, or nothing to do */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)a->newfd >= rl.rlim_cur)
		return true;				/* EBADF */
	return urnet__libc()->fcntl(a->oldfd, F_GETFD) < 0;	/* EBADF */
}

static int dup_common(struct dup_args *a)
{
	int saved = errno, ret;

	if (dup_leaves_newfd(a))
		return do_dup(a);
	errno = saved;
	ret = urnet__fd_close(a->newfd, do_dup, a);
	if (ret >= 0) {
		saved = errno;
		urnet__fd_fresh_dup(a->oldfd, a->newfd);
		errno = saved;
	}
	return ret;
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

static int close_stretch(unsigned first, unsigned last, void *arg)
{
	return urnet__libc()->close_range(first, last, ((struct range_args *)arg)->flags);
}

static int do_close_range(void *arg)
{
	struct range_args *a = arg;

	/* Around urnet's own descriptors, which the program cannot see. */
	if ((unsigned)a->flags & CLOSE_RANGE_UNSHARE)
		return close_stretch(a->first, a->last, a);
	return urnet__own_fd_spare(a->first, a->last, close_stretch, a);
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
		urnet__fd_fresh_dup(fd, nfd);
	return nfd;
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
