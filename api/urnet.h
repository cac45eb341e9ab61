/* SPDX-License-Identifier: MIT */
/*
 * urnet: blocking listener/conn objects in the shape of Go's net.Listener and
 * net.Conn, whose waiting is done by io_uring in a shared engine thread.
 *
 * Errors follow the BSD calls: -1 or NULL with errno set.
 *   EINVAL        malformed address, bad argument
 *   EAFNOSUPPORT  unknown network
 *   ECONNREFUSED, EADDRINUSE, ECONNRESET, EPIPE   as the kernel reports them
 *   ETIMEDOUT     dial timeout or deadline expiry
 *   ECANCELED     the object was closed by another thread while the call waited
 * No call raises SIGPIPE.  Every fd is close-on-exec.
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
 * network: "tcp" (IPv4 or IPv6 as the address says), "tcp4", "tcp6", "unix".
 * address: "127.0.0.1:8080", "[::1]:0", ":0" (all interfaces, ephemeral
 * port), "localhost:0", "/path/to.sock".
 */
URNET_API urnet_listener *urnet_listen(const char *network, const char *address);
URNET_API urnet_listener *urnet_listen_on(urnet_engine *e, const char *network,
					  const char *address);
URNET_API urnet_conn *urnet_listener_accept(urnet_listener *l);
/* "127.0.0.1:41234", "[::1]:41234" or the unix path; valid until close. */
URNET_API const char *urnet_listener_addr(urnet_listener *l);
URNET_API int urnet_listener_fd(urnet_listener *l);
/* Wakes blocked accepts (ECANCELED), closes the fd, frees once they left. */
URNET_API int urnet_listener_close(urnet_listener *l);

/* timeout_ns: relative, 0 = none. */
URNET_API urnet_conn *urnet_dial(const char *network, const char *address,
				 int64_t timeout_ns);
URNET_API urnet_conn *urnet_dial_on(urnet_engine *e, const char *network,
				    const char *address, int64_t timeout_ns);

URNET_API ssize_t urnet_conn_read(urnet_conn *c, void *buf, size_t len);	/* 0 at EOF */
URNET_API ssize_t urnet_conn_write(urnet_conn *c, const void *buf, size_t len);	/* all, or -1 */
URNET_API ssize_t urnet_conn_readv(urnet_conn *c, const struct iovec *iov, int iovcnt);
URNET_API ssize_t urnet_conn_writev(urnet_conn *c, const struct iovec *iov, int iovcnt);
URNET_API int urnet_conn_close_read(urnet_conn *c);	/* shutdown(SHUT_RD) */
URNET_API int urnet_conn_close_write(urnet_conn *c);	/* shutdown(SHUT_WR): peer reads EOF */

/* Absolute CLOCK_MONOTONIC nanoseconds (urnet_now_ns() + n); 0 = none. */
URNET_API int urnet_conn_set_deadline(urnet_conn *c, int64_t deadline_ns);
URNET_API int urnet_conn_set_read_deadline(urnet_conn *c, int64_t deadline_ns);
URNET_API int urnet_conn_set_write_deadline(urnet_conn *c, int64_t deadline_ns);

URNET_API int urnet_conn_set_nodelay(urnet_conn *c, int on);
URNET_API int urnet_conn_set_keepalive(urnet_conn *c, int on, int idle_s);

URNET_API const char *urnet_conn_local_addr(urnet_conn *c);
URNET_API const char *urnet_conn_remote_addr(urnet_conn *c);
URNET_API int urnet_conn_fd(urnet_conn *c);
/* Wakes blocked calls (ECANCELED); the fd is closed once the engine let go. */
URNET_API int urnet_conn_close(urnet_conn *c);

#ifdef __cplusplus
}
#endif

#endif
