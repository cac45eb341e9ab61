/* SPDX-License-Identifier: MIT */
/*
 * Polling before the engine sleeps.
 *
 * With one connection, or a few, the engine runs dry after every
 * completion and sleeps, and the next completion has to wake it: each
 * round trip then pays two thread wake-ups (engine, then caller) where
 * plain blocking sockets pay one, and a wake-up is the most expensive
 * thing on the path (several microseconds on a virtual machine, where the
 * sleeping CPU has to be woken too).  So, as KVM does before it halts a
 * virtual CPU, the engine first spins for a while, watching its queue, its
 * completion queue and the ring's IORING_SQ_TASKRUN flag: on a
 * DEFER_TASKRUN ring the completions of polls wait as task work until the
 * engine enters the kernel, and IORING_SETUP_TASKRUN_FLAG makes the kernel
 * say so in the SQ flags, which needs no system call to read.  (The engine
 * reaps and submits without liburing's help for that reason: liburing
 * would enter the kernel for that task work from every submit and every
 * empty peek, in the middle of a turn.)  On a ring without the flag the
 * spin enters the kernel, without waiting, every few microseconds.
 *
 * Three things keep the spin from costing more than it saves.  It only
 * starts while the last completions came from one or two sources.  Its
 * window adapts: it grows while the engine's sleeps end within the maximum
 * (a longer spin would have caught the next event) and shrinks when they
 * do not, so an idle engine soon stops spinning at all.  And it yields the
 * CPU every few microseconds, giving up as soon as a yield shows that other
 * threads were waiting for it, so it only takes a CPU that would idle.
 */
#include "config.h"

#include <sched.h>

#include "engine.h"

/* The first window, and the shortest worth keeping. */
#define POLL_START_NS		10000
#define POLL_MIN_NS		(POLL_START_NS / 2)
/* Spin checks between clock reads and yields (a few microseconds). */
#define POLL_CHECKS		64
/* A yield that took this long ran another thread: the CPU is wanted. */
#define POLL_YIELD_BUSY_NS	10000
/* The most distinct sources among the last completions that still poll. */
#define POLL_FEW_SOURCES	2

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

void urnet__idle_poll_init(urnet_engine *e)
{
	/* The largest window (config.c), 0 = never poll. */
	e->poll_max_ns = urnet__config_poll_ns(&e->cfg);
	e->poll_window_ns = 0;
}

/*
 * Polling pays when a few conversations bounce back and forth: one
 * connection, a ping-pong, an event loop serving one client.  With many
 * sources of completions the engine's wake-up is shared by all the events
 * that accumulate while it sleeps, and a spin would only take CPU time from
 * the threads those events wake.
 */
bool urnet__idle_poll_few_sources(const uint64_t *recent, unsigned count)
{
	uint64_t seen[POLL_FEW_SOURCES];
	unsigned n = 0;

	for (unsigned i = 0; i < count; i++) {
		uint64_t ud = recent[i];
		unsigned j;

		for (j = 0; j < n && seen[j] != ud; j++)
			;
		if (j < n)
			continue;
		if (n == POLL_FEW_SOURCES)
			return false;
		seen[n++] = ud;
	}
	return true;
}

static bool has_work(urnet_engine *e)
{
	return !urnet__queue_empty(&e->queue) || io_uring_cq_ready(&e->ring) ||
	       (IO_URING_READ_ONCE(*e->ring.sq.kflags) & IORING_SQ_TASKRUN);
}

/* Spin until there is work (true) or the window closed or the CPU is wanted. */
static bool spin(urnet_engine *e, int64_t until)
{
	for (;;) {
		int64_t before;

		for (int i = 0; i < POLL_CHECKS; i++) {
			if (has_work(e))
				return true;
			cpu_relax();
		}
		if (atomic_load_explicit(&e->stopping, memory_order_relaxed))
			return false;
		/* Without the flag, task work shows only once the kernel runs it. */
		if (!(e->ring_flags & IORING_SETUP_TASKRUN_FLAG)) {
			io_uring_get_events(&e->ring);
			if (has_work(e))
				return true;
		}
		before = urnet_now_ns();
		sched_yield();
		if (urnet_now_ns() - before > POLL_YIELD_BUSY_NS) {
			e->poll_contended = true;
			return false;
		}
		if (before > until)
			return false;
	}
}

bool urnet__idle_poll(urnet_engine *e)
{
	if (!e->poll_max_ns)
		return false;
	e->poll_idle_since = urnet_now_ns();
	e->poll_contended = false;
	if (!e->poll_window_ns ||
	    !urnet__idle_poll_few_sources(e->poll_recent, URNET__POLL_RECENT))
		return false;
	/* What the last turn prepared (wake-ups above all) must not wait for the spin. */
	urnet__engine_flush(e);
	if (!spin(e, e->poll_idle_since + e->poll_window_ns))
		return false;
	/* Task work alone still needs the kernel: the sleep runs it at once. */
	return !urnet__queue_empty(&e->queue) || io_uring_cq_ready(&e->ring);
}

int64_t urnet__idle_poll_next_window(int64_t window, int64_t max, int64_t idle,
				     bool contended)
{
	if (!contended && idle <= max) {
		/* A longer spin would have seen the event come. */
		if (window < idle)
			window = window ? 2 * window : POLL_START_NS;
		return window < max ? window : max;
	}
	window /= 2;
	return window < POLL_MIN_NS ? 0 : window;
}

void urnet__idle_poll_slept(urnet_engine *e)
{
	if (!e->poll_max_ns)
		return;
	e->poll_window_ns = urnet__idle_poll_next_window(e->poll_window_ns, e->poll_max_ns,
							 urnet_now_ns() - e->poll_idle_since,
							 e->poll_contended);
}
