/* SPDX-License-Identifier: MIT */
/*
 * Time limits for the blocking socket waits of programs that set none:
 * from the environment, and per thread.  See iotimeout.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>

#include "iotimeout.h"
#include "ready.h"
#include "urnet_compat.h"

/* The environment's limits in ns; -1 until read (once: getenv does not allocate). */
static _Atomic int64_t env_limit[2] = { -1, -1 };

static int64_t limit_ns(enum urnet__limit kind)
{
	static const char *const names[2] = { "URNET_IO_TIMEOUT", "URNET_CONNECT_TIMEOUT" };
	int64_t v = atomic_load_explicit(&env_limit[kind], memory_order_relaxed);

	if (v < 0) {
		/* Malformed: no limit (urnet-run refuses to start with one). */
		v = urnet__env_duration_ns(names[kind]);
		if (v < 0)
			v = 0;
		atomic_store_explicit(&env_limit[kind], v, memory_order_relaxed);
	}
	return v;
}

static URNET__TLS int64_t thread_deadline;

/* Where the thread's deadline lives: liburnet's, when the module found it. */
static int64_t (*shared_deadline)(void);

int urnet_thread_set_io_deadline(int64_t deadline_ns)
{
	if (deadline_ns < 0) {
		errno = EINVAL;
		return -1;
	}
	thread_deadline = deadline_ns;
	return 0;
}

int64_t urnet_thread_io_deadline(void)
{
	return thread_deadline;
}

void urnet__io_deadline_share(void)
{
	/* The module exports no name of urnet's: this finds liburnet's, if loaded. */
	void *p = dlsym(RTLD_DEFAULT, "urnet_thread_io_deadline");

	if (p)
		shared_deadline = (int64_t (*)(void))p;
}

int64_t urnet__io_limit_deadline(enum urnet__limit kind, int64_t own, bool *limited)
{
	int64_t d = own, t, lim;

	*limited = false;
	if (!own) {
		lim = limit_ns(kind);
		if (lim) {
			d = urnet_now_ns() + lim;
			*limited = true;
		}
	}
	t = shared_deadline ? shared_deadline() : thread_deadline;
	if (t && (!d || t < d)) {
		d = t;
		*limited = true;
	}
	return d;
}
