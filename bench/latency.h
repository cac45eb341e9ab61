/* SPDX-License-Identifier: MIT */
/*
 * Latency histogram for the benchmarks: fixed memory, constant-time insert,
 * about 1.6% relative error.  Values are nanoseconds.  Below 128 ns each
 * value has its own bucket; above, every power of two is split into 64
 * equal buckets (the layout of HdrHistogram with 6 significant bits).
 */
#ifndef URNET_BENCH_LATENCY_H
#define URNET_BENCH_LATENCY_H

#include <stdint.h>
#include <string.h>

#define LATENCY_SUB_BITS	6
#define LATENCY_SUB		(1u << LATENCY_SUB_BITS)
#define LATENCY_BUCKETS		((64 - LATENCY_SUB_BITS) * LATENCY_SUB + LATENCY_SUB)

struct latency_hist {
	uint64_t count;
	uint64_t bucket[LATENCY_BUCKETS];
};

static inline void latency_init(struct latency_hist *h)
{
	memset(h, 0, sizeof(*h));
}

static inline unsigned latency_index(uint64_t v)
{
	unsigned shift;

	if (v < 2 * LATENCY_SUB)
		return (unsigned)v;
	shift = 63u - (unsigned)__builtin_clzll(v) - LATENCY_SUB_BITS;
	return (shift + 1) * LATENCY_SUB + (unsigned)(v >> shift) - LATENCY_SUB;
}

/* Middle of the bucket's value range. */
static inline double latency_value(unsigned idx)
{
	unsigned shift;

	if (idx < 2 * LATENCY_SUB)
		return idx;
	shift = idx / LATENCY_SUB - 1;
	return ((double)(idx % LATENCY_SUB + LATENCY_SUB) + 0.5) * (double)(1ull << shift);
}

static inline void latency_add(struct latency_hist *h, uint64_t ns)
{
	h->bucket[latency_index(ns)]++;
	h->count++;
}

static inline void latency_merge(struct latency_hist *into, const struct latency_hist *from)
{
	for (unsigned i = 0; i < LATENCY_BUCKETS; i++)
		into->bucket[i] += from->bucket[i];
	into->count += from->count;
}

/* q in [0, 1]; 0 when empty. */
static inline double latency_quantile(const struct latency_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	for (unsigned i = 0; i < LATENCY_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen > rank)
			return latency_value(i);
	}
	return 0;
}

#endif
