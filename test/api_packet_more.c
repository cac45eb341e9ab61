/* SPDX-License-Identifier: MIT */
/*
 * Datagram sockets in the object API, continued: the batch forms, the
 * broadcast and multicast options (a group on loopback where the kernel
 * allows it), and bad input, which fails with a clear errno and loses no
 * datagram.
 */
#include "config.h"

#include <limits.h>

#include "packet_util.h"

#define BATCH 16

struct batch {
	struct mmsghdr mm[BATCH];
	struct iovec v[BATCH];
	char data[BATCH][32];
};

static void batch_init(struct batch *b, const struct sockaddr *to, socklen_t tolen)
{
	memset(b, 0, sizeof(*b));
	for (int i = 0; i < BATCH; i++) {
		b->v[i] = (struct iovec){ b->data[i], sizeof(b->data[i]) };
		b->mm[i].msg_hdr.msg_iov = &b->v[i];
		b->mm[i].msg_hdr.msg_iovlen = 1;
		b->mm[i].msg_hdr.msg_name = (void *)to;
		b->mm[i].msg_hdr.msg_namelen = tolen;
	}
}

START_TEST(batch_read_returns_with_one_datagram)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	urnet_conn *c = urnet_dial("udp4", urnet_packet_local_addr(s), 0);
	static struct batch b;

	ck_assert_ptr_nonnull(c);
	batch_init(&b, NULL, 0);
	ck_assert_int_eq(urnet_conn_write(c, "one", 3), 3);
	/* Sixteen asked for, one there: it does not wait for more. */
	ck_assert_int_eq(urnet_packet_recvmmsg(s, b.mm, BATCH), 1);
	ck_assert_uint_eq(b.mm[0].msg_len, 3);
	ck_assert(!memcmp(b.data[0], "one", 3));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

