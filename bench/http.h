/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 example's protocol half, shared by bench/http-urnet (object
 * API) and bench/http-threads (plain sockets) so that the two servers
 * differ only in how they move bytes.
 *
 * Routes:
 *   GET  /ping          "pong\n"
 *   POST /echo          the request body back
 *   GET  /static/NAME   the file NAME from the document root (no '/' or
 *                       leading '.' in NAME), sent with sendfile
 * Keep-alive as HTTP/1.1 says (1.0: only on request); request bodies need
 * Content-Length (no chunked uploads); headers + body up to HTTP_MAX_REQUEST.
 */
#ifndef URNET_BENCH_HTTP_H
#define URNET_BENCH_HTTP_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define HTTP_MAX_REQUEST	(64 * 1024)

struct http_request {
	const char *method;	/* point into the connection's buffer */
	size_t method_len;
	const char *path;
	size_t path_len;
	const char *body;
	size_t body_len;
	int keep_alive;
	size_t size;		/* bytes of the buffer this request used */
};

/*
 * One complete request at the start of buf[0, len)?  Returns 1 and fills
 * req, 0 when more bytes are needed, or an HTTP status (400, 411, 413, 501)
 * for a request that cannot be served.
 */
int http_parse(const char *buf, size_t len, struct http_request *req);

/*
 * How a server moves bytes: the same contract as read(2) and writev(2);
 * sendfile sends len bytes of the file fd from *off (moved past them),
 * fewer only when the file ends or an error stops it; NULL (TLS): the
 * file goes through a buffer and writev.
 */
struct http_io {
	ssize_t (*read)(void *conn, void *buf, size_t len);
	ssize_t (*writev)(void *conn, const struct iovec *iov, int iovcnt);
	ssize_t (*sendfile)(void *conn, int fd, off_t *off, size_t len);
	void *conn;
};

/*
 * Serve one connection until the peer closes it, an error, or a request
 * that does not keep the connection alive.  docroot: directory of the
 * /static/ route.  Returns 0, or -1 when the connection ended on an error.
 */
int http_serve(const struct http_io *io, const char *docroot);

#endif
