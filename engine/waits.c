/* SPDX-License-Identifier: MIT */
/*
 * The list of parked calls: one slot per parking thread, written by its
 * owner alone.  See waits.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "urnet_engine.h"
#include "waits.h"

struct slot {
	/* Odd while the owner rewrites the fields below. */
	_Atomic uint32_t seq;
	_Atomic uint32_t parked;
	_Atomic int32_t fd;
	_Atomic uint32_t kind;
	_Atomic int64_t since_ns;
	_Atomic int64_t deadline_ns;
	_Atomic int32_t tid;
	/* A connect's target, which the kernel does not tell until connected. */
	_Atomic uint32_t peer_len;
	_Atomic uint64_t peer[URNET__WAIT_PEER_WORDS];
	/* The owner noted a peer for its next park (the owner's alone: never read by others). */
	bool peer_noted;
	/* A live thread owns the slot; claimed with a CAS, handed back at its exit. */
	_Atomic uint32_t in_use;
	/* Owner only writes; readers sum.  Kept across owners: counts since start. */
	_Atomic uint64_t hist[URNET__WK_COUNT][URNET__WAIT_BUCKETS];
	struct slot *_Atomic next;
} __attribute__((aligned(64)));

/* Slots come a page at a time. */
#define SLOT_PAGE	16384u
_Static_assert(sizeof(struct slot) <= SLOT_PAGE, "a slot fits its page");

static struct slot *_Atomic slots;	/* pushed at the head, never removed */
static URNET__TLS struct slot *self;
static pthread_key_t exit_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Atomic uint32_t once_done;

static const char *const kind_names[URNET__WK_COUNT] = {
	[URNET__WK_NONE] = "wait",
	[URNET__WK_READ] = "read",
	[URNET__WK_WRITE] = "write",
	[URNET__WK_ACCEPT] = "accept",
	[URNET__WK_CONNECT] = "connect",
	[URNET__WK_POLL] = "poll",
	[URNET__WK_ENGINE_OP] = "engine-op",
};

const char *urnet__wait_kind_name(unsigned kind)
{
	return kind < URNET__WK_COUNT ? kind_names[kind] : "wait";
}

/* The thread exits (a key destructor): its slot goes to the next new thread. */
static void slot_release(void *arg)
{
	struct slot *s = arg;

	atomic_store_explicit(&s->parked, 0, memory_order_release);
	if (self == s)
		self = NULL;
	atomic_store_explicit(&s->in_use, 0, memory_order_release);
}

static void fork_child(void)
{
	struct slot *s;

	/* The other owners do not exist here; what they were doing is the parent's. */
	for (s = atomic_load(&slots); s; s = atomic_load(&s->next)) {
		for (unsigned k = 0; k < URNET__WK_COUNT; k++)
			for (unsigned b = 0; b < URNET__WAIT_BUCKETS; b++)
				atomic_store_explicit(&s->hist[k][b], 0, memory_order_relaxed);
		if (s == self)
			continue;
		atomic_store(&s->parked, 0);
		atomic_store(&s->seq, (atomic_load(&s->seq) + 1) & ~1u);
		atomic_store(&s->in_use, 0);
	}
	if (self)
		atomic_store(&self->tid, (int32_t)syscall(SYS_gettid));
	urnet__waits_serve_fork_child();
}

static void init_once(void)
{
	if (pthread_key_create(&exit_key, slot_release) == 0) {
		pthread_atfork(NULL, NULL, fork_child);
		atomic_store_explicit(&once_done, 1, memory_order_release);
	}
}

void urnet__waits_init(void)
{
	pthread_once(&once, init_once);
}

/* Claim a free slot, or make one; NULL when out of memory or keys. */
static struct slot *slot_get(void)
{
	struct slot *s, *head;

