/* SPDX-License-Identifier: MIT */
/* Engine configuration: defaults, then the URNET_* environment. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* A whole decimal number within [min, max], or fallback. */
unsigned long urnet__env_ulong(const char *name, unsigned long min, unsigned long max,
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

void urnet_engine_config_init(struct urnet_engine_config *cfg)
{
	const char *backend = getenv("URNET_BACKEND");
	unsigned long sqpoll;

	memset(cfg, 0, sizeof(*cfg));
	cfg->ring_entries = (unsigned)urnet__env_ulong("URNET_RING_ENTRIES", 1, 32768, 0);
	sqpoll = urnet__env_ulong("URNET_SQPOLL", 0, 3600000, 0);
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
}
