/* SPDX-License-Identifier: MIT */
/* Shared by the test suites: fd counting and suite running. */
#ifndef URNET_TESTUTIL_H
#define URNET_TESTUTIL_H

#include <check.h>
#include <dirent.h>
#include <stdlib.h>

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
