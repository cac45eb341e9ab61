/* SPDX-License-Identifier: MIT */
/*
 * The C library's own socket and fd calls, as seen from compat.
 *
 * Inside the LD_PRELOAD module the plain names (read, recv, close...) are
 * our own interposers, so compat must never call them by name: it calls the
 * next definition in the lookup order, found with dlsym(RTLD_NEXT).  While
 * that lookup is running (dlsym may allocate, and an allocator may read a
 * file) the calls fall back to raw system calls.
 */
#ifndef URNET_COMPAT_LIBC_H
#define URNET_COMPAT_LIBC_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "internal.h"

struct urnet__libc {
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	int (*shutdown)(int, int);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int *);
	int (*close_range)(unsigned, unsigned, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
};

/*
 * The optional argument of fcntl() and ioctl(), read as a pointer as the C
 * library itself does (an int travels in the same register).  Only in the
 * variadic function itself; last: its last named parameter.
 */
#define URNET__VA_PTR(last) ({						\
	va_list ap_;							\
	void *arg_;							\
	va_start(ap_, last);						\
	arg_ = va_arg(ap_, void *);					\
	va_end(ap_);							\
	arg_;								\
})

/* The table; resolved on first use.  Never NULL entries. */
URNET__HIDDEN const struct urnet__libc *urnet__libc_get(void);

static inline const struct urnet__libc *urnet__libc(void)
{
	extern URNET__HIDDEN const struct urnet__libc *_Atomic urnet__libc_ptr;
	const struct urnet__libc *t;

	t = atomic_load_explicit(&urnet__libc_ptr, memory_order_acquire);
	return t ? t : urnet__libc_get();
}

#endif
