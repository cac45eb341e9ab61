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
#include <sys/socket.h>
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
 * A dial may name a host ("db.example:5432"): see urnet_resolve() and
 * urnet_dial_with(); a listener takes numeric hosts and localhost only.
 * A malformed host name is EINVAL, as is a missing or non-numeric port, an
 * unbracketed IPv6 address or an unknown zone.
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
 * ETIMEDOUT (timeout, e.g. the listener's backlog is full, a silent name
 * server, or the kernel gave up), ENETUNREACH, ENOENT (no such unix socket
 * file, or no such host), EAGAIN (the name server failed), ESHUTDOWN
 * (the engine closed during the dial), EACCES...
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
 * Adopting sockets the program already holds.  urnet_conn_from_fd() takes
 * a connected stream socket (tcp or unix), urnet_listener_from_fd() a
 * listening one.  On success urnet owns fd: it is made non-blocking and
 * close-on-exec, and closing the object closes it.  On failure fd is left
 * exactly as it was.  NULL + errno: EBADF (negative or not open), ENOTSOCK,
 * EINVAL (not a stream socket, not tcp/unix, a listener given as a conn or
 * the reverse, an unconnected socket), ENOMEM...
 */
URNET_API urnet_conn *urnet_conn_from_fd(int fd);
URNET_API urnet_listener *urnet_listener_from_fd(int fd);

/*
 * systemd socket activation (sd_listen_fds() semantics, without libsystemd):
 * when LISTEN_PID names this process, adopt the LISTEN_FDS listening
 * sockets starting at fd 3, in order, into ls[0..n).  With names non-NULL,
 * names[i] is a malloc'ed copy of the i-th LISTEN_FDNAMES entry ("unknown"
 * when absent; free() it).  unset_env non-zero removes the three variables.
 * Returns n (0 when the process was not socket-activated), or -1 + errno:
 * EINVAL (malformed variables, or a passed fd that is not a listening tcp
 * or unix stream socket: then no fd was changed), ERANGE (more than max),
 * ENOMEM.
 */
URNET_API int urnet_listen_fds(int unset_env, urnet_listener **ls, char **names, int max);

/*
 * Options for dialing and listening: fill with urnet_options_init(), set
 * what you need, pass to urnet_dial_with()/urnet_listen_with().  size
 * tells the library which fields the caller knows; later versions only
 * add fields at the end.  "-1: default" fields keep urnet's behaviour.
 */
struct urnet_options {
	size_t size;			/* sizeof(struct urnet_options) */
	urnet_engine *engine;		/* NULL: spread over the shards */
	const char *local_addr;		/* dial: bind here first ("ip:port") */
	int backlog;			/* listen: 0 = system maximum */
	int reuseport;			/* SO_REUSEPORT when non-zero */
	int v6only;			/* IPV6_V6ONLY: -1 default, 0, 1 */
	int rcvbuf, sndbuf;		/* SO_RCVBUF/SO_SNDBUF bytes, 0 = default */
	int nodelay;			/* TCP_NODELAY: -1 default (on), 0, 1 */
	int user_timeout_ms;		/* TCP_USER_TIMEOUT, 0 = default */
	int keepalive;			/* SO_KEEPALIVE: -1 default (off), 0, 1 */
	int keepalive_idle_s;		/* TCP_KEEPIDLE, 0 = system's */
	int keepalive_interval_s;	/* TCP_KEEPINTVL, 0 = system's */
	int keepalive_count;		/* TCP_KEEPCNT, 0 = system's */
	/*
	 * Called after socket() and before bind()/connect() with the network
	 * and the numeric address about to be used; a non-zero return fails
	 * the call with the errno it set (EPERM if none).
	 */
	int (*control)(int fd, const char *network, const char *address, void *arg);
	void *control_arg;
	int64_t fallback_delay_ns;	/* dial by name: IPv4 after this, 0 = 300 ms */
	void *reserved[4];		/* zero */
};

URNET_API void urnet_options_init(struct urnet_options *o);
URNET_API urnet_conn *urnet_dial_with(const struct urnet_options *o, const char *network,
				      const char *address, int64_t timeout_ns);
URNET_API urnet_listener *urnet_listen_with(const struct urnet_options *o,
					    const char *network, const char *address);

/*
 * Resolve host (a name, or a numeric address) for network "tcp", "tcp4",
 * "tcp6", "udp", "udp4" or "udp6": /etc/hosts (or the file named by CARES_HOSTS), then DNS with the
 * servers and options of /etc/resolv.conf (or the file named by
 * URNET_RESOLV_CONF), waiting on the engine until the absolute
 * CLOCK_MONOTONIC deadline_ns (0 = the resolver's own retries only).
 * Fills addrs[0..n) (ports 0), IPv6 first, and returns n, or -1 + errno:
 * ENOENT (no such host, or no address of that family), EAGAIN (server
 * failure or refusal), EINVAL (malformed name: empty, NUL, non-ASCII, a
 * label over 63 or a name over 253 bytes, or an unusable resolver
 * configuration), ETIMEDOUT, ESHUTDOWN, EAFNOSUPPORT, ENOMEM, ENOSYS (built
 * without c-ares).  urnet_resolve_error() tells the resolver's message.
 */
URNET_API int urnet_resolve(const char *network, const char *host, int64_t deadline_ns,
			    struct sockaddr_storage *addrs, int max);
