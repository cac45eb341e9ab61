/* SPDX-License-Identifier: MIT */
/*
 * urnet compat: the BSD socket calls with the same signatures and errno
 * behaviour, whose waiting on blocking stream sockets is done by the urnet
 * engine.  fds stay ordinary kernel sockets (poll, select, epoll, fcntl,
 * getsockopt keep working) and nothing is read ahead of the caller.
 *
 * Only blocking SOCK_STREAM sockets are served by the engine.  Non-blocking
 * fds (O_NONBLOCK, SOCK_NONBLOCK, FIONBIO), MSG_DONTWAIT, datagram sockets
 * and non-socket fds go straight to the C library with identical results.
 *
 * As with the kernel's calls: SO_RCVTIMEO/SO_SNDTIMEO give EAGAIN on expiry;
 * MSG_WAITALL, MSG_PEEK and MSG_NOSIGNAL behave as documented in recv(2)
 * and send(2) (a send without MSG_NOSIGNAL to a closed peer raises SIGPIPE,
 * exactly as libc's does); a blocking send returns once everything is
 * queued unless a signal, timeout or error stops it half way.  A blocked
 * call returns EINTR when a signal handler without SA_RESTART runs and is
 * restarted with SA_RESTART; every blocking call is a cancellation point.
 * urnet_close() of an fd that another thread is blocked on wakes that call
 * with EBADF, and the number is reused only after it left.
 *
 * Close fds that these calls have seen with urnet_close (or urnet_dup2/
 * urnet_dup3 over them), not with close(): an fd the engine waits on is kept
 * open by the kernel until urnet lets go of it.
 *
 * Switch a program over by renaming the calls, or by defining
 * URNET_COMPAT_MACROS before including this header (after the system
 * headers), which maps the plain names onto these.
 */
#ifndef URNET_COMPAT_H
#define URNET_COMPAT_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "urnet_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

URNET_API int urnet_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
URNET_API int urnet_accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
URNET_API int urnet_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);
URNET_API ssize_t urnet_recv(int fd, void *buf, size_t len, int flags);
URNET_API ssize_t urnet_recvfrom(int fd, void *buf, size_t len, int flags,
				 struct sockaddr *addr, socklen_t *addrlen);
URNET_API ssize_t urnet_recvmsg(int fd, struct msghdr *msg, int flags);
URNET_API ssize_t urnet_send(int fd, const void *buf, size_t len, int flags);
URNET_API ssize_t urnet_sendto(int fd, const void *buf, size_t len, int flags,
			       const struct sockaddr *addr, socklen_t addrlen);
URNET_API ssize_t urnet_sendmsg(int fd, const struct msghdr *msg, int flags);
URNET_API ssize_t urnet_read(int fd, void *buf, size_t len);
URNET_API ssize_t urnet_write(int fd, const void *buf, size_t len);
URNET_API ssize_t urnet_readv(int fd, const struct iovec *iov, int iovcnt);
URNET_API ssize_t urnet_writev(int fd, const struct iovec *iov, int iovcnt);
URNET_API int urnet_shutdown(int fd, int how);
URNET_API int urnet_close(int fd);
URNET_API int urnet_dup2(int oldfd, int newfd);
URNET_API int urnet_dup3(int oldfd, int newfd, int flags);
/*
 * Batches on datagram sockets, with the kernel's rules (see recvmmsg(2));
 * <sys/socket.h> declares struct mmsghdr with _GNU_SOURCE only.
 */
struct mmsghdr;
struct timespec;
URNET_API int urnet_recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
			     struct timespec *timeout);
URNET_API int urnet_sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags);
/* sendfile(2); a regular file to a blocking stream socket waits on the engine. */
URNET_API ssize_t urnet_sendfile(int out_fd, int in_fd, off_t *offset, size_t count);

#ifdef URNET_COMPAT_MACROS
#define accept(...)	urnet_accept(__VA_ARGS__)
#define accept4(...)	urnet_accept4(__VA_ARGS__)
#define connect(...)	urnet_connect(__VA_ARGS__)
#define recv(...)	urnet_recv(__VA_ARGS__)
#define recvfrom(...)	urnet_recvfrom(__VA_ARGS__)
#define recvmsg(...)	urnet_recvmsg(__VA_ARGS__)
#define send(...)	urnet_send(__VA_ARGS__)
#define sendto(...)	urnet_sendto(__VA_ARGS__)
#define sendmsg(...)	urnet_sendmsg(__VA_ARGS__)
#define read(...)	urnet_read(__VA_ARGS__)
#define write(...)	urnet_write(__VA_ARGS__)
#define readv(...)	urnet_readv(__VA_ARGS__)
#define writev(...)	urnet_writev(__VA_ARGS__)
#define shutdown(...)	urnet_shutdown(__VA_ARGS__)
#define close(...)	urnet_close(__VA_ARGS__)
#define dup2(...)	urnet_dup2(__VA_ARGS__)
#define dup3(...)	urnet_dup3(__VA_ARGS__)
#define recvmmsg(...)	urnet_recvmmsg(__VA_ARGS__)
#define sendmmsg(...)	urnet_sendmmsg(__VA_ARGS__)
#define sendfile(...)	urnet_sendfile(__VA_ARGS__)
#endif

/*
 * Waiting for readiness on many fds: poll(2), ppoll(2), select(2) and
 * pselect(2), whose waits are done by the engine for every pollable fd
 * (sockets of every kind, pipes, eventfds, ttys...).  Results, timeouts
 * (select writes back the time left), EINTR after any handler and the
 * atomic signal mask of ppoll/pselect are the kernel's; urnet_close() of
 * a polled fd from another thread wakes the call, which reports it as
 * closed (POLLNVAL, or EBADF for select).
 */
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <time.h>

URNET_API int urnet_poll(struct pollfd *fds, nfds_t nfds, int timeout);
URNET_API int urnet_ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
			  const sigset_t *sigmask);
URNET_API int urnet_select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
			   struct timeval *timeout);
URNET_API int urnet_pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
			    const struct timespec *timeout, const sigset_t *sigmask);

/*
 * Bound every blocking socket call the calling thread makes through these
 * calls or urnet-run's interposer (also those of libraries it cannot
 * change) by an absolute CLOCK_MONOTONIC deadline (see urnet_now_ns), as
 * if SO_RCVTIMEO/SO_SNDTIMEO ended there: EAGAIN, or EINPROGRESS for a
 * connect.  0 clears it.  poll and select keep their own timeouts.
 */
URNET_API int urnet_thread_set_io_deadline(int64_t deadline_ns);
URNET_API int64_t urnet_thread_io_deadline(void);

#ifdef URNET_COMPAT_MACROS
#define poll(...)	urnet_poll(__VA_ARGS__)
#define ppoll(...)	urnet_ppoll(__VA_ARGS__)
#define select(...)	urnet_select(__VA_ARGS__)
#define pselect(...)	urnet_pselect(__VA_ARGS__)
#endif

#ifdef __cplusplus
}
#endif

#endif
