/* SPDX-License-Identifier: MIT */
/*
 * Finding the C library's calls behind our own names.  See libc.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libc.h"

URNET__HIDDEN const struct urnet__libc *_Atomic urnet__libc_ptr;

/* Raw system calls: used while dlsym itself is running, and if it fails. */
#define URNET__ARGS(...) __VA_ARGS__
#define RAW(ret, name, params, sysno, sysargs)			\
	static ret raw_##name params				\
	{							\
		return (ret)syscall(sysno, URNET__ARGS sysargs);	\
	}
URNET__LIBC_CALLS(RAW)

static int raw_dup2(int o, int n)
{
	/* dup3 refuses o == n; dup2 checks o is open and returns it. */
	if (o == n)
		return syscall(SYS_fcntl, o, F_GETFD) < 0 ? -1 : o;
	return raw_dup3(o, n, 0);
}

static int raw_fcntl(int fd, int cmd, ...)
{
	return (int)syscall(SYS_fcntl, fd, cmd, URNET__VA_PTR(cmd));
}

static int raw_ioctl(int fd, unsigned long req, ...)
{
	return (int)syscall(SYS_ioctl, fd, req, URNET__VA_PTR(req));
}

static int raw_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t,
		       const sigset_t *m)
{
	/* The kernel writes the time left into its timeout: give it a copy. */
	struct timespec left = { 0, 0 };
	struct { const sigset_t *set; size_t size; } mask = { m, _NSIG / 8 };

	if (t)
		left = *t;
	return (int)syscall(SYS_pselect6, n, r, w, e, t ? &left : NULL, m ? &mask : NULL);
}

#define RAW_ENTRY(ret, name, params, sysno, sysargs) .name = raw_##name,

static const struct urnet__libc raw_table = {
	URNET__LIBC_CALLS(RAW_ENTRY)
	.dup2 = raw_dup2, .fcntl = raw_fcntl, .fcntl64 = raw_fcntl, .ioctl = raw_ioctl,
	.pselect = raw_pselect,
};

static struct urnet__libc resolved;
static _Atomic int state;	/* 0 unresolved, 1 resolving, 2 done */

#define RESOLVE(name) do {						\
	void *p = dlsym(RTLD_NEXT, #name);				\
	resolved.name = p ? (__typeof__(resolved.name))p : raw_table.name; \
} while (0)
#define RESOLVE_CALL(ret, name, params, sysno, sysargs) RESOLVE(name);

const struct urnet__libc *urnet__libc_get(void)
{
	int expect = 0, saved;

	if (!atomic_compare_exchange_strong(&state, &expect, 1)) {
		/* Another thread, or this one further up the stack, is in dlsym. */
		if (expect == 2)
			return atomic_load_explicit(&urnet__libc_ptr, memory_order_acquire);
		return &raw_table;
	}
	saved = errno;
	URNET__LIBC_CALLS(RESOLVE_CALL)
	RESOLVE(dup2);
	RESOLVE(fcntl);
	RESOLVE(fcntl64);
	RESOLVE(ioctl);
	RESOLVE(pselect);
	atomic_store_explicit(&urnet__libc_ptr, &resolved, memory_order_release);
	atomic_store(&state, 2);
	errno = saved;
	return &resolved;
}
