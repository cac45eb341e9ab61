/* SPDX-License-Identifier: MIT */
/*
 * urnet: blocking listener/conn objects in the shape of Go's net.Listener and
 * net.Conn, whose waiting is done by io_uring in a shared engine thread.
 *
 * A program keeps the classic thread-per-connection shape:
 *
 *	urnet_listener *l = urnet_listen("tcp", ":8080");
 *	for (;;) {
 *		urnet_conn *c = urnet_listener_accept(l);
 *		... start a thread that loops urnet_conn_read()/urnet_conn_write()
 *		    and ends with urnet_conn_close(c) ...
 *	}
 *
 * Every call that waits tries the non-blocking syscall first; only when the
 * kernel says EAGAIN does the thread park, and the engine wakes it when the
 * socket becomes ready, a deadline passes, or the object is closed.
 *
 * Errors follow the BSD calls: -1 or NULL with errno set.
 *   EINVAL        malformed address, NULL object, negative timeout or
 *                 deadline, iovcnt out of range
 *   EAFNOSUPPORT  unknown network, or an address of the wrong family for it
 *                 ("tcp4" with "[::1]:80", "tcp6" with "127.0.0.1:80")
 *   ECONNREFUSED, EADDRINUSE, ECONNRESET, EPIPE, ENOENT, EACCES, EMFILE...
 *                 as the kernel reports them
 *   ETIMEDOUT     dial timeout, or a read/write/accept deadline passed
 *   ECANCELED     the object was closed (by another thread) while the call
 *                 waited, or before it started
 *   ESHUTDOWN     the call had to wait, and the object's engine has been
 *                 closed (urnet_engine_close)
 * EINTR never comes out of these calls: a signal handler that interrupts a
 * wait runs and the call carries on.  No call raises SIGPIPE.  Every fd is
 * close-on-exec and non-blocking.
 *
 * Thread safety: any call may run concurrently with any other on the same
 * object.  Reads on a conn are serialised among themselves, writes among
 * themselves, so one reader and one writer may be blocked at the same time
 * (extra readers queue behind the first).  Any number of threads may accept
 * on one listener.  Closing an object wakes every call blocked on it (they
 * fail with ECANCELED); its memory and fd stay alive until the last of them
 * has returned, so the fd number cannot be reused under them.  Calling
 * anything on an object after its close has *returned* is a use after free,
 * as with free().  So a thread that loops on an object is stopped without
 * closing it under the loop: urnet_listener_shutdown() ends an accept loop,
 * urnet_conn_close_read() (reads return 0) and urnet_conn_close_write()
 * (writes fail EPIPE) end a conn loop; the thread or its joiner then
 * closes the object.
 */
#ifndef URNET_H
#define URNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "urnet_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct urnet_listener urnet_listener;
typedef struct urnet_conn urnet_conn;

/*
 * Networks and addresses (the same for listen and dial):
 *
 *   "tcp"   IPv4 or IPv6, as the address says
 *   "tcp4"  IPv4 only          "tcp6"  IPv6 only
 *   "unix"  stream unix-domain socket
 *
 * A tcp address is "host:port".  host is a dotted IPv4 address, a bracketed
 * IPv6 address with an optional zone ("[::1]", "[fe80::1%eth0]"),
 * "localhost" (127.0.0.1, or ::1 for "tcp6"), or empty.  port is decimal,
 * 0-65535; 0 asks the kernel for an ephemeral port.  An empty host means
 * every interface when listening (dual stack for "tcp", falling back to
 * IPv4 when the kernel has no IPv6) and the local machine when dialing.
 * Host names other than localhost are not resolved (no DNS): EINVAL, as is
 * a missing or non-numeric port, an unbracketed IPv6 address or an unknown
 * zone.
 *
 * A unix address is a file-system path (at most 107 bytes), or "@name" for
 * a Linux abstract socket name (at most 107 bytes after the "@").  Longer
 * or empty: EINVAL.
 */

