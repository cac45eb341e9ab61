/* SPDX-License-Identifier: MIT */
/*
 * tls-echo: a TLS echo benchmark in one program.
 *   tls-echo urnet PORT CERT KEY      echo server, a thread per connection on urnet_tls
 *   tls-echo threads PORT CERT KEY    the same on blocking sockets and OpenSSL
 *   tls-echo load PORT CONNS SECONDS SIZE
 *                                     closed-loop client: CONNS threads, each one TLS
 *                                     connection sending SIZE bytes and reading the
 *                                     whole echo, repeatedly; prints "rps=N"
 * Servers print port=N (0 = any free port).
 */
#define _GNU_SOURCE	/* accept4 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_listen.h"
#include "https_ctx.h"
#include "urnet_tls.h"

static SSL_CTX *ctx;

static void *urnet_conn_main(void *arg)
{
	urnet_tls *t = urnet_tls_server(arg, ctx);
	char buf[16384];
	ssize_t n;

	while (t && (n = urnet_tls_read(t, buf, sizeof(buf))) > 0)
		if (urnet_tls_write(t, buf, (size_t)n) != n)
			break;
	if (t)
		urnet_tls_close(t);
	else
		urnet_conn_close(arg);
	return NULL;
}

static void *threads_conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	SSL *ssl = SSL_new(ctx);
	char buf[16384];
	size_t n, w;

	if (ssl) {
		SSL_set_read_ahead(ssl, 1);
		if (SSL_set_fd(ssl, fd) && SSL_accept(ssl) == 1)
			while (SSL_read_ex(ssl, buf, sizeof(buf), &n) && SSL_write_ex(ssl, buf, n, &w))
				;
	}
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static void start(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t tid;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, fn, arg))
		fprintf(stderr, "tls-echo: cannot start a thread\n");
	pthread_attr_destroy(&attr);
}

static __attribute__((noreturn)) int serve_urnet(const char *port)
{
	char addr[32];
	urnet_listener *l;

	snprintf(addr, sizeof(addr), "127.0.0.1:%s", port);
	l = urnet_listen("tcp4", addr);
	if (!l) {
		perror("tls-echo: listen");
		exit(1);
	}
	printf("port=%s\n", strrchr(urnet_listener_addr(l), ':') + 1);
	fflush(stdout);
	for (;;) {
		urnet_conn *c = urnet_listener_accept(l);

		if (c)
			start(urnet_conn_main, c);
	}
}

static __attribute__((noreturn)) int serve_threads(const char *port)
{
	int lfd = bench_listen_port("tls-echo", bench_parse_port(port), 0), one = 1;

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		start(threads_conn_main, (void *)(intptr_t)fd);
	}
}

/* ---------------------------------------------------------------- load */

static int load_port, load_size;
static _Atomic int load_stop;
static _Atomic long load_done;

static void *load_main(void *arg)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)load_port) };
	SSL_CTX *cctx = arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	char *buf = calloc(2, (size_t)load_size);
	SSL *ssl = SSL_new(cctx);
	size_t n, got;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!buf || !ssl || connect(fd, (struct sockaddr *)&a, sizeof(a)) || !SSL_set_fd(ssl, fd) ||
	    SSL_connect(ssl) != 1) {
		fprintf(stderr, "tls-echo: a load connection failed\n");
		exit(1);
	}
	while (!atomic_load_explicit(&load_stop, memory_order_relaxed)) {
		if (!SSL_write_ex(ssl, buf, (size_t)load_size, &n))
			break;
		for (got = 0; got < (size_t)load_size; got += n)
			if (!SSL_read_ex(ssl, buf + load_size, (size_t)load_size - got, &n))
				goto out;
		atomic_fetch_add_explicit(&load_done, 1, memory_order_relaxed);
	}
out:
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	free(buf);
	return NULL;
}

static int load(int argc, char **argv)
{
	int conns = argc == 6 ? atoi(argv[3]) : 0, seconds = argc == 6 ? atoi(argv[4]) : 0;
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	pthread_t *th;
	long before;

	load_port = argc == 6 ? bench_parse_port(argv[2]) : -1;
	load_size = argc == 6 ? atoi(argv[5]) : 0;
	if (load_port <= 0 || conns <= 0 || seconds <= 0 || load_size <= 0 || !cctx) {
		fprintf(stderr, "usage: tls-echo load PORT CONNS SECONDS SIZE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	th = calloc((size_t)conns, sizeof(*th));
	for (int i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, load_main, cctx);
	sleep(1);	/* the handshakes are not what is measured */
	before = atomic_load(&load_done);
	sleep((unsigned)seconds);
	printf("rps=%ld\n", (atomic_load(&load_done) - before) / seconds);
	atomic_store(&load_stop, 1);
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	free(th);
	SSL_CTX_free(cctx);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "load"))
		return load(argc, argv);
	if (argc != 5 || (strcmp(argv[1], "urnet") && strcmp(argv[1], "threads"))) {
		fprintf(stderr, "usage: tls-echo urnet|threads PORT CERT KEY\n"
				"       tls-echo load PORT CONNS SECONDS SIZE\n");
		return 2;
	}
	ctx = https_server_ctx("tls-echo", argv[3], argv[4]);
	return !strcmp(argv[1], "urnet") ? serve_urnet(argv[2]) : serve_threads(argv[2]);
}
