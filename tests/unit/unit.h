/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Minimal unit-test harness: CHECK records failures, unit_done prints the
 * closing "N passed, M failed" line CI reads and sets the exit code. */
#ifndef PW_UNIT_H
#define PW_UNIT_H

#include <stdio.h>

static int unit_passed, unit_failed;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (cond) {                                                      \
			unit_passed++;                                           \
		} else {                                                         \
			unit_failed++;                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                \
		}                                                                \
	} while (0)

static inline int unit_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif
