/* SPDX-License-Identifier: MIT */
/*
 * Private to api/tls*.c: the TLS object.  Not installed.
 *
 * One SSL, used by a reader and a writer at once.  OpenSSL allows one
 * thread at a time in an SSL, so every OpenSSL call on it runs under
 * ssl_lock, and none of them waits: the conn's socket is non-blocking and
 * the BIO (tls.c) reads and writes it with MSG_DONTWAIT, turning EAGAIN
 * into OpenSSL's retry.  A call that gets SSL_ERROR_WANT_READ or
 * SSL_ERROR_WANT_WRITE drops the lock and waits on the conn's readiness
 * in that direction (urnet__ready_io), bounded by the deadline of its own
 * direction, then calls OpenSSL again with the same arguments.  So a
 * reader asleep for data never holds up a writer, and the other way
 * round; the conn's io_lock keeps one caller per direction.
 */
#ifndef URNET_API_TLS_INTERNAL_H
#define URNET_API_TLS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn_internal.h"
#include "urnet_tls.h"

struct urnet_tls {
	urnet_conn *c;
	SSL *ssl;
	pthread_mutex_t ssl_lock;	/* around every OpenSSL call on ssl; never across a wait */
	pthread_mutex_t hs_lock;	/* one thread runs the handshake */
	_Atomic uint32_t refs;
	_Atomic uint32_t closed;
	_Atomic uint32_t handshaken;
	int hs_err;			/* the handshake failed: every call fails so (under hs_lock) */
	/* Bytes the BIO read: a writer that read (a handshake) wakes the reader. */
	_Atomic uint64_t bytes_in;
	_Atomic uint32_t eof;		/* the socket read its end of stream */
	/*
	 * Under ssl_lock: a read's readiness snapshot, for the BIO to note a
	 * short recv (the socket drained) so that the next read, with nothing
	 * in OpenSSL's buffer, may sleep at once instead of trying a recv that
	 * says EAGAIN (urnet__ready_note_drained).
	 */
	bool in_read;
	uint32_t read_snap;
	pthread_mutex_t err_lock;
	char err[256];			/* urnet_tls_error() */
};

/* tls.c */
/* Enter a call on t (false + errno when NULL or closed); pair with urnet__tls_leave. */
URNET__HIDDEN bool urnet__tls_enter(urnet_tls *t);
URNET__HIDDEN void urnet__tls_leave(urnet_tls *t);
/*
 * After an OpenSSL call on t failed with SSL_get_error() code e (under
 * ssl_lock, errno as the call left it): keep OpenSSL's reason for
 * urnet_tls_error() and return the -errno the call fails with.
 */
URNET__HIDDEN int urnet__tls_fail(urnet_tls *t, int e);
/* A BIO over t's conn socket (MSG_DONTWAIT, MSG_NOSIGNAL). */
URNET__HIDDEN BIO *urnet__tls_bio_new(urnet_tls *t);

/* tls_io.c */
/* The handshake, once: 0 or -errno (the same for every call once it failed). */
URNET__HIDDEN int urnet__tls_handshake(urnet_tls *t);

#endif
