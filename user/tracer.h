/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The BPF side's lifecycle: check privileges and BTF, open the skeleton, size
 * the maps, load, attach; then sweep (run the task iterator) and drain clone
 * events on demand.
 */
#ifndef PW_TRACER_H
#define PW_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "parkwatch.h"

struct tracer_opts {
	const pid_t *pids;   /* NULL/0: every process */
	int npids;
	bool track_creators; /* fork/exit programs (watch mode) */
	bool futex_hooks;    /* sys_enter futex program */
	bool kernel_stacks;
	uint32_t max_threads;
	const char *btf_path; /* NULL: the running kernel's */
	bool verbose;
	pid_t command_pid;        /* command mode: the child, before its exec */
};

struct tracer;

/* Called for each ring buffer event drained by tracer__poll; kind is
 * PW_EVENT_CLONE (struct pw_clone_event), PW_EVENT_EXIT (struct
 * pw_exit_event) or PW_EVENT_END (struct pw_end_event). */
typedef int (*event_cb)(void *ctx, uint32_t kind, const void *data);

/*
 * Returns 0, or -errno with a message for people in errbuf (what failed and
 * what to do). Every failure here is an environment error (exit code 3).
 */
int tracer__open(const struct tracer_opts *o, event_cb cb, void *cb_ctx,
		 struct tracer **out, char *errbuf, size_t errlen);

/* Wait up to timeout_ms for clone events and hand them to the callback. */
int tracer__poll(struct tracer *t, int timeout_ms);

/*
 * Run the task iterator(s): every user thread (or every thread of the -p
 * processes). *recs is malloc'd. For -p, pid_seen[i] says whether pids[i]
 * still had threads.
 */
int tracer__sweep(struct tracer *t, struct pw_task **recs, size_t *nrecs, bool *pid_seen);

/* Stop watching -p target i (process tgid): its iterator is detached and
 * its filter entry removed, so a new process with the same PID is never
 * swept. */
void tracer__unwatch(struct tracer *t, int i, uint32_t tgid);

/* Sum of the per-CPU counters (enum pw_counter). */
void tracer__counters(struct tracer *t, uint64_t out[PW_CNT_MAX]);
/* Entries in the threads map now (walks the keys). */
size_t tracer__threads_tracked(struct tracer *t);

/* Command mode: a thread's state as the end-of-run probe recorded it. */
bool tracer__exit_snap(struct tracer *t, uint32_t tid, struct pw_exit_snap *out);
/* Command mode: how many exit paths the end-of-run probe is attached to. */
int tracer__end_probes(const struct tracer *t);
/* How command mode's per-executable probes are attached: "uprobe
 * multi-links", "perf-event uprobes" (kernels before 6.6, or
 * PARKWATCH_TEST_NO_MULTI_UPROBES set), or "multi-links untried". */
const char *tracer__exe_probe_kind(const struct tracer *t);

/* Command mode, per executable a process of the tree execs: */
enum tracer_exe_probe {
	TRACER_PROBE_EXIT,     /* a static exit() */
	TRACER_PROBE_GO_EXIT,  /* runtime.exit (ABI0: code on the stack) */
	TRACER_PROBE_TRUNNER,  /* testing.tRunner; cookie: goid | name_off << 16 */
};
/* Attach one probe, kept for executable exe, to path at func (its symbol
 * table) + offset, or at a file offset when func is NULL. 0 or -errno. */
int tracer__attach_exe_probe(struct tracer *t, const struct pw_exe_key *exe,
			     enum tracer_exe_probe which, const char *path, const char *func,
			     uint64_t offset, uint64_t cookie);
/* No process of the tree runs exe any more: forget its verdict and detach
 * its probes (in the background: each detach waits for a grace period). */
void tracer__release_exe(struct tracer *t, const struct pw_exe_key *exe);
/* Judge an executable once: the processes running it take proc_flags (the
 * kernel side reads the verdict when it needs it). */
void tracer__set_exe_verdict(struct tracer *t, const struct pw_exe_key *exe, uint32_t proc_flags);
/* PW_PROC_* flags of a process of the tree (0 if not in it), the verdict
 * on its executable included. */
uint32_t tracer__proc_flags(struct tracer *t, uint32_t tgid);
/* Is tgid a live process of the command's tree? */
bool tracer__in_tree(struct tracer *t, uint32_t tgid);
/* The test a tRunner goroutine ran (Go test binaries), false if unknown. */
bool tracer__test_name(const struct tracer *t, uint32_t tgid, uint64_t goid, char *buf,
		       size_t len);
/* Sweep these processes from now on (task iterators re-made). 0 or -errno. */
int tracer__retarget(struct tracer *t, const pid_t *pids, int npids);

void tracer__close(struct tracer *t);
/*
 * Command mode's end: the same, by a child process, so that parkwatch exits
 * (and the command's caller goes on) without waiting for the detaches, one
 * grace period each. The tree is emptied first, so that the probes still
 * attached meanwhile act on no process.
 */
void tracer__close_in_background(struct tracer *t);

#endif
