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
static int raw_accept(int fd, struct sockaddr *a, socklen_t *l)
{
	return (int)syscall(SYS_accept4, fd, a, l, 0);
}

static int raw_accept4(int fd, struct sockaddr *a, socklen_t *l, int fl)
{
	return (int)syscall(SYS_accept4, fd, a, l, fl);
}

static int raw_connect(int fd, const struct sockaddr *a, socklen_t l)
{
	return (int)syscall(SYS_connect, fd, a, l);
}

static ssize_t raw_recv(int fd, void *b, size_t n, int fl)
{
	return syscall(SYS_recvfrom, fd, b, n, fl, NULL, NULL);
}

static ssize_t raw_recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a,
			    socklen_t *l)
{
	return syscall(SYS_recvfrom, fd, b, n, fl, a, l);
}

static ssize_t raw_recvmsg(int fd, struct msghdr *m, int fl)
{
	return syscall(SYS_recvmsg, fd, m, fl);
}

static int raw_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int fl, struct timespec *t)
{
	return (int)syscall(SYS_recvmmsg, fd, v, n, fl, t);
}

static ssize_t raw_send(int fd, const void *b, size_t n, int fl)
{
	return syscall(SYS_sendto, fd, b, n, fl, NULL, 0);
}

static ssize_t raw_sendto(int fd, const void *b, size_t n, int fl,
			  const struct sockaddr *a, socklen_t l)
{
	return syscall(SYS_sendto, fd, b, n, fl, a, l);
}

static ssize_t raw_sendmsg(int fd, const struct msghdr *m, int fl)
{
	return syscall(SYS_sendmsg, fd, m, fl);
}

static ssize_t raw_read(int fd, void *b, size_t n)
{
	return syscall(SYS_read, fd, b, n);
}

static ssize_t raw_write(int fd, const void *b, size_t n)
{
	return syscall(SYS_write, fd, b, n);
}

static ssize_t raw_readv(int fd, const struct iovec *v, int n)
{
	return syscall(SYS_readv, fd, v, n);
}

static ssize_t raw_writev(int fd, const struct iovec *v, int n)
{
	return syscall(SYS_writev, fd, v, n);
}

static int raw_shutdown(int fd, int how)
{
	return (int)syscall(SYS_shutdown, fd, how);
}

static int raw_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static int raw_dup(int o)
{
	return (int)syscall(SYS_dup, o);
}

static int raw_dup3(int o, int n, int fl)
{
	return (int)syscall(SYS_dup3, o, n, fl);
}

static int raw_dup2(int o, int n)
{
	/* dup3 refuses o == n; dup2 checks o is open and returns it. */
	if (o == n)
		return syscall(SYS_fcntl, o, F_GETFD) < 0 ? -1 : o;
	return raw_dup3(o, n, 0);
}

static int raw_socket(int d, int t, int p)
{
	return (int)syscall(SYS_socket, d, t, p);
}

static int raw_socketpair(int d, int t, int p, int *sv)
{
	return (int)syscall(SYS_socketpair, d, t, p, sv);
}

static int raw_close_range(unsigned first, unsigned last, int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

static int raw_fcntl(int fd, int cmd, ...)
{
	return (int)syscall(SYS_fcntl, fd, cmd, URNET__VA_PTR(cmd));
}

static int raw_ioctl(int fd, unsigned long req, ...)
{
	return (int)syscall(SYS_ioctl, fd, req, URNET__VA_PTR(req));
}

static int raw_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return (int)syscall(SYS_setsockopt, fd, level, name, val, len);
}

static const struct urnet__libc raw_table = {
	.accept = raw_accept, .accept4 = raw_accept4, .connect = raw_connect,
	.recv = raw_recv, .recvfrom = raw_recvfrom, .recvmsg = raw_recvmsg,
	.recvmmsg = raw_recvmmsg,
	.send = raw_send, .sendto = raw_sendto, .sendmsg = raw_sendmsg,
	.read = raw_read, .write = raw_write, .readv = raw_readv,
	.writev = raw_writev, .shutdown = raw_shutdown, .close = raw_close,
	.dup = raw_dup, .dup2 = raw_dup2, .dup3 = raw_dup3, .socket = raw_socket,
	.socketpair = raw_socketpair, .close_range = raw_close_range,
	.fcntl = raw_fcntl, .fcntl64 = raw_fcntl, .ioctl = raw_ioctl,
	.setsockopt = raw_setsockopt,
};

static struct urnet__libc resolved;
static _Atomic int state;	/* 0 unresolved, 1 resolving, 2 done */

#define RESOLVE(name) do {						\
	void *p = dlsym(RTLD_NEXT, #name);				\
	resolved.name = p ? (__typeof__(resolved.name))p : raw_table.name; \
} while (0)

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
	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(connect);
	RESOLVE(recv);
	RESOLVE(recvfrom);
	RESOLVE(recvmsg);
	RESOLVE(recvmmsg);
	RESOLVE(send);
	RESOLVE(sendto);
	RESOLVE(sendmsg);
	RESOLVE(read);
	RESOLVE(write);
	RESOLVE(readv);
	RESOLVE(writev);
	RESOLVE(shutdown);
	RESOLVE(close);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(socket);
	RESOLVE(socketpair);
	RESOLVE(close_range);
	RESOLVE(fcntl);
	RESOLVE(fcntl64);
	RESOLVE(ioctl);
	RESOLVE(setsockopt);
	atomic_store_explicit(&urnet__libc_ptr, &resolved, memory_order_release);
	atomic_store(&state, 2);
	errno = saved;
	return &resolved;
}
