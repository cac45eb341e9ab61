/* SPDX-License-Identifier: MIT */
/*
 * An intrusive doubly-linked list, as the kernel's list_head: a node
 * embedded in each member, a circular list through a head node, so that
 * adding and removing never allocate and never branch on an empty list.
 * For the engine's bound readiness objects, its polled ones and its live
 * operations, and the registry of engines.  Not thread-safe: every list
 * says what guards it.  (The lock-free request queue is queue.h.)
 */
#ifndef URNET_ENGINE_LIST_H
#define URNET_ENGINE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct urnet__list {
	struct urnet__list *prev, *next;
};

#define urnet__container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* A head for a static list: empty, without urnet__list_init. */
#define URNET__LIST_INIT(head) { &(head), &(head) }

static inline void urnet__list_init(struct urnet__list *head)
{
	head->prev = head->next = head;
}

static inline bool urnet__list_empty(const struct urnet__list *head)
{
	return head->next == head;
}

/* Add n at the front of head's list. */
static inline void urnet__list_add(struct urnet__list *head, struct urnet__list *n)
{
	n->prev = head;
	n->next = head->next;
	head->next->prev = n;
	head->next = n;
}

/* Take n out of its list; n is left an empty list of its own. */
static inline void urnet__list_del(struct urnet__list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	urnet__list_init(n);
}

/* Move n from its list to the back of head's. */
static inline void urnet__list_move_tail(struct urnet__list *head, struct urnet__list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

/* Move every node of from to the back of head's list; from is left empty. */
static inline void urnet__list_splice_tail(struct urnet__list *head, struct urnet__list *from)
{
	if (urnet__list_empty(from))
		return;
	from->next->prev = head->prev;
	head->prev->next = from->next;
	from->prev->next = head;
	head->prev = from->prev;
	urnet__list_init(from);
}

/* The member of type containing node n. */
#define urnet__list_entry(n, type, member) urnet__container_of(n, type, member)

/*
 * Each node of head's list in turn.  n's successor is read after the body
 * ran: the body must not take n out of the list (nor free it).
 */
#define urnet__list_for_each(n, head) \
	for ((n) = (head)->next; (n) != (head); (n) = (n)->next)

#endif
