// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Command mode's ends: the end-of-run snapshot of the command and of every
 * process it started (when it calls exit(), stopped), and the reports of
 * those that ended otherwise (killed, _exit, an exec ending their threads).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "session_priv.h"

/* Command mode: which process of the tree a report is about. */
static void set_process(struct session *s, struct pw_report *r, pid_t pid)
{
	struct tree_proc *p = s->tree ? descendants__get(s->tree, pid) : NULL;

	r->process.set = true;
	r->process.pid = pid;
	r->process.descendant = pid != s->cmd.pid;
	if (!p)
		return;
	r->process.cmdline = p->cmdline;
	r->process.exe = p->exe;
	r->process.tool = p->tool;
	r->process.note = p->note[0] ? p->note : NULL;
	/* The test runner probe is attached while the test binary runs: if
	 * it missed the root runner (on the main goroutine, goid 1, before
	 * any test), the first tests' goroutines may not be named. */
	if (p->test_binary && !r->process.note && !tracer__test_name(s->t, pid, 1, NULL, 0))
		r->process.note = "test names incomplete: the first tests started before "
				  "parkwatch's testing.tRunner probe was in place (attached "
				  "after the exec, without stopping the process); their "
				  "goroutines say test: null";
}

static void fill_end(struct session *s, struct pw_report *r)
{
	const char *who = s->end->tgid == (uint32_t)s->cmd.pid ? "the command" : "the process";

	r->has_end = true;
	r->end_snapshot = true;
	r->exit_status = (int)(s->end->code & 0xff);
	set_process(s, r, s->end->tgid);
	snprintf(r->end_reason, sizeof(r->end_reason),
		 "%s called exit(%d) in thread %u; every other thread still alive then "
		 "is listed", who, r->exit_status, s->end->tid);
}

/* Sweep these processes from now on: the command's tree as known now. */
int session__target_tree(struct session *s)
{
	static pid_t live[MAX_PIDS];
	int n = descendants__live(s->tree, live, MAX_PIDS), k = 0;

	/* Tools are not subjects (the go command, its compiler and linker) */
	for (int i = 0; i < n; i++)
		if (!(tracer__proc_flags(s->t, live[i]) & PW_PROC_TOOL))
			live[k++] = live[i];
	n = k;
	if (!n || tracer__retarget(s->t, live, n))
		return 0;
	s->so.pids = live;
	s->so.npids = n;
	return n;
}

/* The command's own end without a stop: a tool, or a single thread. */
static int end_not_stopped(struct session *s, const struct pw_end_event *ev)
{
	struct pw_report r = { .mode = s->mode, .final = true, .threshold_ns = 0 };
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	r.has_end = true;
	r.exit_status = (int)(ev->code & 0xff);
	set_process(s, &r, ev->tgid);
	r.end_snapshot = !r.process.tool;
	r.end_covered = true;
	if (r.process.tool)
		snprintf(r.end_reason, sizeof(r.end_reason),
			 "the command called exit(%d); it is the Go toolchain's %s, not a "
			 "subject: its own goroutines and threads are not examined, the "
			 "processes it ran are", r.exit_status, r.process.tool);
	else
		snprintf(r.end_reason, sizeof(r.end_reason),
			 "the command called exit(%d) in thread %u, its only thread: nothing "
			 "else was left", r.exit_status, ev->tid);
	err = session__print(s, &r);
	report__free(&r);
	return err;
}

/*
 * A process of the tree called exit() and the probe stopped it: sweep it as
 * it was, with every other thread counted (threshold 0, timed waits too),
 * then let it go on exiting. A descendant's report is printed only when it
 * left something behind; the command's always.
 */
static int end_of_run(struct session *s, const struct pw_end_event *ev)
{
	bool root = ev->tgid == (uint32_t)s->cmd.pid;
	struct pw_end_event resumed;
	struct sweep_opts so = s->so;
	pid_t pid = ev->tgid;
	uint64_t t0, t1;
	int err;

	if (ev->flags & PW_END_LINKER) {
		if (!command__pid_stopped(pid, 2000))
			fprintf(stderr, "parkwatch: the linker %d did not stop at its end\n", pid);
		descendants__on_linker_end(s->tree, pid);
		kill(pid, SIGCONT);
		if (!root)
			return 0;
		resumed = *ev; /* the command itself: reported as a tool's end */
		resumed.flags = PW_END_NOT_STOPPED;
		ev = &resumed;
	}
	if (root)
		s->end_done = true;
	if (ev->flags & PW_END_NOT_STOPPED)
		return root ? end_not_stopped(s, ev) : 0;
	t0 = session__now_ns();
	if (!command__pid_stopped(pid, 2000))
		fprintf(stderr, "parkwatch: process %d did not stop for the end-of-run snapshot; "
			"its threads may have moved on\n", pid);
	t1 = session__now_ns();
	if ((err = tracer__retarget(s->t, &pid, 1))) {
		fprintf(stderr, "parkwatch: cannot sweep process %d: %s\n", pid, strerror(-err));
		kill(pid, SIGCONT);
		return err;
	}
	so.threshold_ns = 0;
	so.show_timed = true;
	so.end_tgid = ev->tgid;
	so.end_tid = ev->tid;
	so.pids = &pid;
	so.npids = 1;
	s->end = ev;
	err = session__report(s, &so, root, !root, fill_end);
	s->end = NULL;
	kill(pid, SIGCONT);
	if (s->c->verbose)
		fprintf(stderr, "parkwatch: end of run of pid %d: stopped in %.1f ms, swept and "
			"reported in %.1f ms\n", pid, (t1 - t0) / 1e6, (session__now_ns() - t1) / 1e6);
	return err;
}

