/* SPDX-License-Identifier: MIT */
/*
 * Misbehaving peers: a reset in the middle of a transfer, peers that never
 * read, half-closes with data in flight both ways, slowloris peers trickling
 * a byte at a time while a normal client is served, and connect storms
 * against a tiny backlog.  Every blocked call must come back with data or a
 * clear errno, and nothing may leak.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "api_util.h"

/* ---------------------------------------------------------------- reset */

struct writer {
	urnet_conn *c;
	size_t len;
	ssize_t ret;
	int err;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char *buf = calloc(1, w->len);

	ck_assert_ptr_nonnull(buf);
	errno = 0;
	w->ret = urnet_conn_write(w->c, buf, w->len);
	w->err = errno;
	free(buf);
	return NULL;
}

/* The peer reads a little, then resets: the blocked writer gets an error. */
START_TEST(reset_mid_transfer)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct writer w = { .len = 64 << 20 };
	urnet_conn *c, *s;
	pthread_t th;
	char buf[65536];
	size_t got = 0;
	int64_t t0;

	api_tcp_pair(&c, &s);
	w.c = s;
	ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
	while (got < (1u << 20)) {
		ssize_t n = urnet_conn_read(c, buf, sizeof(buf));

		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
	ck_assert_int_eq(setsockopt(urnet_conn_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	t0 = urnet_now_ns();
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_lt(urnet_now_ns() - t0, 10 * SEC);
	ck_assert_int_eq(w.ret, -1);
	ck_assert_msg(w.err == ECONNRESET || w.err == EPIPE, "write: %s", strerror(w.err));
	/* And a read on the reset conn says so too (or EOF after the error). */
	errno = 0;
	ck_assert_int_le(urnet_conn_read(s, buf, sizeof(buf)), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* The same with the reader blocked on the side that gets the reset. */
START_TEST(reset_wakes_reader_mid_stream)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct api_blocker b = { .op = API_READ, .len = 64 };
	urnet_conn *c, *s;
	char buf[64];

	api_tcp_pair(&c, &s);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(urnet_conn_write(c, "0123456789", 10), 10);
		ck_assert(api_read_full(s, buf, 10));
	}
	b.c = s;
	api_blocker_start(&b);
	ck_assert_int_eq(setsockopt(urnet_conn_fd(c), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	api_blocker_join(&b);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, ECONNRESET);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/*
 * A short read may let the next read sleep without trying, because every
 * later arrival is reported again; an end of stream or a reset is reported
 * once.  Data and then EOF (or RST) land while the reader sleeps, in one
 * readiness report or two: the read after the data must still see the end.
 */
START_TEST(end_after_short_read)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char buf[64];

	for (int round = 0; round < 200; round++) {
		struct api_blocker b = { .op = API_READ, .len = sizeof(buf) };
		bool reset = round % 2;
		urnet_conn *c, *s;
		ssize_t n;

		api_tcp_pair(&c, &s);
		ck_assert_int_eq(urnet_conn_set_read_deadline(s, urnet_now_ns() + 10 * SEC), 0);
		b.c = s;
		api_blocker_start(&b);
		ck_assert_int_eq(urnet_conn_write(c, "abc", 3), 3);
		if (round % 4 >= 2)
			sched_yield();
		if (reset) {
			ck_assert_int_eq(setsockopt(urnet_conn_fd(c), SOL_SOCKET, SO_LINGER,
						    &lg, sizeof(lg)), 0);
			ck_assert_int_eq(urnet_conn_close(c), 0);
		} else {
			ck_assert_int_eq(urnet_conn_close_write(c), 0);
		}
		api_blocker_join(&b);
		/* A reset may overtake the data; then the error comes first. */
		if (b.ret == -1) {
			ck_assert_msg(reset && b.err == ECONNRESET, "round %d: %s", round, strerror(b.err));
		} else {
			ck_assert_int_eq(b.ret, 3);
			errno = 0;
			n = urnet_conn_read(s, buf, sizeof(buf));
			if (reset)
				ck_assert_msg(n == -1 && errno == ECONNRESET,
					      "round %d: %zd, %s", round, n, strerror(errno));
			else
				ck_assert_msg(n == 0, "round %d: %zd, %s", round, n, strerror(errno));
		}
		if (!reset)
			ck_assert_int_eq(urnet_conn_close(c), 0);
		ck_assert_int_eq(urnet_conn_close(s), 0);
	}
}
END_TEST

/* ---------------------------------------------------------------- never reads */

#define NEVER 64

/* NEVER conns whose peers never read: writers block, one deadline frees all. */
START_TEST(never_reading_peers)
{
	static struct api_blocker w[NEVER];
	urnet_conn *c[NEVER], *s[NEVER];
	int64_t t0;

	for (int i = 0; i < NEVER; i++) {
		api_tcp_pair(&c[i], &s[i]);
		api_small_buffers(c[i]);
		w[i] = (struct api_blocker){ .op = API_WRITE_ALL, .c = c[i], .len = 16 << 20 };
		api_blocker_start(&w[i]);
	}
	/* Half by a deadline, half by close from this thread. */
	t0 = urnet_now_ns();
	for (int i = 0; i < NEVER; i += 2)
		ck_assert_int_eq(urnet_conn_set_write_deadline(c[i], urnet_now_ns() + 200 * MSEC), 0);
	for (int i = 1; i < NEVER; i += 2)
		ck_assert_int_eq(urnet_conn_close(c[i]), 0);
	for (int i = 0; i < NEVER; i++) {
		api_blocker_join(&w[i]);
		ck_assert_int_eq(w[i].ret, -1);
		ck_assert_int_eq(w[i].err, i % 2 ? ECANCELED : ETIMEDOUT);
	}
	ck_assert_int_lt(urnet_now_ns() - t0, 20 * SEC);
	for (int i = 0; i < NEVER; i++) {
		if (i % 2 == 0)
			ck_assert_int_eq(urnet_conn_close(c[i]), 0);
		ck_assert_int_eq(urnet_conn_close(s[i]), 0);
	}
}
END_TEST

/* ---------------------------------------------------------------- half-close */

struct half {
	urnet_conn *c;
	size_t len;
	uint64_t seed;
	uint64_t sum;
};

static void *half_sender(void *arg)
{
	struct half *h = arg;
	unsigned char buf[32768];
	size_t left = h->len;

	while (left) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		test_fill(buf, n, &h->seed);
		h->sum = test_sum(h->sum, buf, n);
		ck_assert_int_eq(urnet_conn_write(h->c, buf, n), (ssize_t)n);
		left -= n;
	}
	ck_assert_int_eq(urnet_conn_close_write(h->c), 0);
	return NULL;
}

static uint64_t drain_to_eof(urnet_conn *c, size_t *total)
{
	unsigned char buf[16384];
	uint64_t sum = 0;
	ssize_t n;

	*total = 0;
	while ((n = urnet_conn_read(c, buf, sizeof(buf))) > 0) {
		sum = test_sum(sum, buf, (size_t)n);
		*total += (size_t)n;
	}
	ck_assert_int_eq(n, 0);
	/* EOF stays EOF. */
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 0);
	return sum;
}

/* Both sides send 4 MiB and half-close while the other is still sending. */
START_TEST(half_close_both_ways)
{
	struct half a = { .len = 4 << 20, .seed = 1 }, b = { .len = 3 << 20, .seed = 2 };
	urnet_conn *c, *s;
	pthread_t ta, tb;
	size_t n;

	api_tcp_pair(&c, &s);
	a.c = c;
	b.c = s;
	ck_assert_int_eq(pthread_create(&ta, NULL, half_sender, &a), 0);
	ck_assert_int_eq(pthread_create(&tb, NULL, half_sender, &b), 0);
	{
		uint64_t from_b = drain_to_eof(c, &n);

		ck_assert_uint_eq(n, b.len);
		ck_assert_int_eq(pthread_join(tb, NULL), 0);
		ck_assert(from_b == b.sum);
	}
	{
		uint64_t from_a = drain_to_eof(s, &n);

		ck_assert_uint_eq(n, a.len);
		ck_assert_int_eq(pthread_join(ta, NULL), 0);
		ck_assert(from_a == a.sum);
	}
	/* Writing after our own shutdown is EPIPE, never a signal. */
	errno = 0;
	ck_assert_int_eq(urnet_conn_write(c, "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_conn_close(s), 0);
}
END_TEST

/* ---------------------------------------------------------------- slowloris */

#define LORIS 150
#define LORIS_BYTES 64

static int raw_dial(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	sa.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* A peer that sends one byte, waits for its echo, sends the next. */
static void *loris_main(void *arg)
{
	const char *addr = arg;
	int fd = raw_dial(addr);

	for (int i = 0; i < LORIS_BYTES; i++) {
		char out = (char)i, in = 0;

		ck_assert_int_eq(send(fd, &out, 1, MSG_NOSIGNAL), 1);
		ck_assert_int_eq(recv(fd, &in, 1, MSG_WAITALL), 1);
		ck_assert_int_eq(in, out);
	}
	close(fd);
	return NULL;
}

/* Slowloris peers everywhere; a normal client's 4 MiB still goes through. */
START_TEST(slowloris)
{
	static pthread_t th[LORIS];
	struct api_echo e;
	unsigned char *out = malloc(4 << 20), *in = malloc(4 << 20);
	uint64_t seed = 9;
	urnet_conn *c;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(in);
	api_echo_start(&e, "tcp4", "127.0.0.1:0");
	for (int i = 0; i < LORIS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, loris_main,
						(void *)urnet_listener_addr(e.l)), 0);
	c = urnet_dial("tcp4", urnet_listener_addr(e.l), 10 * SEC);
	ck_assert_ptr_nonnull(c);
	test_fill(out, 4 << 20, &seed);
	for (size_t off = 0; off < (4u << 20); off += 65536) {
		ck_assert_int_eq(urnet_conn_write(c, out + off, 65536), 65536);
		ck_assert(api_read_full(c, in + off, 65536));
	}
	ck_assert_mem_eq(out, in, 4 << 20);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	for (int i = 0; i < LORIS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	api_echo_stop(&e);
	free(out);
	free(in);
}
END_TEST

/* ---------------------------------------------------------------- connect storm */

#define STORM 300

struct storm {
	const char *net, *addr;
	urnet_listener *l;
	_Atomic int ok, failed, bad_errno, accept_errno;
};

/* Threads only count: check's asserts belong to the test's own thread. */
static void *storm_dial(void *arg)
{
	struct storm *st = arg;
	urnet_conn *c = urnet_dial(st->net, st->addr, 15 * SEC);

	if (c) {
		atomic_fetch_add(&st->ok, 1);
		urnet_conn_close(c);
	} else {
		if (errno != ETIMEDOUT && errno != ECONNREFUSED &&
		    errno != ECONNRESET && errno != EAGAIN)
			atomic_store(&st->bad_errno, errno);
		atomic_fetch_add(&st->failed, 1);
	}
	return NULL;
}

static void *storm_accept(void *arg)
{
	struct storm *st = arg;
	urnet_conn *c;

	while ((c = urnet_listener_accept(st->l)))
		urnet_conn_close(c);
	atomic_store(&st->accept_errno, errno);
	return NULL;
}

static void connect_storm(const char *net, const char *addr)
{
	static pthread_t th[STORM];
	struct storm st = { .net = net };
	urnet_listener *l = urnet_listen(net, addr);
	pthread_attr_t attr;
	pthread_t acc;
	int64_t t0 = urnet_now_ns();

	ck_assert_ptr_nonnull(l);
	/* A second listen() shrinks the backlog of the listening socket. */
	ck_assert_int_eq(listen(urnet_listener_fd(l), 2), 0);
	st.addr = urnet_listener_addr(l);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 128 << 10);
	st.l = l;
	ck_assert_int_eq(pthread_create(&acc, NULL, storm_accept, &st), 0);
	for (int i = 0; i < STORM; i++)
		ck_assert_int_eq(pthread_create(&th[i], &attr, storm_dial, &st), 0);
	for (int i = 0; i < STORM; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_msg(atomic_load(&st.bad_errno) == 0, "dial: %s",
		      strerror(atomic_load(&st.bad_errno)));
	ck_assert_int_eq(atomic_load(&st.ok) + atomic_load(&st.failed), STORM);
	ck_assert_int_gt(atomic_load(&st.ok), 0);
	ck_assert_int_lt(urnet_now_ns() - t0, 60 * SEC);
	/* A past deadline stops the acceptor: no call may follow the close. */
	ck_assert_int_eq(urnet_listener_set_deadline(l, 1), 0);
	ck_assert_int_eq(pthread_join(acc, NULL), 0);
	ck_assert_int_eq(atomic_load(&st.accept_errno), ETIMEDOUT);
	ck_assert_int_eq(urnet_listener_close(l), 0);
	pthread_attr_destroy(&attr);
}

START_TEST(connect_storm_tcp)
{
	connect_storm("tcp4", "127.0.0.1:0");
}
END_TEST

START_TEST(connect_storm_unix)
{
	char dir[] = "/tmp/urnet-storm.XXXXXX", path[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	connect_storm("unix", path);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *peers_suite(void)
{
	Suite *s = suite_create("peers");
	TCase *tc = tcase_create("peers");

	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, reset_mid_transfer);
	tcase_add_test(tc, reset_wakes_reader_mid_stream);
	tcase_add_test(tc, end_after_short_read);
	tcase_add_test(tc, never_reading_peers);
	tcase_add_test(tc, half_close_both_ways);
	tcase_add_test(tc, slowloris);
	tcase_add_test(tc, connect_storm_tcp);
	tcase_add_test(tc, connect_storm_unix);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(peers_suite());
}
