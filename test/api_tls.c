/* SPDX-License-Identifier: MIT */
/*
 * urnet_tls between urnet's own client and server: data arrives
 * checksummed, SNI reaches the server, a wrong host name and an untrusted
 * certificate fail with EPROTO and OpenSSL's reason, a peer that stalls
 * in the handshake is cut by the deadline, a close from another thread
 * wakes a handshake and a read, a reader and a writer run at once, a TLS
 * 1.3 key update in the middle of a transfer goes through, close_notify
 * ends the stream, and bad arguments fail with EINVAL.  The certificates
 * come from test/tls.sh (openssl req), in the directory TLS_DIR.
 */
#include "config.h"

#include "tls_util.h"

/* ---------------------------------------------------------------- data */

/* Sends len checksummed bytes from seed, then close_notify. */
struct pump {
	urnet_tls *t;
	size_t len;
	uint64_t seed, sum;
	pthread_t th;
	bool key_update;	/* ask for a key update half way */
	ssize_t ret;
};

static void *pump_main(void *arg)
{
	struct pump *p = arg;
	unsigned char buf[20000];
	uint64_t state = p->seed;
	size_t done = 0;

	p->ret = 0;
	while (done < p->len) {
		size_t n = p->len - done < sizeof(buf) ? p->len - done : sizeof(buf);

		if (p->key_update && done >= p->len / 2) {
			/* Only this thread uses the server's SSL now. */
			ck_assert_int_eq(SSL_key_update(urnet_tls_ssl(p->t),
							SSL_KEY_UPDATE_REQUESTED), 1);
			p->key_update = false;
		}
		test_fill(buf, n, &state);
		p->sum = test_sum(p->sum, buf, n);
		if (urnet_tls_write(p->t, buf, n) != (ssize_t)n) {
			p->ret = -1;
			break;
		}
		done += n;
	}
	if (!p->ret)
		p->ret = urnet_tls_close_write(p->t);
	return NULL;
}

static void pump_start(struct pump *p, urnet_tls *t, size_t len, uint64_t seed, bool key_update)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->len = len;
	p->seed = seed;
	p->key_update = key_update;
	ck_assert_int_eq(pthread_create(&p->th, NULL, pump_main, p), 0);
}

/* Read to the end of the stream: the count, and the checksum in *sum. */
static size_t drain(urnet_tls *t, uint64_t *sum)
{
	unsigned char buf[7000];
	size_t got = 0;
	ssize_t n;

	*sum = 0;
	while ((n = urnet_tls_read(t, buf, sizeof(buf))) > 0) {
		*sum = test_sum(*sum, buf, (size_t)n);
		got += (size_t)n;
	}
	ck_assert_msg(n == 0, "read: %s (%s)", strerror(errno), urnet_tls_error(t));
	return got;
}

