/* SPDX-License-Identifier: MIT */
/*
 * The process-wide engines, started lazily on first use, and the registry of
 * all live engines that the exit stats line and fork() walk.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "libc.h"
#include "waits.h"

#define URNET__MAX_ENGINES 64

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct urnet__list registry = URNET__LIST_INIT(registry);	/* reg_link */
static struct urnet__totals closed_totals;	/* engines already stopped */
static bool hooks_installed;
static bool ran_here;		/* this process started an engine */

static urnet_engine *_Atomic defaults[URNET__MAX_ENGINES];
static _Atomic unsigned default_count;
static pthread_mutex_t defaults_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *last_backend;

unsigned urnet__registry_stats(struct urnet_engine_stats *sum, const char **backend)
{
	unsigned engines = 0;
	struct urnet__list *l;

	memset(sum, 0, sizeof(*sum));
	pthread_mutex_lock(&registry_lock);
	urnet__totals_sum(sum, &closed_totals);
	*backend = last_backend;
	urnet__list_for_each(l, &registry) {
		urnet_engine *e = urnet__list_entry(l, urnet_engine, reg_link);

		urnet__totals_sum(sum, &e->stats);
		*backend = urnet_engine_backend(e);
		engines++;
	}
	pthread_mutex_unlock(&registry_lock);
	return engines;
}

/* URNET_STATS=1: one line on stderr at exit, for scripts to read. */
static void print_stats_at_exit(void)
{
	struct urnet_engine_stats sum;
	const char *backend;
	unsigned engines;
	char line[512];
	int n;

	/*
	 * A forked child inherits the handler and the parent's counters: it
	 * has stats of its own only once it starts an engine.
	 */
	if (!urnet__env_stats() || !ran_here)
		return;
	engines = urnet__registry_stats(&sum, &backend);
	n = snprintf(line, sizeof(line),
		     "urnet-stats: pid=%d backend=%s engines=%u submitted=%llu completed=%llu "
		     "batches=%llu engine_wakeups=%llu parked=%llu readiness=%llu syscall_ops=%llu "
		     "io_limited=%llu kernel_waits=%llu\n",
		     (int)getpid(), backend ? backend : "none", engines,
		     (unsigned long long)sum.submitted, (unsigned long long)sum.completed,
		     (unsigned long long)sum.batches, (unsigned long long)sum.engine_wakeups,
		     (unsigned long long)sum.parked, (unsigned long long)sum.readiness,
		     (unsigned long long)sum.syscall_ops,
		     (unsigned long long)urnet__io_limit_count(),
		     (unsigned long long)urnet__kernel_wait_count());
	if (n > 0 && urnet__libc()->write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* stderr closed: nobody to tell */
	}
}

static void fork_prepare(void)
{
	struct urnet__list *l;

	pthread_mutex_lock(&defaults_lock);
	pthread_mutex_lock(&registry_lock);
	urnet__list_for_each(l, &registry)
		pthread_mutex_lock(&urnet__list_entry(l, urnet_engine, reg_link)->bound_lock);
}

static void fork_parent(void)
{
	struct urnet__list *l;

	urnet__list_for_each(l, &registry)
		pthread_mutex_unlock(&urnet__list_entry(l, urnet_engine, reg_link)->bound_lock);
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_unlock(&defaults_lock);
}

/*
 * The child has none of the engine threads.  Its inherited engines refuse
 * work from now on (no caller can hang on them) and the child starts engines
 * of its own on first use.  Their memory is left alone: the parent's threads
 * may have been in the middle of anything.
 */
static void fork_child(void)
{
	struct urnet__list *l, *next;
	unsigned i;

	for (l = registry.next; l != &registry; l = next) {
		urnet_engine *e = urnet__list_entry(l, urnet_engine, reg_link);

		/* Out of the registry: closing it later takes nothing else out. */
		next = l->next;
		urnet__list_init(l);
		pthread_mutex_init(&e->bound_lock, NULL);
		atomic_store(&e->stopping, 1);
		atomic_store(&e->exited, 1);
		if (e->syscall_backend)
			continue;
		urnet__own_fd_close(e->wake_fd);
		e->wake_fd = -1;
		/*
		 * The ring is the parent's: its polls hold the parent's sockets.
		 * A child that outlived the parent with the ring fd open would
		 * keep them from closing.
		 */
		urnet__ring_exit(&e->ring);
	}
	urnet__list_init(&registry);
	memset(&closed_totals, 0, sizeof(closed_totals));
	last_backend = NULL;
	ran_here = false;
	for (i = 0; i < URNET__MAX_ENGINES; i++)
		atomic_store(&defaults[i], NULL);
	atomic_store(&default_count, 0);
	pthread_mutex_init(&registry_lock, NULL);
	pthread_mutex_init(&defaults_lock, NULL);
}

void urnet__registry_add(urnet_engine *e)
{
	pthread_mutex_lock(&registry_lock);
	if (!hooks_installed) {
		hooks_installed = true;
		atexit(print_stats_at_exit);
		pthread_atfork(fork_prepare, fork_parent, fork_child);
	}
	urnet__list_add(&registry, &e->reg_link);
	ran_here = true;
	last_backend = urnet_engine_backend(e);
	pthread_mutex_unlock(&registry_lock);
}

void urnet__registry_remove(urnet_engine *e)
{
	struct urnet_engine_stats s;

	pthread_mutex_lock(&registry_lock);
	urnet__list_del(&e->reg_link);
	urnet__totals_read(&e->stats, &s);
	urnet__totals_add(&closed_totals, &s);
	pthread_mutex_unlock(&registry_lock);
}

static int start_defaults(void)
{
	struct urnet_engine_config cfg;
	unsigned n, i;
	int err = 0;

	pthread_mutex_lock(&defaults_lock);
	if (atomic_load(&default_count))
		goto out;
	n = urnet__env_engines(URNET__MAX_ENGINES);
	urnet_engine_config_init(&cfg);
	for (i = 0; i < n; i++) {
		urnet_engine *e = urnet_engine_new(&cfg);

		if (!e) {
			err = errno;
			break;
		}
		e->is_default = true;
		atomic_store_explicit(&defaults[i], e, memory_order_release);
	}
	/* Fewer shards than asked still serve; none is an error. */
	if (i > 0)
		atomic_store_explicit(&default_count, i, memory_order_release);
out:
	pthread_mutex_unlock(&defaults_lock);
	/*
	 * Where the process's engines run, another process may ask what
	 * waits on them.  Not with engines of the program's own making: those
	 * may come and go, and leave nothing behind.  Outside defaults_lock:
	 * the channel takes urnet's own descriptor lock, which fork takes
	 * before it.
	 */
	if (atomic_load(&default_count))
		urnet__waits_serve_start();
	return atomic_load(&default_count) ? 0 : (err ? err : ENOMEM);
}

urnet_engine *urnet_engine_pick(unsigned key)
{
	unsigned n = atomic_load_explicit(&default_count, memory_order_acquire);
	int err;

	if (!n) {
		err = start_defaults();
		if (err) {
			errno = err;
			return NULL;
		}
		n = atomic_load_explicit(&default_count, memory_order_acquire);
	}
	return atomic_load_explicit(&defaults[key % n], memory_order_acquire);
}

urnet_engine *urnet_default_engine(void)
{
	return urnet_engine_pick(0);
}

unsigned urnet_engine_count(void)
{
	if (!atomic_load_explicit(&default_count, memory_order_acquire) && start_defaults())
		return 0;
	return atomic_load_explicit(&default_count, memory_order_acquire);
}
