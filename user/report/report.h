/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The report model: what one sweep found, fed to every printer. Built by
 * threads/sweep.c and go/sweep.c, grouped here, printed by text.c, json.c,
 * folded.c and pprof.c.
 */
#ifndef PW_REPORT_H
#define PW_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "parkwatch.h"
#include "report/stack.h"
#include "threads/syscalls.h"
#include "threads/spin.h"
#include "go/goroutines.h"
#include "threads/waitgraph.h"

struct pw_creator {
	uint32_t tid, pid;
	char comm[PW_COMM_LEN];
	uint64_t born_ns;
	bool is_process;      /* a fork: the creator is the parent process */
	struct pw_stack stack; /* creation call site */
};

struct pw_flagged {
	uint32_t pid, tid;
	char comm[PW_COMM_LEN];
	char *exe;
	char state;           /* 'S', 'D' */
	struct pw_wait_desc wait;
	uint64_t futex_word;  /* valid when has_futex_word */
	bool has_futex_word;
	uint64_t parked_ns;
	bool exact;           /* start seen at futex entry, not estimated */
	bool since_attach;    /* wait began before parkwatch attached */
	const char *idle_match; /* the idle rule's reason, NULL if not idle */
	uint64_t born_ns, nvcsw;
	struct pw_stack stack;
	struct pw_stack kstack;
	bool has_kstack;
	struct pw_creator *creator; /* NULL: created before parkwatch started */
	int group;
	int site_count;       /* growing: its site's parked count, rising (growth.c) */
	bool spinning;        /* running at every look, never slept (spin.c) */
	struct spin_evidence spin; /* valid when spinning */
	bool stack_sampled;   /* stack from a CPU sample of the running thread */
	struct pw_wait_edge waits_for; /* who it waits for (waitgraph.c) */
};

/* A flagged goroutine: what the snapshot read, and the verdict. */
struct pw_gflagged {
	struct pw_goroutine g;       /* owns its stack and created_by strings */
	const char *class;           /* "leaked", "parked", "spinning", "growing" */
	char *evidence;              /* leaked: why (go/reach.c), else NULL; owned
				      * (a pointer: 100k goroutines, few leaked) */
	uint64_t parked_ns;          /* lower bound, 0 when unknown */
	const char *duration_source; /* "observed", "gc_waitsince", "unknown", NULL */
	int site_count;              /* growing: live goroutines of its site */
	bool stack_sampled;          /* stack from a CPU sample of its thread */
	int group;
};

/* A Go process whose goroutines were read (flagged or not). */
struct pw_goproc {
	uint32_t pid;
	char version[32];
	const char *version_source;  /* where version came from, NULL unknown */
	const char *layout_source;
	int goroutines;              /* live goroutines read */
	int runtime_hidden;          /* runtime-owned, not judged */
	int running_at_exit;         /* end of run: on a CPU then, not judged */
	char *error;                 /* why they could not be read, or NULL */
	bool proved;                 /* --prove: the reachability pass ran */
	uint64_t prove_us;           /* its duration */
	int prove_leaked;            /* goroutines it proved leaked */
	int prove_unstable;          /* leaked in the pass, changed when read again */
	uint64_t prove_scanned;      /* bytes of memory scanned */
	char *prove_error;           /* --prove: why it could not run, or NULL */
	char *prove_layout;          /* --prove: where the heap layout came from */
};

/* Why a process is listed in exited. */
enum pw_exit_reason {
	PW_EXIT_DURING_SWEEP, /* between the kernel's listing and the reading */
	PW_EXIT_TARGET,       /* a -p target ended: no longer watched */
	PW_EXIT_PID_REUSED,   /* a -p target's PID now names another process */
};

struct pw_exited {
	uint32_t pid;
	enum pw_exit_reason reason;
};

struct pw_group {
	int id;
	int first;  /* index of the first member in report.threads */
	int count;
};

/* Idle threads not listed (no --show-idle), counted per process and
 * reason: the text report folds them into one line per process. */
struct pw_idle_count {
	uint32_t pid;
	const char *reason;  /* owned by the idle list, which outlives reports */
	uint64_t count;
};

/* An ignore rule and how often it matched (text owned by the ignore set). */
struct pw_rule_use {
	const char *rule;   /* e.g. "top worker_wait", "baseline old.json" */
	const char *origin; /* "--ignore-top", "rules.txt:3" */
	uint64_t matched;   /* over the whole run so far */
};

struct pw_stats {
	uint64_t tasks_seen, candidates, flagged, idle_hidden, timed_hidden, ignored;
	uint64_t tracked_threads, creator_records;
	uint64_t threads_map_full, wait_slot_shared, clone_events_lost;
};

