/* SPDX-License-Identifier: MIT */
/*
 * The generation counter behind the fd mode cache, and the calls of the
 * preload module that advance it.  See fdmode.h.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

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

static bool sets_timeout(int level, int name)
{
	if (level != SOL_SOCKET)
		return false;
	switch (name) {
	case SO_RCVTIMEO:
	case SO_SNDTIMEO:
#if defined(SO_RCVTIMEO_NEW) && SO_RCVTIMEO_NEW != SO_RCVTIMEO
	case SO_RCVTIMEO_NEW:
	case SO_SNDTIMEO_NEW:
#endif
#if defined(SO_RCVTIMEO_OLD) && SO_RCVTIMEO_OLD != SO_RCVTIMEO
	case SO_RCVTIMEO_OLD:
	case SO_SNDTIMEO_OLD:
#endif
		return true;
	default:
		return false;
	}
}

int urnet__fcntl(int fd, int cmd, void *arg, bool large)
{
	const struct urnet__libc *libc = urnet__libc();
	int ret = large ? libc->fcntl64(fd, cmd, arg) : libc->fcntl(fd, cmd, arg);

	if (cmd == F_SETFL)
		urnet__fd_mode_changed();
	else if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && ret >= 0)
		urnet__fd_fresh(ret);
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

	if (sets_timeout(level, name))
		urnet__fd_mode_changed();
	return ret;
}
