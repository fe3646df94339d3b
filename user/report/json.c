// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* JSON printer: schema "parkwatch/1" (tools/parkwatch.schema.json, explained
 * in tools/doc/output.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report/json_writer.h"
#include "report/report.h"

static void print_stack(struct json *j, const struct pw_stack *s)
{
	json_array_begin(j);
	for (int i = 0; i < s->nframes; i++) {
		const struct pw_frame *f = &s->frames[i];

		json_object_begin(j);
		json_khex(j, "address", f->pc);
		json_kstring(j, "function", f->function);
		json_key(j, "offset");
		if (f->function)
			json_uint(j, f->offset);
		else
			json_null(j);
		json_kstring(j, "module", f->module);
		json_kstring(j, "file", f->file);
		json_key(j, "line");
		if (f->line > 0)
			json_int(j, f->line);
		else
			json_null(j);
		json_object_end(j);
	}
	json_array_end(j);
}

/*
 * A value printed once and written again as text while the same object
 * comes back: goroutines of one group share their stack's frames (and
 * often their wait) and are printed back to back, so 100k goroutines cost
 * a few renderings, not 100k.
 */
struct json_memo {
	const void *seen; /* printed last, not memorised yet */
	const void *key;  /* what text holds */
	char *text;
	size_t len;
};

/* Memorise the text of print(arg) for key: 0, or -1 (nothing kept). */
static int memorise(struct json_memo *m, const void *key,
		    void (*print)(struct json *, const void *), const void *arg)
{
	struct json sub;
	FILE *f;

	free(m->text);
	m->text = NULL;
	m->key = NULL;
	if (!(f = open_memstream(&m->text, &m->len)))
		return -1;
	json_init(&sub, f);
	print(&sub, arg);
	if (fclose(f)) {
		free(m->text);
		m->text = NULL;
		return -1;
	}
	/* A document of its own ends its line: not this value. */
	if (m->len && m->text[m->len - 1] == '\n')
		m->len--;
	m->key = key;
	return 0;
}

/* print(arg), whose text depends on key only (NULL: not memorised). The
 * second time in a row a key comes, its text is kept for the next ones. */
static void print_memo(struct json *j, struct json_memo *m, const void *key,
		       void (*print)(struct json *, const void *), const void *arg)
{
	if (key && key == m->key) {
		json_raw(j, m->text, m->len);
	} else if (key && key == m->seen && !memorise(m, key, print, arg)) {
		json_raw(j, m->text, m->len);
	} else {
		print(j, arg);
		m->seen = key;
	}
}

static void print_stack_value(struct json *j, const void *s)
{
	print_stack(j, s);
}

static void print_wait(struct json *j, const struct pw_flagged *t)
{
	json_key(j, "wait");
	json_object_begin(j);
	json_kstring(j, "syscall", t->wait.syscall);
	json_kstring(j, "op", t->wait.op[0] ? t->wait.op : NULL);
	json_key(j, "uaddr");
	if (t->wait.class == PW_CLASS_FUTEX)
		json_hex(j, t->wait.uaddr);
	else
		json_null(j);
	json_key(j, "value");
	if (t->wait.class == PW_CLASS_FUTEX)
		json_uint(j, t->wait.value);
	else
		json_null(j);
	json_key(j, "futex_word");
	if (t->has_futex_word)
		json_uint(j, t->futex_word);
	else
		json_null(j);
	json_kbool(j, "timed", t->wait.timed);
	json_object_end(j);
}

static void print_creator(struct json *j, const struct pw_creator *c)
{
	json_key(j, "creator");
	if (!c) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_kuint(j, "tid", c->tid);
	json_kuint(j, "pid", c->pid);
	json_kstring(j, "comm", c->comm);
	json_kbool(j, "fork", c->is_process);
	json_kuint(j, "born_ns", c->born_ns);
	json_key(j, "stack");
	print_stack(j, &c->stack);
	json_kstring(j, "stack_error", c->stack.error);
	json_object_end(j);
}

