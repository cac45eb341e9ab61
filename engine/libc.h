/* SPDX-License-Identifier: MIT */
/*
 * The C library's own socket and fd calls, as urnet itself makes them.
 *
 * Inside the LD_PRELOAD module the plain names (read, recv, close...) are
 * the module's interposers, so urnet's code, in every layer, must never
 * call them by name: it calls the next definition in the lookup order,
 * found with dlsym(RTLD_NEXT), through this table.  Linked into a program
 * (liburnet.so, or the convenience library in a test) the table is the
 * C library's too, so that urnet's internal calls never run through an
 * interposer, urnet's own or another.  While the lookup itself runs (dlsym
 * may allocate, and an allocator may read a file) the calls fall back to
 * raw system calls.  test/preload-bindings.sh checks that the module binds
 * none of its own names.
 */
#ifndef URNET_ENGINE_LIBC_H
#define URNET_ENGINE_LIBC_H

#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "visibility.h"

/*
 * X(ret, name, params, sysno, sysargs): a call, and the raw system call
 * that stands in for it until the lookup is done.  dup2, fcntl, fcntl64,
 * ioctl and pselect have hand-written stand-ins (libc.c).
 */
#define URNET__LIBC_CALLS(X)									\
	X(int, accept, (int fd, struct sockaddr *a, socklen_t *l), SYS_accept4, (fd, a, l, 0))	\
	X(int, accept4, (int fd, struct sockaddr *a, socklen_t *l, int fl), SYS_accept4,	\
	  (fd, a, l, fl))									\
	X(int, connect, (int fd, const struct sockaddr *a, socklen_t l), SYS_connect, (fd, a, l)) \
	X(ssize_t, recv, (int fd, void *b, size_t n, int fl), SYS_recvfrom,			\
	  (fd, b, n, fl, NULL, NULL))								\
	X(ssize_t, recvfrom, (int fd, void *b, size_t n, int fl, struct sockaddr *a,		\
			      socklen_t *l), SYS_recvfrom, (fd, b, n, fl, a, l))		\
	X(ssize_t, recvmsg, (int fd, struct msghdr *m, int fl), SYS_recvmsg, (fd, m, fl))	\
	X(int, recvmmsg, (int fd, struct mmsghdr *v, unsigned n, int fl, struct timespec *t),	\
	  SYS_recvmmsg, (fd, v, n, fl, t))							\
	X(ssize_t, send, (int fd, const void *b, size_t n, int fl), SYS_sendto,		\
	  (fd, b, n, fl, NULL, 0))								\
	X(ssize_t, sendto, (int fd, const void *b, size_t n, int fl, const struct sockaddr *a,	\
			    socklen_t l), SYS_sendto, (fd, b, n, fl, a, l))			\
	X(ssize_t, sendmsg, (int fd, const struct msghdr *m, int fl), SYS_sendmsg, (fd, m, fl))	\
	X(ssize_t, read, (int fd, void *b, size_t n), SYS_read, (fd, b, n))			\
	X(ssize_t, write, (int fd, const void *b, size_t n), SYS_write, (fd, b, n))		\
	X(ssize_t, readv, (int fd, const struct iovec *v, int n), SYS_readv, (fd, v, n))	\
	X(ssize_t, writev, (int fd, const struct iovec *v, int n), SYS_writev, (fd, v, n))	\
	X(int, shutdown, (int fd, int how), SYS_shutdown, (fd, how))				\
	X(int, close, (int fd), SYS_close, (fd))						\
	X(int, dup, (int fd), SYS_dup, (fd))							\
	X(int, dup3, (int o, int n, int fl), SYS_dup3, (o, n, fl))				\
	X(int, socket, (int d, int t, int p), SYS_socket, (d, t, p))				\
	X(int, socketpair, (int d, int t, int p, int *sv), SYS_socketpair, (d, t, p, sv))	\
	X(int, close_range, (unsigned first, unsigned last, int fl), SYS_close_range,		\
	  (first, last, fl))									\
	X(int, setsockopt, (int fd, int lv, int nm, const void *v, socklen_t l), SYS_setsockopt, \
	  (fd, lv, nm, v, l))									\
	X(int, sendmmsg, (int fd, struct mmsghdr *v, unsigned n, int fl), SYS_sendmmsg,	\
	  (fd, v, n, fl))									\
	X(ssize_t, sendfile, (int o, int i, off_t *off, size_t n), SYS_sendfile, (o, i, off, n))	\
	X(int, ppoll, (struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *m), \
	  SYS_ppoll, (f, n, t, m, _NSIG / 8))

#define URNET__LIBC_FIELD(ret, name, params, sysno, sysargs) ret (*name) params;

struct urnet__libc {
	URNET__LIBC_CALLS(URNET__LIBC_FIELD)
	int (*dup2)(int, int);
	int (*fcntl)(int, int, ...);
	int (*fcntl64)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
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

/*
 * poll(fds, n, 0) of the C library: the module's own poll would wait on
 * the engine, and so must never be bound by urnet's code.
 */
static inline int urnet__libc_poll_now(struct pollfd *fds, nfds_t n)
{
	struct timespec zero = { 0, 0 };

	return urnet__libc()->ppoll(fds, n, &zero, NULL);
}

#endif
