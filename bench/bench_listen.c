/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_listen.h"

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s PORT   (0 = any free port; prints port=N)\n", prog);
	exit(2);
}

int bench_listen(int argc, char **argv, int flags)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char *end;
	long port;
	int fd, one = 1;

	if (argc != 2)
		usage(argv[0]);
	errno = 0;
	port = strtol(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || port < 0 || port > 65535)
		usage(argv[0]);

	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 65535) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror(argv[0]);
		exit(1);
	}
	printf("port=%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}
