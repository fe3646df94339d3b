/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The report model as Prometheus metrics: the per-process series of one
 * sweep (collected once, label values escaped, cardinality capped), then
 * rendered in the Prometheus text format 0.0.4 or OpenMetrics 1.0 together
 * with the daemon's own counters. Metric names and labels are documented in
 * tools/parkwatch.8 and tools/doc/serve.md.
 */
#ifndef PW_METRICS_H
#define PW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "report/report.h"

enum metrics_format { METRICS_PROMETHEUS, METRICS_OPENMETRICS };

/* The daemon's own state, cumulative since it started. */
struct metrics_counters {
	uint64_t sweeps, sweep_errors, series_dropped;
	uint64_t reloads_ok, reloads_failed;
	uint64_t last_sweep_duration_ns;
	uint64_t last_sweep_time_ns;   /* CLOCK_REALTIME, 0 before the first */
};

/* The per-process series of one sweep, and its sweep-level figures. */
struct metrics_set;

/*
 * Collect r's series. At most max_series per-process series are kept (the
 * largest counts win); *dropped says how many did not fit. A process is
 * named by /proc/PID/comm (its own name, what the main thread calls itself),
 * or by the thread's name once it is gone. NULL + errno on ENOMEM.
 */
struct metrics_set *metrics__collect(const struct pw_report *r, int max_series,
				     uint64_t *dropped);
void metrics__free(struct metrics_set *s);

/* Write every metric family to f: set may be NULL (no sweep yet). */
void metrics__render(const struct metrics_set *s, const struct metrics_counters *c,
		     enum metrics_format fmt, FILE *f);

/*
 * A label value as the exposition formats want it: backslash, double quote
 * and newline escaped; other control bytes and bytes that are not valid
 * UTF-8 replaced by U+FFFD; cut (at a character) after max_bytes of input.
 * Malloc'd; NULL on ENOMEM.
 */
char *metrics__escape_label(const char *in, size_t max_bytes);

/* The parking site of a thread / goroutine stack: the innermost function
 * that is not the C library's (or C++'s) / Go runtime's or package sync's,
 * i.e. the code that asked to wait. "unknown" when no frame has a name. */
const char *metrics__thread_site(const struct pw_stack *s);
const char *metrics__goroutine_site(const struct pw_stack *s);

/* What an HTTP Accept header asks for: OpenMetrics when it names
 * application/openmetrics-text with a q-value at least that of text/plain
 * (and above 0); the text format 0.0.4 otherwise (also without a header). */
enum metrics_format metrics__negotiate(const char *accept);

#endif
