// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "go/class.h"
#include "go/elf.h"
#include "go/precise.h"
#include "go/reach.h"
#include "go/goroutines.h"
#include "go/sweep.h"
#include "go/testname.h"
#include "go/wait.h"

/* One process seen by the sweeps: Go or not, decided once. */
struct go_entry {
	uint32_t pid;
	unsigned long long start; /* /proc/PID/stat starttime: pid reuse */
	struct go_process *proc;  /* NULL: not Go, or unreadable (see error) */
	struct go_history *hist;
	char *error;
	bool seen;                /* in the current sweep */
	bool gone;                /* exited between the sweep and the read */
	int reopen;               /* layout inference refused: looks left */
};

/* An inferred layout may pass on a later look (a program just started has
 * few goroutines to check a candidate on): so many more sweeps try again. */
#define INFER_RETRIES 4

struct go_watch {
	struct go_entry *v;
	int n;
	const struct go_precise *precise; /* NULL without --go-precise */
	bool prove;                       /* --prove */
};

struct go_watch *go_watch__new(void)
{
	return calloc(1, sizeof(struct go_watch));
}

void go_watch__set_precise(struct go_watch *w, const struct go_precise *p)
{
	w->precise = p;
}

void go_watch__set_prove(struct go_watch *w, bool prove)
{
	w->prove = prove;
}

/* --prove: the verdict of the reachability pass for each goroutine of s;
 * NULL without --prove. A pass that cannot run leaves every verdict NONE
 * and says why in gp->prove_error. */
static struct go_reach_result *prove(const struct go_watch *w, const struct go_entry *e,
				     const struct go_snapshot *s, struct pw_goproc *gp)
{
	struct go_reach_result *res = w->prove ? calloc(s->n ? s->n : 1, sizeof(*res)) : NULL;
	struct go_reach_stats st;
	char err[256] = "";

	if (res && go_reach__prove(e->proc, s, res, &st, err, sizeof(err))) {
		memset(res, 0, (s->n ? s->n : 1) * sizeof(*res));
		gp->prove_error = strdup(err[0] ? err : "reachability pass failed");
	} else if (res) {
		gp->proved = true;
		gp->prove_us = st.elapsed_ns / 1000;
		gp->prove_leaked = st.leaked;
		gp->prove_unstable = st.unstable;
		gp->prove_scanned = st.scanned_bytes;
		gp->prove_layout = strdup(st.heap_layout);
	}
	return res;
}

/* Exact park times of the waiting goroutines of s (0: none known); NULL
 * without --go-precise or on ENOMEM (then the sweep's own durations). */
static uint64_t *precise_parks(const struct go_watch *w, uint32_t pid, const struct go_snapshot *s)
{
	uint64_t *park = w->precise ? calloc(s->n ? s->n : 1, sizeof(*park)) : NULL;

	for (int i = 0; park && i < s->n; i++)
		if (s->g[i].status == 4 /* _Gwaiting */)
			park[i] = go_precise__parked_since(w->precise, pid, s->g[i].gaddr,
							   s->now_ns, s->version,
							   s->g[i].wait_reason);
	return park;
}

static void entry_free(struct go_entry *e)
{
	go_process__free(e->proc);
	go_history__free(e->hist);
	free(e->error);
}

void go_watch__free(struct go_watch *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		entry_free(&w->v[i]);
	free(w->v);
	free(w);
}

static unsigned long long start_time(uint32_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
		       "%*d %*d %llu", &t);
	fclose(f);
	return t;
}

static struct go_entry *entry_for(struct go_watch *w, uint32_t pid)
{
	unsigned long long st = start_time(pid);
	struct go_entry *e = NULL, *v;
	char err[512] = "";
	int rc;

