// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "threads/cpu_sample.h"
#include "threads/event_loop.h"
#include "threads/sweep.h"
#include "threads/targets.h"
#include "threads/unwind.h"
#include "threads/unwinders.h"
#include "threads/wait_time.h"
#include "go/class.h"

#define TASK_INTERRUPTIBLE 0x1
#define TASK_UNINTERRUPTIBLE 0x2
#define SAMPLE_TIMEOUT_MS 100 /* per spinning thread: ~1 ms of its CPU is enough */
#define SAMPLE_MAX 16         /* spinning threads and goroutines sampled per sweep */

static bool process_alive(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/*
 * Test hook (documented in tests/): stop between the kernel sweep and the
 * unwinding, so a test can make a target exit at exactly that moment.
 */
static void test_gate(void)
{
	const char *gate = getenv("PARKWATCH_TEST_GATE");

	if (!gate)
		return;
	fprintf(stderr, "parkwatch: test gate\n");
	while (access(gate, F_OK) != 0)
		usleep(10000);
}

/*
 * End of run: the command is stopped now, which woke its parked threads into
 * the stopped state. Put back what the exit probe saw just before the stop.
 * Returns false for the thread that called exit and for threads the probe
 * did not see.
 */
static bool restore_exit_state(struct tracer *t, struct pw_task *rec, uint32_t end_tid)
{
	struct pw_exit_snap snap;

	if (rec->tid == end_tid || !tracer__exit_snap(t, rec->tid, &snap))
		return false;
	rec->state = snap.state;
	rec->last_arrival_ns = snap.last_arrival_ns;
	rec->last_slice_ns = snap.last_slice_ns;
	rec->pcount = snap.pcount;
	rec->nvcsw = snap.nvcsw;
	return true;
}

/* At the end of the run every other thread is left behind: running ones
 * (a loop nobody stops) and waits of any kind, timed or not. */
static bool is_left_behind(const struct pw_task *rec, struct pw_wait_desc *wd, uint64_t *parked,
			   bool *exact)
{
	*exact = rec->flags & PW_TASK_WAIT_RECORDED;
	if (!(rec->state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE))) {
		memset(wd, 0, sizeof(*wd));
		wd->class = PW_CLASS_RUNNING;
		wd->syscall = "none";
		*parked = 0;
		*exact = false;
		return true;
	}
	describe_wait((long)rec->regs.orig_ax, &rec->regs, wd);
	if (wd->class == PW_CLASS_NONE)
		wd->class = PW_CLASS_SYSCALL;
	*parked = rec->now_ns - (*exact && wait_start_exact(rec) ? wait_start_exact(rec)
							   : wait_start_estimate(rec));
	return true;
}

/* Is this thread parked in an indefinite wait past the threshold? */
static bool is_candidate(const struct pw_task *rec, const struct sweep_opts *o,
			 struct pw_report *r, struct pw_wait_desc *wd, uint64_t *parked, bool *exact)
{
	uint64_t start;

	if (!(rec->state & (TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)) ||
	    !(rec->flags & PW_TASK_IN_SYSCALL))
		return false;
	describe_wait((long)rec->regs.orig_ax, &rec->regs, wd);
	if (wd->class == PW_CLASS_NONE)
		return false;
	start = rec->flags & PW_TASK_WAIT_RECORDED ? wait_start_exact(rec) : 0;
	*exact = start != 0;
	if (!start)
		start = wait_start_estimate(rec);
	*parked = rec->now_ns > start ? rec->now_ns - start : 0;
	if (*parked < o->threshold_ns)
		return false;
	if (wd->timed && !o->show_timed) {
		r->stats.timed_hidden++;
		return false;
	}
	return true;
}

/*
 * glibc's clone and clone3 stubs end their CFI just before the syscall
 * instruction (the child would otherwise unwind through the parent's frames),
 * so the creator's first frame has none. They push nothing, so the return
 * address is at [sp]: continue from there.
 */
static int unwind_creator(struct unwinder *u, const struct pw_clone_event *ev, int max_frames,
			  struct pw_stack *out)
{
	struct pw_stack rest = {};
	struct pw_regs regs = ev->regs;
	int err;

