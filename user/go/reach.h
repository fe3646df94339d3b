/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Proved leaks: which blocked goroutines nothing can ever wake, decided from
 * outside the way Go's goroutineleak profile decides it inside a GC cycle
 * (runtime/mgc.go: findGoroutineLeaks, isMaybeRunnable), over memory read
 * with process_vm_readv while the target runs on.
 *
 * Roots: the module's data and bss, the specials of the heap's spans
 * (finalizers, cleanups, weak handles), and the stacks of goroutines that
 * may still run (not blocked on a channel or a sync primitive). Marking is
 * conservative: every aligned word that points into an in-use heap object
 * slot marks that object (go/heap.h), and its contents are scanned unless
 * its span is noscan. Goroutine objects (runtime.g) and the sudogs are
 * scanned like any heap object, as the GC does, except the words Go's
 * profile hides too: sudog.c of goroutines blocked on channels and
 * sudog.elem of goroutines blocked on sync primitives (what they wait on).
 * Then the fixed point: a blocked goroutine whose channel (any case of a
 * select) or sync object is marked, or is not in the heap (a global), may
 * run: its stack becomes a root. What stays blocked and unmarked is leaked;
 * a nil-channel wait or a select with no cases is leaked by definition.
 *
 * An error of the conservative kind (a stale word taken for a pointer) can
 * only keep something reachable: it turns "leaked" into "parked", never the
 * reverse. What could go the other way — a pointer only in a running
 * goroutine's registers, an object allocated in a new arena mid-pass — is
 * why every leaked goroutine is read again after the pass and must still be
 * blocked on the same objects (go_reach__prove).
 */
#ifndef PW_GOREACH_H
#define PW_GOREACH_H

#include <stdbool.h>
#include <stdint.h>
#include "go/goroutines.h"

enum go_reach_verdict {
	GO_REACH_NONE,     /* not a leak candidate (may run, or not blocked) */
	GO_REACH_PARKED,   /* blocked, but its wait object is reachable */
	GO_REACH_LEAKED,   /* blocked on unreachable objects, checked twice */
};

struct go_reach_result {
	enum go_reach_verdict verdict;
	char evidence[160];
};

struct go_reach_stats {
	uint64_t arenas, spans, span_bytes, late_spans;
	uint64_t marked, scanned_bytes, reads;
	uint64_t specials;     /* finalizers, cleanups... scanned as roots */
	int rounds;            /* fixed-point rounds */
	int candidates, leaked, unstable; /* unstable: leaked at first, not on re-read */
	uint64_t elapsed_ns;
	char heap_layout[192];  /* where the heap layout came from */
};

/*
 * Judge every goroutine of s (res has s->n entries). 0, or -errno with a
 * sentence in err when the heap cannot be read (ENOTSUP: no heap layout for
 * this binary; the verdicts stay NONE), -ENOMEM.
 */
int go_reach__prove(const struct go_process *p, const struct go_snapshot *s,
		    struct go_reach_result *res, struct go_reach_stats *st, char *err,
		    size_t errlen);

#endif
