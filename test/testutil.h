/* SPDX-License-Identifier: MIT */
/* Shared by the test suites: fd counting and suite running. */
#ifndef URNET_TESTUTIL_H
#define URNET_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "thread_state.h"
#include "urnet_engine.h"

/* Open fds of this process, from /proc/self/fd (the DIR's own fd excluded). */
static inline int test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static inline pid_t test_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Wait until thread tid sleeps inside its call (up to 10 s), or, with
 * may_finish, until *done says the call already returned.  The suites'
 * blocker threads publish tid and done; false if neither happened.
 */
static inline bool test_wait_blocked(_Atomic pid_t *tid, _Atomic bool *done, bool may_finish)
{
	int streak = 0;
	pid_t t = 0;

	for (int i = 0; i < 10000 && !(t = atomic_load(tid)); i++)
		usleep(1000);
	if (!t)
		return false;
	for (int i = 0; i < 10000; i++) {
		if (may_finish && atomic_load(done))
			return true;
		streak = thread_state(t) == 'S' ? streak + 1 : 0;
		if (streak >= 3)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * Start fn(arg) in *th, a blocker that publishes tid and done, and return
 * once it sleeps inside its call (or, with may_finish, has returned).
 */
static inline void test_start_blocker(pthread_t *th, void *(*fn)(void *), void *arg,
				      _Atomic pid_t *tid, _Atomic bool *done, bool may_finish)
{
	atomic_store(tid, 0);
	atomic_store(done, false);
	ck_assert_int_eq(pthread_create(th, NULL, fn, arg), 0);
	ck_assert_msg(test_wait_blocked(tid, done, may_finish), "thread never blocked");
	ck_assert(may_finish || !atomic_load(done));
}

/*
 * Wait (up to 10 s) until thread tid sleeps in the kernel: a few samples
 * in a row so that a passing page fault or lock does not count.
 */
static inline bool test_wait_sleeping(pid_t tid)
{
	_Atomic pid_t t = tid;
	_Atomic bool never = false;

	return test_wait_blocked(&t, &never, false);
}

/* Every engine's parked callers so far: a wait the engine served adds one. */
static inline uint64_t test_parked_total(void)
{
	struct urnet_engine_stats st;
	uint64_t n = 0;

	for (unsigned i = 0; i < urnet_engine_count(); i++) {
		urnet_engine_get_stats(urnet_engine_pick(i), &st);
		n += st.parked;
	}
	return n;
}

/* xorshift64*: a reproducible byte stream per seed. */
static inline void test_fill(unsigned char *buf, size_t len, uint64_t *state)
{
	uint64_t x = *state;

	for (size_t i = 0; i < len; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		buf[i] = (unsigned char)((x * 0x2545F4914F6CDD1DULL) >> 56);
	}
	*state = x;
}

/* FNV-1a, continued over successive chunks. */
static inline uint64_t test_sum(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;

	if (!h)
		h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static inline int test_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
