/* SPDX-License-Identifier: MIT */
/*
 * Multi-producer, single-consumer request queue: an intrusive lock-free
 * stack that the engine empties in one exchange and reverses.  Taking the
 * whole list at once is what makes it ABA-free; reversing restores FIFO
 * order, which the engine relies on (an arm is always seen before the
 * retire that follows it).
 */
#ifndef URNET_ENGINE_QUEUE_H
#define URNET_ENGINE_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request node; kind says which structure embeds it. */
struct urnet__qnode {
	struct urnet__qnode *next;
	uint8_t kind;
};

struct urnet__queue {
	_Atomic(struct urnet__qnode *) head;
};

/* Returns true when the queue was empty before the push. */
static inline bool urnet__queue_push(struct urnet__queue *q, struct urnet__qnode *n)
{
	struct urnet__qnode *old = atomic_load_explicit(&q->head, memory_order_relaxed);

	do {
		n->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&q->head, &old, n,
							memory_order_seq_cst,
							memory_order_relaxed));
	return old == NULL;
}

static inline bool urnet__queue_empty(struct urnet__queue *q)
{
	return atomic_load_explicit(&q->head, memory_order_seq_cst) == NULL;
}

/* Everything pushed so far, oldest first. */
static inline struct urnet__qnode *urnet__queue_take_all(struct urnet__queue *q)
{
	struct urnet__qnode *n = atomic_exchange_explicit(&q->head, NULL,
							  memory_order_acquire);
	struct urnet__qnode *fifo = NULL;

	while (n) {
		struct urnet__qnode *next = n->next;

		n->next = fifo;
		fifo = n;
		n = next;
	}
	return fifo;
}

#endif
