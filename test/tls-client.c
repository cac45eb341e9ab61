/* SPDX-License-Identifier: MIT */
/*
 * tls-client ADDRESS CAFILE NAME REQUEST: dial ADDRESS ("127.0.0.1:N"),
 * speak TLS with urnet_tls verifying NAME against CAFILE, send REQUEST
 * (with \r\n for each \n), and copy the answer to stdout until the server
 * ends the stream.  Exit 1 with OpenSSL's reason on failure.  For
 * test/tls.sh, against openssl s_server.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "urnet_tls.h"

int main(int argc, char **argv)
{
	char req[1024], buf[16384];
	size_t len = 0;
	urnet_conn *c;
	urnet_tls *t;
	SSL_CTX *ctx;
	ssize_t n;
	int ret = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: tls-client ADDRESS CAFILE NAME REQUEST\n");
		return 2;
	}
	for (const char *p = argv[4]; *p && len < sizeof(req) - 2; p++) {
		if (*p == '\n')
			req[len++] = '\r';
		req[len++] = *p;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1) {
		fprintf(stderr, "tls-client: cannot load %s\n", argv[2]);
		return 1;
	}
	c = urnet_dial("tcp", argv[1], 10 * 1000000000LL);
	if (!c) {
		fprintf(stderr, "tls-client: dial %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	t = urnet_tls_client(c, ctx, argv[3], 0);
	if (!t) {
		fprintf(stderr, "tls-client: %s\n", strerror(errno));
		return 1;
	}
	urnet_tls_set_deadline(t, urnet_now_ns() + 20 * 1000000000LL);
	if (urnet_tls_write(t, req, len) != (ssize_t)len) {
		fprintf(stderr, "tls-client: write: %s: %s\n", strerror(errno), urnet_tls_error(t));
		ret = 1;
	} else {
		while ((n = urnet_tls_read(t, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, (size_t)n, stdout);
		if (n < 0) {
			fprintf(stderr, "tls-client: read: %s: %s\n", strerror(errno),
				urnet_tls_error(t));
			ret = 1;
		}
	}
	urnet_tls_close(t);
	SSL_CTX_free(ctx);
	return ret;
}
