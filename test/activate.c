/* SPDX-License-Identifier: MIT */
/*
 * Run by test/activate.sh as a socket-activated service: takes the
 * listeners passed in LISTEN_FDS with urnet_listen_fds(), prints how many
 * and their names, then serves one connection on each (echoes one line).
 * "refuse" mode expects the call to fail with EINVAL and fd 3 to be left
 * as it was (open, still blocking).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "urnet.h"

#define MAXL 8

static int serve_one(urnet_listener *l)
{
	char buf[256];
	urnet_conn *c;
	ssize_t n;

	urnet_listener_set_deadline(l, urnet_now_ns() + 20 * 1000000000LL);
	c = urnet_listener_accept(l);
	if (!c) {
		fprintf(stderr, "accept: %s\n", strerror(errno));
		return 1;
	}
	n = urnet_conn_read(c, buf, sizeof(buf));
	if (n <= 0 || urnet_conn_write(c, buf, (size_t)n) != n) {
		urnet_conn_close(c);
		return 1;
	}
	urnet_conn_close(c);
	return 0;
}

int main(int argc, char **argv)
{
	urnet_listener *ls[MAXL];
	char *names[MAXL];
	int n, rc = 0;

	n = urnet_listen_fds(1, ls, names, MAXL);
	if (argc > 1 && !strcmp(argv[1], "refuse")) {
		int fl = fcntl(3, F_GETFL);

		printf("n=%d errno=%s fd3=%s\n", n, errno == EINVAL ? "EINVAL" : strerror(errno),
		       fl < 0 ? "closed" : (fl & O_NONBLOCK) ? "nonblocking" : "blocking");
		return 0;
	}
	if (n < 0) {
		printf("urnet_listen_fds: %s\n", strerror(errno));
		return 1;
	}
	printf("n=%d env=%s\n", n, getenv("LISTEN_FDS") ? "kept" : "unset");
	for (int i = 0; i < n; i++) {
		printf("%d name=%s cloexec=%d\n", i, names[i], !!(fcntl(3 + i, F_GETFD) & FD_CLOEXEC));
		fflush(stdout);
		rc |= serve_one(ls[i]);
		urnet_listener_close(ls[i]);
		free(names[i]);
	}
	return rc;
}
