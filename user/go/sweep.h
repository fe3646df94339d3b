/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Goroutines in a sweep: find the Go processes among those swept, read their
 * goroutines, judge them against what earlier sweeps saw, and add the
 * flagged ones to the report. Keeps one handle and history per process for
 * the whole run (watch mode's durations and growth need them).
 */
#ifndef PW_GOSWEEP_H
#define PW_GOSWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "rules/idle.h"
#include "report/report.h"
#include "go/testname.h"

struct go_watch;

struct go_sweep_opts {
	uint64_t threshold_ns;
	bool show_idle;              /* also runtime-owned goroutines */
	const struct idle_list *idle; /* start functions hidden like the runtime's */
	int max_frames;
	pid_t end_tgid;              /* end of run: everything left is flagged */
	uint32_t end_tid;            /* the thread calling exit: its goroutine is not */
	const struct go_test_names *tests; /* test binaries: name the test, or NULL */
};

struct go_watch *go_watch__new(void);
struct go_precise;
/* --go-precise: exact park times from its probes (go/precise.h) win over the
 * sweeps' own. Set once, before the first sweep; p outlives w. Kept in the
 * watch rather than in go_sweep_opts so sweep.c's options stay as they are. */
void go_watch__set_precise(struct go_watch *w, const struct go_precise *p);
/* --prove: run the reachability pass (go/reach.h) on each Go process swept
 * and flag proved leaks "leaked" (any duration), with their evidence. */
void go_watch__set_prove(struct go_watch *w, bool prove);
/* pids: the processes swept now (sorted or not). 0 or -ENOMEM; a process
 * whose goroutines cannot be read is reported in r->goprocs, not an error. */
int go_watch__sweep(struct go_watch *w, const uint32_t *pids, int npids,
		    const struct go_sweep_opts *o, struct pw_report *r);
/* Threads of the Go processes just swept: name the frames the unwinder
 * could not (stripped binaries) from the pclntab. */
void go_watch__name_thread_frames(struct go_watch *w, struct pw_report *r);
/* Was pid read as a Go process by the sweeps? */
bool go_watch__is_go(const struct go_watch *w, uint32_t pid);
/* Is pc in the Go code (pclntab) of Go process pid? */
bool go_watch__go_code(const struct go_watch *w, uint32_t pid, uint64_t pc);
void go_watch__free(struct go_watch *w);

#endif
