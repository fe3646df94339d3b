/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * One sweep: ask the kernel what every thread is doing now, keep the ones
 * parked past the threshold in an indefinite wait, and only for those pay
 * for unwinding, symbolizing and the creator's stack.
 */
#ifndef PW_SWEEP_H
#define PW_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "threads/creators.h"
#include "rules/idle.h"
#include "go/sweep.h"
#include "rules/ignore.h"
#include "threads/ksyms.h"
#include "threads/spin.h"
#include "report/report.h"
#include "tracer.h"

struct sweep_opts {
	uint64_t threshold_ns;
	uint64_t attach_ns;   /* CLOCK_MONOTONIC when the tracer was attached */
	bool show_timed;
	bool show_idle;
	bool keep_idle;       /* idle threads listed too, until growth has seen their
			       * site (report__fold_idle): a pool at rest is idle
			       * only while its count does not keep rising */
	bool kernel_stacks;
	int max_frames;
	const struct idle_list *idle;
	bool builtin_idle;    /* the built-in list (not --idle-file): Go threads
			       * running only runtime code, or Go code, are idle */
	struct ignore_set *ignore; /* may be NULL */
	struct go_watch *go;       /* goroutines too; NULL: threads only */
	struct spin_history *spin; /* running threads across looks; NULL: --once */
	const pid_t *pids;    /* -p targets, for "exited" reporting */
	int npids;
	struct targets *targets; /* -p identities (PID + start time), or NULL */
	/* Command mode's end-of-run snapshot: every thread of end_tgid but
	 * end_tid (the one calling exit) is left behind, whatever it does;
	 * their state comes from the exit probe's record, not from now. */
	pid_t end_tgid;
	uint32_t end_tid;
	const struct go_test_names *tests; /* command mode: name leaking tests */
};

/* Fills r (which the caller zeroed and later frees). 0 or -errno. */
int sweep__run(struct tracer *t, struct creators *c, const struct ksyms *k,
	       const struct sweep_opts *o, struct pw_report *r);

#endif