START_TEST(batch_write_and_read_keep_every_datagram)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	urnet_packet_conn *c = pk_listen("udp4", "127.0.0.1:0");
	struct sockaddr_storage to;
	socklen_t tolen = sizeof(to);
	static struct batch out, in;
	int got = 0;

	ck_assert_int_eq(getsockname(urnet_packet_fd(s), (struct sockaddr *)&to, &tolen), 0);
	batch_init(&out, (struct sockaddr *)&to, tolen);
	for (int i = 0; i < BATCH; i++)
		out.v[i].iov_len = (size_t)snprintf(out.data[i], sizeof(out.data[i]), "d%d", i);
	ck_assert_int_eq(urnet_packet_sendmmsg(c, out.mm, BATCH), BATCH);
	while (got < BATCH) {
		int n;

		batch_init(&in, NULL, 0);
		n = urnet_packet_recvmmsg(s, in.mm, BATCH);
		ck_assert_int_gt(n, 0);
		for (int i = 0; i < n; i++) {
			ck_assert_uint_eq(in.mm[i].msg_len, out.v[got].iov_len);
			ck_assert(!memcmp(in.data[i], out.data[got], out.v[got].iov_len));
			got++;
		}
	}
	ck_assert_int_eq(urnet_packet_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

START_TEST(batch_bad_lengths_fail_einval)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	static struct mmsghdr mm[IOV_MAX + 1];
	char buf[8];

	ck_assert_int_eq(urnet_packet_recvmmsg(s, mm, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_packet_sendmmsg(s, mm, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_packet_recvmmsg(s, mm, IOV_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_packet_sendmmsg(s, mm, IOV_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_packet_recvmmsg(s, NULL, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(urnet_packet_recvmmsg(NULL, mm, 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Nothing was taken from the queue by the refusals. */
	ck_assert_int_eq(urnet_packet_write_to(s, "k", 1, urnet_packet_local_addr(s)), 1);
	ck_assert_int_eq(urnet_packet_recvmmsg(s, mm, 0), -1);
	ck_assert_int_eq(urnet_packet_read_from(s, buf, sizeof(buf), NULL, 0), 1);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

static void expect_fail(ssize_t ret, int err)
{
	ck_assert_int_eq(ret, -1);
	ck_assert_int_eq(errno, err);
}

START_TEST(bad_addresses_and_objects)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				    .sin6_port = htons(9) };
	char buf[8];

	expect_fail(urnet_packet_write_to(s, "x", 1, NULL), EDESTADDRREQ);
	expect_fail(urnet_packet_sendto(s, "x", 1, NULL, 0), EDESTADDRREQ);
	expect_fail(urnet_packet_write_to(s, "x", 1, "127.0.0.1"), EINVAL);
	expect_fail(urnet_packet_write_to(s, "x", 1, "127.0.0.1:99999"), EINVAL);
	expect_fail(urnet_packet_write_to(s, "x", 1, "example.org:53"), EINVAL);
	expect_fail(urnet_packet_write_to(s, "x", 1, "[::1]:9"), EAFNOSUPPORT);
	/* The kernel's answer for a sockaddr of the wrong family. */
	expect_fail(urnet_packet_sendto(s, "x", 1, (struct sockaddr *)&in6, sizeof(in6)),
		    EAFNOSUPPORT);
	expect_fail(urnet_packet_read_from(NULL, buf, sizeof(buf), NULL, 0), EINVAL);
	expect_fail(urnet_packet_write_to(NULL, "x", 1, "127.0.0.1:9"), EINVAL);
	expect_fail(urnet_packet_recvfrom(s, buf, sizeof(buf), (struct sockaddr *)&in6, NULL),
		    EINVAL);
	expect_fail(urnet_packet_close(NULL), EINVAL);
	ck_assert_ptr_null(urnet_listen_packet("tcp", "127.0.0.1:0"));
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	ck_assert_ptr_null(urnet_listen_packet("udp6", "127.0.0.1:0"));
	ck_assert_int_eq(errno, EAFNOSUPPORT);
	ck_assert_ptr_null(urnet_listen_packet("udp", "nohost:0"));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_listen_packet("unixgram", ""));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_listen_packet(NULL, ":0"));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(urnet_listen_packet("udp4", urnet_packet_local_addr(s)));
	ck_assert_int_eq(errno, EADDRINUSE);
	/* None of it lost a datagram. */
	ck_assert_int_eq(urnet_packet_write_to(s, "ok", 2, urnet_packet_local_addr(s)), 2);
	ck_assert_int_eq(urnet_packet_read_from(s, buf, sizeof(buf), NULL, 0), 2);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

START_TEST(broadcast_option_through_call)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	socklen_t len = sizeof(int);
	int on = 0;

	ck_assert_int_eq(urnet_packet_set_broadcast(s, 1), 0);
	ck_assert_int_eq(getsockopt(urnet_packet_fd(s), SOL_SOCKET, SO_BROADCAST, &on, &len), 0);
	ck_assert_int_eq(on, 1);
	ck_assert_int_eq(urnet_packet_set_broadcast(s, 0), 0);
	ck_assert_int_eq(getsockopt(urnet_packet_fd(s), SOL_SOCKET, SO_BROADCAST, &on, &len), 0);
	ck_assert_int_eq(on, 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

/*
 * A group joined on lo receives what a member of this host sends to it,
 * with a TTL of 0 so that nothing could leave the machine.
 */
START_TEST(multicast_group_on_loopback)
{
	urnet_packet_conn *r = pk_listen("udp4", "0.0.0.0:0"), *w;
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	unsigned char ttl = 0, loop = 1;
	char to[URNET_ADDRSTRLEN], buf[16];
	const char *port = strrchr(urnet_packet_local_addr(r), ':') + 1;

	expect_fail(urnet_packet_join_group(r, "not-a-group", "lo"), EINVAL);
	expect_fail(urnet_packet_join_group(r, NULL, "lo"), EINVAL);
	expect_fail(urnet_packet_join_group(r, "239.255.42.1", "urnet-no-such0"), ENODEV);
	if (urnet_packet_join_group(r, "239.255.42.1", "lo")) {
		fprintf(stderr, "joining a group on lo: %s: multicast check skipped\n",
			strerror(errno));
		ck_assert_int_eq(urnet_packet_close(r), 0);
		return;
	}
	w = pk_listen("udp4", "127.0.0.1:0");
	ck_assert_int_eq(setsockopt(urnet_packet_fd(w), IPPROTO_IP, IP_MULTICAST_IF, &lo,
				    sizeof(lo)), 0);
	ck_assert_int_eq(setsockopt(urnet_packet_fd(w), IPPROTO_IP, IP_MULTICAST_TTL, &ttl,
				    sizeof(ttl)), 0);
	ck_assert_int_eq(setsockopt(urnet_packet_fd(w), IPPROTO_IP, IP_MULTICAST_LOOP, &loop,
				    sizeof(loop)), 0);
	snprintf(to, sizeof(to), "239.255.42.1:%s", port);
	ck_assert_int_eq(urnet_packet_set_read_deadline(r, urnet_now_ns() + 30 * SEC), 0);
	ck_assert_int_eq(urnet_packet_write_to(w, "group", 5, to), 5);
	ck_assert_int_eq(urnet_packet_read_from(r, buf, sizeof(buf), NULL, 0), 5);
	ck_assert(!memcmp(buf, "group", 5));
	ck_assert_int_eq(urnet_packet_leave_group(r, "239.255.42.1", "lo"), 0);
	/* Left: leaving again is the kernel's EADDRNOTAVAIL. */
	expect_fail(urnet_packet_leave_group(r, "239.255.42.1", "lo"), EADDRNOTAVAIL);
	ck_assert_int_eq(urnet_packet_close(w), 0);
	ck_assert_int_eq(urnet_packet_close(r), 0);
}
END_TEST

Suite *packet_more_suite(void);

Suite *packet_more_suite(void)
{
	Suite *s = suite_create("api_packet_more");
	TCase *tc = tcase_create("datagrams");

	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, batch_read_returns_with_one_datagram);
	tcase_add_test(tc, batch_write_and_read_keep_every_datagram);
	tcase_add_test(tc, batch_bad_lengths_fail_einval);
	tcase_add_test(tc, bad_addresses_and_objects);
	tcase_add_test(tc, broadcast_option_through_call);
	tcase_add_test(tc, multicast_group_on_loopback);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(packet_more_suite());
}
