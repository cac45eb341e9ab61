/* SPDX-License-Identifier: MIT */
/*
 * Datagram sockets in the object API: packet conns and dialed datagram
 * conns keep datagram boundaries both ways (empty and 65,507-byte ones
 * included), report truncation, serve 1,000 peers through the sockaddr
 * form, wake blocked calls on close and deadline, block a writer on a full
 * queue, report ICMP port unreachable, and work over IPv6 with a zone,
 * unixgram paths and abstract names, batches and multicast on loopback.
 */
#include "config.h"

#include <net/if.h>
#include <sys/stat.h>

#include "packet_util.h"

/* The largest UDP payload over IPv4: 65,535 - 20 (IP) - 8 (UDP). */
#define UDP4_MAX 65507

START_TEST(zero_length_datagrams_both_ways)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	urnet_conn *c = urnet_dial("udp", urnet_packet_local_addr(s), 0);
	char buf[8], from[URNET_ADDRSTRLEN];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(urnet_conn_write(c, "", 0), 0);
	ck_assert_int_eq(urnet_conn_write(c, "x", 1), 1);
	ck_assert_int_eq(urnet_packet_read_from(s, buf, sizeof(buf), from, sizeof(from)), 0);
	ck_assert_str_eq(from, urnet_conn_local_addr(c));
	/* The empty datagram was one of its own: the next read is the next datagram. */
	ck_assert_int_eq(urnet_packet_read_from(s, buf, sizeof(buf), NULL, 0), 1);
	ck_assert_int_eq(buf[0], 'x');
	ck_assert_int_eq(urnet_packet_write_to(s, "", 0, from), 0);
	ck_assert_int_eq(urnet_packet_write_to(s, "yz", 2, from), 2);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 0);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 2);
	ck_assert(!memcmp(buf, "yz", 2));
	/* A zero-length buffer still takes one datagram, and tells its length. */
	ck_assert_int_eq(urnet_packet_write_to(s, "abc", 3, from), 3);
	ck_assert_int_eq(urnet_conn_read(c, buf, 0), 3);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

