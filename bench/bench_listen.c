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

int bench_parse_port(const char *arg)
{
	char *end;
	long port;

	errno = 0;
	port = strtol(arg, &end, 10);
	if (errno || end == arg || *end || port < 0 || port > 65535)
		return -1;
	return (int)port;
}

int bench_listen(int argc, char **argv, int flags)
{
	int port = argc == 2 ? bench_parse_port(argv[1]) : -1;

	if (port < 0)
		usage(argv[0]);
	return bench_listen_port(argv[0], port, flags);
}

int bench_listen_port(const char *prog, int port, int flags)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd, one = 1;

	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 65535) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror(prog);
		exit(1);
	}
	printf("port=%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	return fd;
}
