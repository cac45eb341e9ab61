/* SPDX-License-Identifier: MIT */
/*
 * The HTTPS example's server context, the same for bench/https-urnet and
 * bench/https-threads: the certificate chain and key from PEM files.
 */
#ifndef URNET_BENCH_HTTPS_CTX_H
#define URNET_BENCH_HTTPS_CTX_H

#include <stdio.h>
#include <stdlib.h>

#include <openssl/ssl.h>

/* The context, or exit with a message naming prog. */
static inline SSL_CTX *https_server_ctx(const char *prog, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "%s: cannot load %s and %s\n", prog, cert, key);
		exit(1);
	}
	return ctx;
}

#endif
