/* SPDX-License-Identifier: MIT */
/*
 * Shared by the urnet_tls suites (test/api_tls.c, test/api_tls_many.c):
 * the certificates test/tls.sh made in TLS_DIR, the contexts, a wrapped
 * TCP pair, and a server handshake in a thread of its own.
 */
#ifndef URNET_TEST_TLS_UTIL_H
#define URNET_TEST_TLS_UTIL_H

#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api_util.h"
#include "urnet_tls.h"

static char ca[512], crt[512], key[512], other_crt[512], other_key[512];
static SSL_CTX *server_ctx, *client_ctx;

static inline void paths(void)
{
	const char *d = getenv("TLS_DIR");

	ck_assert_msg(d, "TLS_DIR is not set (run through test/tls.sh)");
	snprintf(ca, sizeof(ca), "%s/ca.pem", d);
	snprintf(crt, sizeof(crt), "%s/server.pem", d);
	snprintf(key, sizeof(key), "%s/server.key", d);
	snprintf(other_crt, sizeof(other_crt), "%s/other.pem", d);
	snprintf(other_key, sizeof(other_key), "%s/other.key", d);
}

static inline SSL_CTX *make_server_ctx(const char *c, const char *k)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_use_certificate_chain_file(ctx, c), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(ctx, k, SSL_FILETYPE_PEM), 1);
	return ctx;
}

static inline void tls_setup(void)
{
	paths();
	api_setup();
	server_ctx = make_server_ctx(crt, key);
	client_ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(client_ctx);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(client_ctx, ca, NULL), 1);
	/* Earlier suites' fds (OpenSSL's own) are counted from here on. */
	api_fds_before = test_count_fds();
}

static inline void tls_teardown(void)
{
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
	api_teardown();
}

/* A TCP pair wrapped: *cli verifying name, *srv with ctx. */
static inline void tls_pair(SSL_CTX *sctx, const char *name, unsigned flags, urnet_tls **cli,
		     urnet_tls **srv)
{
	urnet_conn *c, *s;

	api_tcp_pair(&c, &s);
	*cli = urnet_tls_client(c, client_ctx, name, flags);
	ck_assert_ptr_nonnull(*cli);
	*srv = urnet_tls_server(s, sctx);
	ck_assert_ptr_nonnull(*srv);
}

/* A thread that runs the server side's handshake, and its result. */
struct hs {
	urnet_tls *t;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	int ret, err;
};

static inline void *hs_main(void *arg)
{
	struct hs *h = arg;

	atomic_store(&h->tid, test_gettid());
	h->ret = urnet_tls_handshake(h->t);
	h->err = errno;
	atomic_store(&h->done, true);
	return NULL;
}

static inline void hs_start(struct hs *h, urnet_tls *t)
{
	memset(h, 0, sizeof(*h));
	h->t = t;
	ck_assert_int_eq(pthread_create(&h->th, NULL, hs_main, h), 0);
}

/* Both handshakes, the server's in a thread of its own. */
static inline void handshake_both(urnet_tls *cli, urnet_tls *srv)
{
	struct hs h;

	hs_start(&h, srv);
	ck_assert_msg(urnet_tls_handshake(cli) == 0, "%s", urnet_tls_error(cli));
	pthread_join(h.th, NULL);
	ck_assert_int_eq(h.ret, 0);
}

#endif
