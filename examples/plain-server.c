/* SPDX-License-Identifier: MIT */
/*
 * plain-server: an ordinary thread-per-connection echo server, written
 * with libc calls only and built without urnet, to run under urnet-run.
 *
 * Shows that a program needs no change to have its blocking socket calls
 * served by urnet: urnet-run preloads liburnet-preload.so, whose accept,
 * read and write wait on urnet's engine instead of in the kernel.
 *
 * Run:
 *	URNET_STATS=1 urnet-run ./examples/plain-server      # port 0: ephemeral
 *	URNET_STATS=1 urnet-run ./examples/plain-server 7000 3
 *	./examples/client 127.0.0.1:PORT hello               # another terminal
 *
 * Arguments: PORT (default 0) and the number of connections to serve
 * before exiting (default 0: forever).  Prints "listening on
 * 127.0.0.1:PORT".  With URNET_STATS=1 the urnet-stats line on stderr at
 * exit shows that the engine did the waiting (parked=..., readiness=...).
 *
 * Build: cc plain-server.c -pthread        (no urnet at all)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *serve(void *arg)
{
	int fd = *(int *)arg;
	char buf[16384];
	ssize_t n;

	free(arg);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		/* A blocking write queues all n bytes unless an error stops it. */
		if (write(fd, buf, (size_t)n) != n)
			break;
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	long port = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	long max = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	pthread_t *threads;
	long served = 0;
	int one = 1, lfd;

	if (port < 0 || port > 65535 || max < 0) {
		fprintf(stderr, "usage: plain-server [PORT [NCONN]]\n");
		return 2;
	}
	threads = calloc(max ? (size_t)max : 1, sizeof(*threads));
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!threads || lfd < 0) {
		perror("plain-server: socket");
		return 1;
	}
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		perror("plain-server: bind/listen");
		return 1;
	}
	printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
	fflush(stdout);

	while (max == 0 || served < max) {
		int *fd = malloc(sizeof(*fd));
		pthread_t t;

		if (!fd)
			return 1;
		*fd = accept(lfd, NULL, NULL);
		if (*fd < 0) {
			perror("plain-server: accept");
			free(fd);
			continue;
		}
		if (pthread_create(&t, NULL, serve, fd) != 0) {
			close(*fd);
			free(fd);
			continue;
		}
		if (max)
			threads[served++] = t;
		else
			pthread_detach(t);
	}
	/* Served NCONN: wait for their threads, then exit (and print stats). */
	for (long i = 0; i < served; i++)
		pthread_join(threads[i], NULL);
	close(lfd);
	free(threads);
	return 0;
}