static void print_waits_for(struct json *j, const struct pw_wait_edge *e)
{
	json_key(j, "waits_for");
	if (e->kind == PW_WAIT_NONE) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_kstring(j, "kind", waitgraph__kind_name(e->kind));
	json_key(j, "target_tid");
	if (e->target_tid)
		json_uint(j, e->target_tid);
	else
		json_null(j);
	json_kstring(j, "target_comm", e->target_tid ? e->target_comm : NULL);
	json_key(j, "object");
	if (e->object)
		json_hex(j, e->object);
	else
		json_null(j);
	json_kstring(j, "note", e->note);
	json_object_end(j);
}

/* Cycles and chains of the wait-for graph. */
static void print_waitgraph(struct json *j, const struct pw_report *r)
{
	json_key(j, "deadlocks");
	json_array_begin(j);
	for (int d = 0; d < r->ndeadlocks; d++) {
		const struct pw_deadlock *dl = &r->deadlocks[d];

		json_object_begin(j);
		json_kuint(j, "pid", dl->pid);
		json_key(j, "members");
		json_array_begin(j);
		for (int k = 0; k < dl->n; k++)
			json_uint(j, dl->members[k]);
		json_array_end(j);
		json_key(j, "objects");
		json_array_begin(j);
		for (int k = 0; k < dl->n; k++)
			json_hex(j, dl->objects[k]);
		json_array_end(j);
		json_key(j, "kinds");
		json_array_begin(j);
		for (int k = 0; k < dl->n; k++)
			json_string(j, waitgraph__kind_name(dl->kinds[k]));
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "chains");
	json_array_begin(j);
	for (int c = 0; c < r->nchains; c++) {
		const struct pw_wait_chain *ch = &r->chains[c];

		json_object_begin(j);
		json_kuint(j, "pid", ch->pid);
		json_key(j, "members");
		json_array_begin(j);
		for (int k = 0; k < ch->n; k++)
			json_uint(j, ch->members[k]);
		json_array_end(j);
		json_key(j, "objects");
		json_array_begin(j);
		for (int k = 0; k + 1 < ch->n; k++)
			json_hex(j, ch->objects[k]);
		json_array_end(j);
		json_kbool(j, "reaches_deadlock", ch->reaches_deadlock);
		json_key(j, "end");
		json_object_begin(j);
		json_kstring(j, "kind", waitgraph__kind_name(ch->end.kind));
		json_key(j, "target_tid");
		if (ch->end.target_tid)
			json_uint(j, ch->end.target_tid);
		else
			json_null(j);
		json_key(j, "object");
		if (ch->end.object)
			json_hex(j, ch->end.object);
		else
			json_null(j);
		json_kstring(j, "note", ch->end.note);
		json_object_end(j);
		json_object_end(j);
	}
	json_array_end(j);
}

static void print_thread(struct json *j, const struct pw_report *r, const struct pw_flagged *t)
{
	char state[2] = { t->state, 0 }, since[40];

	json_object_begin(j);
	json_kuint(j, "pid", t->pid);
	json_kuint(j, "tid", t->tid);
	json_kstring(j, "comm", t->comm);
	json_kstring(j, "exe", t->exe);
	json_kstring(j, "state", state);
	json_kstring(j, "class", wait_class_name(t->wait.class));
	json_kstring(j, "verdict", report__thread_verdict(r, t));
	json_kbool(j, "idle", t->idle_match != NULL);
	json_kstring(j, "idle_reason", t->idle_match);
	json_kint(j, "group", t->group);
	if (t->site_count)
		json_kint(j, "site_count", t->site_count);
	if (t->spinning) {
		json_key(j, "spin");
		json_object_begin(j);
		json_kint(j, "looks", t->spin.looks);
		json_kuint(j, "wall_ns", t->spin.wall_ns);
		json_kuint(j, "cpu_ns", t->spin.cpu_ns);
		json_object_end(j);
	}
	if (t->stack_sampled)
		json_kbool(j, "stack_sampled", true);
	print_wait(j, t);
	json_kuint(j, "parked_ns", t->parked_ns);
	format_iso_time(r->time_ns - t->parked_ns, since, sizeof(since));
	json_kstring(j, "since", since);
	json_kbool(j, "since_attach", t->since_attach);
	json_kstring(j, "duration_source", t->exact ? "futex_enter" : "last_arrival");
	json_kuint(j, "born_ns", t->born_ns);
	json_kuint(j, "nvcsw", t->nvcsw);
	json_key(j, "stack");
	print_stack(j, &t->stack);
	json_kstring(j, "stack_error", t->stack.error);
	if (t->has_kstack) {
		json_key(j, "kernel_stack");
		print_stack(j, &t->kstack);
	}
	print_creator(j, t->creator);
	print_waits_for(j, &t->waits_for);
	json_object_end(j);
}