	err = unwinder__unwind(u, ev->creator_tid, &ev->regs, ev->stack, ev->stack_len,
			       max_frames, out);
	if (err < 0 || out->nframes != 1 || !out->error || ev->stack_len < 16)
		return err;
	memcpy(&regs.ip, ev->stack, sizeof(regs.ip));
	regs.sp += 8;
	if (unwinder__unwind(u, ev->creator_tid, &regs, ev->stack + 8, ev->stack_len - 8,
			     max_frames - 1, &rest) < 0 || !rest.nframes) {
		pw_stack__free(&rest);
		return err;
	}
	free(out->error);
	out->error = rest.error;
	out->truncated = rest.truncated;
	rest.error = NULL;
	for (int i = 0; i < rest.nframes; i++) {
		if (pw_stack__push(out, &rest.frames[i]))
			break;
		memset(&rest.frames[i], 0, sizeof(rest.frames[i])); /* now owned by out */
	}
	pw_stack__free(&rest);
	return 0;
}

static struct pw_creator *creator_of(const struct pw_task *rec, struct creators *c,
				     struct unwinders *us, const struct sweep_opts *o)
{
	const struct pw_clone_event *ev = creators__find(c, rec->tid, rec->start_ns);
	struct pw_creator *cr;
	struct unwinder *u;
	int err;

	if (!ev && !(rec->flags & PW_TASK_THREAD_KNOWN))
		return NULL;
	cr = calloc(1, sizeof(*cr));
	if (!cr)
		return NULL;
	if (!ev) {
		/* The threads map knows, but its clone event was lost. */
		cr->tid = rec->thread.creator_tid;
		cr->pid = rec->thread.creator_tgid;
		cr->born_ns = rec->thread.born_ns;
		cr->is_process = rec->thread.flags & PW_THREAD_IS_PROCESS;
		memcpy(cr->comm, rec->thread.creator_comm, sizeof(cr->comm));
		cr->stack.error = strdup("the clone event was lost (ring buffer full)");
		return cr;
	}
	cr->tid = ev->creator_tid;
	cr->pid = ev->creator_tgid;
	cr->born_ns = ev->born_ns;
	cr->is_process = ev->flags & PW_THREAD_IS_PROCESS;
	memcpy(cr->comm, ev->creator_comm, sizeof(cr->comm));
	/* The creator's code is mapped in its own process; unwinding with the
	 * stack copy does not need that process to still run, only its maps. */
	u = unwinders__get(us, ev->creator_tgid, &err);
	if (!u)
		cr->stack.error = strdup(err == ESRCH ? "the creating process has exited"
					 : unwinder__strerror(err));
	else if (unwind_creator(u, ev, o->max_frames, &cr->stack) < 0 && !cr->stack.error)
		cr->stack.error = strdup("unwinding failed");
	return cr;
}

/*
 * Where a running thread runs: a CPU sample of it (registers and a copy of
 * its stack top), unwound like a creator's stack copy. want_r14: see
 * cpu_sample__take. Returns 0, or -errno with out->error set.
 */
static int sampled_stack(struct unwinder *u, pid_t tid, uint64_t want_r14, int max_frames,
			 int *budget, struct pw_stack *out)
{
	struct cpu_sample cs;
	int err;

	if (*budget <= 0) {
		out->error = strdup("not sampled: too many spinning threads in this sweep");
		return -EAGAIN;
	}
	--*budget;
	err = cpu_sample__take(tid, SAMPLE_TIMEOUT_MS, want_r14, &cs);
	if (err) {
		out->error = strdup(cpu_sample__strerror(err));
		return err;
	}
	err = unwinder__unwind(u, tid, &cs.regs, cs.stack, cs.stack_len, max_frames, out);
	cpu_sample__free(&cs);
	if (err < 0 && !out->error)
		out->error = strdup("unwinding the sample failed");
	return err < 0 ? err : 0;
}

