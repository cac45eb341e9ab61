/* SPDX-License-Identifier: MIT */
/*
 * URNET__HIDDEN, on every urnet__ declaration: internal names stay out of
 * liburnet.so's and the preload module's dynamic symbol tables, whatever
 * file declares them.  A header of its own so that headers with nothing
 * else in common with the engine (api/addr.h) need not include it.
 */
#ifndef URNET_ENGINE_VISIBILITY_H
#define URNET_ENGINE_VISIBILITY_H

#define URNET__HIDDEN __attribute__((visibility("hidden")))

/*
 * Thread-local variables read on every call: the initial-exec model reads
 * them at a fixed offset from the thread pointer instead of calling
 * __tls_get_addr.  The preload module is loaded at start-up, and a
 * liburnet.so opened later takes a few bytes of the C library's surplus
 * static TLS.
 */
#define URNET__TLS _Thread_local __attribute__((tls_model("initial-exec")))

#endif