/* What a goroutine waits on (go/wait.c): no target goroutine is ever known
 * (Go records no channel peer nor mutex holder), only the object. */
static void print_gwait(struct json *j, const void *arg)
{
	const struct pw_gwait *w = arg;

	if (!w) {
		json_null(j);
		return;
	}
	json_object_begin(j);
	json_kstring(j, "kind", w->kind);
	json_key(j, "object");
	if (w->object)
		json_hex(j, w->object);
	else
		json_null(j);
	json_key(j, "target_goid");
	json_null(j);
	if (w->is_chan) {
		json_key(j, "chan");
		json_object_begin(j);
		json_kuint(j, "elem_size", w->elem_size);
		json_kstring(j, "elem_type", w->elem_type[0] ? w->elem_type : NULL);
		json_kuint(j, "cap", w->cap);
		json_kuint(j, "len", w->len);
		json_kbool(j, "closed", w->closed);
		json_kint(j, "senders", w->senders);
		json_kint(j, "receivers", w->receivers);
		json_kint(j, "selecting", w->selecting);
		if (w->select_cases)
			json_kint(j, "select_cases", w->select_cases);
		json_object_end(j);
	} else {
		json_key(j, "lock");
		json_object_begin(j);
		json_kstring(j, "type", w->lock_type);
		json_kint(j, "queued", w->queued);
		json_key(j, "holder_goid");
		json_null(j);
		json_object_end(j);
	}
	json_kstring(j, "note", w->note);
	json_object_end(j);
}

/* The memos of the goroutine list: stacks by shared block, waits by
 * description. */
struct gmemos {
	struct json_memo stack, wait;
};

static void print_goroutine(struct json *j, const struct pw_gflagged *f, struct gmemos *m)
{
	const struct pw_goroutine *g = &f->g;

	json_object_begin(j);
	json_kuint(j, "pid", g->pid);
	json_kuint(j, "goid", g->goid);
	json_kstring(j, "status", g->status_name);
	json_kstring(j, "wait_reason", g->wait_reason);
	json_key(j, "parked_ns");
	if (f->duration_source && strcmp(f->duration_source, "unknown"))
		json_uint(j, f->parked_ns);
	else
		json_null(j);
	json_kstring(j, "duration_source", f->duration_source);
	json_kstring(j, "class", f->class);
	/* A goroutine's class (leaked with --prove, parked, spinning,
	 * growing) is its verdict in the shared vocabulary. */
	json_kstring(j, "verdict", f->class);
	json_kstring(j, "evidence", f->evidence);
	json_kstring(j, "test", g->test); /* null: not created under a test */
	json_kint(j, "group", f->group);
	if (f->site_count)
		json_kint(j, "site_count", f->site_count);
	if (f->stack_sampled)
		json_kbool(j, "stack_sampled", true);
	if (g->thread_tid)
		json_kuint(j, "thread", g->thread_tid);
	json_key(j, "created_by");
	if (g->created_by.function) {
		json_object_begin(j);
		json_kstring(j, "function", g->created_by.function);
		json_kstring(j, "file", g->created_by.file);
		json_key(j, "line");
		if (g->created_by.line > 0)
			json_int(j, g->created_by.line);
		else
			json_null(j);
		json_key(j, "parent_goid");
		if (g->parent_goid >= 0)
			json_int(j, g->parent_goid);
		else
			json_null(j);
		json_object_end(j);
	} else {
		json_null(j);
	}
	json_kstring(j, "start_function", g->start_function);
	json_key(j, "stack");
	print_memo(j, &m->stack, g->stack.shared, print_stack_value, &g->stack);
	json_kstring(j, "stack_error", g->stack.error);
	json_key(j, "waits_for");
	print_memo(j, &m->wait, g->wait, print_gwait, g->wait);
	json_object_end(j);
}

