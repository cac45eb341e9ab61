/* SPDX-License-Identifier: MIT */
/*
 * The list of parked calls: which thread waits on which fd, for what, since
 * when and until when, and how long waits of each kind lasted.  Not
 * installed.
 *
 * Every thread that ever parks owns one slot, made on its first park and
 * never freed (a thread that exits hands it to the next new one), so that
 * a reader walking the slots can never meet freed memory.  A park writes
 * its slot under a sequence counter (a seqlock with one writer, the owner);
 * a reader copies it and keeps the copy only if the counter did not move.
 * Nothing is shared between parkers: no lock, no shared cache line.
 */
#ifndef URNET_ENGINE_WAITS_H
#define URNET_ENGINE_WAITS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "visibility.h"

/* What a parked call is; URNET__WK_NONE: say it from the direction waited for. */
enum urnet__wait_kind {
	URNET__WK_NONE = 0,
	URNET__WK_READ,
	URNET__WK_WRITE,
	URNET__WK_ACCEPT,
	URNET__WK_CONNECT,
	URNET__WK_POLL,
	URNET__WK_ENGINE_OP,
	URNET__WK_COUNT
};

/* Wait-time histogram buckets: under 10 us, 100 us, ..., 10 s, and longer. */
#define URNET__WAIT_BUCKETS 8

/* The name of a kind, as urnet-top shows it. */
URNET__HIDDEN const char *urnet__wait_kind_name(unsigned kind);

/*
 * The calling thread parks now: on fd (-1: none), as kind, until the
 * absolute CLOCK_MONOTONIC deadline (0: none).  Every park is followed by
 * urnet__waits_unpark() on the same thread, also when it is cancelled.
 * Each returns the time it read (urnet_now_ns): their difference is how
 * long the call was parked.
 */
URNET__HIDDEN int64_t urnet__waits_park(int fd, unsigned kind, int64_t deadline_ns);
URNET__HIDDEN int64_t urnet__waits_unpark(void);

/*
 * The next park of this thread waits for a connection to addr: shown as
 * the peer while the kernel has none to tell (a connect under way).
 */
URNET__HIDDEN void urnet__waits_note_peer(const struct sockaddr *addr, socklen_t len);

/* Room for a sockaddr_in6 */
#define URNET__WAIT_PEER_WORDS 4

/* One parked call as a reader saw it. */
struct urnet__wait_rec {
	int tid;
	int fd;
	unsigned kind;
	int64_t since_ns;	/* CLOCK_MONOTONIC */
	int64_t deadline_ns;	/* 0: none */
	uint32_t peer_len;	/* 0: none noted */
	uint64_t peer[URNET__WAIT_PEER_WORDS];
};

/*
 * Copy up to max parked calls into recs; returns how many there are (may
 * be more than max).  Never blocks a parking thread.
 */
URNET__HIDDEN size_t urnet__waits_snapshot(struct urnet__wait_rec *recs, size_t max);

/* Sum of every slot's histogram: hist[kind][bucket]. */
URNET__HIDDEN void urnet__waits_hist(uint64_t hist[URNET__WK_COUNT][URNET__WAIT_BUCKETS]);

/* The fork and thread-exit hooks, once (also before any park). */
URNET__HIDDEN void urnet__waits_init(void);

/* Start the channel another process reads the list through (waits_serve.c); once. */
URNET__HIDDEN void urnet__waits_serve_start(void);

/* The list in the child of a fork: only the forking thread is left (waits.c). */
URNET__HIDDEN void urnet__waits_fork_child(void);
/* The channel in the child: the parent's is closed, the child starts its own. */
URNET__HIDDEN void urnet__waits_serve_fork_child(void);

/* JSON lines (the channel's format) and the table of urnet_dump_waits (waits_fmt.c). */
URNET__HIDDEN int urnet__waits_write_json(FILE *f);
URNET__HIDDEN int urnet__waits_write_table(FILE *f);

#endif
