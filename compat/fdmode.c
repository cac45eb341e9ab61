/* SPDX-License-Identifier: MIT */
/*
 * The generation counter behind the fd mode cache, and the calls of the
 * preload module that advance it.  See fdmode.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "fdmode.h"
#include "fdtable.h"
#include "libc.h"

/* 0: caching off.  Never returns to 0 once on. */
static _Atomic uint32_t mode_gen;

void urnet__fd_mode_cache_enable(void)
{
	uint32_t off = 0;

	atomic_compare_exchange_strong(&mode_gen, &off, 1);
}

/*
 * Also from a child that shares our memory (vfork, posix_spawn; see
 * urnet__in_foreign_child): the files it inherited are ours too, so a mode
 * it sets is one our waits must learn again.  A lock-free increment, which
 * only makes the parent ask the kernel once more.
 */
void urnet__fd_mode_changed(void)
{
	uint32_t g = atomic_load(&mode_gen), next;

	do {
		if (!g)
			return;
		next = g + 1 ? g + 1 : 1;
	} while (!atomic_compare_exchange_weak(&mode_gen, &g, next));
}

uint32_t urnet__fd_mode_gen(void)
{
	return atomic_load(&mode_gen);
}

/*
 * A timeout option: its direction, and whether the value is the 64-bit
 * struct __kernel_sock_timeval of the _NEW names rather than a timeval.
 */
static bool timeout_opt(int level, int name, int *dir, bool *is_new)
{
	*is_new = false;
	if (level != SOL_SOCKET)
		return false;
#if defined(SO_RCVTIMEO_NEW) && SO_RCVTIMEO_NEW != SO_RCVTIMEO
	if (name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW) {
		*is_new = true;
		*dir = name == SO_RCVTIMEO_NEW ? URNET__READ : URNET__WRITE;
		return true;
	}
#endif
#if defined(SO_RCVTIMEO_OLD) && SO_RCVTIMEO_OLD != SO_RCVTIMEO
	if (name == SO_RCVTIMEO_OLD)
		name = SO_RCVTIMEO;
	else if (name == SO_SNDTIMEO_OLD)
		name = SO_SNDTIMEO;
#endif
	if (name != SO_RCVTIMEO && name != SO_SNDTIMEO)
		return false;
	*dir = name == SO_RCVTIMEO ? URNET__READ : URNET__WRITE;
	return true;
}

/*
 * Linux takes a negative timeout as a zero one: the call fails with EAGAIN
 * at once instead of waiting (net/core/sock.c, sock_set_timeout).  It
 * reads back as {0, 0}, the same as none, so it is noted when it is set.
 */
static bool negative_timeout(const void *val, socklen_t len, bool is_new)
{
	struct { int64_t sec, usec; } tv64;
	struct timeval tv;

	if (!val)
		return false;
	if (is_new) {
		if (len < sizeof(tv64))
			return false;
		memcpy(&tv64, val, sizeof(tv64));
		return tv64.sec < 0;
	}
	if (len < sizeof(tv))
		return false;
	memcpy(&tv, val, sizeof(tv));
	return tv.tv_sec < 0;
}

int urnet__fcntl(int fd, int cmd, void *arg, bool large)
{
	const struct urnet__libc *libc = urnet__libc();
	int ret = large ? libc->fcntl64(fd, cmd, arg) : libc->fcntl(fd, cmd, arg);

	if (cmd == F_SETFL)
		urnet__fd_mode_changed();
	else if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && ret >= 0)
		urnet__fd_fresh_dup(fd, ret);
	return ret;
}

int urnet__ioctl(int fd, unsigned long req, void *arg)
{
	int ret = urnet__libc()->ioctl(fd, req, arg);

	if (req == FIONBIO)
		urnet__fd_mode_changed();
	return ret;
}

int urnet__setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int ret = urnet__libc()->setsockopt(fd, level, name, val, len);
	int dir, err = errno;
	bool is_new;

	if (!timeout_opt(level, name, &dir, &is_new))
		return ret;
	if (ret == 0)
		urnet__fd_set_timeo_zero(fd, dir, negative_timeout(val, len, is_new));
	urnet__fd_mode_changed();
	errno = err;
	return ret;
}