	urnet__waits_init();
	if (!atomic_load_explicit(&once_done, memory_order_acquire))
		return NULL;
	for (s = atomic_load_explicit(&slots, memory_order_acquire); s;
	     s = atomic_load_explicit(&s->next, memory_order_acquire)) {
		uint32_t free_ = 0;

		if (atomic_compare_exchange_strong_explicit(&s->in_use, &free_, 1,
							    memory_order_acq_rel,
							    memory_order_relaxed))
			break;
	}
	if (!s) {
		/*
		 * A page of new slots, from mmap rather than malloc: a thread's
		 * first park may come from a signal handler that interrupted
		 * malloc.  The first is ours; the others go on the list free.
		 */
		size_t n = SLOT_PAGE / sizeof(*s);
		struct slot *page = mmap(NULL, SLOT_PAGE, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (page == MAP_FAILED)
			return NULL;
		s = &page[0];
		atomic_init(&s->in_use, 1);
		for (size_t i = 1; i < n; i++)
			atomic_init(&page[i].next, &page[i - 1]);
		head = atomic_load_explicit(&slots, memory_order_relaxed);
		do
			atomic_store_explicit(&s->next, head, memory_order_relaxed);
		while (!atomic_compare_exchange_weak_explicit(&slots, &head, &page[n - 1],
							      memory_order_release,
							      memory_order_relaxed));
	}
	atomic_store_explicit(&s->tid, (int32_t)syscall(SYS_gettid), memory_order_relaxed);
	s->peer_noted = false;	/* a note the last owner never parked on */
	if (pthread_setspecific(exit_key, s)) {
		atomic_store_explicit(&s->in_use, 0, memory_order_release);
		return NULL;
	}
	self = s;
	return s;
}

/* The owner starts rewriting its slot: readers that see it retry or skip. */
static uint32_t write_begin(struct slot *s)
{
	uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

	atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return seq + 2;
}

void urnet__waits_note_peer(const struct sockaddr *addr, socklen_t len)
{
	uint64_t words[URNET__WAIT_PEER_WORDS] = { 0 };
	struct slot *s = self;
	uint32_t seq;

	if (!s && !(s = slot_get()))
		return;
	if (!addr || len > sizeof(words))
		len = 0;
	else
		memcpy(words, addr, len);
	seq = write_begin(s);
	for (unsigned i = 0; i < URNET__WAIT_PEER_WORDS; i++)
		atomic_store_explicit(&s->peer[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&s->peer_len, len, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq, memory_order_release);
	s->peer_noted = true;
}

int64_t urnet__waits_park(int fd, unsigned kind, int64_t deadline_ns)
{
	struct slot *s = self;
	int64_t now = urnet_now_ns();
	uint32_t seq;

	if (!s && !(s = slot_get()))
		return now;
	seq = write_begin(s);
	if (!s->peer_noted)
		atomic_store_explicit(&s->peer_len, 0, memory_order_relaxed);
	s->peer_noted = false;
	atomic_store_explicit(&s->fd, fd, memory_order_relaxed);
	atomic_store_explicit(&s->kind, kind, memory_order_relaxed);
	atomic_store_explicit(&s->since_ns, now, memory_order_relaxed);
	atomic_store_explicit(&s->deadline_ns, deadline_ns, memory_order_relaxed);
	atomic_store_explicit(&s->parked, 1, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq, memory_order_release);
	return now;
}

static unsigned bucket(int64_t ns)
{
	int64_t limit = 10000;	/* 10 us */
	unsigned b = 0;

	while (b < URNET__WAIT_BUCKETS - 1 && ns >= limit) {
		limit *= 10;
		b++;
	}
	return b;
}

int64_t urnet__waits_unpark(void)
{
	struct slot *s = self;
	int64_t now = urnet_now_ns();
	unsigned kind, b;

	if (!s)
		return now;
	atomic_store_explicit(&s->parked, 0, memory_order_release);
	kind = atomic_load_explicit(&s->kind, memory_order_relaxed);
	if (kind >= URNET__WK_COUNT)
		return now;
	b = bucket(now - atomic_load_explicit(&s->since_ns, memory_order_relaxed));
	atomic_store_explicit(&s->hist[kind][b],
			      atomic_load_explicit(&s->hist[kind][b], memory_order_relaxed) + 1,
			      memory_order_relaxed);
	return now;
}

/* A consistent copy of s's park, if it is parked: true. */
static bool slot_read(struct slot *s, struct urnet__wait_rec *r)
{
	for (int tries = 0; tries < 4; tries++) {
		uint32_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);

		if (seq & 1)
			continue;
		if (!atomic_load_explicit(&s->parked, memory_order_relaxed) ||
		    !atomic_load_explicit(&s->in_use, memory_order_relaxed))
			return false;
		r->tid = atomic_load_explicit(&s->tid, memory_order_relaxed);
		r->fd = atomic_load_explicit(&s->fd, memory_order_relaxed);
		r->kind = atomic_load_explicit(&s->kind, memory_order_relaxed);
		r->since_ns = atomic_load_explicit(&s->since_ns, memory_order_relaxed);
		r->deadline_ns = atomic_load_explicit(&s->deadline_ns, memory_order_relaxed);
		r->peer_len = atomic_load_explicit(&s->peer_len, memory_order_relaxed);
		for (unsigned i = 0; i < URNET__WAIT_PEER_WORDS; i++)
			r->peer[i] = atomic_load_explicit(&s->peer[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == seq)
			return true;
	}
	/* Parking again and again while we look: gone by the time anyone reads it. */
	return false;
}

size_t urnet__waits_snapshot(struct urnet__wait_rec *recs, size_t max)
{
	struct urnet__wait_rec r;
	size_t n = 0;

	for (struct slot *s = atomic_load_explicit(&slots, memory_order_acquire); s;
	     s = atomic_load_explicit(&s->next, memory_order_acquire)) {
		if (!slot_read(s, &r))
			continue;
		if (n < max)
			recs[n] = r;
		n++;
	}
	return n;
}

void urnet__waits_hist(uint64_t hist[URNET__WK_COUNT][URNET__WAIT_BUCKETS])
{
	memset(hist, 0, sizeof(uint64_t) * URNET__WK_COUNT * URNET__WAIT_BUCKETS);
	for (struct slot *s = atomic_load_explicit(&slots, memory_order_acquire); s;
	     s = atomic_load_explicit(&s->next, memory_order_acquire))
		for (unsigned k = 0; k < URNET__WK_COUNT; k++)
			for (unsigned b = 0; b < URNET__WAIT_BUCKETS; b++)
				hist[k][b] += atomic_load_explicit(&s->hist[k][b],
								   memory_order_relaxed);
}
