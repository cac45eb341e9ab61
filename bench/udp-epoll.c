/* SPDX-License-Identifier: MIT */
/*
 * udp-epoll: a UDP echo server in one thread: a non-blocking socket in a
 * level-triggered epoll set, and on readiness recvfrom/sendto until the
 * socket says EAGAIN.  Usage: udp-epoll PORT
 */
#define _GNU_SOURCE
#include <sys/epoll.h>

#include "udp_bench.h"

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = udp_bench_socket(argc, argv, SOCK_NONBLOCK, NULL, NULL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char buf[UDP_BUF_SIZE];

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		udp_die(argv[0], "epoll");
	for (;;) {
		if (epoll_wait(ep, &ev, 1, -1) <= 0)
			continue;
		for (;;) {
			struct sockaddr_in peer;
			socklen_t pl = sizeof(peer);
			ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);

			if (n < 0)
				break;
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, pl);
		}
	}
}
