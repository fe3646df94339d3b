// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Metrics from the report model. One sweep's flagged threads and goroutines
 * are counted per (process, verdict, wait, parking site): LeakProf's signal,
 * a count at one site that keeps rising. Series are sorted so that each
 * family is one block (both formats require it) and the output is stable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "serve/metrics.h"
#include "config.h"
#include "threads/waitgraph.h"

/* Label values are cut here: a C++ or Go function name can be long, and a
 * series is identified by all of its bytes. */
#define MAX_LABEL_BYTES 256

enum family { FAM_THREADS, FAM_GOROUTINES, FAM_OLDEST };

struct series {
	enum family fam;
	uint32_t pid;
	/* Escaped label values (owned); verdict/wait/site NULL for FAM_OLDEST. */
	char *comm, *verdict, *wait, *site;
	double value;
};

struct metrics_set {
	struct series *s;
	int n;
	/* Sweep-level figures of the report. */
	struct pw_stats stats;
	int go_read_errors;
};

/* A series before aggregation: label values not yet escaped, not owned. */
struct raw {
	enum family fam;
	uint32_t pid;
	const char *comm, *verdict, *wait, *site;
	double value;
};

/* The name a process gives itself, read once per process per sweep. The
 * raw series point into it: it is sized once (one slot per flagged thread
 * or goroutine at most) and never moves. */
struct comm_cache {
	uint32_t pid;
	char comm[PW_COMM_LEN + 1];
};