static int flag_thread(struct pw_report *r, const struct pw_task *rec, struct pw_wait_desc *wd,
		       uint64_t parked, bool exact, const struct spin_evidence *spin,
		       struct unwinders *us, struct creators *c, const struct ksyms *k,
		       const struct sweep_opts *o, int *budget)
{
	struct pw_stack stack = {};
	struct pw_flagged *f;
	struct unwinder *u;
	const char *idle;
	int err;

	u = unwinders__get(us, rec->tgid, &err);
	if (!u) {
		if (err == ESRCH || !process_alive(rec->tgid))
			return report__add_exited(r, rec->tgid);
		stack.error = strdup(unwinder__strerror(err));
	} else if (spin) {
		/* Its saved registers are from its last entry into the
		 * kernel, not where it runs now: sample it. */
		(void)sampled_stack(u, rec->tid, 0, o->max_frames, budget, &stack);
	} else {
		err = unwinder__unwind(u, rec->tid, &rec->regs, NULL, 0, o->max_frames, &stack);
		if (err < 0 && !process_alive(rec->tgid)) {
			pw_stack__free(&stack);
			return report__add_exited(r, rec->tgid);
		}
	}
	idle = idle_list__match(o->idle, &(struct idle_subject){
		.stack = &stack, .comm = rec->comm,
		.syscall = spin ? NULL : event_loop_wait(rec->tgid, wd, &rec->regs) });
	if (idle && !o->show_idle && !o->keep_idle) {
		r->stats.idle_hidden++;
		pw_stack__free(&stack);
		return report__count_idle(r, rec->tgid, idle);
	}
	f = report__add(r);
	if (!f) {
		pw_stack__free(&stack);
		return -ENOMEM;
	}
	f->pid = rec->tgid;
	f->tid = rec->tid;
	memcpy(f->comm, rec->comm, sizeof(f->comm));
	f->exe = unwinders__exe_of(us, rec->tgid);
	f->state = wd->class == PW_CLASS_RUNNING ? 'R' : rec->state & TASK_UNINTERRUPTIBLE ? 'D' : 'S';
	f->wait = *wd;
	f->has_futex_word = rec->flags & PW_TASK_FUTEX_WORD;
	f->futex_word = rec->futex_word;
	f->parked_ns = parked;
	f->exact = exact;
	f->since_attach = rec->now_ns - parked < o->attach_ns;
	f->idle_match = idle;
	f->born_ns = rec->start_ns;
	f->nvcsw = rec->nvcsw;
	f->stack = stack;
	if (spin) {
		f->spinning = true;
		f->spin = *spin;
		f->stack_sampled = stack.nframes > 0;
	}
	if (o->kernel_stacks) {
		f->has_kstack = true;
		ksyms__stack(k, (const uint64_t *)rec->kstack, rec->kstack_len, &f->kstack);
	}
	f->creator = creator_of(rec, c, us, o);
	r->stats.flagged++;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The processes of this sweep, once each, for the goroutine reader. */
static int sweep_goroutines(const struct pw_task *recs, size_t n, pid_t self,
			    const struct sweep_opts *o, struct pw_report *r)
{
	struct go_sweep_opts go = {
		.threshold_ns = o->threshold_ns, .show_idle = o->show_idle, .idle = o->idle,
		.max_frames = o->max_frames, .end_tgid = o->end_tgid, .end_tid = o->end_tid, .tests = o->tests,
	};
	uint32_t *pids = malloc((n ? n : 1) * sizeof(*pids));
	int np = 0, err;

	if (!pids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if ((pid_t)recs[i].tgid != self && recs[i].tid == recs[i].tgid)
			pids[np++] = recs[i].tgid;
	err = go_watch__sweep(o->go, pids, np, &go, r);
	free(pids);
	return err;
}

/*
 * A spinning goroutine has no saved stack (it runs): sample the thread it
 * runs on, keeping only a sample taken while that goroutine ran (r14 holds
 * the running g in Go's register ABI).
 */
static void sample_spinning_goroutines(struct pw_report *r, struct unwinders *us,
				       const struct sweep_opts *o, int *budget)
{
	for (int i = 0; i < r->ngoroutines; i++) {
		struct pw_gflagged *gf = &r->goroutines[i];
		struct pw_stack st = {};
		struct unwinder *u;
		int err;

		if (!gf->class || strcmp(gf->class, "spinning") || !gf->g.thread_tid ||
		    gf->g.stack.nframes)
			continue;
		u = unwinders__get(us, gf->g.pid, &err);
		if (!u)
			continue;
		if (sampled_stack(u, gf->g.thread_tid, gf->g.gaddr, o->max_frames, budget, &st) ||
		    !st.nframes) {
			/* Keep "running on thread N", with why no sample. */
			char *why = NULL;

			if (st.error && gf->g.stack.error &&
			    asprintf(&why, "%s; %s", gf->g.stack.error, st.error) > 0) {
				free(gf->g.stack.error);
				gf->g.stack.error = why;
			}
			pw_stack__free(&st);
			continue;
		}
		pw_goroutine__set_stack(&gf->g, st);
		gf->stack_sampled = true;
	}
}

/* Threads of stripped Go programs had no names when flag_thread judged
 * them idle or not; with the pclntab's names the runtime's idle Ms are
 * recognised like in any other Go program. */
/* Only the Go runtime's own code on the stack (an M between goroutines,
 * often cut short at an assembly function without frame pointer): the
 * scheduler's machinery, whose work the goroutines show. */
static bool go_runtime_only(const struct pw_stack *s)
{
	int named = 0;

	for (int i = 0; i < s->nframes; i++) {
		const char *fn = s->frames[i].function;

		if (fn && !go_runtime_function(fn))
			return false;
		named += fn != NULL;
	}
	return named > 0;
}

static void rejudge_go_threads(const struct sweep_opts *o, struct pw_report *r)
{
	go_watch__name_thread_frames(o->go, r);
	for (int i = 0; i < r->nthreads; i++) {
		struct pw_flagged *t = &r->threads[i];
		const char *idle = t->idle_match ? NULL :
			idle_list__match(o->idle, &(struct idle_subject){ .stack = &t->stack,
									 .comm = t->comm });

		if (!o->builtin_idle) {
			/* --idle-file: its names only */
		} else if (!idle && !t->idle_match && go_watch__is_go(o->go, t->pid) &&
			   go_runtime_only(&t->stack))
			idle = "Go runtime";
		/* In Go code (running, or in a system call): a goroutine on
		 * its M, judged as that goroutine; C code in a Go program
		 * (cgo, a C library's threads) stays a thread's verdict. */
		if (o->builtin_idle && !idle && t->stack.nframes &&
		    go_watch__go_code(o->go, t->pid, t->stack.frames[0].pc))
			idle = "Go code (judged as a goroutine)";

		if (!idle)
			continue;
		if (o->show_idle || o->keep_idle) {
			t->idle_match = idle;
			continue;
		}
		report__hide_idle(r, i--, idle);
	}
}

/* Forget creator records of threads that no longer exist. */
static void prune_creators(struct creators *c, const struct pw_task *recs, size_t n)
{
	uint32_t *live = malloc((n ? n : 1) * sizeof(*live));
	uint64_t start = UINT64_MAX;

	if (!live)
		return;
	for (size_t i = 0; i < n; i++) {
		live[i] = recs[i].tid;
		if (recs[i].now_ns < start)
			start = recs[i].now_ns;
	}
	qsort(live, n, sizeof(*live), cmp_u32);
	if (n)
		creators__prune(c, live, n, start);
	free(live);
}

/* Keep only the records of targets still watched; returns how many. */
static size_t drop_gone(const struct sweep_opts *o, struct pw_task *recs, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		bool gone = false;

		for (int k = 0; k < o->npids && !gone; k++)
			gone = o->targets->gone[k] && recs[i].tgid == (uint32_t)o->pids[k];
		if (!gone)
			recs[w++] = recs[i];
	}
	return w;
}

/* A thread to flag, recs[idx]. */
struct candidate {
	size_t idx;
	uint32_t tgid;
	uint64_t parked;
	bool exact, spinning;
	struct spin_evidence spin;
	struct pw_wait_desc wd;
};

/*
 * By process, and in the iterator's order within one. A machine-wide
 * iterator lists threads by TID, and processes that create threads at the
 * same time interleave: taken in that order, each thread would find its
 * process's unwinder closed again (UNWINDERS_OPEN). The report does not
 * depend on this order (report__group sorts).
 */
static int cmp_candidate(const void *x, const void *y)
{
	const struct candidate *a = x, *b = y;

	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int sweep__run(struct tracer *t, struct creators *c, const struct ksyms *k,
	       const struct sweep_opts *o, struct pw_report *r)
{
	bool pid_seen[o->npids ? o->npids : 1];
	struct unwinders us = {};
	struct pw_task *recs = NULL;
	uint64_t counters[PW_CNT_MAX];
	size_t n = 0;
	struct candidate *cands = NULL;
	size_t ncands = 0;
	pid_t self = getpid();
	int budget = SAMPLE_MAX;
	int err;

	us.cache = unwind_cache__new(); /* NULL: each unwinder keeps its own */
	tracer__poll(t, 0); /* clone events up to now, before the sweep */
	/* A target that is gone, or whose PID now names another process, is
	 * dropped before the sweep; one that changed during it, after, with
	 * whatever the iterator listed under its PID. */
	if ((err = targets__drop_changed(o->targets, t, r)) < 0)
		goto out;
	err = tracer__sweep(t, &recs, &n, pid_seen);
	if (err)
		goto out;
	if ((err = targets__drop_changed(o->targets, t, r)) < 0)
		goto out;
	if (err > 0)
		n = drop_gone(o, recs, n);
	err = 0;
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r->time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}
	prune_creators(c, recs, n);
	if (o->spin && (err = spin_history__observe(o->spin, recs, n)))
		goto out;
	/* No thread of a -p target: it exited — or, if it is still there, the
	 * kernel's iterator did not list it (seen for this sandbox's pid 1),
	 * which must not be reported as an exit. */
	for (int i = 0; i < o->npids; i++)
		if (o->targets && o->targets->gone[i])
			continue; /* listed when it was dropped */
		else if (!pid_seen[i] && process_alive(o->pids[i]))
			fprintf(stderr, "parkwatch: process %d is alive but the kernel's task iterator "
				"listed none of its threads: nothing can be said about it\n", o->pids[i]);
		else if (!pid_seen[i])
			report__add_exited(r, o->pids[i]);
	cands = calloc(n ? n : 1, sizeof(*cands));
	if (!cands) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((pid_t)recs[i].tgid == self)
			continue;
		r->stats.tasks_seen++;
		if (o->end_tgid && (pid_t)recs[i].tgid == o->end_tgid) {
			if (!restore_exit_state(t, &recs[i], o->end_tid) ||
			    !is_left_behind(&recs[i], &cands[ncands].wd, &cands[ncands].parked,
					    &cands[ncands].exact))
				continue;
		} else if (spin_history__spinning(o->spin, &recs[i], &cands[ncands].spin)) {
			cands[ncands].spinning = true;
			cands[ncands].parked = 0;
			cands[ncands].exact = false;
			cands[ncands].wd = (struct pw_wait_desc){ .class = PW_CLASS_RUNNING,
								 .syscall = "none" };
		} else if (!is_candidate(&recs[i], o, r, &cands[ncands].wd, &cands[ncands].parked,
					 &cands[ncands].exact)) {
			continue;
		}
		if (recs[i].flags & PW_TASK_WAIT_COLLISION)
			r->stats.wait_slot_shared++;
		cands[ncands].tgid = recs[i].tgid;
		cands[ncands++].idx = i;
	}
	r->stats.candidates = ncands;
	qsort(cands, ncands, sizeof(*cands), cmp_candidate);
	test_gate();
	for (size_t i = 0; i < ncands; i++) {
		err = flag_thread(r, &recs[cands[i].idx], &cands[i].wd, cands[i].parked,
				  cands[i].exact, cands[i].spinning ? &cands[i].spin : NULL,
				  &us, c, k, o, &budget);
		if (err)
			goto out;
	}
	if (o->go && (err = sweep_goroutines(recs, n, self, o, r)))
		goto out;
	if (o->go)
		sample_spinning_goroutines(r, &us, o, &budget);
	if (o->go)
		rejudge_go_threads(o, r);
	if (o->ignore)
		ignore_set__apply(o->ignore, r);
	err = report__group(r);
	if (!err)
		err = waitgraph__annotate(r); /* who each thread waits for; cycles */
	if (!err)
		err = report__group_goroutines(r);
	tracer__counters(t, counters);
	r->stats.threads_map_full = counters[PW_CNT_THREADS_FULL];
	r->stats.clone_events_lost = counters[PW_CNT_RINGBUF_FULL];
	r->stats.tracked_threads = tracer__threads_tracked(t);
	r->stats.creator_records = creators__count(c);
out:
	unwinders__free(&us);
	free(cands);
	free(recs);
	return err;
}
