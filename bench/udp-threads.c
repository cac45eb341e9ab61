/* SPDX-License-Identifier: MIT */
/*
 * udp-threads: a UDP echo server on plain blocking sockets, THREADS
 * threads each looping recvfrom/sendto on the one socket (the kernel hands
 * each datagram to one of them); with "batch", recvmmsg(MSG_WAITFORONE)
 * and sendmmsg of up to 32.  Usage: udp-threads PORT [THREADS] [batch]
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "udp_bench.h"

static int fd, batch;

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
			n = recvmmsg(fd, b.mm, UDP_BATCH, MSG_WAITFORONE, NULL);
			if (n > 0) {
				udp_batch_echo(&b, (int)n);
				sendmmsg(fd, b.mm, (unsigned)n, 0);
			}
			continue;
		}
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);
		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, pl);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads;

	fd = udp_bench_socket(argc, argv, 0, &threads, &batch);
	udp_bench_readers(argv[0], threads, reader);
}