static const char *process_comm(struct comm_cache *cache, int *n, uint32_t pid,
				const char *fallback)
{
	char path[40], buf[PW_COMM_LEN + 1];
	struct comm_cache *c;
	ssize_t len = -1;
	int fd;

	for (int i = 0; i < *n; i++)
		if (cache[i].pid == pid)
			return cache[i].comm[0] ? cache[i].comm : fallback;
	c = &cache[(*n)++];
	c->pid = pid;
	c->comm[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (len > 0) {
		/* The kernel ends it with one newline; a newline inside
		 * the name itself stays (and is escaped later). */
		if (buf[len - 1] == '\n')
			len--;
		memcpy(c->comm, buf, len);
		c->comm[len] = '\0';
	}
	return c->comm[0] ? c->comm : fallback;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_raw(const void *pa, const void *pb)
{
	const struct raw *a = pa, *b = pb;
	int d;

	if (a->fam != b->fam)
		return a->fam < b->fam ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if ((d = cmp_str(a->comm, b->comm)) || (d = cmp_str(a->verdict, b->verdict)) ||
	    (d = cmp_str(a->wait, b->wait)))
		return d;
	return cmp_str(a->site, b->site);
}

/* Largest first, so a cap keeps the sites that matter; then by key. */
static int cmp_value_desc(const void *pa, const void *pb)
{
	const struct raw *a = pa, *b = pb;

	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	return cmp_raw(pa, pb);
}

static bool in_deadlock(const struct pw_report *r, uint32_t pid, uint32_t tid)
{
	for (int d = 0; d < r->ndeadlocks; d++) {
		if (r->deadlocks[d].pid != pid)
			continue;
		for (int i = 0; i < r->deadlocks[d].n; i++)
			if (r->deadlocks[d].members[i] == tid)
				return true;
	}
	return false;
}

/* A thread's wait: the primitive when the wait-for graph named it, else the
 * system call ("futex" for a futex word nobody could attribute). */
static const char *thread_wait(const struct pw_flagged *t)
{
	if (t->waits_for.kind > PW_WAIT_UNKNOWN)
		return waitgraph__kind_name(t->waits_for.kind);
	return t->wait.syscall ? t->wait.syscall : "unknown";
}

static void oldest(struct raw *o, uint32_t pid, const char *comm, uint64_t parked_ns)
{
	double s = parked_ns / 1e9;

	*o = (struct raw){ .fam = FAM_OLDEST, .pid = pid, .comm = comm, .value = s };
}

/* Every flagged thread and goroutine as a raw series of value 1 (and one
 * "oldest" candidate each); *n set. */
static struct raw *gather(const struct pw_report *r, struct comm_cache *cache, int *ncache,
			  int *n)
{
	struct raw *raw = calloc(2 * (size_t)(r->nthreads + r->ngoroutines) + 1, sizeof(*raw));
	int k = 0;

	if (!raw)
		return NULL;
	for (int i = 0; i < r->nthreads; i++) {
		const struct pw_flagged *t = &r->threads[i];
		const char *comm = process_comm(cache, ncache, t->pid, t->comm);

		raw[k++] = (struct raw){
			.fam = FAM_THREADS, .pid = t->pid, .comm = comm,
			.verdict = in_deadlock(r, t->pid, t->tid) ? "deadlocked" :
				   t->idle_match ? "idle" : "parked",
			.wait = thread_wait(t), .site = metrics__thread_site(&t->stack),
			.value = 1,
		};
		oldest(&raw[k++], t->pid, comm, t->parked_ns);
	}
	for (int i = 0; i < r->ngoroutines; i++) {
		const struct pw_gflagged *f = &r->goroutines[i];
		const char *comm = process_comm(cache, ncache, f->g.pid, "?");

		raw[k++] = (struct raw){
			.fam = FAM_GOROUTINES, .pid = f->g.pid, .comm = comm,
			.verdict = f->class ? f->class : "parked",
			.wait = f->g.wait_reason ? f->g.wait_reason : f->g.status_name,
			.site = metrics__goroutine_site(&f->g.stack), .value = 1,
		};
		/* A park of unknown length says nothing about the oldest. */
		if (f->duration_source && strcmp(f->duration_source, "unknown"))
			oldest(&raw[k++], f->g.pid, comm, f->parked_ns);
	}
	*n = k;
	return raw;
}

/* Merge equal keys (sorted input): counts add up, "oldest" keeps the max. */
static int merge(struct raw *raw, int n)
{
	int m = 0;

	for (int i = 0; i < n; i++) {
		if (m && !cmp_raw(&raw[m - 1], &raw[i])) {
			if (raw[i].fam == FAM_OLDEST) {
				if (raw[i].value > raw[m - 1].value)
					raw[m - 1].value = raw[i].value;
			} else {
				raw[m - 1].value += raw[i].value;
			}
			continue;
		}
		raw[m++] = raw[i];
	}
	return m;
}

void metrics__free(struct metrics_set *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++) {
		free(s->s[i].comm);
		free(s->s[i].verdict);
		free(s->s[i].wait);
		free(s->s[i].site);
	}
	free(s->s);
	free(s);
}

static char *escape_or_null(const char *v, bool *oom)
{
	char *e;

	if (!v)
		return NULL;
	e = metrics__escape_label(v, MAX_LABEL_BYTES);
	if (!e)
		*oom = true;
	return e;
}

struct metrics_set *metrics__collect(const struct pw_report *r, int max_series,
				     uint64_t *dropped)
{
	struct metrics_set *s = calloc(1, sizeof(*s));
	struct comm_cache *cache = NULL;
	int ncache = 0, n = 0;
	struct raw *raw = NULL;
	bool oom = false;

	*dropped = 0;
	if (!s)
		return NULL;
	s->stats = r->stats;
	for (int i = 0; i < r->ngoprocs; i++)
		s->go_read_errors += r->goprocs[i].error != NULL;
	cache = calloc((size_t)r->nthreads + r->ngoroutines + 1, sizeof(*cache));
	raw = cache ? gather(r, cache, &ncache, &n) : NULL;
	if (!raw)
		goto fail;
	qsort(raw, n, sizeof(*raw), cmp_raw);
	n = merge(raw, n);
	if (max_series >= 0 && n > max_series) {
		qsort(raw, n, sizeof(*raw), cmp_value_desc);
		*dropped = n - max_series;
		n = max_series;
		qsort(raw, n, sizeof(*raw), cmp_raw);
	}
	s->s = calloc(n + 1, sizeof(*s->s));
	if (!s->s)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct series *o = &s->s[s->n++];

		o->fam = raw[i].fam;
		o->pid = raw[i].pid;
		o->value = raw[i].value;
		o->comm = escape_or_null(raw[i].comm, &oom);
		o->verdict = escape_or_null(raw[i].verdict, &oom);
		o->wait = escape_or_null(raw[i].wait, &oom);
		o->site = escape_or_null(raw[i].site, &oom);
	}
	if (oom)
		goto fail;
	free(raw);
	free(cache);
	return s;
fail:
	free(raw);
	free(cache);
	metrics__free(s);
	errno = ENOMEM;
	return NULL;
}

/* --- rendering ------------------------------------------------------------ */

enum mtype { GAUGE, COUNTER, INFO };

/* HELP and TYPE of a family. name is the sample name; OpenMetrics names the
 * family without the _total (counter) or _info (info) suffix. */
static void header(FILE *f, enum metrics_format fmt, const char *name, enum mtype type,
		   const char *help)
{
	static const char *const types[] = { "gauge", "counter", "info" };
	size_t len = strlen(name);

	if (fmt == METRICS_OPENMETRICS && type != GAUGE)
		len -= type == COUNTER ? strlen("_total") : strlen("_info");
	/* 0.0.4 has no "info" type: there the build info is a gauge of 1. */
	fprintf(f, "# HELP %.*s %s\n", (int)len, name, help);
	fprintf(f, "# TYPE %.*s %s\n", (int)len, name,
		fmt == METRICS_PROMETHEUS && type == INFO ? "gauge" : types[type]);
}

static void sample_u64(FILE *f, const char *name, const char *labels, uint64_t v)
{
	fprintf(f, "%s%s %" PRIu64 "\n", name, labels ? labels : "", v);
}

