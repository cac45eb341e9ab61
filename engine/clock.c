/* SPDX-License-Identifier: MIT */
/*
 * The clock of every deadline: CLOCK_MONOTONIC, which wall-clock changes
 * do not move, in nanoseconds, the unit futex and ring timeouts take.
 */
#include <time.h>

#include "urnet_engine.h"

int64_t urnet_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