/*
 * Listen on address.  TCP listeners set SO_REUSEADDR and TCP_NODELAY (which
 * accepted sockets inherit); the backlog is the system maximum
 * (net.core.somaxconn).  A unix listener creates its socket file and removes
 * it when closed; an existing file fails with EADDRINUSE.  Accepted conns
 * are spread over the process's engines (urnet_engine_pick); with
 * urnet_listen_on() the listener and all its conns use engine e.
 * Returns NULL + errno: EINVAL, EAFNOSUPPORT, EADDRINUSE, EACCES, ENOENT
 * (unix path in a missing directory), EMFILE, ENOMEM...
 */
URNET_API urnet_listener *urnet_listen(const char *network, const char *address);
URNET_API urnet_listener *urnet_listen_on(urnet_engine *e, const char *network,
					  const char *address);

/*
 * Wait for and accept the next connection.  Connections that were reset
 * while queued (ECONNABORTED) are skipped.  NULL + errno: ECANCELED (the
 * listener was closed), ETIMEDOUT (listener deadline), EMFILE/ENFILE (out
 * of descriptors: the connection stays queued), ENOMEM, EINVAL (l NULL).
 */
URNET_API urnet_conn *urnet_listener_accept(urnet_listener *l);

/*
 * Absolute CLOCK_MONOTONIC deadline for urnet_listener_accept(), 0 = none;
 * applies to accepts already blocked.  -1 + EINVAL for a negative value.
 */
URNET_API int urnet_listener_set_deadline(urnet_listener *l, int64_t deadline_ns);

/*
 * The bound address, with the real port when listening on port 0:
 * "127.0.0.1:41234", "[::1]:41234", "[::]:41234", the unix path or "@name".
 * Valid until the listener is closed.
 */
URNET_API const char *urnet_listener_addr(urnet_listener *l);

/* The listening socket, for getsockopt() and the like: do not close it. */
URNET_API int urnet_listener_fd(urnet_listener *l);

/*
 * Stop accepting but keep the object: blocked and later accepts fail with
 * ECANCELED, a TCP listener resets the connections still queued and refuses
 * new ones.  This is how to end a thread that loops on accept: shut down,
 * join that thread, then close (closing first would free the listener under
 * the loop's next call).  Returns 0, or -1 + errno.
 */
URNET_API int urnet_listener_shutdown(urnet_listener *l);

/*
 * Blocked accepts fail with ECANCELED, a unix socket file is removed at
 * once, and the fd is closed (connections still queued are reset) as soon
 * as the last blocked accept has left; then the listener is freed.
 * Returns 0, or -1 + EBADF when a concurrent close got there first.
 */
URNET_API int urnet_listener_close(urnet_listener *l);

/*
 * Connect to address (see "Networks and addresses"; an empty host dials
 * this machine).  timeout_ns is relative, 0 = none (the kernel's own
 * connect timeout still applies); a negative one is EINVAL.  TCP conns get
 * TCP_NODELAY.  NULL + errno: EINVAL, EAFNOSUPPORT, ECONNREFUSED,
 * ETIMEDOUT (timeout, e.g. the listener's backlog is full, or the kernel
 * gave up), ENETUNREACH, ENOENT (no such unix socket file), EACCES...
 * Dialing a unix listener whose backlog is full waits (in connect() itself,
 * not on the engine) until there is room or the timeout passes.
 */
URNET_API urnet_conn *urnet_dial(const char *network, const char *address,
				 int64_t timeout_ns);
URNET_API urnet_conn *urnet_dial_on(urnet_engine *e, const char *network,
				    const char *address, int64_t timeout_ns);

/*
 * Read up to len bytes: returns as soon as some are available.  0 at end of
 * stream (the peer closed or shut down writing, or urnet_conn_close_read()),
 * and 0 at once for len 0.  -1 + errno: ETIMEDOUT (read deadline),
 * ECANCELED (closed), ECONNRESET (peer reset), EINVAL (c NULL), EFAULT.
 */
URNET_API ssize_t urnet_conn_read(urnet_conn *c, void *buf, size_t len);

/*
 * Write all len bytes, looping over short writes, and return len; or -1 +
 * errno, in which case an unknown prefix of buf may have been sent (the
 * stream is then best closed).  EPIPE (the peer is gone or we shut down
 * writing; never a SIGPIPE), ECONNRESET, ETIMEDOUT (write deadline),
 * ECANCELED (closed), EINVAL (c NULL, len > SSIZE_MAX).  len 0 returns 0.
 */
