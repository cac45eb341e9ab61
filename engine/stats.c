/* SPDX-License-Identifier: MIT */
/*
 * The engine's counters (struct urnet__totals): counted with relaxed
 * atomics where the work happens, read without stopping anything, and
 * summed over engines for the exit stats line (default.c).  Parks are
 * counted per CPU slot, for the reason given at struct urnet__count_slot.
 */
#include "config.h"

#include <sched.h>

#include "engine.h"

/* Add n to the slot of the CPU the caller runs on. */
static void slot_add(struct urnet__count_slot *slots, uint64_t n)
{
	int cpu = sched_getcpu();

	urnet__stat_add(&slots[(unsigned)(cpu < 0 ? 0 : cpu) % URNET__PARKED_SLOTS].n, n);
}

static uint64_t slots_sum(const struct urnet__count_slot *slots)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < URNET__PARKED_SLOTS; i++)
		n += atomic_load_explicit(&slots[i].n, memory_order_relaxed);
	return n;
}

void urnet__totals_read(const struct urnet__totals *t, struct urnet_engine_stats *out)
{
	out->submitted = atomic_load_explicit(&t->submitted, memory_order_relaxed);
	out->completed = atomic_load_explicit(&t->completed, memory_order_relaxed);
	out->batches = atomic_load_explicit(&t->batches, memory_order_relaxed);
	out->engine_wakeups = atomic_load_explicit(&t->engine_wakeups, memory_order_relaxed);
	out->parked = slots_sum(t->parked);
	out->readiness = atomic_load_explicit(&t->readiness, memory_order_relaxed);
	out->syscall_ops = atomic_load_explicit(&t->syscall_ops, memory_order_relaxed);
}

void urnet__totals_sum(struct urnet_engine_stats *sum, const struct urnet__totals *t)
{
	struct urnet_engine_stats s;

	urnet__totals_read(t, &s);
	sum->submitted += s.submitted;
	sum->completed += s.completed;
	sum->batches += s.batches;
	sum->engine_wakeups += s.engine_wakeups;
	sum->parked += s.parked;
	sum->readiness += s.readiness;
	sum->syscall_ops += s.syscall_ops;
}

void urnet__totals_add(struct urnet__totals *t, const struct urnet_engine_stats *s)
{
	atomic_fetch_add(&t->submitted, s->submitted);
	atomic_fetch_add(&t->completed, s->completed);
	atomic_fetch_add(&t->batches, s->batches);
	atomic_fetch_add(&t->engine_wakeups, s->engine_wakeups);
	urnet__totals_add_parked(t, s->parked);
	atomic_fetch_add(&t->readiness, s->readiness);
	atomic_fetch_add(&t->syscall_ops, s->syscall_ops);
}

void urnet__totals_add_parked(struct urnet__totals *t, uint64_t n)
{
	slot_add(t->parked, n);
}

void urnet__engine_count_parked(urnet_engine *e)
{
	urnet__totals_add_parked(&e->stats, 1);
}

void urnet__engine_count_syscall_op(urnet_engine *e)
{
	urnet__stat_add(&e->stats.syscall_ops, 1);
}

/*
 * Waits the compat calls left to the kernel (compat/call.c), for the exit
 * stats line: process-wide, counted per CPU slot as parks are.
 */
static struct urnet__count_slot kernel_waits[URNET__PARKED_SLOTS];

void urnet__count_kernel_wait(void)
{
	slot_add(kernel_waits, 1);
}

uint64_t urnet__kernel_wait_count(void)
{
	return slots_sum(kernel_waits);
}

void urnet_engine_get_stats(const urnet_engine *e, struct urnet_engine_stats *out)
{
	urnet__totals_read(&e->stats, out);
}

/* Waits that a time limit of urnet's own ended (the exit stats line's io_limited). */
static _Atomic uint64_t io_limited;

void urnet__count_io_limit(void)
{
	atomic_fetch_add_explicit(&io_limited, 1, memory_order_relaxed);
}

uint64_t urnet__io_limit_count(void)
{
	return atomic_load_explicit(&io_limited, memory_order_relaxed);
}
