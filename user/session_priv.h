/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The session's state, shared by session.c (the run loop) and
 * session_end.c (command mode's ends). */
#ifndef PW_SESSION_PRIV_H
#define PW_SESSION_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "command.h"
#include "config.h"
#include "descendants.h"
#include "go/testname.h"
#include "threads/sweep.h"
#include "threads/targets.h"
#include "output.h"
#include "tracer.h"

struct creators;
struct ksyms;
struct idle_list;
struct go_watch;
struct go_precise;
struct growth;
struct spin_history;
struct server;

struct session {
	struct config *c;
	struct tracer *t;
	struct creators *cr;
	struct ksyms *k;
	struct idle_list *idle;
	struct go_watch *go;
	struct go_precise *gp;   /* --go-precise */
	struct server *srv;      /* parkwatch serve */
	struct sweep_opts so;
	struct targets targets;  /* -p: PID + start time */
	struct output out;
	bool final_written;      /* the run's last report reached the output */
	const char *mode;
	struct command cmd;
	bool has_command;
	bool command_ran;        /* released and exec'd */
	struct descendants *tree; /* command mode: the command's process tree */
	struct go_test_names tests;
	/* End-of-run probe events not handled yet (their processes wait
	 * stopped), and the one being handled. */
	struct pw_end_event ends[256];
	int nends;
	const struct pw_end_event *end;
	bool end_done;           /* the command's own end was reported */
	bool root_single;        /* the command ended never having had a second thread */
	bool flagged;
	struct growth *growth;   /* threads' sites across looks (growing) */
	struct spin_history *spin; /* running threads across looks (spinning) */
};

uint64_t session__now_ns(void);
/* Print a report in the configured format; 0 or -errno. */
int session__print(struct session *s, const struct pw_report *r);
/* One sweep and its report; 0 or -errno. end: fill in the end of run.
 * quiet: print it only if something was flagged (a descendant's end). */
int session__report(struct session *s, const struct sweep_opts *so, bool final, bool quiet,
		    void (*end)(struct session *, struct pw_report *));

/* session_reload.c: serve's SIGHUP, the ignore rules and the idle file read
 * again; both replaced or neither (the old ones stay, the error is said).
 * 0 or -errno. */
int session__reload_rules(struct session *s);

/* session_end.c */
/* Every end-of-run probe event received so far (their processes wait
 * stopped), in order; 0 or -errno. */
int session__handle_ends(struct session *s);
/* A process of the tree ended (PW_EVENT_PROC_END). */
void session__proc_ended(struct session *s, const struct pw_proc_end_event *ev);
/* An exec ended other threads of a process of the tree. */
void session__exec_lost(struct session *s, const struct pw_exec_lost_event *ev);
/* The command ended without the end-of-run probe firing: say why. */
void session__fill_no_end(struct session *s, struct pw_report *r);
/* Periodic sweeps: the subjects of the command's tree as known now; how
 * many (0: nothing to sweep, the tracer left as it was). */
int session__target_tree(struct session *s);

#endif
