/* SPDX-License-Identifier: MIT */
/*
 * https-urnet: the HTTP/1.1 example over TLS, on urnet's object API and
 * urnet_tls: a thread per connection with plain blocking calls; the
 * protocol code (bench/http.c) is shared with the other HTTP servers.
 *   https-urnet PORT DOCROOT CERT KEY   (0 = any free port; prints port=N)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "https_ctx.h"
#include "urnet_tls.h"

static const char *docroot;
static SSL_CTX *ctx;

static ssize_t tls_read(void *conn, void *buf, size_t len)
{
	return urnet_tls_read(conn, buf, len);
}

static ssize_t tls_writev(void *conn, const struct iovec *iov, int iovcnt)
{
	return urnet_tls_writev(conn, iov, iovcnt);
}

static void *serve(void *arg)
{
	urnet_tls *t = urnet_tls_server(arg, ctx);
	struct http_io io = { .read = tls_read, .writev = tls_writev, .conn = t };

	if (!t) {
		urnet_conn_close(arg);
		return NULL;
	}
	if (http_serve(&io, docroot) == 0)
		urnet_tls_close_write(t);
	urnet_tls_close(t);
	return NULL;
}

int main(int argc, char **argv)
{
	urnet_listener *l;
	pthread_attr_t attr;
	char addr[32];

	if (argc != 5) {
		fprintf(stderr, "usage: https-urnet PORT DOCROOT CERT KEY   (0 = any free port)\n");
		return 2;
	}
	docroot = argv[2];
	ctx = https_server_ctx("https-urnet", argv[3], argv[4]);
	snprintf(addr, sizeof(addr), "127.0.0.1:%s", argv[1]);
	l = urnet_listen("tcp4", addr);
	if (!l) {
		fprintf(stderr, "https-urnet: listen %s: %s\n", addr, strerror(errno));
		return 1;
	}
	printf("port=%s\n", strrchr(urnet_listener_addr(l), ':') + 1);
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		urnet_conn *c = urnet_listener_accept(l);
		pthread_t tid;

		if (!c) {
			perror("https-urnet: accept");
			continue;
		}
		if (pthread_create(&tid, &attr, serve, c)) {
			fprintf(stderr, "https-urnet: cannot start a thread\n");
			urnet_conn_close(c);
		}
	}
}
