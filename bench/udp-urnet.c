/* SPDX-License-Identifier: MIT */
/*
 * udp-urnet: the UDP echo server on urnet's object API, a thread per
 * reader: THREADS threads each looping urnet_packet_recvfrom and
 * urnet_packet_sendto (the sockaddr forms, no string per datagram) on one
 * packet conn; with "batch", urnet_packet_recvmmsg/urnet_packet_sendmmsg of
 * up to 32.  Usage: udp-urnet PORT [THREADS] [batch]
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "udp_bench.h"
#include "urnet.h"

static urnet_packet_conn *p;
static int batch;

static void *reader(void *arg)
{
	static __thread struct udp_batch b;
	char buf[UDP_BUF_SIZE];

	(void)arg;
	for (;;) {
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		ssize_t n;

		if (batch) {
			udp_batch_arm(&b);
			n = urnet_packet_recvmmsg(p, b.mm, UDP_BATCH);
			if (n > 0) {
				udp_batch_echo(&b, (int)n);
				urnet_packet_sendmmsg(p, b.mm, (unsigned)n);
			}
			continue;
		}
		n = urnet_packet_recvfrom(p, buf, sizeof(buf), (struct sockaddr *)&peer, &pl);
		if (n >= 0 && n <= (ssize_t)sizeof(buf))
			urnet_packet_sendto(p, buf, (size_t)n, (struct sockaddr *)&peer, pl);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char addr[32];
	int threads;

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", udp_bench_args(argc, argv, &threads, &batch));
	p = urnet_listen_packet("udp4", addr);
	if (!p)
		udp_die(argv[0], "urnet_listen_packet");
	udp_bench_buffers(urnet_packet_fd(p));
	printf("port=%s\n", strrchr(urnet_packet_local_addr(p), ':') + 1);
	fflush(stdout);
	udp_bench_readers(argv[0], threads, reader);
}
