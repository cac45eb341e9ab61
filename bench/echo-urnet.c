/* SPDX-License-Identifier: MIT */
/*
 * echo-urnet: the thread-per-connection echo server on urnet's object API.
 * Usage: echo-urnet PORT (0 = ephemeral); prints "port=NNNN" once listening.
 * Small thread stacks (64 KiB) so that 10,000 connections fit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "urnet.h"

static void *serve(void *arg)
{
	urnet_conn *c = arg;
	char buf[16 * 1024];
	ssize_t n;

	while ((n = urnet_conn_read(c, buf, sizeof(buf))) > 0)
		if (urnet_conn_write(c, buf, (size_t)n) < 0)
			break;
	urnet_conn_close(c);
	return NULL;
}

int main(int argc, char **argv)
{
	char addr[32], *end;
	long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	urnet_listener *l;
	pthread_attr_t attr;

	if (port < 0 || port > 65535 || *end) {
		fprintf(stderr, "usage: echo-urnet PORT   (0 = any free port)\n");
		return 2;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%ld", port);
	l = urnet_listen("tcp4", addr);
	if (!l) {
		fprintf(stderr, "echo-urnet: listen %s: %s\n", addr, strerror(errno));
		return 1;
	}
	printf("port=%s\n", strrchr(urnet_listener_addr(l), ':') + 1);
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		urnet_conn *c = urnet_listener_accept(l);
		pthread_t tid;

		if (!c) {
			perror("echo-urnet: accept");	/* EMFILE: the connection waits */
			continue;
		}
		if (pthread_create(&tid, &attr, serve, c)) {
			fprintf(stderr, "echo-urnet: cannot start a thread\n");
			urnet_conn_close(c);
		}
	}
}
