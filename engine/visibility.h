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

#endif