	for (int i = 0; i < w->n; i++)
		if (w->v[i].pid == pid)
			e = &w->v[i];
	if (e && e->start == st)
		return e;
	if (e) { /* the pid was reused: start over */
		entry_free(e);
		*e = w->v[--w->n];
	}
	v = realloc(w->v, (w->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	w->v = v;
	e = &w->v[w->n++];
	*e = (struct go_entry){ .pid = pid, .start = st };
	rc = go_process__open(pid, &e->proc, err, sizeof(err));
	if (rc == 0)
		e->hist = go_history__new();
	else if (rc == -ESRCH)
		e->gone = true;
	else if (rc != -ENOEXEC)
		e->error = strdup(err[0] ? err : strerror(-rc));
	if (rc == -EAGAIN)
		e->reopen = INFER_RETRIES;
	return e;
}

/* The goroutine running on the thread that called exit: the one finishing
 * the program, not left behind. */
static bool is_exiting(const struct pw_goroutine *g, const struct go_sweep_opts *o)
{
	return o->end_tgid && g->thread_tid && g->thread_tid == o->end_tid;
}

/*
 * A goroutine started by an idle-listed function. Since Go 1.22 `go f(x)`
 * starts a wrapper named after the function holding the go statement
 * (testing.(*T).Run.gowrap1 for t.Run's `go tRunner(t, f)`): that function
 * is what the list names.
 */
static bool hidden_start(const struct pw_goroutine *g, const struct go_sweep_opts *o)
{
	struct pw_frame f[2] = { { .function = (char *)g->start_function } };
	struct pw_stack s = { .frames = f, .nframes = 1 };
	const char *wrap = g->start_function ? strstr(g->start_function, ".gowrap") : NULL;
	char outer[256];
	bool hidden;

	if (!g->start_function || !o->idle)
		return false;
	if (wrap && (size_t)(wrap - g->start_function) < sizeof(outer)) {
		snprintf(outer, sizeof(outer), "%.*s", (int)(wrap - g->start_function),
			 g->start_function);
		f[1].function = outer;
		s.nframes = 2;
	}
	/* or anywhere on its stack, as for threads: the testing package's
	 * own goroutines (a parent test in t.Run waiting for its subtests) */
	hidden = idle_list__match(o->idle, &(struct idle_subject){ .stack = &s }) ||
		 idle_list__match(o->idle, &(struct idle_subject){ .stack = &g->stack });
	return hidden;
}

/* End of run: every user goroutine still alive is left behind. One in a
 * syscall or a blocking cgo call (_Gsyscall) waits in the kernel or in C,
 * and a runnable one has not run since it was made ready (often: not yet
 * at all): parked, never "spinning". Only one running on a CPU then is. */
static void judge_end(const struct pw_goroutine *g, struct go_verdict *v)
{
	bool waits = g->status != 2 /* _Grunning */;

	if (v->class != GO_CLASS_NONE)
		return;
	v->class = waits ? GO_CLASS_PARKED : GO_CLASS_SPINNING;
	if (!v->duration_source && waits)
		v->duration_source = "unknown";
}

/* hidden_start's answers by entry function and shared stack (go/stacks.c):
 * goroutines with the same ones get the same answer, without matching the
 * idle list again for each of 100k. Direct-mapped: a few creation sites
 * take turns in the list. */
#define HIDDEN_MEMO 64

struct hidden_memo {
	struct {
		const char *start_function;
		const struct pw_frames_block *stack; /* NULL: empty slot */
		bool hidden;
	} v[HIDDEN_MEMO];
};

static bool hidden_start_memo(const struct pw_goroutine *g, const struct go_sweep_opts *o,
			      struct hidden_memo *m)
{
	uintptr_t h = (uintptr_t)g->stack.shared ^ (uintptr_t)g->start_function;
	__typeof__(m->v[0]) *e = &m->v[(h >> 4) % HIDDEN_MEMO];

	if (!g->stack.shared)
		return hidden_start(g, o);
	if (e->stack != g->stack.shared || e->start_function != g->start_function) {
		e->hidden = hidden_start(g, o);
		e->stack = g->stack.shared;
		e->start_function = g->start_function;
	}
	return e->hidden;
}

/* Whether g goes in the report (else it is counted where it belongs). */
static bool keep(const struct pw_goroutine *g, struct go_verdict *v, const struct go_sweep_opts *o,
		 uint32_t pid, struct pw_goproc *gp, struct hidden_memo *m, bool leaked)
{
	if ((g->runtime_owned || hidden_start_memo(g, o, m)) && !o->show_idle) {
		gp->runtime_hidden++;
		return false;
	}
	if (o->end_tgid == (pid_t)pid) {
		if (is_exiting(g, o))
			return false;
		/* One look cannot tell a loop from a goroutine in its last
		 * instructions (its test just returned): running at exit is
		 * counted, not flagged; only earlier sweeps' history makes it
		 * "spinning". */
		if (g->status == 2 /* _Grunning */ && v->class == GO_CLASS_NONE) {
			gp->running_at_exit++;
			return false;
		}
		judge_end(g, v);
	}
	/* Proved leaked: listed even where one look has no class for it. */
	return v->class != GO_CLASS_NONE || leaked;
}

static int sweep_one(struct go_watch *w, struct go_entry *e, const struct go_sweep_opts *o,
		     struct pw_report *r)
{
	struct pw_goproc *gp = report__add_goproc(r);
	struct hidden_memo memo = { 0 };
	struct go_snapshot s;
	struct go_verdict *v;
	struct go_reach_result *proved;
	uint64_t *park;
	char err[512] = "";
	int rc;

	if (!gp)
		return -ENOMEM;
	gp->pid = e->pid;
	if (e->gone) {
		r->ngoprocs--; /* an exit, not a failure to read */
		return report__add_exited(r, e->pid);
	}
	if (!e->proc && e->reopen > 0) {
		e->reopen--;
		rc = go_process__open(e->pid, &e->proc, err, sizeof(err));
		if (rc == 0 && !(e->hist = go_history__new()))
			return -ENOMEM;
		if (rc == 0) {
			free(e->error);
			e->error = NULL;
		} else if (err[0] && (rc == -EAGAIN || rc == -ENOTSUP)) {
			free(e->error);
			e->error = strdup(err);
		}
	}
	if (!e->proc) {
		gp->error = e->error ? strdup(e->error) : NULL;
		return 0;
	}
	rc = go_process__snapshot(e->proc, o->max_frames, &s, err, sizeof(err));
	if (rc == -ESRCH) {
		e->gone = true;
		r->ngoprocs--;
		return report__add_exited(r, e->pid);
	}
	if (rc) {
		gp->error = strdup(err[0] ? err : strerror(-rc));
		return rc == -ENOMEM ? rc : 0;
	}
	/* Wait-for objects (go/wait.c): channels and locks of blocked goroutines. */
	if (go_wait__annotate(e->proc, &s)) {
		go_snapshot__free(&s);
		return -ENOMEM;
	}
	snprintf(gp->version, sizeof(gp->version), "%s", s.version);
	gp->version_source = s.version_source;
	gp->layout_source = s.layout_source;
	gp->goroutines = s.n;
	v = calloc(s.n ? s.n : 1, sizeof(*v));
	park = precise_parks(w, e->pid, &s);
	rc = v ? go_history__observe_precise(e->hist, &s, o->threshold_ns, park, v) : -ENOMEM;
	free(park);
	proved = rc ? NULL : prove(w, e, &s, gp);
	if (rc || (w->prove && !proved) || report__reserve_goroutines(r, s.n)) {
		free(proved);
		free(v);
		go_snapshot__free(&s);
		return -ENOMEM;
	}
	for (int i = 0; i < s.n; i++) {
		struct pw_goroutine *g = &s.g[i];
		struct pw_gflagged *f;

		/* Hand the snapshot's memory back as the report fills. */
		if (i % 4096 == 0)
			go_snapshot__done(&s, i);
		if (!keep(g, &v[i], o, e->pid, gp, &memo,
			  proved && proved[i].verdict == GO_REACH_LEAKED)) {
			pw_goroutine__release(g);
			memset(g, 0, sizeof(*g));
			continue;
		}
		f = report__add_goroutine(r);
		if (!f)
			break;
		f->g = *g; /* moves the stack and strings into the report */
		memset(g, 0, sizeof(*g));
		f->g.test = go_test__attribute(e->proc, o->tests, &f->g);
		f->class = go_class_name(v[i].class);
		f->parked_ns = v[i].parked_ns;
		f->duration_source = v[i].duration_source;
		f->site_count = v[i].site_count;
		if (proved && proved[i].verdict == GO_REACH_LEAKED) {
			f->class = "leaked"; /* proved: whatever its duration */
			f->evidence = strdup(proved[i].evidence); /* NULL: unsaid */
		}
	}
	free(proved);
	free(v);
	go_snapshot__free(&s);
	return 0;
}

/* Name a frame the thread unwinder left nameless (a stripped Go binary has
 * no symbol table; its pclntab names every function). */
static void name_frame(const struct go_process *p, struct pw_frame *f, bool activation)
{
	struct go_func_info fi;
	uint64_t pc = f->pc - go_process__bias(p);

	if (f->function || go_binary__lookup(go_process__binary(p), activation ? pc : pc - 1, &fi))
		return;
	f->function = strdup(fi.function);
	f->offset = pc - fi.entry;
	if (fi.file && !f->file) {
		f->file = strdup(fi.file);
		f->line = fi.line;
	}
}

bool go_watch__is_go(const struct go_watch *w, uint32_t pid)
{
	for (int j = 0; j < w->n; j++)
		if (w->v[j].pid == pid)
			return w->v[j].proc != NULL;
	return false;
}

bool go_watch__go_code(const struct go_watch *w, uint32_t pid, uint64_t pc)
{
	struct go_func_info fi;

	for (int j = 0; j < w->n; j++)
		if (w->v[j].pid == pid && w->v[j].proc)
			return !go_binary__lookup(go_process__binary(w->v[j].proc),
						  pc - go_process__bias(w->v[j].proc), &fi);
	return false;
}

void go_watch__name_thread_frames(struct go_watch *w, struct pw_report *r)
{
	for (int i = 0; i < r->nthreads; i++) {
		struct pw_flagged *t = &r->threads[i];
		struct go_process *p = NULL;

		for (int j = 0; j < w->n && !p; j++)
			if (w->v[j].pid == t->pid)
				p = w->v[j].proc;
		for (int k = 0; p && k < t->stack.nframes; k++)
			name_frame(p, &t->stack.frames[k], k == 0);
	}
}

int go_watch__sweep(struct go_watch *w, const uint32_t *pids, int npids,
		    const struct go_sweep_opts *o, struct pw_report *r)
{
	int rc = 0;

	for (int i = 0; i < w->n; i++)
		w->v[i].seen = false;
	for (int i = 0; i < npids && !rc; i++) {
		struct go_entry *e = entry_for(w, pids[i]);

		if (!e)
			return -ENOMEM;
		e->seen = true;
		/* Only Go processes (and those that failed to read as Go)
		 * appear in the report. */
		if (e->proc || e->error || e->gone)
			rc = sweep_one(w, e, o, r);
	}
	/* Forget processes that are gone (an end-of-run sweep covers one
	 * process: the others are not gone). */
	if (npids == 1 && o->end_tgid)
		return rc;
	for (int i = 0; i < w->n; i++)
		if (!w->v[i].seen) {
			entry_free(&w->v[i]);
			w->v[i--] = w->v[--w->n];
		}
	return rc; /* grouped by the caller, after the ignore rules */
}
