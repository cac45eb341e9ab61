/* SPDX-License-Identifier: MIT */
/*
 * urnet TLS: OpenSSL over a conn, with a conn's blocking semantics.
 * Built when OpenSSL 3's development headers are found (see README);
 * link with -lurnet (which then links libssl).
 *
 *	urnet_conn *c = urnet_dial("tcp", "127.0.0.1:443", 5 * 1000000000LL);
 *	urnet_tls *t = urnet_tls_client(c, ctx, "example.test", 0);
 *	urnet_tls_write(t, req, len);  ...  urnet_tls_read(t, buf, sizeof(buf));
 *	urnet_tls_close(t);		(closes c too)
 *
 * The SSL_CTX is the caller's (certificates, trust store, protocol
 * versions, ALPN); urnet makes one SSL per object from it and never
 * changes the context.  A client verifies the server's certificate and
 * its host name unless told not to.  The handshake runs on the first
 * read or write, or on urnet_tls_handshake().
 *
 * Errors are the conn's (-1 with errno: ETIMEDOUT, ECANCELED, EPIPE,
 * ECONNRESET, EINVAL...), plus EPROTO for anything TLS refused (a
 * certificate that does not verify, a handshake failure, a bad record, a
 * peer that closed without close_notify); urnet_tls_error() returns
 * OpenSSL's reason.  No call raises SIGPIPE or returns EINTR.
 *
 * Threads: as on a conn, one reader and one writer may run at once (each
 * direction is serialised), and a close or a deadline from any thread
 * wakes a call blocked in the handshake, a read or a write.  OpenSSL lets
 * one thread at a time use an SSL: urnet holds a lock around each OpenSSL
 * call, which never waits (the socket is non-blocking), and waits for
 * readiness outside it; see urnet_tls(3).
 */
#ifndef URNET_TLS_H
#define URNET_TLS_H

#include <openssl/ssl.h>

#include "urnet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct urnet_tls urnet_tls;

/* urnet_tls_client() flags */
/* Accept any certificate (tests, or a peer pinned by other means). */
#define URNET_TLS_INSECURE_SKIP_VERIFY	(1u << 0)

/*
 * Wrap conn c for the client side.  server_name is sent as SNI (unless it
 * is an IP address) and the certificate must name it; NULL only with
 * URNET_TLS_INSECURE_SKIP_VERIFY.  On success the object owns c; on
 * failure (NULL + errno: EINVAL, ENOMEM, EPROTO) c is left to the caller.
 */
URNET_API urnet_tls *urnet_tls_client(urnet_conn *c, SSL_CTX *ctx, const char *server_name,
				      unsigned flags);
/* Wrap conn c for the server side; ctx holds the certificate and key. */
URNET_API urnet_tls *urnet_tls_server(urnet_conn *c, SSL_CTX *ctx);

/* Run the handshake now (reads and writes run it otherwise): 0 or -1 + errno. */
URNET_API int urnet_tls_handshake(urnet_tls *t);

/* As urnet_conn_read/readv/write/writev, on the plaintext. */
URNET_API ssize_t urnet_tls_read(urnet_tls *t, void *buf, size_t len);
URNET_API ssize_t urnet_tls_readv(urnet_tls *t, const struct iovec *iov, int iovcnt);
URNET_API ssize_t urnet_tls_write(urnet_tls *t, const void *buf, size_t len);
URNET_API ssize_t urnet_tls_writev(urnet_tls *t, const struct iovec *iov, int iovcnt);

/* Send close_notify, then shut down the socket's writing side. */
URNET_API int urnet_tls_close_write(urnet_tls *t);

/* The conn's deadlines (urnet_conn_set_deadline), for the handshake too. */
URNET_API int urnet_tls_set_deadline(urnet_tls *t, int64_t deadline_ns);
URNET_API int urnet_tls_set_read_deadline(urnet_tls *t, int64_t deadline_ns);
URNET_API int urnet_tls_set_write_deadline(urnet_tls *t, int64_t deadline_ns);

/*
 * OpenSSL's reason for the last EPROTO on t ("certificate verify failed:
 * hostname mismatch"), or "" when there was none.  Valid until the next
 * failure on t or its close.
 */
URNET_API const char *urnet_tls_error(urnet_tls *t);

/* The SSL (to read the cipher, ALPN, the peer's certificate) and the conn. */
URNET_API SSL *urnet_tls_ssl(urnet_tls *t);
URNET_API urnet_conn *urnet_tls_conn(urnet_tls *t);

/*
 * Close: sends close_notify if that needs no wait, wakes every blocked
 * call (ECANCELED) and closes the conn.  0, or -1 + EBADF when a
 * concurrent close got there first.
 */
URNET_API int urnet_tls_close(urnet_tls *t);

#ifdef __cplusplus
}
#endif

#endif
