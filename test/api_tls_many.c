/* SPDX-License-Identifier: MIT */
/*
 * urnet_tls with many connections: 1,000 TLS connections, 50 at a time,
 * each echoing 20,000 checksummed bytes through a urnet_tls server thread,
 * then closing with close_notify both ways.  Run by test/tls.sh.
 */
#include "config.h"

#include "tls_util.h"

#define MANY		1000
#define AT_ONCE		50
#define MANY_BYTES	20000

static urnet_listener *many_l;

static void *echo_main(void *arg)
{
	urnet_tls *t = urnet_tls_server(arg, server_ctx);
	char buf[8192];
	ssize_t n;

	ck_assert_ptr_nonnull(t);
	while ((n = urnet_tls_read(t, buf, sizeof(buf))) > 0)
		if (urnet_tls_write(t, buf, (size_t)n) != n)
			break;
	urnet_tls_close(t);
	return NULL;
}

static void *many_client_main(void *arg)
{
	uint64_t state = (uint64_t)(uintptr_t)arg, sent_sum = 0, got_sum = 0;
	unsigned char out[MANY_BYTES], in[MANY_BYTES];
	urnet_conn *c = urnet_dial("tcp4", urnet_listener_addr(many_l), 10 * SEC);
	urnet_tls *t;
	size_t got = 0;

	ck_assert_ptr_nonnull(c);
	t = urnet_tls_client(c, client_ctx, "localhost", 0);
	ck_assert_ptr_nonnull(t);
	test_fill(out, sizeof(out), &state);
	sent_sum = test_sum(0, out, sizeof(out));
	ck_assert_msg(urnet_tls_write(t, out, sizeof(out)) == sizeof(out), "%s %s",
		      strerror(errno), urnet_tls_error(t));
	while (got < sizeof(in)) {
		ssize_t n = urnet_tls_read(t, in + got, sizeof(in) - got);

		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	got_sum = test_sum(0, in, sizeof(in));
	ck_assert(got_sum == sent_sum);
	ck_assert_int_eq(urnet_tls_close_write(t), 0);
	ck_assert_int_eq(urnet_tls_read(t, in, 1), 0);
	ck_assert_int_eq(urnet_tls_close(t), 0);
	return NULL;
}

static void *many_accept_main(void *arg)
{
	pthread_t th[MANY];
	int n = 0;
	urnet_conn *c;

	(void)arg;
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	while (n < MANY && (c = urnet_listener_accept(many_l)))
		ck_assert_int_eq(pthread_create(&th[n++], &attr, echo_main, c), 0);
	pthread_attr_destroy(&attr);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return NULL;
}

START_TEST(a_thousand_connections_echo_checksummed_data)
{
	pthread_t acc, cl[AT_ONCE];

	many_l = urnet_listen("tcp4", "127.0.0.1:0");
	ck_assert_ptr_nonnull(many_l);
	ck_assert_int_eq(pthread_create(&acc, NULL, many_accept_main, NULL), 0);
	for (int round = 0; round < MANY / AT_ONCE; round++) {
		for (int i = 0; i < AT_ONCE; i++)
			ck_assert_int_eq(pthread_create(&cl[i], NULL, many_client_main,
							(void *)(uintptr_t)(round * AT_ONCE + i + 1)), 0);
		for (int i = 0; i < AT_ONCE; i++)
			pthread_join(cl[i], NULL);
	}
	pthread_join(acc, NULL);
	ck_assert_int_eq(urnet_listener_close(many_l), 0);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("api_tls_many");
	TCase *tc = tcase_create("many");

	tcase_add_checked_fixture(tc, tls_setup, tls_teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, a_thousand_connections_echo_checksummed_data);
	suite_add_tcase(su, tc);
	return test_run_suite(su);
}
