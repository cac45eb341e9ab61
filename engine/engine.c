/* SPDX-License-Identifier: MIT */
/*
 * The engine object: starting it (its thread, which sets up the ring so
 * that it is the ring's single issuer, or falls back to the syscall
 * backend), stopping it, and the references that keep its memory.  What
 * the thread runs is in loop.c and syscall_backend.c.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "futex.h"

URNET__TLS urnet_engine *urnet__engine_self;

/* struct sched_attr from the kernel's uapi; glibc has no wrapper. */
struct urnet__sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

/*
 * The engine hands work to every parked thread, so it must not queue behind
 * them: among a thousand runnable connection threads a fair scheduler gives
 * it a thousandth of a core.  EEVDF (Linux 6.12+) takes sched_runtime as the
 * requested slice of a normal task; a short slice means an early virtual
 * deadline, so the engine runs soon after it wakes, without any privilege
 * and without taking more than its fair share.  Older kernels refuse the
 * value or ignore it; nothing else depends on it.
 */
static void engine_request_short_slice(urnet_engine *e)
{
	struct urnet__sched_attr attr;
	unsigned long us = urnet__config_slice_us(&e->cfg);

	if (!us)
		return;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.sched_policy = SCHED_OTHER;
	attr.sched_runtime = (uint64_t)us * 1000;
	syscall(SYS_sched_setattr, 0, &attr, 0);
}

static int wake_fd_open(void *arg)
{
	(void)arg;
	return eventfd(0, EFD_CLOEXEC);
}

static void *engine_main(void *arg)
{
	urnet_engine *e = arg;
	int ret = 0;

	pthread_setname_np(pthread_self(), "urnet-engine");
	urnet__engine_self = e;
	engine_request_short_slice(e);
	if (!e->syscall_backend) {
		/* Created here so that this thread is the ring's single issuer. */
		ret = urnet__ring_setup(e);
		if (ret == 0) {
			urnet__idle_poll_init(e);
			e->wake_fd = urnet__own_fd(wake_fd_open, NULL);
			if (e->wake_fd < 0) {
				ret = -errno;
				urnet__ring_exit(&e->ring);
			}
		}
		if (ret < 0 && e->cfg.backend == URNET_BACKEND_AUTO &&
		    urnet__ring_error_means_none(ret)) {
			e->syscall_backend = true;
			ret = 0;
		}
	}
	e->start_result = ret;
	atomic_store_explicit(&e->started, 1, memory_order_release);
	urnet__futex_wake(&e->started, 1);
	if (ret < 0)
		return NULL;

	if (e->syscall_backend) {
		urnet__syscall_loop(e);
	} else {
		urnet__engine_loop(e);
		urnet__ring_exit(&e->ring);
	}
	urnet__spare_ops_free(e);
	return NULL;
}

urnet_engine *urnet_engine_new(const struct urnet_engine_config *cfg)
{
	struct urnet_engine_config defaults;
	sigset_t all, old;
	urnet_engine *e;
	int ret;

	if (!cfg) {
		urnet_engine_config_init(&defaults);
		cfg = &defaults;
	}
	if (urnet__config_check(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->wake_fd = -1;
	e->syscall_backend = cfg->backend == URNET_BACKEND_SYSCALL;
	atomic_init(&e->refs, 1);
	pthread_mutex_init(&e->bound_lock, NULL);
	urnet__list_init(&e->bound);
	urnet__list_init(&e->live_ops);
	urnet__list_init(&e->spare_ops);
	urnet__list_init(&e->polled);
	urnet__list_init(&e->reg_link);

	/* Signal handlers belong to the program's threads, never the engine. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&e->thread, NULL, engine_main, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		free(e);
		errno = ret;
		return NULL;
	}
	while (!atomic_load_explicit(&e->started, memory_order_acquire))
		urnet__futex_wait(&e->started, 0, 0);
	if (e->start_result < 0) {
		ret = -e->start_result;
		pthread_join(e->thread, NULL);
		free(e);
		errno = ret;
		return NULL;
	}
	urnet__registry_add(e);
	return e;
}

int urnet__engine_stop(urnet_engine *e)
{
	if (urnet__engine_on_thread(e))
		return -EINVAL;
	/* As a pusher, so that the engine cannot exit under the wake. */
	atomic_fetch_add_explicit(&e->pushers, 1, memory_order_seq_cst);
	atomic_store_explicit(&e->stopping, 1, memory_order_seq_cst);
	/* Force a wake even if the engine is between checks. */
	atomic_store_explicit(&e->sleeping, 1, memory_order_seq_cst);
	urnet__engine_wake(e);
	atomic_fetch_sub_explicit(&e->pushers, 1, memory_order_seq_cst);
	pthread_join(e->thread, NULL);
	urnet__own_fd_close(e->wake_fd);
	e->wake_fd = -1;
	urnet__ready_wake_bound(e);
	urnet__registry_remove(e);
	return 0;
}

int urnet_engine_close(urnet_engine *e)
{
	int ret;

	if (!e || e->is_default)
		return -EINVAL;
	ret = urnet__engine_stop(e);
	if (ret)
		return ret;
	urnet__engine_put(e);
	return 0;
}

void urnet__engine_get(urnet_engine *e)
{
	atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
}

void urnet__engine_put(urnet_engine *e)
{
	if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
		free(e);
}

struct io_uring *urnet__engine_ring(urnet_engine *e)
{
	return e->syscall_backend ? NULL : &e->ring;
}

const char *urnet_engine_backend(const urnet_engine *e)
{
	if (!e)
		return "none";
	return e->syscall_backend ? "syscall" : "io_uring";
}

bool urnet__engine_is_syscall(const urnet_engine *e)
{
	return e->syscall_backend;
}