/* The message of this thread's last failed lookup (like gai_strerror). */
URNET_API const char *urnet_resolve_error(void);

/*
 * Datagram sockets.  Networks "udp", "udp4", "udp6" (the address rules of
 * "tcp", "tcp4", "tcp6") and "unixgram" (those of "unix").
 *
 * urnet_dial("udp", ...) and urnet_dial("unixgram", ...) return a
 * connected datagram conn: urnet_conn_write() sends one datagram (len 0
 * sends an empty one), urnet_conn_read() returns one datagram, and a
 * dialed unixgram socket is autobound to an abstract name so that the peer
 * can answer.  An ICMP port unreachable comes out as ECONNREFUSED from a
 * later read or write, as the kernel reports it.  Any number of readers
 * and writers may run at once on datagram conns.
 *
 * Truncation: every datagram read returns the datagram's full length; when
 * that is more than len, only len bytes were stored and the rest is gone.
 */
typedef struct urnet_packet_conn urnet_packet_conn;
/* <sys/socket.h> declares it with _GNU_SOURCE only. */
struct mmsghdr;

/* Room for any address string urnet formats, NUL included. */
#define URNET_ADDRSTRLEN 112

/*
 * An unconnected datagram socket bound to address (":0" for an ephemeral
 * port; "udp" on ":port" is dual stack).  A unixgram path is created and
 * removed on close.  NULL + errno as urnet_listen(); EAFNOSUPPORT for a
 * stream network.
 */
URNET_API urnet_packet_conn *urnet_listen_packet(const char *network, const char *address);
URNET_API urnet_packet_conn *urnet_listen_packet_on(urnet_engine *e, const char *network,
						    const char *address);

/*
 * Wait for one datagram; store up to len bytes in buf and the sender's
 * address, formatted, in from (fromlen bytes, URNET_ADDRSTRLEN is enough;
 * from may be NULL).  Returns the datagram's full length (see Truncation),
 * 0 for an empty datagram.  -1 + errno: ETIMEDOUT, ECANCELED, EINVAL...
 */
URNET_API ssize_t urnet_packet_read_from(urnet_packet_conn *p, void *buf, size_t len,
					 char *from, size_t fromlen);
/*
 * Send buf as one datagram to address to (parsed by the conn's network).
 * Returns len.  -1 + errno: EMSGSIZE (over the socket's maximum),
 * EDESTADDRREQ (to NULL), EINVAL/EAFNOSUPPORT (malformed address, wrong
 * family), ETIMEDOUT, ECANCELED, ECONNREFUSED...
 */
URNET_API ssize_t urnet_packet_write_to(urnet_packet_conn *p, const void *buf, size_t len,
					const char *to);
/* The same with sockaddrs, for servers that answer many peers. */
URNET_API ssize_t urnet_packet_recvfrom(urnet_packet_conn *p, void *buf, size_t len,
					struct sockaddr *from, socklen_t *fromlen);
URNET_API ssize_t urnet_packet_sendto(urnet_packet_conn *p, const void *buf, size_t len,
				      const struct sockaddr *to, socklen_t tolen);
/*
 * Batches (recvmmsg/sendmmsg).  recvmmsg waits for one datagram and returns
 * as many as are queued, up to vlen; each msg_len is the full length and
 * msg_hdr.msg_flags has MSG_TRUNC when cut.  sendmmsg sends all vlen
 * messages (waiting for room), and returns fewer only when an error
 * stopped it after the first.  vlen 0 or over 1024: EINVAL.
 */
URNET_API int urnet_packet_recvmmsg(urnet_packet_conn *p, struct mmsghdr *vec,
				    unsigned int vlen);
URNET_API int urnet_packet_sendmmsg(urnet_packet_conn *p, struct mmsghdr *vec,
				    unsigned int vlen);

/* Deadlines, as for conns. */
URNET_API int urnet_packet_set_deadline(urnet_packet_conn *p, int64_t deadline_ns);
URNET_API int urnet_packet_set_read_deadline(urnet_packet_conn *p, int64_t deadline_ns);
URNET_API int urnet_packet_set_write_deadline(urnet_packet_conn *p, int64_t deadline_ns);
/* The bound address, with the real port; cached, valid until close. */
URNET_API const char *urnet_packet_local_addr(urnet_packet_conn *p);
/* The socket, for socket options (IP_MULTICAST_IF, IP_MULTICAST_TTL...). */
URNET_API int urnet_packet_fd(urnet_packet_conn *p);
/* As urnet_conn_close(): blocked calls fail with ECANCELED. */
URNET_API int urnet_packet_close(urnet_packet_conn *p);

/* SO_BROADCAST on (1) or off (0). */
URNET_API int urnet_packet_set_broadcast(urnet_packet_conn *p, int on);
/*
 * Join or leave the multicast group (a numeric IPv4 or IPv6 address) on
 * interface ifname (NULL or "": the kernel picks).  -1 + errno: EINVAL
 * (not an address), ENODEV (no such interface), and the kernel's.
 */
URNET_API int urnet_packet_join_group(urnet_packet_conn *p, const char *group,
				      const char *ifname);
URNET_API int urnet_packet_leave_group(urnet_packet_conn *p, const char *group,
				       const char *ifname);

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