START_TEST(data_arrives_both_ways_checksummed)
{
	urnet_tls *cli, *srv;
	struct pump a, b;
	uint64_t sum;

	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	pump_start(&a, cli, 3u << 20, 1, false);
	pump_start(&b, srv, 3u << 20, 2, false);
	ck_assert_uint_eq(drain(srv, &sum), 3u << 20);
	pthread_join(a.th, NULL);
	ck_assert_int_eq(a.ret, 0);
	ck_assert(sum == a.sum);
	ck_assert_uint_eq(drain(cli, &sum), 3u << 20);
	pthread_join(b.th, NULL);
	ck_assert_int_eq(b.ret, 0);
	ck_assert(sum == b.sum);
	ck_assert_int_eq(SSL_version(urnet_tls_ssl(cli)), TLS1_3_VERSION);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

START_TEST(readv_and_writev_keep_the_order)
{
	urnet_tls *cli, *srv;
	char a[3] = "abc", big[20000], out[3 + 20000 + 1];
	struct iovec w[4] = { { a, 3 }, { NULL, 0 }, { big, sizeof(big) }, { (char *)"z", 1 } };
	struct iovec r[2];
	size_t got = 0;

	struct hs h;

	memset(big, 'x', sizeof(big));
	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	hs_start(&h, srv);
	ck_assert_int_eq(urnet_tls_writev(cli, w, 4), 3 + 20000 + 1);
	pthread_join(h.th, NULL);
	while (got < sizeof(out)) {
		ssize_t n;

		r[0].iov_base = out + got;
		r[0].iov_len = (sizeof(out) - got) / 2;
		r[1].iov_base = out + got + r[0].iov_len;
		r[1].iov_len = sizeof(out) - got - r[0].iov_len;
		n = urnet_tls_readv(srv, r, 2);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	ck_assert_mem_eq(out, "abc", 3);
	ck_assert_mem_eq(out + 3, big, sizeof(big));
	ck_assert_int_eq(out[sizeof(out) - 1], 'z');
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

static _Atomic int key_updates_in;

/* Counts the KeyUpdate messages a side receives. */
static void on_msg(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	(void)version, (void)ssl, (void)arg;
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_KEY_UPDATE)
		atomic_fetch_add(&key_updates_in, 1);
}

START_TEST(key_update_in_the_middle_of_a_transfer)
{
	urnet_tls *cli, *srv;
	struct pump p;
	uint64_t sum;


	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	atomic_store(&key_updates_in, 0);
	SSL_set_msg_callback(urnet_tls_ssl(cli), on_msg);
	SSL_set_msg_callback(urnet_tls_ssl(srv), on_msg);
	handshake_both(cli, srv);
	pump_start(&p, srv, 8u << 20, 3, true);
	ck_assert_uint_eq(drain(cli, &sum), 8u << 20);
	pthread_join(p.th, NULL);
	ck_assert_int_eq(p.ret, 0);
	ck_assert(sum == p.sum);
	/* The client answered the request with its own update, from inside a read. */
	ck_assert_int_eq(urnet_tls_write(cli, "after", 5), 5);
	{
		char buf[8];

		ck_assert_int_eq(urnet_tls_read(srv, buf, sizeof(buf)), 5);
		ck_assert_mem_eq(buf, "after", 5);
	}
	/* The client got the server's update, the server the client's answer. */
	ck_assert_int_eq(atomic_load(&key_updates_in), 2);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

/* ---------------------------------------------------------------- names */

static char seen_sni[256];

static int on_sni(SSL *ssl, int *al, void *arg)
{
	const char *n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)al, (void)arg;
	snprintf(seen_sni, sizeof(seen_sni), "%s", n ? n : "(none)");
	return SSL_TLSEXT_ERR_OK;
}

START_TEST(server_name_reaches_the_server)
{
	urnet_tls *cli, *srv;

	seen_sni[0] = '\0';
	SSL_CTX_set_tlsext_servername_callback(server_ctx, on_sni);
	tls_pair(server_ctx, "urnet.test", 0, &cli, &srv);
	handshake_both(cli, srv);
	ck_assert_str_eq(seen_sni, "urnet.test");
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

START_TEST(ip_address_is_verified_without_sni)
{
	urnet_tls *cli, *srv;

	strcpy(seen_sni, "unset");
	SSL_CTX_set_tlsext_servername_callback(server_ctx, on_sni);
	tls_pair(server_ctx, "127.0.0.1", 0, &cli, &srv);
	handshake_both(cli, srv);
	ck_assert_str_eq(seen_sni, "(none)");
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

/* The client's handshake fails with EPROTO and a reason that contains want. */
static void expect_refused(SSL_CTX *sctx, const char *name, const char *want)
{
	urnet_tls *cli, *srv;
	struct hs h;

	tls_pair(sctx, name, 0, &cli, &srv);
	hs_start(&h, srv);
	ck_assert_int_eq(urnet_tls_handshake(cli), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_msg(strstr(urnet_tls_error(cli), want), "error '%s' does not say '%s'",
		      urnet_tls_error(cli), want);
	/* A failed handshake stays failed. */
	ck_assert_int_eq(urnet_tls_write(cli, "x", 1), -1);
	ck_assert_int_eq(errno, EPROTO);
	pthread_join(h.th, NULL);
	ck_assert_int_eq(h.ret, -1);	/* the client's alert */
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}

START_TEST(wrong_host_name_fails_clearly)
{
	expect_refused(server_ctx, "wrong.example", "hostname mismatch");
}
END_TEST

START_TEST(untrusted_certificate_fails_clearly)
{
	SSL_CTX *other = make_server_ctx(other_crt, other_key);

	expect_refused(other, "localhost", "self-signed certificate");
	SSL_CTX_free(other);
}
END_TEST

START_TEST(skip_verify_accepts_any_certificate)
{
	SSL_CTX *other = make_server_ctx(other_crt, other_key);
	urnet_tls *cli, *srv;

	tls_pair(other, "wrong.example", URNET_TLS_INSECURE_SKIP_VERIFY, &cli, &srv);
	handshake_both(cli, srv);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
	SSL_CTX_free(other);
}
END_TEST

/* ---------------------------------------------------------------- waking */

START_TEST(stalled_handshake_is_cut_by_the_deadline)
{
	urnet_conn *c, *s;
	urnet_tls *cli;
	int64_t deadline;

	/* The server side never speaks TLS. */
	api_tcp_pair(&c, &s);
	cli = urnet_tls_client(c, client_ctx, "localhost", 0);
	ck_assert_ptr_nonnull(cli);
	deadline = urnet_now_ns() + 50 * MSEC;
	ck_assert_int_eq(urnet_tls_set_deadline(cli, deadline), 0);
	ck_assert_int_eq(urnet_tls_handshake(cli), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_ge(urnet_now_ns(), deadline);
	/* A deadline may move: the handshake is tried again, not failed for good. */
	ck_assert_int_eq(urnet_tls_set_deadline(cli, 0), 0);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

START_TEST(close_wakes_a_blocked_handshake)
{
	urnet_conn *c, *s;
	struct hs h;
	urnet_tls *cli;

	api_tcp_pair(&c, &s);
	cli = urnet_tls_client(c, client_ctx, "localhost", 0);
	ck_assert_ptr_nonnull(cli);
	hs_start(&h, cli);
	ck_assert(test_wait_blocked(&h.tid, &h.done, false));
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	pthread_join(h.th, NULL);
	ck_assert_int_eq(h.ret, -1);
	ck_assert_int_eq(h.err, ECANCELED);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

struct rd {
	urnet_tls *t;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	ssize_t ret;
	int err;
};

static void *rd_main(void *arg)
{
	struct rd *r = arg;
	char buf[64];

	atomic_store(&r->tid, test_gettid());
	r->ret = urnet_tls_read(r->t, buf, sizeof(buf));
	r->err = errno;
	atomic_store(&r->done, true);
	return NULL;
}

/* A reader on t, returned once it is blocked. */
static void rd_start(struct rd *r, urnet_tls *t)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	ck_assert_int_eq(pthread_create(&r->th, NULL, rd_main, r), 0);
	ck_assert(test_wait_blocked(&r->tid, &r->done, false));
}

/* A reader blocked on one TLS object while another thread writes 4 MiB on it. */
START_TEST(reader_and_writer_run_at_once)
{
	urnet_tls *cli, *srv;
	struct rd r = { 0 };
	struct pump p;
	uint64_t sum;

	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	handshake_both(cli, srv);
	rd_start(&r, cli);
	pump_start(&p, cli, 4u << 20, 4, false);
	ck_assert_uint_eq(drain(srv, &sum), 4u << 20);
	pthread_join(p.th, NULL);
	ck_assert_int_eq(p.ret, 0);
	ck_assert(sum == p.sum);
	ck_assert(!atomic_load(&r.done));
	ck_assert_int_eq(urnet_tls_write(srv, "hello", 5), 5);
	pthread_join(r.th, NULL);
	ck_assert_int_eq(r.ret, 5);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

START_TEST(close_wakes_a_blocked_read)
{
	urnet_tls *cli, *srv;
	struct rd r = { 0 };

	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	handshake_both(cli, srv);
	rd_start(&r, cli);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	pthread_join(r.th, NULL);
	ck_assert_int_eq(r.ret, -1);
	ck_assert_int_eq(r.err, ECANCELED);
	/* The server saw our close_notify. */
	{
		char buf[4];

		ck_assert_int_eq(urnet_tls_read(srv, buf, sizeof(buf)), 0);
	}
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

START_TEST(read_deadline_wakes_a_blocked_read)
{
	urnet_tls *cli, *srv;
	struct rd r = { 0 };

	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	handshake_both(cli, srv);
	rd_start(&r, cli);
	ck_assert_int_eq(urnet_tls_set_read_deadline(cli, urnet_now_ns()), 0);
	pthread_join(r.th, NULL);
	ck_assert_int_eq(r.ret, -1);
	ck_assert_int_eq(r.err, ETIMEDOUT);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

START_TEST(peer_gone_without_close_notify_is_an_error)
{
	urnet_tls *cli, *srv;
	char buf[4];

	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	handshake_both(cli, srv);
	/* The server's TCP stream ends without its close_notify. */
	ck_assert_int_eq(urnet_conn_close_write(urnet_tls_conn(srv)), 0);
	ck_assert_int_eq(urnet_tls_read(cli, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_ptr_nonnull(strstr(urnet_tls_error(cli), "unexpected eof"));
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

START_TEST(close_write_ends_the_peers_stream_and_our_writes)
{
	urnet_tls *cli, *srv;
	struct hs h;
	char buf[8];

	tls_pair(server_ctx, "localhost", 0, &cli, &srv);
	hs_start(&h, srv);
	ck_assert_int_eq(urnet_tls_write(cli, "bye", 3), 3);
	pthread_join(h.th, NULL);
	ck_assert_int_eq(urnet_tls_close_write(cli), 0);
	ck_assert_int_eq(urnet_tls_write(cli, "more", 4), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(urnet_tls_read(srv, buf, sizeof(buf)), 3);
	ck_assert_int_eq(urnet_tls_read(srv, buf, sizeof(buf)), 0);
	/* Half-closed: the other direction still works. */
	ck_assert_int_eq(urnet_tls_write(srv, "ok", 2), 2);
	ck_assert_int_eq(urnet_tls_read(cli, buf, sizeof(buf)), 2);
	ck_assert_int_eq(urnet_tls_close(cli), 0);
	ck_assert_int_eq(urnet_tls_close(srv), 0);
}
END_TEST

START_TEST(bad_arguments_fail_with_einval)
{
	urnet_conn *c, *s;
	char buf[4];

	api_tcp_pair(&c, &s);
	ck_assert_ptr_null(urnet_tls_client(NULL, client_ctx, "localhost", 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_tls_client(c, NULL, "localhost", 0));
	ck_assert_int_eq(errno, EINVAL);
	/* Verification needs a name to check. */
	ck_assert_ptr_null(urnet_tls_client(c, client_ctx, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_tls_client(c, client_ctx, "localhost", 1u << 7));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_tls_server(c, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_tls_read(NULL, buf, 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_tls_write(NULL, buf, 4), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_tls_readv(NULL, NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_tls_close(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_tls_handshake(NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* The conns stayed the caller's. */
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("api_tls");
	TCase *tc = tcase_create("tls");

	tcase_add_checked_fixture(tc, tls_setup, tls_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, data_arrives_both_ways_checksummed);
	tcase_add_test(tc, readv_and_writev_keep_the_order);
	tcase_add_test(tc, key_update_in_the_middle_of_a_transfer);
	tcase_add_test(tc, reader_and_writer_run_at_once);
	tcase_add_test(tc, server_name_reaches_the_server);
	tcase_add_test(tc, ip_address_is_verified_without_sni);
	tcase_add_test(tc, wrong_host_name_fails_clearly);
	tcase_add_test(tc, untrusted_certificate_fails_clearly);
	tcase_add_test(tc, skip_verify_accepts_any_certificate);
	tcase_add_test(tc, stalled_handshake_is_cut_by_the_deadline);
	tcase_add_test(tc, close_wakes_a_blocked_handshake);
	tcase_add_test(tc, close_wakes_a_blocked_read);
	tcase_add_test(tc, read_deadline_wakes_a_blocked_read);
	tcase_add_test(tc, peer_gone_without_close_notify_is_an_error);
	tcase_add_test(tc, close_write_ends_the_peers_stream_and_our_writes);
	tcase_add_test(tc, bad_arguments_fail_with_einval);
	suite_add_tcase(su, tc);
	return test_run_suite(su);
}
