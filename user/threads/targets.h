/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The -p processes, each identified by its PID and its start time (field 22
 * of /proc/PID/stat, read when the option was parsed): once a target has
 * exited its PID can name a new, unrelated process, which must never be
 * reported as the target. A target found gone is listed once in the
 * report's "exited" and dropped (its iterator detached, its filter entry
 * removed); with every target gone, watch mode ends.
 */
#ifndef PW_TARGETS_H
#define PW_TARGETS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "report/report.h"

#define TARGETS_MAX 64

struct tracer;

struct targets {
	const pid_t *pids;
	const uint64_t *start; /* start ticks per pid; 0: unknown, not compared */
	int n;
	bool gone[TARGETS_MAX];
	int ngone;
};

/* Is target i still the process it was? */
enum target_state { TARGET_SAME, TARGET_EXITED, TARGET_REUSED };
enum target_state targets__state(const struct targets *t, int i);
/* Has any target not yet dropped changed? (a cheap look, between sweeps) */
bool targets__any_changed(const struct targets *t);
/* Drop every target that changed: list it in r->exited, stop watching it.
 * Returns how many were dropped now; -ENOMEM. */
int targets__drop_changed(struct targets *t, struct tracer *tr, struct pw_report *r);
static inline bool targets__all_gone(const struct targets *t)
{
	return t && t->n && t->ngone == t->n;
}

#endif
