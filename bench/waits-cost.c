/* SPDX-License-Identifier: MIT */
/*
 * What recording a wait in the list of parked calls costs the waiting
 * thread: urnet__waits_park() + urnet__waits_unpark(), the pair every
 * parked call makes around its sleep, timed in a loop (no sleep between:
 * the bookkeeping alone), and a CLOCK_MONOTONIC read for scale.
 *   bench/waits-cost [iterations]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "urnet_engine.h"
#include "waits.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000;
	volatile int64_t sink = 0;
	int64_t t0, t1, t2;

	if (n <= 0)
		n = 10000000;
	urnet__waits_park(3, URNET__WK_READ, 0);	/* the thread's slot, made once */
	urnet__waits_unpark();
	t0 = urnet_now_ns();
	for (long i = 0; i < n; i++) {
		urnet__waits_park(3, URNET__WK_READ, 0);
		urnet__waits_unpark();
	}
	t1 = urnet_now_ns();
	for (long i = 0; i < n; i++)
		sink += urnet_now_ns();
	t2 = urnet_now_ns();
	printf("result park_unpark_ns=%.1f clock_read_ns=%.1f iterations=%ld\n",
	       (double)(t1 - t0) / (double)n, (double)(t2 - t1) / (double)n, n);
	return sink == 42;
}
