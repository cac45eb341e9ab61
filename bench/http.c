/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE	/* memmem, strncasecmp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

static int token_is(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && strncasecmp(s, lit, len) == 0;
}

/* Trimmed value of a header line "Name: value". */
static int header(const char *line, size_t len, const char *name,
		  const char **val, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return 0;
	line += n + 1;
	len -= n + 1;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*val = line;
	*vlen = len;
	return 1;
}

int http_parse(const char *buf, size_t len, struct http_request *req)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *p, *sp1, *sp2, *eol, *v;
	size_t vlen, clen = 0, head;
	int minor;

	if (!end)
		return len >= HTTP_MAX_REQUEST ? 413 : 0;
	head = (size_t)(end - buf) + 4;

	/* Request line: METHOD SP PATH SP HTTP/1.x */
	eol = memchr(buf, '\r', head);
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == buf || sp2 == sp1 + 1 || eol - sp2 != 9 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' && sp2[8] != '1'))
		return 400;
	minor = sp2[8] - '0';
	req->method = buf;
	req->method_len = (size_t)(sp1 - buf);
	req->path = sp1 + 1;
	req->path_len = (size_t)(sp2 - sp1 - 1);
	req->keep_alive = minor == 1;

	for (p = eol + 2; p < end + 2; p = eol + 2) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (header(p, (size_t)(eol - p), "Content-Length", &v, &vlen)) {
			char num[24], *e;

			if (vlen == 0 || vlen >= sizeof(num))
				return 400;
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			errno = 0;
			clen = strtoul(num, &e, 10);
			if (errno || *e || num[0] == '-')
				return 400;
		} else if (header(p, (size_t)(eol - p), "Connection", &v, &vlen)) {
			if (token_is(v, vlen, "close"))
				req->keep_alive = 0;
			else if (token_is(v, vlen, "keep-alive"))
				req->keep_alive = 1;
		} else if (header(p, (size_t)(eol - p), "Transfer-Encoding", &v, &vlen)) {
			return 501;
		}
	}
	if (clen > HTTP_MAX_REQUEST - head)
		return 413;
	if (len - head < clen)
		return 0;
	req->body = buf + head;
	req->body_len = clen;
	req->size = head + clen;
	return 1;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 500: return "Internal Server Error";
	default:  return "Not Implemented";
	}
}

/* writev until everything is out; the iovec array is consumed. */
static int write_all(const struct http_io *io, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = io->writev(io->conn, iov, n);

		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* The status line and headers of a response with a body of len bytes. */
static int head_of(char *head, size_t size, int status, const char *type, size_t len,
		   int keep_alive)
{
	return snprintf(head, size,
			"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
			status, reason(status), type, len, keep_alive ? "" : "Connection: close\r\n");
}

static int respond(const struct http_io *io, int status, const char *type,
		   const void *body, size_t len, int keep_alive)
{
	char head[256];
	struct iovec iov[2];
	int n = head_of(head, sizeof(head), status, type, len, keep_alive);

	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = (void *)body;
	iov[1].iov_len = len;
	return write_all(io, iov, len ? 2 : 1);
}

static int respond_text(const struct http_io *io, int status, const char *text,
			int keep_alive)
{
	return respond(io, status, "text/plain", text, strlen(text), keep_alive);
}

static const char *content_type(const char *name, size_t len)
{
	const char *dot = memrchr(name, '.', len);

	if (dot && token_is(dot, len - (size_t)(dot - name), ".html"))
		return "text/html";
	if (dot && token_is(dot, len - (size_t)(dot - name), ".txt"))
		return "text/plain";
	return "application/octet-stream";
}

/* Without sendfile (TLS): the file through a buffer; the bytes sent. */
static ssize_t copy_file(const struct http_io *io, int fd, size_t len)
{
	char buf[65536];
	size_t done = 0;

	while (done < len) {
		struct iovec iov = { .iov_base = buf };
		ssize_t n = read(fd, buf, len - done < sizeof(buf) ? len - done : sizeof(buf));

		if (n <= 0)
			break;
		iov.iov_len = (size_t)n;
		if (write_all(io, &iov, 1) < 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* The headers, then the file's bytes straight from the page cache (sendfile). */
static int serve_file(const struct http_io *io, const char *docroot,
		      const char *name, size_t len, int keep_alive)
{
	char path[4096], head[256];
	struct iovec iov;
	struct stat st;
	off_t off = 0;
	int fd, ret;

	if (len == 0 || name[0] == '.' || memchr(name, '/', len) || memchr(name, '\0', len) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%.*s", docroot, (int)len, name) >= sizeof(path))
		return respond_text(io, 404, "not found\n", keep_alive);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return respond_text(io, 404, "not found\n", keep_alive);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return respond_text(io, 404, "not found\n", keep_alive);
	}
	iov.iov_base = head;
	iov.iov_len = (size_t)head_of(head, sizeof(head), 200, content_type(name, len),
				      (size_t)st.st_size, keep_alive);
	ret = write_all(io, &iov, 1);
	/* A file that shrank meanwhile cannot keep its promised length: end the stream. */
	if (!ret && st.st_size &&
	    (io->sendfile ? io->sendfile(io->conn, fd, &off, (size_t)st.st_size)
			  : copy_file(io, fd, (size_t)st.st_size)) != (ssize_t)st.st_size)
		ret = -1;
	close(fd);
	return ret;
}

static int route(const struct http_io *io, const struct http_request *r, const char *docroot)
{
	static const char prefix[] = "/static/";
	int get = token_is(r->method, r->method_len, "GET");
	size_t plen = r->path_len;

	/* The query string plays no part in routing. */
	const char *q = memchr(r->path, '?', plen);

	if (q)
		plen = (size_t)(q - r->path);
	if (plen == 5 && memcmp(r->path, "/ping", 5) == 0)
		return get ? respond_text(io, 200, "pong\n", r->keep_alive)
			   : respond_text(io, 405, "use GET\n", r->keep_alive);
	if (plen == 5 && memcmp(r->path, "/echo", 5) == 0)
		return token_is(r->method, r->method_len, "POST")
			? respond(io, 200, "application/octet-stream", r->body, r->body_len,
				  r->keep_alive)
			: respond_text(io, 405, "use POST\n", r->keep_alive);
	if (plen > sizeof(prefix) - 1 && memcmp(r->path, prefix, sizeof(prefix) - 1) == 0)
		return get ? serve_file(io, docroot, r->path + sizeof(prefix) - 1,
					plen - (sizeof(prefix) - 1), r->keep_alive)
			   : respond_text(io, 405, "use GET\n", r->keep_alive);
	return respond_text(io, 404, "not found\n", r->keep_alive);
}

int http_serve(const struct http_io *io, const char *docroot)
{
	char *buf = malloc(HTTP_MAX_REQUEST);
	size_t len = 0;
	int ret = -1;

	if (!buf)
		return -1;
	for (;;) {
		struct http_request req;
		int st = http_parse(buf, len, &req);

		if (st == 0) {
			ssize_t n = io->read(io->conn, buf + len, HTTP_MAX_REQUEST - len);

			if (n <= 0) {
				ret = n == 0 && len == 0 ? 0 : -1;
				break;
			}
			len += (size_t)n;
			continue;
		}
		if (st != 1) {	/* answer, then close: the stream is out of step */
			respond_text(io, st, "bad request\n", 0);
			break;
		}
		if (route(io, &req, docroot) < 0)
			break;
		if (!req.keep_alive) {
			ret = 0;
			break;
		}
		len -= req.size;
		memmove(buf, buf + req.size, len);
	}
	free(buf);
	return ret;
}
