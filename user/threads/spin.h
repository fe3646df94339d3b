/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Spinning threads: running at every look, never blocking in between. The
 * evidence is the scheduler's own: the thread is runnable at each of the
 * last SPIN_LOOKS looks, its voluntary context switches (nvcsw: every
 * sleep, wait or blocking call counts one) did not change between them, and
 * its CPU time rose. A thread that never sleeps for that long either loops
 * or computes: its sampled stack says which.
 */
#ifndef PW_SPIN_H
#define PW_SPIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "parkwatch.h"

#define SPIN_LOOKS 3

struct spin_history;

struct spin_evidence {
	int looks;        /* looks in a row it was running, without sleeping */
	uint64_t wall_ns; /* from the first of those looks to this one */
	uint64_t cpu_ns;  /* CPU time it used in that span */
};

struct spin_history *spin_history__new(void);
/* One sweep's records (any order). 0 or -ENOMEM. */
int spin_history__observe(struct spin_history *h, const struct pw_task *recs, size_t n);
/* Was rec judged spinning at the last observe? Evidence in *e. */
bool spin_history__spinning(const struct spin_history *h, const struct pw_task *rec,
			    struct spin_evidence *e);
void spin_history__free(struct spin_history *h);

#endif