static void render_series(FILE *f, enum metrics_format fmt, const struct metrics_set *s,
			  enum family fam, const char *name, const char *help)
{
	header(f, fmt, name, GAUGE, help);
	for (int i = 0; s && i < s->n; i++) {
		const struct series *x = &s->s[i];

		if (x->fam != fam)
			continue;
		if (fam == FAM_OLDEST)
			fprintf(f, "%s{pid=\"%u\",comm=\"%s\"} %.3f\n", name, x->pid, x->comm,
				x->value);
		else
			fprintf(f, "%s{pid=\"%u\",comm=\"%s\",verdict=\"%s\",wait=\"%s\","
				"site=\"%s\"} %.0f\n", name, x->pid, x->comm, x->verdict,
				x->wait, x->site, x->value);
	}
}

void metrics__render(const struct metrics_set *s, const struct metrics_counters *c,
		     enum metrics_format fmt, FILE *f)
{
	const struct pw_stats *st = s ? &s->stats : &(struct pw_stats){ 0 };

	render_series(f, fmt, s, FAM_THREADS, "parkwatch_parked_threads",
		      "Threads parked past the threshold at the latest sweep, by process, "
		      "verdict, wait and parking site (innermost non-libc function).");
	render_series(f, fmt, s, FAM_GOROUTINES, "parkwatch_parked_goroutines",
		      "Goroutines parked past the threshold at the latest sweep, by process, "
		      "verdict, wait reason and parking site (innermost non-runtime function).");
	render_series(f, fmt, s, FAM_OLDEST, "parkwatch_oldest_parked_seconds",
		      "How long the longest-parked flagged thread or goroutine of the process "
		      "has been parked.");
	header(f, fmt, "parkwatch_sweeps_total", COUNTER, "Sweeps done since the daemon started.");
	sample_u64(f, "parkwatch_sweeps_total", NULL, c->sweeps);
	header(f, fmt, "parkwatch_sweep_errors_total", COUNTER,
	       "Sweeps that failed (the previous per-process series are kept).");
	sample_u64(f, "parkwatch_sweep_errors_total", NULL, c->sweep_errors);
	header(f, fmt, "parkwatch_sweep_duration_seconds", GAUGE,
	       "How long the latest sweep took, unwinding and symbolizing included.");
	fprintf(f, "parkwatch_sweep_duration_seconds %.6f\n", c->last_sweep_duration_ns / 1e9);
	header(f, fmt, "parkwatch_last_sweep_timestamp_seconds", GAUGE,
	       "When the latest sweep ran (Unix time; 0 before the first).");
	fprintf(f, "parkwatch_last_sweep_timestamp_seconds %.3f\n", c->last_sweep_time_ns / 1e9);
	header(f, fmt, "parkwatch_tasks_seen", GAUGE, "Threads the latest sweep looked at.");
	sample_u64(f, "parkwatch_tasks_seen", NULL, st->tasks_seen);
	header(f, fmt, "parkwatch_hidden_waits", GAUGE,
	       "Waits past the threshold the latest sweep did not flag, by reason.");
	sample_u64(f, "parkwatch_hidden_waits", "{reason=\"idle\"}", st->idle_hidden);
	sample_u64(f, "parkwatch_hidden_waits", "{reason=\"timed\"}", st->timed_hidden);
	sample_u64(f, "parkwatch_hidden_waits", "{reason=\"ignored\"}", st->ignored);
	header(f, fmt, "parkwatch_map_overflows_total", COUNTER,
	       "Records the BPF side could not keep since the daemon started, by map.");
	sample_u64(f, "parkwatch_map_overflows_total", "{map=\"threads\"}", st->threads_map_full);
	sample_u64(f, "parkwatch_map_overflows_total", "{map=\"clone_events\"}",
		   st->clone_events_lost);
	header(f, fmt, "parkwatch_goroutine_read_errors", GAUGE,
	       "Go processes whose goroutines the latest sweep could not read.");
	sample_u64(f, "parkwatch_goroutine_read_errors", NULL, s ? s->go_read_errors : 0);
	header(f, fmt, "parkwatch_series_dropped_total", COUNTER,
	       "Per-process series left out because of --max-series, summed over sweeps.");
	sample_u64(f, "parkwatch_series_dropped_total", NULL, c->series_dropped);
	header(f, fmt, "parkwatch_reloads_total", COUNTER,
	       "SIGHUP reloads of the ignore and idle files, by result.");
	sample_u64(f, "parkwatch_reloads_total", "{result=\"ok\"}", c->reloads_ok);
	sample_u64(f, "parkwatch_reloads_total", "{result=\"error\"}", c->reloads_failed);
	header(f, fmt, "parkwatch_build_info", INFO, "The parkwatch build serving these metrics.");
	sample_u64(f, "parkwatch_build_info", "{version=\"" PW_VERSION "\"}", 1);
	if (fmt == METRICS_OPENMETRICS)
		fputs("# EOF\n", f);
}
