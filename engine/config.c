/* SPDX-License-Identifier: MIT */
/*
 * Engine configuration, and the one file that reads the URNET_*
 * environment: urnet_engine_config_init() turns it into a config (see the
 * table in README.md), and the process-wide knobs (URNET_ENGINES,
 * URNET_STATS) are read here too.  What a zero field of a config means is
 * settled here as well, so that a config from an older header keeps its
 * meaning.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define RING_ENTRIES_MAX	32768
/* URNET_KERNEL_WAIT_US: waits this short make the next the kernel's (compat/call.c). */
#define KERNEL_WAIT_US_DEFAULT	100000
#define KERNEL_WAIT_US_MAX	10000000
/* URNET_ENGINE_POLL_US, poll_us: the engine's longest idle spin. */
#define POLL_US_DEFAULT		50
#define POLL_US_MAX		10000
/* URNET_ENGINE_SLICE_US, slice_us: the scheduler slice the engine asks for. */
#define SLICE_US_DEFAULT	100
#define SLICE_US_MAX		100000

/* A whole decimal number within [min, max], or fallback. */
static unsigned long env_ulong(const char *name, unsigned long min, unsigned long max,
			       unsigned long fallback)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (!s || !*s)
		return fallback;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max || *s == '-')
		return fallback;
	return v;
}

/* A microsecond knob: unset (or not a number in range) 0, the default; 0 is -1, off. */
static int env_us(const char *name, unsigned long max)
{
	unsigned long v = env_ulong(name, 0, max, max + 1);

	if (v > max)
		return 0;
	return v ? (int)v : -1;
}

void urnet_engine_config_init(struct urnet_engine_config *cfg)
{
	const char *backend = getenv("URNET_BACKEND");
	unsigned long sqpoll;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ring_entries = (unsigned)env_ulong("URNET_RING_ENTRIES", 1, RING_ENTRIES_MAX, 0);
	sqpoll = env_ulong("URNET_SQPOLL", 0, 3600000, 0);
	if (sqpoll) {
		/* URNET_SQPOLL=n: a kernel submit thread that idles n ms before sleeping. */
		cfg->sqpoll = 1;
		cfg->sqpoll_idle_ms = (unsigned)sqpoll;
	}
	if (backend && !strcmp(backend, "syscall"))
		cfg->backend = URNET_BACKEND_SYSCALL;
	else if (backend && !strcmp(backend, "io_uring"))
		cfg->backend = URNET_BACKEND_IO_URING;
	else
		cfg->backend = URNET_BACKEND_AUTO;
	cfg->poll_us = env_us("URNET_ENGINE_POLL_US", POLL_US_MAX);
	cfg->slice_us = env_us("URNET_ENGINE_SLICE_US", SLICE_US_MAX);
	cfg->no_ring_futex = (int)env_ulong("URNET_NO_RING_FUTEX", 0, 1, 0);
}

int urnet__config_check(const struct urnet_engine_config *cfg)
{
	if (cfg->backend < URNET_BACKEND_AUTO || cfg->backend > URNET_BACKEND_SYSCALL ||
	    cfg->ring_entries > RING_ENTRIES_MAX ||
	    cfg->poll_us < -1 || cfg->poll_us > POLL_US_MAX ||
	    cfg->slice_us < -1 || cfg->slice_us > SLICE_US_MAX)
		return -EINVAL;
	return 0;
}

/* A microsecond knob's value: 0 the default, -1 off (0). */
static unsigned long knob_us(int v, unsigned long fallback)
{
	if (v == 0)
		return fallback;
	return v < 0 ? 0 : (unsigned long)v;
}

int64_t urnet__config_poll_ns(const struct urnet_engine_config *cfg)
{
	return (int64_t)knob_us(cfg->poll_us, POLL_US_DEFAULT) * 1000;
}

unsigned long urnet__config_slice_us(const struct urnet_engine_config *cfg)
{
	return knob_us(cfg->slice_us, SLICE_US_DEFAULT);
}

int64_t urnet__env_kernel_wait_ns(void)
{
	return (int64_t)env_ulong("URNET_KERNEL_WAIT_US", 0, KERNEL_WAIT_US_MAX,
				  KERNEL_WAIT_US_DEFAULT) * 1000;
}

unsigned urnet__env_engines(unsigned max)
{
	return (unsigned)env_ulong("URNET_ENGINES", 1, max, 1);
}

bool urnet__env_stats(void)
{
	return env_ulong("URNET_STATS", 0, 1, 0) == 1;
}

bool urnet__env_waits_channel(void)
{
	return env_ulong("URNET_WAITS", 0, 1, 1) == 1;
}

int64_t urnet__env_duration_ns(const char *name)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = { { "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000 } };
	const char *s = getenv(name);
	int64_t v = 0;

	if (!s || !*s)
		return 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (INT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (*s - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(s, units[i].unit))
			return v > INT64_MAX / units[i].ns / 2 ? -EINVAL : v * units[i].ns;
	return -EINVAL;
}
