/* SPDX-License-Identifier: MIT */
/*
 * Listening socket for the benchmark servers written on plain sockets.
 * Every server takes the port as its only argument (0 = ephemeral) and
 * announces the bound port as one line "port=NNNN" on stdout, which the
 * runner reads.
 */
#ifndef URNET_BENCH_LISTEN_H
#define URNET_BENCH_LISTEN_H

/*
 * Parse the program's arguments (argv[1] = port), listen on 127.0.0.1 with
 * the largest backlog the kernel allows and print "port=N".  flags are
 * socket() type flags such as SOCK_NONBLOCK.  Exits with a usage message on
 * bad arguments and with an error message when the socket cannot be set up.
 */
int bench_listen(int argc, char **argv, int flags);

/* The same for programs with more arguments: port already checked. */
int bench_listen_port(const char *prog, int port, int flags);

/* "0".."65535" -> port, anything else -> -1. */
int bench_parse_port(const char *arg);

#endif
