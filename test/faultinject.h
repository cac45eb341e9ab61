/* SPDX-License-Identifier: MIT */
/*
 * Control of the fault-injection module (test/faultinject.c), which the
 * fault suites load with LD_PRELOAD.  The module makes chosen C library and
 * liburing calls fail on demand:
 *
 *   io_uring_queue_init_params, io_uring_queue_init, io_uring_submit,
 *   io_uring_submit_and_wait, eventfd, pthread_create, socket, accept,
 *   accept4, connect, send, sendmsg, and "malloc" (malloc, calloc, realloc)
 *
 * A fault passes `skip` matching calls, then fails the next `count` (-1: all
 * of them) with errno `err` (liburing calls return -err).  With `own_thread`
 * only calls from the thread that armed it match.  "send" with err 0 does not
 * fail but caps every send/sendmsg at `count` bytes (short sends).
 *
 * The same faults can be armed for a whole program from the environment:
 *   FAULTINJECT="io_uring_queue_init_params=EPERM,eventfd=EMFILE:2:1"
 * (name=ERRNAME[:skip[:count]], count defaulting to -1).
 *
 * Test programs reach these with dlsym(RTLD_DEFAULT, ...): see fi_bind().
 */
#ifndef URNET_TEST_FAULTINJECT_H
#define URNET_TEST_FAULTINJECT_H

typedef int (*faultinject_set_fn)(const char *name, int err, long skip, long count,
				  int own_thread);
typedef void (*faultinject_clear_fn)(void);
typedef unsigned long (*faultinject_hits_fn)(const char *name);

#endif