struct pw_report {
	const char *mode;    /* "once", "watch" or "command" */
	bool futex_hooks;
	bool final;
	bool kernel_stacks;
	uint64_t threshold_ns;
	uint64_t time_ns;    /* CLOCK_REALTIME at the sweep */
	struct pw_flagged *threads;
	int nthreads, cap;
	struct pw_group *groups;
	int ngroups;
	struct pw_exited *exited; /* processes that left this report, once each */
	int nexited;
	struct pw_gflagged *goroutines;
	int ngoroutines, gcap;
	struct pw_group *ggroups;
	int nggroups;
	struct pw_goproc *goprocs;
	int ngoprocs;
	struct pw_idle_count *idle; /* sorted by pid, then first seen */
	int nidle;
	const struct pw_rule_use *rules; /* ignore rules, owned by the ignore set */
	int nrules;
	/* Command mode's final report: what the end-of-run snapshot saw. */
	bool has_end;
	bool end_snapshot;   /* the command called exit() and was swept */
	bool end_covered;    /* nothing it could leave went unseen: swept, or a
			      * single thread, or a tool (not a subject) */
	int exit_status;     /* the command's exit code (128+sig if killed) */
	char end_reason[256];
	/* Command mode: the process of the tree an end-of-run report is about
	 * (strings owned by the session, valid while the report is printed). */
	struct {
		bool set;
		bool descendant;     /* started by the command, not the command */
		uint32_t pid;
		const char *cmdline, *exe;
		const char *tool;    /* a tool, not a subject ("cmd/go"), or NULL */
		const char *note;    /* e.g. why test names are unknown, or NULL */
	} process;
	struct pw_stats stats;
	/* Wait-for graph (waitgraph.c): cycles and chains over the threads. */
	struct pw_deadlock *deadlocks;
	int ndeadlocks;
	struct pw_wait_chain *chains;
	int nchains;
};

/* Append a zeroed entry; NULL on ENOMEM. */
struct pw_flagged *report__add(struct pw_report *r);
int report__add_exited(struct pw_report *r, uint32_t pid);
/* One more idle thread of pid with this reason. 0 or -ENOMEM. */
int report__count_idle(struct pw_report *r, uint32_t pid, const char *reason);
/* r->idle[i] starts a process's entries: the index past them, their total
 * in *total (the printers' one line or object per process). */
int report__idle_process(const struct pw_report *r, int i, uint64_t *total);
/* Verdicts as a mask, for --fail-on. */
#define REPORT_VERDICT_LEAKED 1u
#define REPORT_VERDICT_DEADLOCKED 2u
#define REPORT_VERDICT_GROWING 4u
#define REPORT_VERDICT_SPINNING 8u
#define REPORT_VERDICT_PARKED 16u
/* "leaked,parked" -> mask; 0 or -EINVAL (unknown or empty word). */
int report__parse_verdicts(const char *s, unsigned *mask);
/* Was anything flagged whose verdict is in mask (0: anything at all)? */
bool report__flagged(const struct pw_report *r, unsigned mask);

/* A thread's verdict, one vocabulary with the goroutines': "deadlocked"
 * (in a cycle of the wait-for graph), "idle", "growing" (its site's count
 * rose at each of the last looks), "spinning" (still running at the end of
 * a command's run), else "parked". */
const char *report__thread_verdict(const struct pw_report *r, const struct pw_flagged *t);
/* The same with a reason (report__add_exited: PW_EXIT_DURING_SWEEP). */
int report__add_exited_why(struct pw_report *r, uint32_t pid, enum pw_exit_reason why);
const char *report__exit_reason_name(enum pw_exit_reason why);
/* Drop thread i and what it owns; the last thread takes its place (call
 * before report__group: groups index threads). */
void report__remove(struct pw_report *r, int i);
/* Thread i, listed, is idle after all (reason): counted, not listed. */
void report__hide_idle(struct pw_report *r, int i, const char *reason);
/*
 * After growth__observe on a report swept with keep_idle: an idle thread
 * whose site keeps growing (site_count) is idle no more (a pool whose
 * workers pile up is not at rest); the other idle threads are folded into
 * the per-process idle counts unless show_idle. Regroups. 0 or -ENOMEM.
 */
int report__fold_idle(struct pw_report *r, bool show_idle);
/* Sort by pid and stack, then group threads of a process with the same wait
 * and identical stacks. */
int report__group(struct pw_report *r);
/* Group the goroutines (call after adding them all). */
int report__group_goroutines(struct pw_report *r);
/* Room for n more goroutines in one allocation (a snapshot's worth:
 * no doubling of 100k). 0 or -ENOMEM. */
int report__reserve_goroutines(struct pw_report *r, int n);
/* Append a flagged goroutine (zeroed); NULL on ENOMEM. */
struct pw_gflagged *report__add_goroutine(struct pw_report *r);
struct pw_goproc *report__add_goproc(struct pw_report *r);
/* What one listed goroutine owns (its goroutine, the evidence). */
void report__gflagged_free(struct pw_gflagged *f);
void report__free(struct pw_report *r);
/* ISO 8601 UTC with milliseconds, e.g. "2026-11-28T06:30:00.123Z". */
void format_iso_time(uint64_t realtime_ns, char *buf, size_t len);

enum report_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_FOLDED, FORMAT_PPROF };

/* What a folded line's weight counts. */
enum folded_weight { WEIGHT_COUNT, WEIGHT_PARKED_NS };

struct print_opts {
	bool color;
	enum folded_weight weight;
};

void report__print_text(const struct pw_report *r, const struct print_opts *o, FILE *f);
void report__print_json(const struct pw_report *r, FILE *f);
/* One line per distinct stack, root first: "comm;frame;...;leaf weight".
 * Returns 0 or -errno. */
int report__print_folded(const struct pw_report *r, const struct print_opts *o, FILE *f);
/* A gzipped pprof profile.proto, samples weighted by count and parked ns.
 * Returns 0 or -errno. */
int report__print_pprof(const struct pw_report *r, FILE *f);

#endif
