/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the plain libc test programs (built without urnet): whether
 * a thread sleeps, read from /proc, so that a test can act only once a
 * call is really blocked.  Header-only, libc only.
 */
#ifndef URNET_TEST_PLAIN_UTIL_H
#define URNET_TEST_PLAIN_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* The state letter of thread tid of this process ('S' sleeping), or 0. */
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

/* Up to 10 s until tid sleeps (three samples in a row); false if it never does. */
static inline bool wait_sleeping(pid_t tid)
{
	int streak = 0;

	for (int i = 0; i < 10000; i++) {
		streak = thread_state(tid) == 'S' ? streak + 1 : 0;
		if (streak >= 3)
			return true;
		usleep(1000);
	}
	return false;
}

#endif
