/* SPDX-License-Identifier: MIT */
/*
 * CPU time for the load generators: a server's (every thread, past and
 * present, from /proc/PID/stat) and the generator's own.  Header-only.
 */
#ifndef URNET_BENCH_CPU_TIME_H
#define URNET_BENCH_CPU_TIME_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* utime + stime of process pid in seconds; < 0 if gone. */
static inline double bench_proc_cpu_seconds(long pid)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	FILE *f;
	char *p;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the command name may contain anything */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU time of this process, every thread: the client's side of the bill. */
static inline double bench_self_cpu_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) < 0)
		return -1;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