/* Idle threads that were not listed, per process: [{pid, count, reasons:
 * [{reason, count}]}]. */
static void print_idle_summary(struct json *j, const struct pw_report *r)
{
	json_key(j, "idle_summary");
	json_array_begin(j);
	for (int i = 0; i < r->nidle;) {
		uint64_t total;
		int k = report__idle_process(r, i, &total);

		json_object_begin(j);
		json_kuint(j, "pid", r->idle[i].pid);
		json_kuint(j, "count", total);
		json_key(j, "reasons");
		json_array_begin(j);
		for (; i < k; i++) {
			json_object_begin(j);
			json_kstring(j, "reason", r->idle[i].reason);
			json_kuint(j, "count", r->idle[i].count);
			json_object_end(j);
		}
		json_array_end(j);
		json_object_end(j);
	}
	json_array_end(j);
}

static void print_goroutines(struct json *j, const struct pw_report *r)
{
	struct gmemos m = { 0 };

	json_key(j, "goroutines");
	json_array_begin(j);
	for (int i = 0; i < r->ngoroutines; i++)
		print_goroutine(j, &r->goroutines[i], &m);
	json_array_end(j);
	free(m.stack.text);
	free(m.wait.text);
	json_key(j, "go_processes");
	json_array_begin(j);
	for (int i = 0; i < r->ngoprocs; i++) {
		const struct pw_goproc *p = &r->goprocs[i];

		json_object_begin(j);
		json_kuint(j, "pid", p->pid);
		json_kstring(j, "go_version", p->version[0] ? p->version : NULL);
		json_kstring(j, "go_version_source", p->version_source);
		json_kstring(j, "layout", p->layout_source);
		json_kint(j, "goroutines", p->goroutines);
		json_kint(j, "runtime_hidden", p->runtime_hidden);
		json_kint(j, "running_at_exit", p->running_at_exit);
		if (p->proved || p->prove_error) {
			json_key(j, "prove");
			json_object_begin(j);
			json_kint(j, "leaked", p->prove_leaked);
			json_kuint(j, "elapsed_us", p->prove_us);
			json_kint(j, "unstable", p->prove_unstable);
			json_kuint(j, "scanned_bytes", p->prove_scanned);
			json_kstring(j, "heap_layout", p->prove_layout);
			json_kstring(j, "error", p->prove_error);
			json_object_end(j);
		}
		json_kstring(j, "error", p->error);
		json_object_end(j);
	}
	json_array_end(j);
}

static void print_stats(struct json *j, const struct pw_stats *s)
{
	json_key(j, "stats");
	json_object_begin(j);
	json_kuint(j, "tasks_seen", s->tasks_seen);
	json_kuint(j, "candidates", s->candidates);
	json_kuint(j, "flagged", s->flagged);
	json_kuint(j, "idle_hidden", s->idle_hidden);
	json_kuint(j, "timed_hidden", s->timed_hidden);
	json_kuint(j, "ignored", s->ignored);
	json_kuint(j, "tracked_threads", s->tracked_threads);
	json_kuint(j, "creator_records", s->creator_records);
	json_kuint(j, "threads_map_full", s->threads_map_full);
	json_kuint(j, "wait_slot_shared", s->wait_slot_shared);
	json_kuint(j, "clone_events_lost", s->clone_events_lost);
	json_object_end(j);
}