START_TEST(largest_datagram_and_one_byte_more)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	urnet_packet_conn *c = pk_listen("udp4", "127.0.0.1:0");
	static unsigned char out[UDP4_MAX + 1], in[UDP4_MAX + 100];
	uint64_t seed = 7;
	int size = UDP4_MAX * 2;

	ck_assert_int_eq(setsockopt(urnet_packet_fd(s), SOL_SOCKET, SO_RCVBUF, &size,
				    sizeof(size)), 0);
	test_fill(out, sizeof(out), &seed);
	ck_assert_int_eq(urnet_packet_write_to(c, out, UDP4_MAX, urnet_packet_local_addr(s)),
			 UDP4_MAX);
	ck_assert_int_eq(urnet_packet_read_from(s, in, sizeof(in), NULL, 0), UDP4_MAX);
	ck_assert_uint_eq(test_sum(0, in, UDP4_MAX), test_sum(0, out, UDP4_MAX));
	errno = 0;
	ck_assert_int_eq(urnet_packet_write_to(c, out, UDP4_MAX + 1,
					       urnet_packet_local_addr(s)), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(urnet_packet_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

START_TEST(truncation_reports_full_length)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	urnet_conn *c = urnet_dial("udp4", urnet_packet_local_addr(s), 0);
	char msg[100], buf[10], from[URNET_ADDRSTRLEN], big[200];
	struct mmsghdr mm;
	struct iovec v = { buf, sizeof(buf) };

	ck_assert_ptr_nonnull(c);
	for (int i = 0; i < 100; i++)
		msg[i] = (char)i;
	ck_assert_int_eq(urnet_conn_write(c, msg, 100), 100);
	ck_assert_int_eq(urnet_conn_write(c, msg, 100), 100);
	ck_assert_int_eq(urnet_conn_write(c, msg, 5), 5);
	ck_assert_int_eq(urnet_packet_read_from(s, buf, sizeof(buf), from, sizeof(from)), 100);
	ck_assert(!memcmp(buf, msg, sizeof(buf)));
	/* The batch form: msg_len is the full length, MSG_TRUNC is set. */
	memset(&mm, 0, sizeof(mm));
	mm.msg_hdr.msg_iov = &v;
	mm.msg_hdr.msg_iovlen = 1;
	ck_assert_int_eq(urnet_packet_recvmmsg(s, &mm, 1), 1);
	ck_assert_uint_eq(mm.msg_len, 100);
	ck_assert(mm.msg_hdr.msg_flags & MSG_TRUNC);
	/* The rest of a cut datagram is gone; the next one is whole. */
	ck_assert_int_eq(urnet_packet_read_from(s, big, sizeof(big), NULL, 0), 5);
	/* And on a dialed conn. */
	ck_assert_int_eq(urnet_packet_write_to(s, msg, 100, from), 100);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 100);
	ck_assert(!memcmp(buf, msg, sizeof(buf)));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

/* -------------------------------------------------------------- 1,000 peers */

#define PEERS 1000
#define PEER_THREADS 4
#define SERVER_READERS 3

struct echo_server {
	urnet_packet_conn *p;
	pthread_t th[SERVER_READERS];
	_Atomic int served;
};

/* Answers every datagram to its sender through the sockaddr form. */
static void *echo_reader(void *arg)
{
	struct echo_server *e = arg;
	struct sockaddr_storage ss;
	char buf[256];

	for (;;) {
		socklen_t len = sizeof(ss);
		ssize_t n = urnet_packet_recvfrom(e->p, buf, sizeof(buf), (struct sockaddr *)&ss,
						  &len);

		if (n < 0) {
			ck_assert_int_eq(errno, ECANCELED);
			return NULL;
		}
		/* Counted before the answer, which lets the peer finish. */
		atomic_fetch_add(&e->served, 1);
		ck_assert_int_eq(urnet_packet_sendto(e->p, buf, (size_t)n, (struct sockaddr *)&ss,
						     len), n);
	}
}

struct peer_job {
	const char *server;
	int first;
};

static void *peer_main(void *arg)
{
	struct peer_job *j = arg;

	for (int i = j->first; i < PEERS; i += PEER_THREADS) {
		urnet_packet_conn *c = pk_listen("udp4", "127.0.0.1:0");
		char msg[64], back[128], from[URNET_ADDRSTRLEN];
		int len = snprintf(msg, sizeof(msg), "peer %d at %s", i,
				   urnet_packet_local_addr(c));

		ck_assert_int_eq(urnet_packet_set_read_deadline(c, urnet_now_ns() + 30 * SEC), 0);
		ck_assert_int_eq(urnet_packet_write_to(c, msg, (size_t)len, j->server), len);
		ck_assert_int_eq(urnet_packet_read_from(c, back, sizeof(back), from, sizeof(from)),
				 len);
		ck_assert(!memcmp(back, msg, (size_t)len));
		ck_assert_str_eq(from, j->server);
		ck_assert_int_eq(urnet_packet_close(c), 0);
	}
	return NULL;
}

START_TEST(thousand_peers_through_sockaddr_form)
{
	struct echo_server e = { .p = pk_listen("udp", "127.0.0.1:0") };
	struct peer_job jobs[PEER_THREADS];
	pthread_t th[PEER_THREADS];
	char server[URNET_ADDRSTRLEN];

	snprintf(server, sizeof(server), "%s", urnet_packet_local_addr(e.p));
	for (int i = 0; i < SERVER_READERS; i++)
		ck_assert_int_eq(pthread_create(&e.th[i], NULL, echo_reader, &e), 0);
	for (int i = 0; i < PEER_THREADS; i++) {
		jobs[i] = (struct peer_job){ server, i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, peer_main, &jobs[i]), 0);
	}
	for (int i = 0; i < PEER_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	/* Each datagram went to exactly one reader. */
	ck_assert_int_eq(atomic_load(&e.served), PEERS);
	ck_assert_int_eq(urnet_packet_close(e.p), 0);
	for (int i = 0; i < SERVER_READERS; i++)
		ck_assert_int_eq(pthread_join(e.th[i], NULL), 0);
}
END_TEST

/* -------------------------------------------------------------- waking */

START_TEST(close_wakes_blocked_readers)
{
	urnet_packet_conn *p = pk_listen("udp4", "127.0.0.1:0");
	struct pk_blocker b[2] = { { .op = PK_READ_FROM, .p = p }, { .op = PK_READ_FROM, .p = p } };

	pk_blocker_start(&b[0]);
	pk_blocker_start(&b[1]);
	ck_assert_int_eq(urnet_packet_close(p), 0);
	pk_blocker_join(&b[0], -1, ECANCELED);
	pk_blocker_join(&b[1], -1, ECANCELED);
}
END_TEST

START_TEST(deadline_wakes_blocked_reader)
{
	urnet_packet_conn *p = pk_listen("udp4", "127.0.0.1:0");
	struct pk_blocker b = { .op = PK_READ_FROM, .p = p };
	char buf[4];

	pk_blocker_start(&b);
	ck_assert_int_eq(urnet_packet_set_read_deadline(p, urnet_now_ns()), 0);
	pk_blocker_join(&b, -1, ETIMEDOUT);
	/* Passed: even a queued datagram is not read until the deadline moves. */
	ck_assert_int_eq(urnet_packet_write_to(p, "a", 1, urnet_packet_local_addr(p)), 1);
	ck_assert_int_eq(urnet_packet_read_from(p, buf, sizeof(buf), NULL, 0), -1);
	ck_assert_int_eq(errno, ETIMEDOUT);
	ck_assert_int_eq(urnet_packet_set_deadline(p, 0), 0);
	ck_assert_int_eq(urnet_packet_read_from(p, buf, sizeof(buf), NULL, 0), 1);
	ck_assert_int_eq(urnet_packet_close(p), 0);
}
END_TEST

/*
 * A unixgram sender blocks while the receiver's queue is full; a read
 * makes room and the blocked write goes.  Then a blocked write ends at
 * its deadline, and another at close.
 */
START_TEST(writer_blocks_on_full_queue)
{
	struct pk_blocker b = { .op = PK_CONN_WRITE, .len = 100 };
	urnet_packet_conn *r;
	urnet_conn *c;
	char buf[200] = "";
	int queued = 0;

	snprintf(buf, sizeof(buf), "@urnet-packet-full-%d", (int)getpid());
	r = pk_listen("unixgram", buf);
	c = urnet_dial("unixgram", urnet_packet_local_addr(r), 0);
	ck_assert_ptr_nonnull(c);
	b.c = c;
	/* Fill the queue through the (non-blocking) fd. */
	while (send(urnet_conn_fd(c), buf, 100, MSG_DONTWAIT) == 100)
		queued++;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_gt(queued, 0);
	pk_blocker_start(&b);
	ck_assert_int_eq(urnet_packet_read_from(r, buf, sizeof(buf), NULL, 0), 100);
	pk_blocker_join(&b, 100, 0);

	pk_blocker_start(&b);
	ck_assert_int_eq(urnet_conn_set_write_deadline(c, urnet_now_ns()), 0);
	pk_blocker_join(&b, -1, ETIMEDOUT);
	ck_assert_int_eq(urnet_conn_set_write_deadline(c, 0), 0);

	pk_blocker_start(&b);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	pk_blocker_join(&b, -1, ECANCELED);
	ck_assert_int_eq(urnet_packet_close(r), 0);
}
END_TEST

/* A port nobody listens on, as far as anyone can tell. */
static void closed_udp_port(char *addr, size_t size)
{
	urnet_packet_conn *p = pk_listen("udp4", "127.0.0.1:0");

	snprintf(addr, size, "%s", urnet_packet_local_addr(p));
	ck_assert_int_eq(urnet_packet_close(p), 0);
}

START_TEST(icmp_port_unreachable_is_econnrefused)
{
	char addr[URNET_ADDRSTRLEN], buf[16];
	urnet_conn *c;

	closed_udp_port(addr, sizeof(addr));
	c = urnet_dial("udp", addr, 0);
	ck_assert_ptr_nonnull(c);
	/* The read waits on the engine until the ICMP error wakes it. */
	ck_assert_int_eq(urnet_conn_set_read_deadline(c, urnet_now_ns() + 30 * SEC), 0);
	ck_assert_int_eq(urnet_conn_write(c, "ping", 4), 4);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	/* Reported once, as the kernel does: the conn goes on. */
	ck_assert_int_eq(urnet_conn_write(c, "ping", 4), 4);
	ck_assert_int_eq(urnet_conn_close(c), 0);
}
END_TEST

START_TEST(close_read_ends_blocked_datagram_read)
{
	urnet_packet_conn *s = pk_listen("udp4", "127.0.0.1:0");
	urnet_conn *c = urnet_dial("udp", urnet_packet_local_addr(s), 0);
	struct pk_blocker b = { .op = PK_CONN_READ };

	ck_assert_ptr_nonnull(c);
	b.c = c;
	pk_blocker_start(&b);
	/* As the kernel's blocking read after shutdown(SHUT_RD): 0. */
	ck_assert_int_eq(urnet_conn_close_read(c), 0);
	pk_blocker_join(&b, 0, 0);
	/* And every later read, the poll's report long gone. */
	ck_assert_int_eq(urnet_conn_read(c, b.data, sizeof(b.data)), 0);
	ck_assert_int_eq(urnet_conn_read(c, b.data, sizeof(b.data)), 0);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

/* -------------------------------------------------------------- families */

static void round_trip(urnet_packet_conn *s, urnet_conn *c, const char *expect_from)
{
	char buf[64], from[URNET_ADDRSTRLEN];

	ck_assert_int_eq(urnet_conn_write(c, "hello", 5), 5);
	ck_assert_int_eq(urnet_packet_read_from(s, buf, sizeof(buf), from, sizeof(from)), 5);
	ck_assert(!memcmp(buf, "hello", 5));
	if (expect_from)
		ck_assert_str_eq(from, expect_from);
	ck_assert_int_eq(urnet_packet_write_to(s, "world!", 6, from), 6);
	ck_assert_int_eq(urnet_conn_read(c, buf, sizeof(buf)), 6);
	ck_assert(!memcmp(buf, "world!", 6));
}

START_TEST(ipv6_with_zone_on_loopback)
{
	urnet_packet_conn *s;
	urnet_conn *c;
	char addr[URNET_ADDRSTRLEN];
	const char *port;

	if (!api_have_ipv6(SOCK_DGRAM))
		return;
	s = pk_listen("udp6", "[::1]:0");
	port = strrchr(urnet_packet_local_addr(s), ':') + 1;
	snprintf(addr, sizeof(addr), "[::1%%lo]:%s", port);
	c = urnet_dial("udp6", addr, 0);
	ck_assert_ptr_nonnull(c);
	round_trip(s, c, NULL);
	ck_assert_int_eq(urnet_conn_close(c), 0);
	snprintf(addr, sizeof(addr), "[::1%%%u]:%s", if_nametoindex("lo"), port);
	c = urnet_dial("udp", addr, 0);
	ck_assert_ptr_nonnull(c);
	round_trip(s, c, urnet_conn_local_addr(c));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	/* "udp" on ":port" is dual stack: an IPv4 peer shows as IPv4. */
	ck_assert_int_eq(urnet_packet_close(s), 0);
	s = pk_listen("udp", ":0");
	port = strrchr(urnet_packet_local_addr(s), ':') + 1;
	snprintf(addr, sizeof(addr), "127.0.0.1:%s", port);
	c = urnet_dial("udp4", addr, 0);
	ck_assert_ptr_nonnull(c);
	round_trip(s, c, urnet_conn_local_addr(c));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

START_TEST(unixgram_path_and_abstract_name)
{
	char dir[] = "/tmp/urnet-packet-XXXXXX", path[64], name[64];
	struct stat st;
	urnet_packet_conn *s;
	urnet_conn *c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	s = pk_listen("unixgram", path);
	ck_assert_str_eq(urnet_packet_local_addr(s), path);
	ck_assert_int_eq(stat(path, &st), 0);
	c = urnet_dial("unixgram", path, 0);
	ck_assert_ptr_nonnull(c);
	/* The dialed end is autobound, so the server has somewhere to answer. */
	ck_assert_int_eq(urnet_conn_local_addr(c)[0], '@');
	round_trip(s, c, urnet_conn_local_addr(c));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
	/* The file goes with the socket. */
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(rmdir(dir), 0);

	snprintf(name, sizeof(name), "@urnet-packet-%d", (int)getpid());
	s = pk_listen("unixgram", name);
	ck_assert_str_eq(urnet_packet_local_addr(s), name);
	c = urnet_dial("unixgram", name, 0);
	ck_assert_ptr_nonnull(c);
	round_trip(s, c, urnet_conn_local_addr(c));
	ck_assert_int_eq(urnet_conn_close(c), 0);
	ck_assert_int_eq(urnet_packet_close(s), 0);
}
END_TEST

Suite *packet_suite(void);

Suite *packet_suite(void)
{
	Suite *s = suite_create("api_packet");
	TCase *tc = tcase_create("datagrams");

	tcase_add_checked_fixture(tc, api_setup, api_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, zero_length_datagrams_both_ways);
	tcase_add_test(tc, largest_datagram_and_one_byte_more);
	tcase_add_test(tc, truncation_reports_full_length);
	tcase_add_test(tc, thousand_peers_through_sockaddr_form);
	tcase_add_test(tc, close_wakes_blocked_readers);
	tcase_add_test(tc, deadline_wakes_blocked_reader);
	tcase_add_test(tc, writer_blocks_on_full_queue);
	tcase_add_test(tc, icmp_port_unreachable_is_econnrefused);
	tcase_add_test(tc, close_read_ends_blocked_datagram_read);
	tcase_add_test(tc, ipv6_with_zone_on_loopback);
	tcase_add_test(tc, unixgram_path_and_abstract_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_run_suite(packet_suite());
}
