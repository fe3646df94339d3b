/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Which goroutines are leaks, from successive snapshots of one process:
 *  - parked:   waiting with no timeout, not a runtime goroutine;
 *  - spinning: running or runnable at every snapshot over the window (a loop
 *              with no way out never parks);
 *  - growing:  the live goroutines of one creation site rose at each of the
 *              last snapshots (a worker started per request, never stopped).
 * And since when a parked goroutine has waited: the runtime's own waitsince
 * is set only by a GC, so the history remembers where each goroutine was
 * seen parked and since when.
 */
#ifndef PW_GOCLASS_H
#define PW_GOCLASS_H

#include <stdbool.h>
#include <stdint.h>
#include "go/goroutines.h"

enum go_class { GO_CLASS_NONE, GO_CLASS_PARKED, GO_CLASS_SPINNING, GO_CLASS_GROWING };

struct go_verdict {
	enum go_class class;
	int site_count;              /* growing: live goroutines of its site now */
	uint64_t parked_ns;          /* a lower bound; 0 when unknown */
	const char *duration_source; /* "precise" (exact, --go-precise), "observed",
					"gc_waitsince", "unknown", NULL when not parked */
};

#define GO_GROWTH_SWEEPS 3 /* rises in a row before a site is "growing" */

struct go_history;

struct go_history *go_history__new(void);
/*
 * Fold one snapshot in and judge each goroutine (v has s->n entries).
 * threshold_ns: parked goroutines with a known duration below it are not
 * flagged; an unknown duration is flagged only on the first snapshot (a
 * single look cannot do better; later ones wait to know).
 */
int go_history__observe(struct go_history *h, const struct go_snapshot *s, uint64_t threshold_ns,
			struct go_verdict *v);
/* Same, with park_ns[i] (CLOCK_MONOTONIC, 0 when unknown) the exact moment
 * goroutine i parked, from --go-precise's probes: it wins over the lower
 * bounds (duration_source "precise"). park_ns may be NULL. */
int go_history__observe_precise(struct go_history *h, const struct go_snapshot *s,
				uint64_t threshold_ns, const uint64_t *park_ns, struct go_verdict *v);
/* Snapshots folded in so far. */
int go_history__sweeps(const struct go_history *h);
void go_history__free(struct go_history *h);

const char *go_class_name(enum go_class c);
/* A function of the Go runtime's own machinery: runtime.*, internal/...
 * (bytealg, ...), or an assembly helper without a package path
 * (indexbytebody). */
bool go_runtime_function(const char *fn);
/* Wait reasons that end by themselves (time.Sleep): not flagged as parked. */
bool go_wait_is_timed(const char *wait_reason);

#endif