/* Every ignore rule with its match count over the run so far (0: stale). */
static void print_ignore_rules(struct json *j, const struct pw_report *r)
{
	json_key(j, "ignore_rules");
	json_array_begin(j);
	for (int i = 0; i < r->nrules; i++) {
		json_object_begin(j);
		json_kstring(j, "rule", r->rules[i].rule);
		json_kstring(j, "origin", r->rules[i].origin);
		json_kuint(j, "matched", r->rules[i].matched);
		json_object_end(j);
	}
	json_array_end(j);
}

void report__print_json(const struct pw_report *r, FILE *f)
{
	struct json j;
	char when[40];

	format_iso_time(r->time_ns, when, sizeof(when));
	json_init(&j, f);
	json_object_begin(&j);
	json_kstring(&j, "schema", "parkwatch/1");
	json_kstring(&j, "mode", r->mode);
	json_kstring(&j, "tracking", r->futex_hooks ? "futex-hooks" : "sweep");
	json_kbool(&j, "final", r->final);
	json_kstring(&j, "time", when);
	json_kuint(&j, "threshold_ns", r->threshold_ns);
	json_key(&j, "threads");
	json_array_begin(&j);
	for (int i = 0; i < r->nthreads; i++)
		print_thread(&j, r, &r->threads[i]);
	json_array_end(&j);
	json_key(&j, "groups");
	json_array_begin(&j);
	for (int g = 0; g < r->ngroups; g++) {
		const struct pw_group *gr = &r->groups[g];
		const struct pw_flagged *t = &r->threads[gr->first];

		json_object_begin(&j);
		json_kint(&j, "id", gr->id);
		json_kuint(&j, "pid", t->pid);
		json_kint(&j, "count", gr->count);
		json_key(&j, "tids");
		json_array_begin(&j);
		for (int i = 0; i < gr->count; i++)
			json_uint(&j, r->threads[gr->first + i].tid);
		json_array_end(&j);
		json_kstring(&j, "class", wait_class_name(t->wait.class));
		json_kstring(&j, "top_function", t->stack.nframes ? t->stack.frames[0].function : NULL);
		json_object_end(&j);
	}
	json_array_end(&j);
	print_waitgraph(&j, r);
	print_idle_summary(&j, r);
	print_goroutines(&j, r);
	json_key(&j, "exited");
	json_array_begin(&j);
	for (int i = 0; i < r->nexited; i++) {
		json_object_begin(&j);
		json_kuint(&j, "pid", r->exited[i].pid);
		json_kstring(&j, "reason", report__exit_reason_name(r->exited[i].reason));
		json_object_end(&j);
	}
	json_array_end(&j);
	if (r->has_end) {
		json_key(&j, "end_of_run");
		json_object_begin(&j);
		json_kbool(&j, "snapshot", r->end_snapshot);
		json_kbool(&j, "covered", r->end_snapshot || r->end_covered);
		json_kint(&j, "exit_status", r->exit_status);
		json_kstring(&j, "reason", r->end_reason);
		json_object_end(&j);
	}
	if (r->process.set) {
		json_key(&j, "process");
		json_object_begin(&j);
		json_kuint(&j, "pid", r->process.pid);
		json_kstring(&j, "cmdline", r->process.cmdline);
		json_kstring(&j, "exe", r->process.exe);
		json_kbool(&j, "descendant", r->process.descendant);
		json_kbool(&j, "subject", !r->process.tool);
		json_kstring(&j, "tool", r->process.tool);
		json_kstring(&j, "note", r->process.note);
		json_object_end(&j);
	}
	print_ignore_rules(&j, r);
	print_stats(&j, &r->stats);
	json_object_end(&j);
	fflush(f);
}
