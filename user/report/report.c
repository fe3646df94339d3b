// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "report/report.h"

struct pw_flagged *report__add(struct pw_report *r)
{
	if (r->nthreads == r->cap) {
		int ncap = r->cap ? r->cap * 2 : 64;
		struct pw_flagged *v = realloc(r->threads, ncap * sizeof(*v));

		if (!v)
			return NULL;
		r->threads = v;
		r->cap = ncap;
	}
	memset(&r->threads[r->nthreads], 0, sizeof(r->threads[0]));
	return &r->threads[r->nthreads++];
}

int report__add_exited_why(struct pw_report *r, uint32_t pid, enum pw_exit_reason why)
{
	struct pw_exited *v;

	for (int i = 0; i < r->nexited; i++)
		if (r->exited[i].pid == pid)
			return 0;
	v = realloc(r->exited, (r->nexited + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->exited = v;
	r->exited[r->nexited++] = (struct pw_exited){ .pid = pid, .reason = why };
	return 0;
}

int report__count_idle(struct pw_report *r, uint32_t pid, const char *reason)
{
	struct pw_idle_count *v;
	int at = r->nidle;

	/* Few entries (processes x reasons): a linear scan keeps them grouped
	 * by pid in the order reasons were first seen. */
	for (int i = 0; i < r->nidle; i++) {
		if (r->idle[i].pid == pid && !strcmp(r->idle[i].reason, reason)) {
			r->idle[i].count++;
			return 0;
		}
		if (r->idle[i].pid == pid)
			at = i + 1;
		else if (r->idle[i].pid > pid && at == r->nidle)
			at = i;
	}
	v = realloc(r->idle, (r->nidle + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->idle = v;
	memmove(v + at + 1, v + at, (r->nidle - at) * sizeof(*v));
	v[at] = (struct pw_idle_count){ .pid = pid, .reason = reason, .count = 1 };
	r->nidle++;
	return 0;
}

int report__idle_process(const struct pw_report *r, int i, uint64_t *total)
{
	int k;

	*total = 0;
	for (k = i; k < r->nidle && r->idle[k].pid == r->idle[i].pid; k++)
		*total += r->idle[k].count;
	return k;
}

const char *report__thread_verdict(const struct pw_report *r, const struct pw_flagged *t)
{
	for (int i = 0; i < r->ndeadlocks; i++)
		for (int k = 0; r->deadlocks[i].pid == t->pid && k < r->deadlocks[i].n; k++)
			if (r->deadlocks[i].members[k] == t->tid)
				return "deadlocked";
	if (t->idle_match)
		return "idle";
	if (t->site_count)
		return "growing";
	return t->wait.class == PW_CLASS_RUNNING ? "spinning" : "parked";
}

int report__add_exited(struct pw_report *r, uint32_t pid)
{
	return report__add_exited_why(r, pid, PW_EXIT_DURING_SWEEP);
}

const char *report__exit_reason_name(enum pw_exit_reason why)
{
	switch (why) {
	case PW_EXIT_TARGET: return "exited";
	case PW_EXIT_PID_REUSED: return "pid_reused";
	default: return "during_sweep";
	}
}

static int cmp_stacks(const struct pw_stack *a, const struct pw_stack *b)
{
	if (a->frames == b->frames && a->nframes == b->nframes)
		return 0; /* one shared block (or both empty) */
	if (a->nframes != b->nframes)
		return a->nframes < b->nframes ? -1 : 1;
	for (int i = 0; i < a->nframes; i++)
		if (a->frames[i].pc != b->frames[i].pc)
			return a->frames[i].pc < b->frames[i].pc ? -1 : 1;
	return 0;
}

/* Same group: same process, same kind of wait, same stack. */
static int cmp_group_key(const struct pw_flagged *a, const struct pw_flagged *b)
{
	int c;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if ((c = strcmp(a->wait.syscall, b->wait.syscall)))
		return c;
	if ((c = strcmp(a->wait.op, b->wait.op)))
		return c;
	if (a->wait.timed != b->wait.timed)
		return a->wait.timed ? 1 : -1;
	if ((a->idle_match != NULL) != (b->idle_match != NULL))
		return a->idle_match ? 1 : -1;
	return cmp_stacks(&a->stack, &b->stack);
}

static int cmp_flagged(const void *x, const void *y)
{
	const struct pw_flagged *a = x, *b = y;
	int c = cmp_group_key(a, b);

	if (c)
		return c;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

int report__group(struct pw_report *r)
{
	if (r->nthreads)
		qsort(r->threads, r->nthreads, sizeof(*r->threads), cmp_flagged);
	free(r->groups);
	r->groups = NULL;
	r->ngroups = 0;
	for (int i = 0; i < r->nthreads; i++) {
		if (i == 0 || cmp_group_key(&r->threads[i - 1], &r->threads[i])) {
			struct pw_group *g = realloc(r->groups, (r->ngroups + 1) * sizeof(*g));

			if (!g)
				return -ENOMEM;
			r->groups = g;
			g[r->ngroups] = (struct pw_group){ .id = r->ngroups, .first = i };
			r->ngroups++;
		}
		r->groups[r->ngroups - 1].count++;
		r->threads[i].group = r->ngroups - 1;
	}
	return 0;
}

void report__hide_idle(struct pw_report *r, int i, const char *reason)
{
	r->stats.idle_hidden++;
	r->stats.flagged--;
	/* Out of memory: still counted in idle_hidden, only not named. */
	(void)report__count_idle(r, r->threads[i].pid, reason);
	report__remove(r, i);
}

int report__fold_idle(struct pw_report *r, bool show_idle)
{
	bool changed = false;

	for (int i = 0; i < r->nthreads; i++) {
		struct pw_flagged *t = &r->threads[i];

		if (!t->idle_match)
			continue;
		changed = true;
		if (t->site_count) {
			t->idle_match = NULL;
		} else if (!show_idle) {
			report__hide_idle(r, i--, t->idle_match);
		}
	}
	return changed ? report__group(r) : 0;
}

/* What one entry owns; shared by report__remove and report__free. */
static void flagged_free(struct pw_flagged *t)
{
	free(t->exe);
	pw_stack__free(&t->stack);
	pw_stack__free(&t->kstack);
	if (t->creator) {
		pw_stack__free(&t->creator->stack);
		free(t->creator);
	}
}

void report__remove(struct pw_report *r, int i)
{
	flagged_free(&r->threads[i]);
	/* O(1): the last entry fills the hole. Order does not matter before
	 * report__group, which sorts. */
	r->threads[i] = r->threads[--r->nthreads];
}

int report__reserve_goroutines(struct pw_report *r, int n)
{
	struct pw_gflagged *v;

	if (n <= r->gcap - r->ngoroutines)
		return 0;
	v = realloc(r->goroutines, (size_t)(r->ngoroutines + n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->goroutines = v;
	r->gcap = r->ngoroutines + n;
	return 0;
}

struct pw_gflagged *report__add_goroutine(struct pw_report *r)
{
	if (r->ngoroutines == r->gcap) {
		int ncap = r->gcap ? r->gcap * 2 : 64;
		struct pw_gflagged *v = realloc(r->goroutines, ncap * sizeof(*v));

		if (!v)
			return NULL;
		r->goroutines = v;
		r->gcap = ncap;
	}
	memset(&r->goroutines[r->ngoroutines], 0, sizeof(r->goroutines[0]));
	return &r->goroutines[r->ngoroutines++];
}

struct pw_goproc *report__add_goproc(struct pw_report *r)
{
	struct pw_goproc *v = realloc(r->goprocs, (r->ngoprocs + 1) * sizeof(*v));

	if (!v)
		return NULL;
	r->goprocs = v;
	memset(&v[r->ngoprocs], 0, sizeof(*v));
	return &v[r->ngoprocs++];
}

static int strcmp_null(const char *a, const char *b)
{
	if (a == b) /* static names: 100k goroutines' sort compares them */
		return 0;
	return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

static int cmp_gwait(const struct pw_gwait *a, const struct pw_gwait *b)
{
	uint64_t x = a ? a->object : 0, y = b ? b->object : 0;
	int c;

	if ((a != NULL) != (b != NULL))
		return a ? 1 : -1;
	if (a && (c = strcmp_null(a->kind, b->kind)))
		return c;
	return x < y ? -1 : x > y;
}

/* Same group: same process, class, wait reason, stack and creation site —
 * one leaking site is one entry however many objects its goroutines wait
 * on (the printers list the objects). */
static int cmp_ggroup_key(const struct pw_gflagged *a, const struct pw_gflagged *b)
{
	int c;

	if (a->g.pid != b->g.pid)
		return a->g.pid < b->g.pid ? -1 : 1;
	/* proved leaks first: what pages someone */
	if ((c = (b->class && !strcmp(b->class, "leaked")) - (a->class && !strcmp(a->class, "leaked"))))
		return c;
	if ((c = strcmp_null(a->class, b->class)) || (c = strcmp_null(a->g.wait_reason, b->g.wait_reason)))
		return c;
	if (a->g.created_by.pc != b->g.created_by.pc)
		return a->g.created_by.pc < b->g.created_by.pc ? -1 : 1;
	return cmp_stacks(&a->g.stack, &b->g.stack);
}

static int cmp_gflagged(const void *x, const void *y)
{
	const struct pw_gflagged *a = x, *b = y;
	int c = cmp_ggroup_key(a, b);

	/* within a group, goroutines on one object side by side */
	if (c || (c = cmp_gwait(a->g.wait, b->g.wait)))
		return c;
	return a->g.goid < b->g.goid ? -1 : a->g.goid > b->g.goid;
}

int report__group_goroutines(struct pw_report *r)
{
	if (r->ngoroutines)
		qsort(r->goroutines, r->ngoroutines, sizeof(*r->goroutines), cmp_gflagged);
	free(r->ggroups);
	r->ggroups = NULL;
	r->nggroups = 0;
	for (int i = 0; i < r->ngoroutines; i++) {
		if (i == 0 || cmp_ggroup_key(&r->goroutines[i - 1], &r->goroutines[i])) {
			struct pw_group *g = realloc(r->ggroups, (r->nggroups + 1) * sizeof(*g));

			if (!g)
				return -ENOMEM;
			r->ggroups = g;
			g[r->nggroups] = (struct pw_group){ .id = r->nggroups, .first = i };
			r->nggroups++;
		}
		r->ggroups[r->nggroups - 1].count++;
		r->goroutines[i].group = r->nggroups - 1;
	}
	return 0;
}

void report__gflagged_free(struct pw_gflagged *f)
{
	pw_goroutine__release(&f->g);
	free(f->evidence);
	f->evidence = NULL;
}

void report__free(struct pw_report *r)
{
	for (int i = 0; i < r->nthreads; i++)
		flagged_free(&r->threads[i]);
	for (int i = 0; i < r->ngoroutines; i++)
		report__gflagged_free(&r->goroutines[i]);
	for (int i = 0; i < r->ngoprocs; i++) {
		free(r->goprocs[i].error);
		free(r->goprocs[i].prove_error);
		free(r->goprocs[i].prove_layout);
	}
	free(r->goroutines);
	free(r->ggroups);
	free(r->goprocs);
	free(r->threads);
	free(r->groups);
	free(r->exited);
	free(r->idle);
	for (int i = 0; i < r->ndeadlocks; i++) {
		free(r->deadlocks[i].members);
		free(r->deadlocks[i].objects);
		free(r->deadlocks[i].kinds);
	}
	free(r->deadlocks);
	for (int i = 0; i < r->nchains; i++) {
		free(r->chains[i].members);
		free(r->chains[i].objects);
		free(r->chains[i].kinds);
	}
	free(r->chains);
	memset(r, 0, sizeof(*r));
}

void format_iso_time(uint64_t realtime_ns, char *buf, size_t len)
{
	time_t secs = realtime_ns / 1000000000ULL;
	struct tm tm;
	char base[24];

	gmtime_r(&secs, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03lluZ", base,
		 (unsigned long long)(realtime_ns / 1000000ULL % 1000));
}

static const char *const verdict_names[] = { "leaked", "deadlocked", "growing", "spinning",
					     "parked" };

static unsigned verdict_bit(const char *v)
{
	for (unsigned i = 0; v && i < sizeof(verdict_names) / sizeof(verdict_names[0]); i++)
		if (!strcmp(v, verdict_names[i]))
			return 1u << i;
	return 0;
}

int report__parse_verdicts(const char *s, unsigned *mask)
{
	char word[16];

	*mask = 0;
	while (s && *s) {
		size_t n = strcspn(s, ",");
		unsigned bit;

		if (!n || n >= sizeof(word))
			return -EINVAL;
		memcpy(word, s, n);
		word[n] = 0;
		if (!(bit = verdict_bit(word)))
			return -EINVAL;
		*mask |= bit;
		s += n;
		if (*s == ',' && !*++s)
			return -EINVAL; /* a trailing comma */
	}
	return *mask ? 0 : -EINVAL;
}

bool report__flagged(const struct pw_report *r, unsigned mask)
{
	if (!mask)
		return r->nthreads > 0 || r->ngoroutines > 0;
	for (int i = 0; i < r->ngoroutines; i++)
		if (verdict_bit(r->goroutines[i].class) & mask)
			return true;
	for (int i = 0; i < r->nthreads; i++)
		if (verdict_bit(report__thread_verdict(r, &r->threads[i])) & mask)
			return true;
	return false;
}
