/* SPDX-License-Identifier: MIT */
/*
 * The scheduler state of one of this process's threads, from /proc: the
 * tests act only once a call is really blocked ('S').  Header-only, libc
 * only: shared by the libcheck suites (testutil.h) and the plain libc
 * programs (plain_util.h).
 */
#ifndef URNET_TEST_THREAD_STATE_H
#define URNET_TEST_THREAD_STATE_H

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* The state letter of thread tid of this process ('R', 'S', ...), or 0 if gone. */
static inline char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

#endif
