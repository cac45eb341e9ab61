/* SPDX-License-Identifier: MIT */
/*
 * The TLS object: making it over a conn, its BIO, OpenSSL's errors,
 * deadlines and close.  The data path is in tls_io.c; the locking design
 * in tls_internal.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "libc.h"
#include "tls_internal.h"

/* ---------------------------------------------------------------- BIO */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *buf, int len)
{
	urnet_tls *t = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = urnet__libc()->send(t->c->fd, buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_read(BIO *b, char *buf, int len)
{
	urnet_tls *t = BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	do {
		n = urnet__libc()->recv(t->c->fd, buf, (size_t)len, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	/* BIO_eof() tells OpenSSL that the stream ended, not that a read failed. */
	if (n == 0 && len > 0)
		atomic_store_explicit(&t->eof, 1, memory_order_relaxed);
	if (n > 0)
		atomic_fetch_add_explicit(&t->bytes_in, (uint64_t)n, memory_order_relaxed);
	if (n > 0 && n < len && t->in_read)
		urnet__ready_note_drained(&t->c->ready, t->read_snap);
	return (int)n;
}

static int bio_puts(BIO *b, const char *s)
{
	return bio_write(b, s, (int)strlen(s));
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	urnet_tls *t = BIO_get_data(b);

	(void)num, (void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;	/* nothing is buffered here */
	case BIO_CTRL_EOF:
		return atomic_load_explicit(&t->eof, memory_order_relaxed);
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void bio_method_make(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "urnet conn");

	if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
	    BIO_meth_set_puts(m, bio_puts) && BIO_meth_set_ctrl(m, bio_ctrl) &&
	    BIO_meth_set_create(m, bio_create))
		bio_method = m;
	else
		BIO_meth_free(m);
}

BIO *urnet__tls_bio_new(urnet_tls *t)
{
	BIO *b;

	pthread_once(&bio_once, bio_method_make);
	if (!bio_method)
		return NULL;
	b = BIO_new(bio_method);
	if (b)
		BIO_set_data(b, t);
	return b;
}

/* ---------------------------------------------------------------- errors */

int urnet__tls_fail(urnet_tls *t, int e)
{
	int err = errno;
	unsigned long code = ERR_peek_last_error();
	long vr = SSL_get_verify_result(t->ssl);
	char msg[sizeof(t->err)] = "";

	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		/* The BIO's errno; none means the peer left in the middle of a record. */
		if (!code) {
			ERR_clear_error();
			return err && err != EAGAIN ? -err : -ECONNRESET;
		}
		break;
	default:
		break;
	}
	if (code)
		ERR_error_string_n(code, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "TLS error %d", e);
	if (vr != X509_V_OK) {
		size_t used = strlen(msg);

		snprintf(msg + used, sizeof(msg) - used, ": %s",
			 X509_verify_cert_error_string(vr));
	}
	ERR_clear_error();
	pthread_mutex_lock(&t->err_lock);
	memcpy(t->err, msg, sizeof(msg));
	pthread_mutex_unlock(&t->err_lock);
	return -EPROTO;
}

const char *urnet_tls_error(urnet_tls *t)
{
	return t ? t->err : "";
}

/* ---------------------------------------------------------------- life cycle */

/* own_conn: t owned the conn, whose last reference this was (the fd closes). */
static void tls_free(urnet_tls *t, bool own_conn)
{
	int saved = errno;

	SSL_free(t->ssl);
	if (own_conn)
		urnet__conn_release(t->c);
	pthread_mutex_destroy(&t->ssl_lock);
	pthread_mutex_destroy(&t->hs_lock);
	pthread_mutex_destroy(&t->err_lock);
	free(t);
	errno = saved;
}

bool urnet__tls_enter(urnet_tls *t)
{
	if (!t) {
		errno = EINVAL;
		return false;
	}
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	if (atomic_load_explicit(&t->closed, memory_order_acquire)) {
		urnet__tls_leave(t);
		errno = ECANCELED;
		return false;
	}
	return true;
}

void urnet__tls_leave(urnet_tls *t)
{
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		tls_free(t, true);
}

/* Set the client's checks of the server's certificate. */
static int verify_name(SSL *ssl, SSL_CTX *ctx, const char *name, unsigned flags)
{
	unsigned char ip[sizeof(struct in6_addr)];
	bool is_ip = name && (inet_pton(AF_INET, name, ip) == 1 ||
			      inet_pton(AF_INET6, name, ip) == 1);

	/* SNI carries host names only (RFC 6066). */
	if (name && !is_ip && !SSL_set_tlsext_host_name(ssl, name))
		return -EINVAL;
	if (flags & URNET_TLS_INSECURE_SKIP_VERIFY) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	if (!name || !*name)
		return -EINVAL;
	SSL_set_verify(ssl, SSL_VERIFY_PEER, SSL_CTX_get_verify_callback(ctx));
	if (is_ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) ? 0 : -EINVAL;
	return SSL_set1_host(ssl, name) ? 0 : -ENOMEM;
}

static urnet_tls *tls_new(urnet_conn *c, SSL_CTX *ctx, bool client, const char *name,
			  unsigned flags)
{
	urnet_tls *t;
	BIO *bio;
	int ret = -ENOMEM;

	if (!c || !ctx || (flags & ~URNET_TLS_INSECURE_SKIP_VERIFY)) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	t->c = c;
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->ssl_lock, NULL);
	pthread_mutex_init(&t->hs_lock, NULL);
	pthread_mutex_init(&t->err_lock, NULL);
	t->ssl = SSL_new(ctx);
	bio = t->ssl ? urnet__tls_bio_new(t) : NULL;
	if (bio) {
		SSL_set_bio(t->ssl, bio, bio);
		/* Whole socket reads rather than a header, then a body. */
		SSL_set_read_ahead(t->ssl, 1);
		/* A write retried after a wait passes the same bytes, maybe not the same address. */
		SSL_set_mode(t->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		ret = 0;
		if (client) {
			ret = verify_name(t->ssl, ctx, name, flags);
			SSL_set_connect_state(t->ssl);
		} else {
			SSL_set_accept_state(t->ssl);
		}
	}
	if (ret) {
		ERR_clear_error();
		tls_free(t, false);
		errno = -ret;
		return NULL;
	}
	return t;
}

urnet_tls *urnet_tls_client(urnet_conn *c, SSL_CTX *ctx, const char *server_name,
			    unsigned flags)
{
	return tls_new(c, ctx, true, server_name, flags);
}

urnet_tls *urnet_tls_server(urnet_conn *c, SSL_CTX *ctx)
{
	return tls_new(c, ctx, false, NULL, 0);
}

int urnet_tls_close(urnet_tls *t)
{
	if (!t) {
		errno = EINVAL;
		return -1;
	}
	if (atomic_exchange(&t->closed, 1)) {
		errno = EBADF;
		return -1;
	}
	/*
	 * close_notify, as Go's Close sends it, but only where it costs no
	 * wait: no write in progress, a finished handshake, room in the socket.
	 */
	if (atomic_load(&t->handshaken) &&
	    !pthread_mutex_trylock(&t->c->io_lock[URNET__WRITE])) {
		pthread_mutex_lock(&t->ssl_lock);
		if (!(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
			SSL_shutdown(t->ssl);
		ERR_clear_error();
		pthread_mutex_unlock(&t->ssl_lock);
		pthread_mutex_unlock(&t->c->io_lock[URNET__WRITE]);
	}
	/*
	 * The conn closes as urnet_conn_close() closes it: blocked calls wake
	 * with ECANCELED.  Its last reference is t's, dropped with t's own
	 * last one, so that a call that entered t can still reach the conn.
	 */
	atomic_store(&t->c->closed, 1);
	urnet__ready_close(&t->c->ready);
	urnet__tls_leave(t);
	return 0;
}

/* ---------------------------------------------------------------- the rest */

/* One of the conn's deadline setters, on t's conn. */
static int set_deadline(urnet_tls *t, int (*set)(urnet_conn *, int64_t), int64_t deadline_ns)
{
	int ret;

	if (!urnet__tls_enter(t))
		return -1;
	ret = set(t->c, deadline_ns);
	urnet__tls_leave(t);
	return ret;
}

int urnet_tls_set_deadline(urnet_tls *t, int64_t deadline_ns)
{
	return set_deadline(t, urnet_conn_set_deadline, deadline_ns);
}

int urnet_tls_set_read_deadline(urnet_tls *t, int64_t deadline_ns)
{
	return set_deadline(t, urnet_conn_set_read_deadline, deadline_ns);
}

int urnet_tls_set_write_deadline(urnet_tls *t, int64_t deadline_ns)
{
	return set_deadline(t, urnet_conn_set_write_deadline, deadline_ns);
}

SSL *urnet_tls_ssl(urnet_tls *t)
{
	if (!t)
		errno = EINVAL;
	return t ? t->ssl : NULL;
}

urnet_conn *urnet_tls_conn(urnet_tls *t)
{
	if (!t)
		errno = EINVAL;
	return t ? t->c : NULL;
}
