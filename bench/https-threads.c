/* SPDX-License-Identifier: MIT */
/*
 * https-threads: the HTTP/1.1 example over TLS on plain blocking sockets
 * and OpenSSL (SSL_set_fd, one SSL per thread): the baseline for
 * bench/https-urnet.
 *   https-threads PORT DOCROOT CERT KEY   (0 = any free port; prints port=N)
 */
#define _GNU_SOURCE	/* accept4 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "bench_listen.h"
#include "http.h"
#include "https_ctx.h"

static const char *docroot;
static SSL_CTX *ctx;

static ssize_t ssl_read(void *conn, void *buf, size_t len)
{
	size_t n;

	return SSL_read_ex(conn, buf, len, &n) ? (ssize_t)n : -1;
}

/*
 * As urnet_tls_writev does: small buffers gathered into one record (a
 * response's headers and body), big ones written as they are.
 */
static ssize_t ssl_writev(void *conn, const struct iovec *iov, int iovcnt)
{
	unsigned char rec[16384];
	size_t fill = 0, n;
	ssize_t total = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (fill + iov[i].iov_len > sizeof(rec) || iov[i].iov_len > sizeof(rec) / 2) {
			if (fill && !SSL_write_ex(conn, rec, fill, &n))
				return -1;
			fill = 0;
		}
		if (iov[i].iov_len > sizeof(rec) / 2) {
			if (!SSL_write_ex(conn, iov[i].iov_base, iov[i].iov_len, &n))
				return -1;
		} else {
			memcpy(rec + fill, iov[i].iov_base, iov[i].iov_len);
			fill += iov[i].iov_len;
		}
		total += (ssize_t)iov[i].iov_len;
	}
	if (fill && !SSL_write_ex(conn, rec, fill, &n))
		return -1;
	return total;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	SSL *ssl = SSL_new(ctx);
	struct http_io io = { .read = ssl_read, .writev = ssl_writev, .conn = ssl };

	/* The same reading as urnet_tls's: whole socket reads, not header then body. */
	if (ssl)
		SSL_set_read_ahead(ssl, 1);
	if (ssl && SSL_set_fd(ssl, fd) && SSL_accept(ssl) == 1 && http_serve(&io, docroot) == 0)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int port = argc == 5 ? bench_parse_port(argv[1]) : -1;
	pthread_attr_t attr;
	int lfd, one = 1;

	if (port < 0) {
		fprintf(stderr, "usage: https-threads PORT DOCROOT CERT KEY   (0 = any free port)\n");
		return 2;
	}
	docroot = argv[2];
	ctx = https_server_ctx("https-threads", argv[3], argv[4]);
	/* OpenSSL writes to the socket with write(2): a client that leaves must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	lfd = bench_listen_port(argv[0], port, 0);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t tid;

		if (fd < 0) {
			perror("https-threads: accept4");
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&tid, &attr, serve, (void *)(intptr_t)fd)) {
			fprintf(stderr, "https-threads: cannot start a thread\n");
			close(fd);
		}
	}
}