/* Every end-of-run event received so far, in order. */
int session__handle_ends(struct session *s)
{
	int err = 0;

	for (int i = 0; i < s->nends; i++)
		if (!err)
			err = end_of_run(s, &s->ends[i]);
		else if (!(s->ends[i].flags & PW_END_NOT_STOPPED))
			kill(s->ends[i].tgid, SIGCONT); /* never left stopped */
	s->nends = 0;
	return err;
}

/* How a process ended, from its wait status. */
static void describe_status(uint32_t status, char *buf, size_t len, int *code)
{
	if (status & 0x7f) {
		*code = 128 + (status & 0x7f);
		snprintf(buf, len, "killed by signal %u", status & 0x7f);
	} else {
		*code = (status >> 8) & 0xff;
		snprintf(buf, len, "exited (status %d) without calling exit() (e.g. _exit or "
			 "exit_group directly)", *code);
	}
}

/*
 * A descendant is gone. Ended through exit(): its end-of-run report said
 * all. Otherwise, if it ever had a second thread, say that it was not
 * examined (a single thread cannot leave anything behind; a tool is not a
 * subject). The command's own end is reported when it is reaped.
 */
void session__proc_ended(struct session *s, const struct pw_proc_end_event *ev)
{
	struct pw_report r = { .mode = s->mode, .final = false };
	const struct tree_proc *p;
	char how[200];
	struct timespec ts;

	if (!s->tree)
		return;
	if (ev->tgid == (uint32_t)s->cmd.pid) {
		s->root_single = ev->threads == 0;
		descendants__on_proc_end(s->tree, ev);
		return;
	}
	p = descendants__peek(s->tree, ev->tgid);
	/* A tool judged after the kernel side looked (it ran on meanwhile)
	 * is known here: the exec event came first. */
	if (!ev->ended && !(ev->proc_flags & PW_PROC_TOOL) && !(p && p->tool) && ev->threads > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		r.time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		r.has_end = true;

		set_process(s, &r, ev->tgid);
		describe_status(ev->exit_code, how, sizeof(how), &r.exit_status);
		/* A Go or static program's exit path is probed once parkwatch
		 * has read it, while it runs: one that ended normally without
		 * the probe firing ended first. */
		if (p && p->own_exit == 'g' && !(ev->exit_code & 0x7f))
			snprintf(how, sizeof(how), "exited (status %d) before its end-of-run probe "
				 "was in place (attached after its exec, without stopping it)",
				 r.exit_status);
		else if (p && p->own_exit == 's' && !(ev->exit_code & 0x7f))
			snprintf(how, sizeof(how), "exited (status %d) without its end-of-run probe "
				 "firing: it called _exit, or ended before the probe was in place "
				 "(attached after its exec, without stopping it)", r.exit_status);
		else if (p && p->own_exit == '?' && !(ev->exit_code & 0x7f))
			snprintf(how, sizeof(how), "exited (status %d) before parkwatch could read "
				 "its executable (judged after its exec, without stopping it)",
				 r.exit_status);
		snprintf(r.end_reason, sizeof(r.end_reason),
			 "no end-of-run snapshot: process %u %s", ev->tgid, how);
		session__print(s, &r);
		report__free(&r);
	}
	descendants__on_proc_end(s->tree, ev);
	descendants__on_end(s->tree, ev->tgid);
}

/* A process of the tree exec'd while other threads ran: the kernel ended
 * them at the exec, unexamined. Said in a report of its own (before the
 * exec event updates its command line: this is the old program's). */
void session__exec_lost(struct session *s, const struct pw_exec_lost_event *ev)
{
	struct pw_report r = { .mode = s->mode, .final = false };
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	r.time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	r.has_end = true;
	r.process.set = true;
	r.process.pid = ev->tgid;
	r.process.descendant = ev->tgid != (uint32_t)s->cmd.pid;
	if (s->tree) {
		const struct tree_proc *p = descendants__peek(s->tree, ev->tgid);

		r.process.cmdline = p ? p->cmdline : NULL;
		r.process.exe = p ? p->exe : NULL;
	}
	snprintf(r.end_reason, sizeof(r.end_reason),
		 "no end-of-run snapshot: process %u replaced itself by exec while %u other "
		 "thread%s ran; the exec ended them unexamined", ev->tgid, ev->threads,
		 ev->threads == 1 ? "" : "s");
	session__print(s, &r);
	report__free(&r);
}

/* The command ended without the end-of-run probe firing: say why. */
void session__fill_no_end(struct session *s, struct pw_report *r)
{
	int code = command__exit_code(&s->cmd);

	r->has_end = true;
	r->exit_status = code;
	set_process(s, r, s->cmd.pid);
	r->end_covered = r->process.tool || (s->root_single && code < 128);
	if (r->process.tool)
		snprintf(r->end_reason, sizeof(r->end_reason),
			 "the command exited (status %d); it is the Go toolchain's %s, not a "
			 "subject: its own goroutines and threads are not examined, the "
			 "processes it ran are", code, r->process.tool);
	else if (s->root_single && code < 128)
		snprintf(r->end_reason, sizeof(r->end_reason),
			 "no end-of-run snapshot: the command exited (status %d) without calling "
			 "exit(); it never had a second thread, so none was left behind", code);
	else if (code > 128)
		snprintf(r->end_reason, sizeof(r->end_reason),
			 "no end-of-run snapshot: the command was killed by signal %d", code - 128);
	else
		snprintf(r->end_reason, sizeof(r->end_reason),
			 "no end-of-run snapshot: the command exited (status %d) without calling "
			 "exit() (e.g. _exit or exit_group directly)", code);
}
