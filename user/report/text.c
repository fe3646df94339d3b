// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Text printer: grouped, for people; colour only when asked by print_opts. */
#include <string.h>
#include <time.h>
#include "report/durations.h"
#include "report/escape.h"
#include "report/report.h"

#define BOLD(o) ((o)->color ? "\033[1m" : "")
#define WARN(o) ((o)->color ? "\033[33m" : "")
#define DIM(o) ((o)->color ? "\033[2m" : "")
#define RESET(o) ((o)->color ? "\033[0m" : "")

/*
 * Every string a target controls goes through shown() (escape.h): one
 * fprintf can show several, so the escaped copies rotate through a ring
 * that the printer frees at the end.
 */
#define SHOWN_RING 8
static struct escape_buf shown_ring[SHOWN_RING];
static unsigned shown_next;

static const char *shown(const char *s)
{
	return escape_str(&shown_ring[shown_next++ % SHOWN_RING], s, 0);
}

static const char *basename_of(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static void print_stack(FILE *f, const struct pw_stack *s, const char *indent,
			const struct print_opts *o)
{
	for (int i = 0; i < s->nframes; i++) {
		const struct pw_frame *fr = &s->frames[i];

		fprintf(f, "%s#%-2d ", indent, i);
		if (fr->function)
			fprintf(f, "%s+0x%llx", shown(fr->function), (unsigned long long)fr->offset);
		else
			fprintf(f, "0x%llx", (unsigned long long)fr->pc);
		if (fr->module)
			fprintf(f, " %s(%s)%s", DIM(o), shown(fr->module), RESET(o));
		if (fr->file)
			fprintf(f, " %s:%d", shown(basename_of(fr->file)), fr->line);
		fputc('\n', f);
	}
	if (s->truncated)
		fprintf(f, "%s... (more frames not shown)\n", indent);
	if (s->error)
		fprintf(f, "%s(unwinding stopped: %s)\n", indent, shown(s->error));
	if (!s->nframes && !s->error)
		fprintf(f, "%s(no frames)\n", indent);
}

static void print_wait(FILE *f, const struct pw_flagged *t)
{
	fprintf(f, "[%s", shown(t->wait.syscall));
	if (t->wait.op[0])
		fprintf(f, " %s", shown(t->wait.op));
	if (t->wait.class == PW_CLASS_FUTEX)
		fprintf(f, " on 0x%llx", (unsigned long long)t->wait.uaddr);
	fprintf(f, ", %s]", t->wait.timed ? "timed" : "no timeout");
}

/* --- wait-for graph ---------------------------------------------------------- */

static const struct pw_flagged *find_thread(const struct pw_report *r, uint32_t pid, uint32_t tid)
{
	for (int i = 0; i < r->nthreads; i++)
		if (r->threads[i].pid == pid && r->threads[i].tid == tid)
			return &r->threads[i];
	return NULL;
}

/* "mutex 0x55.. held by thread 812 (worker)", "thread 809 (x) to exit (pthread_join)". */
static void print_edge(FILE *f, const struct pw_wait_edge *e)
{
	unsigned long long obj = (unsigned long long)e->object;

	switch (e->kind) {
	case PW_WAIT_MUTEX:
		fprintf(f, "mutex 0x%llx held by thread %u (%s)", obj, e->target_tid, shown(e->target_comm));
		return;
	case PW_WAIT_JOIN:
		fprintf(f, "thread %u (%s) to exit (pthread_join)", e->target_tid, shown(e->target_comm));
		return;
	case PW_WAIT_RWLOCK:
		if (e->target_tid)
			fprintf(f, "rwlock 0x%llx write-locked by thread %u (%s)", obj, e->target_tid,
				shown(e->target_comm));
		else
			fprintf(f, "rwlock 0x%llx: %s", obj, e->note ? shown(e->note) : "holder unknown");
		return;
	case PW_WAIT_CONDVAR:
		fprintf(f, "condition variable 0x%llx: %s", obj, shown(e->note));
		return;
	case PW_WAIT_SEMAPHORE:
		fprintf(f, "semaphore 0x%llx: %s", obj, shown(e->note));
		return;
	default:
		fprintf(f, "futex 0x%llx: nobody known (%s)", obj, e->note ? shown(e->note) : "unknown");
		return;
	}
}

static int deadlock_of(const struct pw_report *r, uint32_t pid, uint32_t tid)
{
	for (int d = 0; d < r->ndeadlocks; d++)
		for (int k = 0; r->deadlocks[d].pid == pid && k < r->deadlocks[d].n; k++)
			if (r->deadlocks[d].members[k] == tid)
				return d;
	return -1;
}

static bool same_edge(const struct pw_wait_edge *a, const struct pw_wait_edge *b)
{
	return a->kind == b->kind && a->object == b->object && a->target_tid == b->target_tid;
}

/* "waits for ..." and, when the target is flagged too, the chain it leads to. */
static void print_thread_edge(FILE *f, const struct pw_report *r, const struct pw_flagged *t,
			      bool with_tid, const struct print_opts *o)
{
	const struct pw_flagged *cur = t;
	int d = deadlock_of(r, t->pid, t->tid);

	if (t->waits_for.kind == PW_WAIT_NONE)
		return;
	if (with_tid)
		fprintf(f, "    tid %u waits for ", t->tid);
	else
		fprintf(f, "    waits for ");
	print_edge(f, &t->waits_for);
	fputc('\n', f);
	if (d >= 0) {
		fprintf(f, "    %sin DEADLOCK %d (see the top of the report)%s\n", WARN(o), d + 1,
			RESET(o));
		return;
	}
	if (!t->waits_for.target_tid || !find_thread(r, t->pid, t->waits_for.target_tid))
		return;
	fprintf(f, "    chain: %u", t->tid);
	for (int steps = 0; steps < r->nthreads; steps++) {
		const struct pw_flagged *nx = cur->waits_for.target_tid ?
			find_thread(r, cur->pid, cur->waits_for.target_tid) : NULL;

		if (!nx)
			break;
		fprintf(f, " -> %u", nx->tid);
		cur = nx;
		if (deadlock_of(r, cur->pid, cur->tid) >= 0) {
			fprintf(f, ", in DEADLOCK %d\n", deadlock_of(r, cur->pid, cur->tid) + 1);
			return;
		}
	}
	fprintf(f, ", which waits for ");
	print_edge(f, &cur->waits_for);
	fputc('\n', f);
}

static void print_group_edges(FILE *f, const struct pw_report *r, const struct pw_group *g,
			      const struct print_opts *o)
{
	const struct pw_flagged *first = &r->threads[g->first];
	bool same = true;

	for (int i = 1; i < g->count; i++)
		same &= same_edge(&first->waits_for, &r->threads[g->first + i].waits_for);
	if (same) {
		print_thread_edge(f, r, first, false, o);
		return;
	}
	for (int i = 0; i < g->count; i++)
		print_thread_edge(f, r, &r->threads[g->first + i], true, o);
}

/* Deadlocks first: every cycle with each member's edge and stack. */
static void print_deadlocks(FILE *f, const struct pw_report *r, const struct print_opts *o)
{
	for (int d = 0; d < r->ndeadlocks; d++) {
		const struct pw_deadlock *dl = &r->deadlocks[d];

		fprintf(f, "\n%s%sDEADLOCK %d%s in PID %u: %d thread%s wait for each other:", BOLD(o),
			WARN(o), d + 1, RESET(o), dl->pid, dl->n, dl->n == 1 ? "" : "s");
		for (int k = 0; k < dl->n; k++)
			fprintf(f, " %u ->", dl->members[k]);
		fprintf(f, " %u\n", dl->members[0]);
		for (int k = 0; k < dl->n; k++) {
			const struct pw_flagged *t = find_thread(r, dl->pid, dl->members[k]);

			if (!t)
				continue;
			fprintf(f, "  thread %u (%s) waits for ", t->tid, shown(t->comm));
			print_edge(f, &t->waits_for);
			fputc('\n', f);
			print_stack(f, &t->stack, "    ", o);
		}
	}
}

static void print_creator(FILE *f, const struct pw_flagged *t, int count,
			  const struct print_opts *o)
{
	if (!t->creator) {
		fprintf(f, "    creator: unknown (created before parkwatch started)\n");
		return;
	}
	fprintf(f, "    created by %s %u (%s)%s at:\n",
		t->creator->is_process ? "process, in thread" : "thread",
		t->creator->tid, shown(t->creator->comm), count > 1 ? " (shown for the first thread)" : "");
	print_stack(f, &t->creator->stack, "      ", o);
}

/* Threads running at every look and never sleeping (spin.c), or, at the end
 * of a run, still running when the command called exit(). */
static void print_running_group(FILE *f, const struct pw_report *r, const struct pw_group *g,
				const struct print_opts *o)
{
	const struct pw_flagged *first = &r->threads[g->first];

	if (first->spinning) {
		char wall[32], cpu[32];

		format_duration(first->spin.wall_ns, wall, sizeof(wall));
		format_duration(first->spin.cpu_ns, cpu, sizeof(cpu));
		fprintf(f, "  %s%d thread%s spinning%s (running at %d looks over %s, %s of CPU, "
			"never slept)\n", BOLD(o), g->count, g->count == 1 ? "" : "s", RESET(o),
			first->spin.looks, wall, cpu);
	} else {
		fprintf(f, "  %s%d thread%s still running%s (not waiting: a loop nobody stops?)\n",
			BOLD(o), g->count, g->count == 1 ? "" : "s", RESET(o));
	}
	fprintf(f, "    tid%s", g->count == 1 ? "" : "s");
	for (int i = 0; i < g->count; i++)
		fprintf(f, " %u", r->threads[g->first + i].tid);
	fprintf(f, " (%s)\n", shown(first->comm));
	print_stack(f, &first->stack, "    ", o);
	print_creator(f, first, g->count, o);
}

static void print_group(FILE *f, const struct pw_report *r, const struct pw_group *g,
			const struct print_opts *o)
{
	if (r->threads[g->first].wait.class == PW_CLASS_RUNNING) {
		print_running_group(f, r, g, o);
		return;
	}
	const struct pw_flagged *first = &r->threads[g->first];
	uint64_t lo = first->parked_ns, hi = first->parked_ns;
	bool any_exact = false, any_estimated = false, any_before = false;
	char a[32], b[32];

	for (int i = 0; i < g->count; i++) {
		const struct pw_flagged *t = &r->threads[g->first + i];

		lo = t->parked_ns < lo ? t->parked_ns : lo;
		hi = t->parked_ns > hi ? t->parked_ns : hi;
		any_exact |= t->exact;
		any_estimated |= !t->exact;
		any_before |= t->since_attach;
	}
	format_duration(lo, a, sizeof(a));
	format_duration(hi, b, sizeof(b));
	fprintf(f, "  %s%d thread%s%s parked%s %s%s%s", BOLD(o), g->count,
		g->count == 1 ? "" : "s", first->idle_match ? " (idle)" : "", RESET(o),
		WARN(o), a, RESET(o));
	if (strcmp(a, b))
		fprintf(f, " to %s%s%s", WARN(o), b, RESET(o));
	fputc(' ', f);
	print_wait(f, first);
	if (first->site_count)
		fprintf(f, " %sgrowing%s (%d from this site, rising)", WARN(o), RESET(o),
			first->site_count);
	fputc('\n', f);
	fprintf(f, "    tid%s", g->count == 1 ? "" : "s");
	for (int i = 0; i < g->count; i++)
		fprintf(f, " %u", r->threads[g->first + i].tid);
	fprintf(f, " (%s); %s%s\n", shown(first->comm),
		any_exact && any_estimated ? "start seen at futex entry for some, estimated for others" :
		any_exact ? "start seen at futex entry" :
		"start estimated from the last time on a CPU",
		any_before ? ", began before parkwatch attached" : "");
	if (first->idle_match)
		fprintf(f, "    idle: %s\n", shown(first->idle_match));
	if (first->has_futex_word)
		fprintf(f, "    futex word now %llu\n", (unsigned long long)first->futex_word);
	print_group_edges(f, r, g, o);
	print_stack(f, &first->stack, "    ", o);
	if (first->has_kstack) {
		fprintf(f, "    kernel stack:\n");
		print_stack(f, &first->kstack, "      ", o);
	}
	print_creator(f, first, g->count, o);
}

/* Idle threads are not listed (without --show-idle) but not hidden either:
 * one line per process says how many and why, so a healthy server reads
 * "28 idle: JVM service thread 17, JVM pool worker 8, ..." instead of 28
 * stacks, and the one real leak stands out. */
static void print_idle_summary(FILE *f, const struct pw_report *r, const struct print_opts *o)
{
	if (r->nidle)
		fprintf(f, "\nidle, not counted as leaks (--show-idle lists them):\n");
	for (int i = 0; i < r->nidle;) {
		uint64_t total;
		int k = report__idle_process(r, i, &total);

		fprintf(f, "  PID %u: %llu idle:", r->idle[i].pid, (unsigned long long)total);
		for (int first = i; i < k; i++)
			fprintf(f, "%s %s %llu", i == first ? "" : ",", r->idle[i].reason,
				(unsigned long long)r->idle[i].count);
		fputc('\n', f);
	}
}

/* Ignore rules: how many threads they hid in this report, and the rules that
 * have not matched anything yet in this run (stale allowlists rot). */
static void print_ignore_rules(FILE *f, const struct pw_report *r, const struct print_opts *o)
{
	bool blank = false;

	if (r->stats.ignored) {
		fprintf(f, "\n%llu thread%s or goroutine%s ignored by rules\n",
			(unsigned long long)r->stats.ignored, r->stats.ignored == 1 ? "" : "s",
			r->stats.ignored == 1 ? "" : "s");
		blank = true;
	}
	for (int i = 0; i < r->nrules; i++) {
		if (r->rules[i].matched)
			continue;
		if (!blank)
			fputc('\n', f);
		blank = true;
		fprintf(f, "%signore rule '%s' (%s) never matched%s\n", WARN(o), shown(r->rules[i].rule),
			shown(r->rules[i].origin), RESET(o));
	}
}

/* "waits on chan 0xc000010000 (unbuffered, elem int): 100 senders waiting,
 * 0 receivers" / "queued on sync.Mutex 0x... with 4 other goroutines; the
 * holder is not recorded by Go". */
static void print_gwait(FILE *f, const struct pw_gwait *w)
{
	char elem[96];

	if (!w)
		return;
	if (w->is_chan) {
		if (w->elem_type[0])
			snprintf(elem, sizeof(elem), "elem %s", shown(w->elem_type));
		else
			snprintf(elem, sizeof(elem), "elem size %llu, type unknown",
				 (unsigned long long)w->elem_size);
		fprintf(f, "    %s on chan 0x%llx (", !strcmp(w->kind, "select") ? "select, first case"
								   : "waits",
			(unsigned long long)w->object);
		if (w->cap)
			fprintf(f, "buffered %llu/%llu", (unsigned long long)w->len,
				(unsigned long long)w->cap);
		else
			fprintf(f, "unbuffered");
		fprintf(f, ", %s%s): %d sender%s waiting, %d receiver%s, %d in select%s\n", elem,
			w->closed ? ", closed" : "", w->senders, w->senders == 1 ? "" : "s",
			w->receivers, w->receivers == 1 ? "" : "s", w->selecting,
			w->select_cases > 1 ? " (more select cases not shown)" : "");
		return;
	}
	if (!w->object) {
		fprintf(f, "    waits on a %s (%s)\n", shown(w->lock_type ? w->lock_type : w->kind),
			w->note ? shown(w->note) : "address unknown");
		return;
	}
	if (w->lock_type) {
		int others = w->queued > 0 ? w->queued - 1 : 0;

		fprintf(f, "    queued on %s 0x%llx%s with %d other goroutine%s; the holder is "
			"not recorded by Go\n", shown(w->lock_type), (unsigned long long)w->object,
			!strcmp(w->kind, "rwmutex rlock") ? " (read lock)" : "",
			others, others == 1 ? "" : "s");
		return;
	}
	fprintf(f, "    waits on %s 0x%llx with %d other goroutine%s\n", shown(w->kind),
		(unsigned long long)w->object, w->queued > 0 ? w->queued - 1 : 0,
		w->queued == 2 ? "" : "s");
}

/* How many distinct objects (by address) the group's goroutines wait on;
 * they are sorted by object within the group. */
static int distinct_objects(const struct pw_report *r, const struct pw_group *g)
{
	int n = 0;
	uint64_t last = 0;

	for (int i = 0; i < g->count; i++) {
		const struct pw_gwait *w = r->goroutines[g->first + i].g.wait;
		uint64_t obj = w ? w->object : 0;

		if (obj && (n == 0 || obj != last))
			n++;
		last = obj;
	}
	return n;
}

static void print_ggroup(FILE *f, const struct pw_report *r, const struct pw_group *g,
			 const struct print_opts *o)
{
	const struct pw_gflagged *first = &r->goroutines[g->first];
	const struct pw_goroutine *gr = &first->g;
	char dur[64] = "", a[32], b[32];
	uint64_t lo = UINT64_MAX, hi = 0;
	int nobj;

	if (first->duration_source && strcmp(first->duration_source, "unknown")) {
		for (int i = 0; i < g->count; i++) {
			uint64_t p = r->goroutines[g->first + i].parked_ns;

			lo = p < lo ? p : lo;
			hi = p > hi ? p : hi;
		}
		format_duration(lo, a, sizeof(a));
		format_duration(hi, b, sizeof(b));
		snprintf(dur, sizeof(dur), strcmp(a, b) ? " for %s to %s" : " for %s", a, b);
	}
	fprintf(f, "  %s%d goroutine%s%s [%s]%s%s%s, %s", BOLD(o), g->count,
		g->count == 1 ? "" : "s", RESET(o), shown(gr->wait_reason ? gr->wait_reason : gr->status_name),
		WARN(o), dur, RESET(o), first->class);
	if (first->duration_source && !strcmp(first->duration_source, "precise"))
		fprintf(f, " (exact: its park was seen by --go-precise)");
	else if (first->duration_source && !strcmp(first->duration_source, "observed"))
		fprintf(f, " (parked at the same place since the first sweep that saw it)");
	else if (first->duration_source && !strcmp(first->duration_source, "gc_waitsince"))
		fprintf(f, " (at least: since a GC found it parked)");
	else if (first->duration_source)
		fprintf(f, " (how long: unknown on a first look)");
	if (first->site_count)
		fprintf(f, " (%d live from this site, rising)", first->site_count);
	fprintf(f, "\n    goid%s", g->count == 1 ? "" : "s");
	for (int i = 0; i < g->count && i < 12; i++)
		fprintf(f, " %llu", (unsigned long long)r->goroutines[g->first + i].g.goid);
	fprintf(f, "%s\n", g->count > 12 ? " ..." : "");
	if (first->evidence)
		fprintf(f, "    %sproved%s: %s%s\n", WARN(o), RESET(o), first->evidence,
			g->count > 1 ? " (the first of the group)" : "");
	nobj = distinct_objects(r, g);
	if (nobj > 1)
		fprintf(f, "    waiting on %d different objects; the first:\n", nobj);
	print_gwait(f, gr->wait);
	print_stack(f, &gr->stack, "    ", o);
	if (gr->created_by.function) {
		fprintf(f, "    created by %s", shown(gr->created_by.function));
		if (gr->created_by.file)
			fprintf(f, " at %s:%d", shown(basename_of(gr->created_by.file)), gr->created_by.line);
		if (gr->parent_goid >= 0)
			fprintf(f, " in goroutine %lld", (long long)gr->parent_goid);
		fputc('\n', f);
	}
	if (gr->test)
		fprintf(f, "    in test %s%s\n", gr->test, g->count > 1 ? " (the first of the group)" : "");
}

static bool same_leak(const struct pw_goroutine *a, const struct pw_goroutine *b)
{
	const char *ra = a->wait_reason ? a->wait_reason : a->status_name;
	const char *rb = b->wait_reason ? b->wait_reason : b->status_name;

	return a->pid == b->pid && !strcmp(a->test, b->test) && !strcmp(ra ? ra : "", rb ? rb : "") &&
	       a->created_by.line == b->created_by.line &&
	       !strcmp(a->created_by.file ? a->created_by.file : "",
		       b->created_by.file ? b->created_by.file : "");
}

/* Test binaries: one line per test, wait and creation site, before the
 * stacks: "TestX/sub leaked 2 goroutines [chan send] created at x.go:12".
 * (Quadratic, so bounded: a report of thousands reads the groups.) */
static void print_tests(FILE *f, const struct pw_report *r, const struct print_opts *o)
{
	int n = r->ngoroutines < 2000 ? r->ngoroutines : 2000;
	bool any = false;

	for (int i = 0; i < n; i++) {
		const struct pw_goroutine *g = &r->goroutines[i].g;
		int count = 0, j;

		if (!g->test)
			continue;
		for (j = 0; j < i; j++)
			if (r->goroutines[j].g.test && same_leak(&r->goroutines[j].g, g))
				break;
		if (j < i)
			continue;
		for (j = i; j < r->ngoroutines; j++)
			count += r->goroutines[j].g.test && same_leak(&r->goroutines[j].g, g);
		if (!any)
			fputc('\n', f);
		any = true;
		fprintf(f, "%s%s%s leaked %d goroutine%s [%s]", BOLD(o), g->test, RESET(o), count,
			count == 1 ? "" : "s", g->wait_reason ? g->wait_reason : g->status_name);
		if (g->created_by.file)
			fprintf(f, " created at %s:%d", basename_of(g->created_by.file),
				g->created_by.line);
		else if (g->created_by.function)
			fprintf(f, " created by %s", g->created_by.function);
		fputc('\n', f);
	}
}

/* "PID N goroutines (go1.27.3)": where the version came from when it was
 * not the build info, and a layout that was inferred rather than known
 * (tools/doc/go-binaries.md), since both deserve a second look. */
static void print_goproc_header(FILE *f, const struct pw_goproc *gp, uint32_t pid,
				const struct print_opts *o)
{
	const char *vs = gp ? gp->version_source : NULL, *ls = gp ? gp->layout_source : NULL;

	fprintf(f, "\n%sPID %u goroutines%s (%s", BOLD(o), pid, RESET(o), gp ? shown(gp->version) : "");
	if (vs && strcmp(vs, "buildinfo"))
		fprintf(f, ", version from %s", vs);
	if (ls && !strncmp(ls, "inferred", 8))
		fprintf(f, ", layout %s", ls);
	fprintf(f, ")\n");
}

/* Goroutines, by process, after the threads. */
static void print_goroutines(FILE *f, const struct pw_report *r, const struct print_opts *o)
{
	print_tests(f, r, o);
	for (int i = 0; i < r->ngoprocs; i++) {
		if (r->goprocs[i].error)
			fprintf(f, "goroutines of %u not read: %s\n", r->goprocs[i].pid,
				shown(r->goprocs[i].error));
		if (r->goprocs[i].running_at_exit)
			fprintf(f, "%d goroutine%s of %u running at exit: not judged (one look cannot "
				"tell a loop from one finishing)\n", r->goprocs[i].running_at_exit,
				r->goprocs[i].running_at_exit == 1 ? "" : "s", r->goprocs[i].pid);
	}
	for (int g = 0; g < r->nggroups; g++) {
		const struct pw_goroutine *gr = &r->goroutines[r->ggroups[g].first].g;

		if (g == 0 || gr->pid != r->goroutines[r->ggroups[g - 1].first].g.pid) {
			const struct pw_goproc *gp = NULL;

			for (int i = 0; i < r->ngoprocs; i++)
				if (r->goprocs[i].pid == gr->pid)
					gp = &r->goprocs[i];
			print_goproc_header(f, gp, gr->pid, o);
		}
		print_ggroup(f, r, &r->ggroups[g], o);
	}
}

void report__print_text(const struct pw_report *r, const struct print_opts *o, FILE *f)
{
	char when[32], thr[32];
	int nproc = 0, nspin = 0;

	for (int i = 0; i < r->nthreads; i++)
		nspin += r->threads[i].spinning;

	for (int g = 0; g < r->ngroups; g++)
		if (g == 0 || r->threads[r->groups[g].first].pid !=
			      r->threads[r->groups[g - 1].first].pid)
			nproc++;
	time_t secs = r->time_ns / 1000000000ULL;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&secs));
	format_duration(r->threshold_ns, thr, sizeof(thr));
	fprintf(f, "%sparkwatch %s%s: %d thread%s ", BOLD(o), when,
		r->has_end ? ", end of run" : strcmp(r->mode, "once") && r->final ? ", final report" : "",
		r->nthreads - nspin, r->nthreads - nspin == 1 ? "" : "s");
	if (r->has_end)
		fprintf(f, "left behind at exit");
	else
		fprintf(f, "parked past %s", thr);
	if (nspin)
		fprintf(f, ", %d spinning", nspin);
	fprintf(f, " in %d process%s%s (%llu threads seen", nproc, nproc == 1 ? "" : "es",
		RESET(o), (unsigned long long)r->stats.tasks_seen);
	if (r->stats.idle_hidden)
		fprintf(f, ", %llu idle hidden", (unsigned long long)r->stats.idle_hidden);
	if (r->stats.timed_hidden)
		fprintf(f, ", %llu timed hidden", (unsigned long long)r->stats.timed_hidden);
	fprintf(f, ")\n");
	if (r->stats.threads_map_full || r->stats.clone_events_lost || r->stats.wait_slot_shared)
		fprintf(f, "%swarning: tracking was incomplete: %llu threads not recorded (map full, "
			"raise --max-threads), %llu clone events lost, %llu futex waits estimated (wait slot shared with another thread)%s\n",
			WARN(o), (unsigned long long)r->stats.threads_map_full,
			(unsigned long long)r->stats.clone_events_lost,
			(unsigned long long)r->stats.wait_slot_shared, RESET(o));
	if (r->has_end)
		fprintf(f, "%s\n", shown(r->end_reason));
	if (r->process.set)
		fprintf(f, "process %u%s: %s%s%s\n", r->process.pid,
			r->process.descendant ? " (started by the command)" : "",
			shown(r->process.cmdline ? r->process.cmdline : r->process.exe ? r->process.exe : "?"),
			r->process.note ? "\n" : "", r->process.note ? r->process.note : "");
	for (int i = 0; i < r->nexited; i++) {
		const struct pw_exited *x = &r->exited[i];

		if (x->reason == PW_EXIT_TARGET)
			fprintf(f, "process %u has exited: no longer watched\n", x->pid);
		else if (x->reason == PW_EXIT_PID_REUSED)
			fprintf(f, "process %u has exited, and PID %u now names another process: "
				"not watched\n", x->pid, x->pid);
		else
			fprintf(f, "process %u exited during the sweep\n", x->pid);
	}
	print_deadlocks(f, r, o);
	for (int g = 0; g < r->ngroups; g++) {
		const struct pw_flagged *t = &r->threads[r->groups[g].first];

		if (g == 0 || t->pid != r->threads[r->groups[g - 1].first].pid)
			fprintf(f, "\n%sPID %u%s %s\n", BOLD(o), t->pid, RESET(o),
				t->exe ? shown(t->exe) : "(executable unknown)");
		print_group(f, r, &r->groups[g], o);
	}
	print_idle_summary(f, r, o);
	print_goroutines(f, r, o);
	print_ignore_rules(f, r, o);
	for (int i = 0; i < SHOWN_RING; i++)
		escape_buf_free(&shown_ring[i]);
}
