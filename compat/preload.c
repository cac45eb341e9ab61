/* SPDX-License-Identifier: MIT */
/*
 * liburnet-preload.so: the socket calls of an unmodified program, served
 * by the compat layer.  Loaded with LD_PRELOAD (see urnet-run), so these
 * definitions come before the C library's.  Everything that is not a
 * blocking stream socket goes on to the C library untouched; the C
 * library's functions are found with dlsym(RTLD_NEXT) (compat/libc.c).
 *
 * Only these names are exported (preload.sym); the engine and compat code
 * inside the module are private to it.  A statically linked program never
 * loads the module and simply runs without it.
 */
#include "config.h"

#undef _FORTIFY_SOURCE

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdmode.h"
#include "fdtable.h"
#include "iotimeout.h"
#include "libc.h"
#include "pollwait.h"
#include "urnet_compat.h"

#define EXPORT __attribute__((visibility("default")))

/* glibc's, declared here because without _FORTIFY_SOURCE no header does. */
extern void __chk_fail(void) __attribute__((noreturn));
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
EXPORT ssize_t __recvfrom_chk(int fd, void *restrict buf, size_t n, size_t buflen,
			      int flags, __SOCKADDR_ARG addr, socklen_t *restrict len);

EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	return urnet_accept(fd, addr.__sockaddr__, len);
}

EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags)
{
	return urnet_accept4(fd, addr.__sockaddr__, len, flags);
}

EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	return urnet_connect(fd, addr.__sockaddr__, len);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return urnet_recv(fd, buf, n, flags);
}

EXPORT ssize_t recvfrom(int fd, void *restrict buf, size_t len, int flags,
			__SOCKADDR_ARG addr, socklen_t *restrict addrlen)
{
	return urnet_recvfrom(fd, buf, len, flags, addr.__sockaddr__, addrlen);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	return urnet_recvmsg(fd, msg, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return urnet_send(fd, buf, n, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
		      __CONST_SOCKADDR_ARG addr, socklen_t addrlen)
{
	return urnet_sendto(fd, buf, len, flags, addr.__sockaddr__, addrlen);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return urnet_sendmsg(fd, msg, flags);
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	return urnet_read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	return urnet_write(fd, buf, n);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	return urnet_readv(fd, iov, cnt);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	return urnet_writev(fd, iov, cnt);
}

EXPORT int shutdown(int fd, int how)
{
	return urnet_shutdown(fd, how);
}

EXPORT int close(int fd)
{
	return urnet_close(fd);
}

EXPORT int dup2(int oldfd, int newfd)
{
	return urnet_dup2(oldfd, newfd);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return urnet_dup3(oldfd, newfd, flags);
}

/*
 * Calls that change what a wait must know (O_NONBLOCK, SO_*TIMEO): seeing
 * all of them is what lets the module cache those per fd (fdmode.h).
 */
EXPORT int fcntl(int fd, int cmd, ...)
{
	return urnet__fcntl(fd, cmd, URNET__VA_PTR(cmd), false);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	return urnet__fcntl(fd, cmd, URNET__VA_PTR(cmd), true);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	return urnet__ioctl(fd, req, URNET__VA_PTR(req));
}

EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return urnet__setsockopt(fd, level, name, val, len);
}

__attribute__((constructor)) static void preload_init(void)
{
	urnet__fd_mode_cache_enable();
	urnet__fd_track_new_numbers();
	urnet__io_deadline_share();
#if defined(__SANITIZE_THREAD__)
	urnet__pollcall_kernel_only();
#endif
}

/* New numbers, and numbers closed in bulk: the fd table must hear of them. */
EXPORT int socket(int domain, int type, int protocol)
{
	return urnet__socket(domain, type, protocol);
}

EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	return urnet__socketpair(domain, type, protocol, sv);
}

EXPORT int dup(int fd)
{
	return urnet__dup(fd);
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned n, int flags,
		    struct timespec *timeout)
{
	return urnet_recvmmsg(fd, vec, n, flags, timeout);
}

EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	return urnet__close_range(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	urnet__close_range((unsigned)lowfd, ~0u, 0);
}

/*
 * sendfile with the C library's off_t, and sendfile64 with a 64-bit one
 * (the same function where off_t is 64 bits).  Declared here: <sys/sendfile.h>
 * may rename sendfile to sendfile64.
 */
EXPORT ssize_t sendfile(int out_fd, int in_fd, __off_t *offset, size_t count);
EXPORT ssize_t sendfile64(int out_fd, int in_fd, __off64_t *offset, size_t count);

/* An offset of another width goes through an off_t of ours. */
#define SENDFILE_AS(type, out_fd, in_fd, offset, count) ({			\
	off_t off_;								\
	ssize_t n_;								\
	if (sizeof(type) == sizeof(off_t) || !(offset)) {			\
		n_ = urnet_sendfile(out_fd, in_fd, (off_t *)(void *)(offset), count); \
	} else {								\
		off_ = (off_t)*(offset);					\
		n_ = urnet_sendfile(out_fd, in_fd, &off_, count);		\
		*(offset) = (type)off_;						\
	}									\
	n_;									\
})

EXPORT ssize_t sendfile(int out_fd, int in_fd, __off_t *offset, size_t count)
{
	return SENDFILE_AS(__off_t, out_fd, in_fd, offset, count);
}

EXPORT ssize_t sendfile64(int out_fd, int in_fd, __off64_t *offset, size_t count)
{
	return SENDFILE_AS(__off64_t, out_fd, in_fd, offset, count);
}

/* The _FORTIFY_SOURCE entry points: check, then the same as above. */
EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return urnet_read(fd, buf, n);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return urnet_recv(fd, buf, n, flags);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *restrict buf, size_t n, size_t buflen,
			      int flags, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
	if (n > buflen)
		__chk_fail();
	return urnet_recvfrom(fd, buf, n, flags, addr.__sockaddr__, len);
}

EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags)
{
	return urnet_sendmmsg(fd, vec, n, flags);
}

/* poll and select: the waits go to the engine, the answers stay the kernel's. */
EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
		       const sigset_t *mask, size_t fdslen);

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	return urnet_poll(fds, n, timeout);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
		 const sigset_t *mask)
{
	return urnet_ppoll(fds, n, timeout, mask);
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *timeout)
{
	return urnet_select(nfds, r, w, x, timeout);
}

EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *timeout,
		   const sigset_t *mask)
{
	return urnet_pselect(nfds, r, w, x, timeout, mask);
}

EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return urnet_poll(fds, n, timeout);
}

EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *timeout,
		       const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return urnet_ppoll(fds, n, timeout, mask);
}
