/* SPDX-License-Identifier: MIT */
/*
 * A plain thread-per-connection echo server written only with libc calls
 * and built without urnet: the end-to-end test runs it under urnet-run.
 *   plain-echo-server NCONN [SPAWN_EVERY]
 * Listens on 127.0.0.1 (ephemeral port), prints the port on stdout, serves
 * NCONN connections (each echoes until EOF) and exits.  With SPAWN_EVERY,
 * every that many requests (reads, over all connections) the connection's
 * thread runs a child before it echoes, while the other threads are blocked
 * in read: /bin/true through posix_spawn and a shell pipeline through
 * popen, in turn.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Always 0, but the compiler cannot know: fortified builds call __read_chk. */
static volatile size_t slack;

static int spawn_every;
static _Atomic unsigned requests;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Every spawn_every-th request: a child, which must exit 0. */
static void maybe_spawn(void)
{
	unsigned n = atomic_fetch_add(&requests, 1) + 1;
	char *argv[] = { "true", NULL };
	pid_t pid;
	int st, err;
	FILE *f;

	if (!spawn_every || n % (unsigned)spawn_every)
		return;
	if ((n / (unsigned)spawn_every) % 2) {
		err = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
		if (err) {
			errno = err;
			die("plain-echo-server: posix_spawn");
		}
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			die("plain-echo-server: /bin/true");
		return;
	}
	f = popen("echo x | cat >/dev/null", "r");
	if (!f)
		die("plain-echo-server: popen");
	if (pclose(f) != 0)
		die("plain-echo-server: the pipeline");
}

static void *echo_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[16384];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf) - slack)) > 0) {
		maybe_spawn();
		/* A blocking write queues everything or fails. */
		if (write(fd, buf, (size_t)n) != n) {
			perror("plain-echo-server: write");
			exit(1);
		}
	}
	if (n < 0) {
		perror("plain-echo-server: read");
		exit(1);
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	pthread_t *th;
	int n, l, i;

	if (argc < 2 || argc > 3 || (n = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: plain-echo-server NCONN [SPAWN_EVERY]\n");
		return 2;
	}
	if (argc == 3)
		spawn_every = atoi(argv[2]);
	th = calloc((size_t)n, sizeof(*th));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1024) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0) {
		perror("plain-echo-server: listen");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (i = 0; i < n; i++) {
		int fd = accept(l, NULL, NULL);

		if (fd < 0) {
			perror("plain-echo-server: accept");
			return 1;
		}
		if (pthread_create(&th[i], NULL, echo_main, (void *)(intptr_t)fd)) {
			fprintf(stderr, "plain-echo-server: pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	close(l);
	free(th);
	return 0;
}
