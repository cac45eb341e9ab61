/* SPDX-License-Identifier: MIT */
/*
 * The compat calls on blocking datagram sockets: a recv that has to wait
 * parks on the engine and a datagram wakes it; urnet_close from another
 * thread wakes it with EBADF; urnet_recvmmsg waits for the first datagram
 * and, with MSG_WAITFORONE, returns with what is queued; urnet_sendmmsg
 * sends a whole batch.  (test/preload-dgram.sh compares the same calls
 * with bare Linux under the interposer.)
 */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "compat_util.h"

static uint64_t parked(void)
{
	struct urnet_engine_stats st;
	uint64_t n = 0;

	for (unsigned int i = 0; i < urnet_engine_count(); i++) {
		urnet_engine_get_stats(urnet_engine_pick(i), &st);
		n += st.parked;
	}
	return n;
}

/* Two UDP sockets on loopback, connected to each other. */
static void udp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET }, sb;
	socklen_t l = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sb = sa;
	*a = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	*b = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(*a, 0);
	ck_assert_int_ge(*b, 0);
	ck_assert_int_eq(bind(*a, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(bind(*b, (struct sockaddr *)&sb, sizeof(sb)), 0);
	ck_assert_int_eq(getsockname(*a, (struct sockaddr *)&sa, &l), 0);
	l = sizeof(sb);
	ck_assert_int_eq(getsockname(*b, (struct sockaddr *)&sb, &l), 0);
	ck_assert_int_eq(connect(*a, (struct sockaddr *)&sb, sizeof(sb)), 0);
	ck_assert_int_eq(connect(*b, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

START_TEST(recv_parks_on_engine_until_datagram)
{
	struct cu_blocker b = { .op = CU_RECV };
	uint64_t before = parked();
	int a, s;

	udp_pair(&a, &s);
	b.fd = a;
	cu_blocker_start(&b);
	ck_assert_int_eq(urnet_send(s, "dgram", 5, 0), 5);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, 5);
	ck_assert_mem_eq(b.data, "dgram", 5);
	ck_assert_uint_gt(parked() - before, 0);
	ck_assert_int_eq(urnet_close(a), 0);
	ck_assert_int_eq(urnet_close(s), 0);
}
END_TEST

START_TEST(close_wakes_blocked_recv_with_ebadf)
{
	struct cu_blocker b = { .op = CU_RECV };
	int a, s;

	udp_pair(&a, &s);
	b.fd = a;
	cu_blocker_start(&b);
	ck_assert_int_eq(urnet_close(a), 0);
	cu_blocker_join(&b);
	ck_assert_int_eq(b.ret, -1);
	ck_assert_int_eq(b.err, EBADF);
	ck_assert_int_eq(urnet_close(s), 0);
}
END_TEST

struct mmsg_reader {
	int fd;
	pthread_t th;
	_Atomic pid_t tid;
	_Atomic bool done;
	int ret;
	struct mmsghdr mm[8];
	struct iovec v[8];
	char buf[8][16];
};

static void *mmsg_reader_main(void *arg)
{
	struct mmsg_reader *r = arg;

	for (int i = 0; i < 8; i++) {
		r->v[i] = (struct iovec){ r->buf[i], sizeof(r->buf[i]) };
		r->mm[i].msg_hdr = (struct msghdr){ .msg_iov = &r->v[i], .msg_iovlen = 1 };
	}
	atomic_store(&r->tid, test_gettid());
	r->ret = urnet_recvmmsg(r->fd, r->mm, 8, MSG_WAITFORONE, NULL);
	atomic_store(&r->done, true);
	return NULL;
}

START_TEST(recvmmsg_waits_for_first_then_takes_queued)
{
	struct mmsg_reader r = { 0 };
	struct mmsghdr out[3];
	struct iovec ov[3] = { { "a", 1 }, { "bb", 2 }, { "ccc", 3 } };
	int a, s;

	udp_pair(&a, &s);
	r.fd = a;
	test_start_blocker(&r.th, mmsg_reader_main, &r, &r.tid, &r.done, false);
	memset(out, 0, sizeof(out));
	for (int i = 0; i < 3; i++) {
		out[i].msg_hdr.msg_iov = &ov[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	ck_assert_int_eq(urnet_sendmmsg(s, out, 3, 0), 3);
	ck_assert_int_eq(pthread_join(r.th, NULL), 0);
	/* At least the first; whatever else had arrived by the try. */
	ck_assert_int_ge(r.ret, 1);
	ck_assert_uint_eq(r.mm[0].msg_len, 1);
	ck_assert_int_eq(r.buf[0][0], 'a');
	ck_assert_int_eq(urnet_close(a), 0);
	ck_assert_int_eq(urnet_close(s), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compat_dgram");
	TCase *t = tcase_create("dgram");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, recv_parks_on_engine_until_datagram);
	tcase_add_test(t, close_wakes_blocked_recv_with_ebadf);
	tcase_add_test(t, recvmmsg_waits_for_first_then_takes_queued);
	suite_add_tcase(s, t);
	return test_run_suite(s);
}