URNET_API ssize_t urnet_conn_write(urnet_conn *c, const void *buf, size_t len);

/*
 * Scatter/gather forms: readv fills the buffers in order with what is
 * available (like urnet_conn_read); writev writes every byte of every
 * buffer (like urnet_conn_write).  iovcnt outside 0..IOV_MAX, or lengths
 * summing past SSIZE_MAX: EINVAL.  Nothing to transfer returns 0 at once.
 */
URNET_API ssize_t urnet_conn_readv(urnet_conn *c, const struct iovec *iov, int iovcnt);
URNET_API ssize_t urnet_conn_writev(urnet_conn *c, const struct iovec *iov, int iovcnt);

/* shutdown(SHUT_RD): our pending and later reads return 0. */
URNET_API int urnet_conn_close_read(urnet_conn *c);
/* shutdown(SHUT_WR): the peer reads end of stream; our writes fail EPIPE. */
URNET_API int urnet_conn_close_write(urnet_conn *c);

/*
 * Deadlines: absolute CLOCK_MONOTONIC nanoseconds (urnet_now_ns() + n),
 * 0 = none, negative = EINVAL.  They bound every read (or write) including
 * one already blocked, which re-evaluates at once when the deadline moves.
 * Once passed, every read (write) fails at once with ETIMEDOUT, even when
 * data is available, until the deadline is moved to the future or cleared.
 * A write that times out may have sent part of its buffer.
 * urnet_conn_set_deadline() sets both.
 */
URNET_API int urnet_conn_set_deadline(urnet_conn *c, int64_t deadline_ns);
URNET_API int urnet_conn_set_read_deadline(urnet_conn *c, int64_t deadline_ns);
URNET_API int urnet_conn_set_write_deadline(urnet_conn *c, int64_t deadline_ns);

/* TCP_NODELAY (on by default for TCP conns); EOPNOTSUPP on unix conns. */
URNET_API int urnet_conn_set_nodelay(urnet_conn *c, int on);
/*
 * SO_KEEPALIVE; with on and idle_s > 0, probes start after idle_s seconds
 * of silence and repeat every idle_s seconds (0: the system's settings).
 */
URNET_API int urnet_conn_set_keepalive(urnet_conn *c, int on, int idle_s);

/*
 * "127.0.0.1:41234", "[::1]:41234", a unix path, "@name", or "" for an
 * unnamed unix socket (the dialing end).  IPv4 peers of a dual-stack
 * listener show as IPv4.  Formatted on first use and cached; valid until
 * the conn is closed.  NULL + errno if the kernel cannot tell (the local
 * address of a reset connection, ENOTCONN/EINVAL).
 */
URNET_API const char *urnet_conn_local_addr(urnet_conn *c);
URNET_API const char *urnet_conn_remote_addr(urnet_conn *c);

/*
 * The socket, for getsockopt()/setsockopt(), poll() and the like.  It is
 * non-blocking; do not close it, and do not read or write it while urnet
 * calls run on the conn.
 */
URNET_API int urnet_conn_fd(urnet_conn *c);

/*
 * Close the conn.  Blocked reads and writes fail with ECANCELED; the fd is
 * closed once the engine has let go of it and the last blocked call has
 * returned (at once when none is blocked).  Like close(), it does not
 * wait for unsent data.  Returns 0; -1 + errno from close(); -1 + EBADF
 * when a concurrent close got there first.
 */
URNET_API int urnet_conn_close(urnet_conn *c);

/*
 * Send count bytes of the file in_fd (a regular file or block device),
 * from *offset (which then moves past them) or, with offset NULL, from the
 * file position (which moves): sendfile(2), parked on writability with
 * the write deadline and the close-wake of urnet_conn_write().  Returns
 * count, or fewer when the file ends first (errno 0) or an error stops it
 * after some bytes went (errno says which); -1 + errno when none went:
 * ETIMEDOUT, ECANCELED, EPIPE, ECONNRESET, EBADF, EINVAL (c NULL, count >
 * SSIZE_MAX, in_fd not a file), ESPIPE, EOVERFLOW, EFAULT.  0 for count 0.
 */
URNET_API ssize_t urnet_conn_sendfile(urnet_conn *c, int in_fd, off_t *offset, size_t count);

#ifdef __cplusplus
}
#endif

#endif
