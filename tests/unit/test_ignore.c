// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Ignore rules: rule files, top/any/created-by matching, wildcards, the
 * baseline multiset, match counting across reports; the same for goroutines. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rules/ignore.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test_ignore.XXXXXX";

static const char *write_tmp(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

/* Push frames given as "function" or "?module" (no name) onto s. */
static void set_stack(struct pw_stack *s, const char *const *frames)
{
	for (int i = 0; frames && frames[i]; i++) {
		struct pw_frame f = { .pc = 0x1000 + i * 16 };

		if (frames[i][0] == '?') {
			f.module = strdup(frames[i] + 1);
		} else {
			f.function = strdup(frames[i]);
			f.module = strdup("libx.so");
		}
		pw_stack__push(s, &f);
	}
}

/* Add a flagged futex thread: exe, stack, creator stack (NULL: no creator). */
static struct pw_flagged *add_thread(struct pw_report *r, uint32_t tid, uint64_t born,
				     const char *exe, const char *const *stack,
				     const char *const *creator)
{
	struct pw_flagged *t = report__add(r);

	t->pid = 100;
	t->tid = tid;
	t->born_ns = born;
	t->exe = exe ? strdup(exe) : NULL;
	t->wait.class = PW_CLASS_FUTEX;
	t->wait.syscall = "futex";
	strcpy(t->wait.op, "FUTEX_WAIT_BITSET_PRIVATE");
	set_stack(&t->stack, stack);
	if (creator) {
		t->creator = calloc(1, sizeof(*t->creator));
		set_stack(&t->creator->stack, creator);
	}
	r->stats.flagged++;
	return t;
}

static bool has_tid(const struct pw_report *r, uint32_t tid)
{
	for (int i = 0; i < r->nthreads; i++)
		if (r->threads[i].tid == tid)
			return true;
	return false;
}

static const char *const WORKER[] = { "__futex_abstimed_wait_common", "pthread_cond_wait",
				      "worker_wait", "worker_main", "start_thread", "__clone3",
				      NULL };
static const char *const OTHER[] = { "?libfoo.so", "__futex_abstimed_wait_common",
				     "pthread_mutex_lock", "runtime.lock2", "other_main",
				     "start_thread", "__clone3", NULL };
static const char *const CREATOR[] = { "__clone3", "__GI___clone_internal", "create_thread",
				       "pthread_create@@GLIBC_2.34", "spawn_workers", "main",
				       "__libc_start_main", "_start", NULL };
static const char *const CREATOR_UNNAMED[] = { "__clone3", "create_thread", "pthread_create",
					       "?app", "main", NULL };
static const char *const CREATOR_GO[] = { "runtime.clone", "runtime.newosproc",
					  "runtime.newm1", "runtime.newm", "runtime.startm",
					  "runtime.wakep", "runtime.schedule", NULL };

/* A 3-thread report: worker (created by spawn_workers), other (no creator),
 * Go M (created by runtime.wakep). */
static void sample(struct pw_report *r)
{
	memset(r, 0, sizeof(*r));
	add_thread(r, 11, 1, "/usr/bin/app", WORKER, CREATOR);
	add_thread(r, 12, 2, "/usr/bin/app", OTHER, NULL);
	add_thread(r, 13, 3, "/usr/bin/app", OTHER, CREATOR_GO);
}

static void test_add(void)
{
	struct ignore_set *s = ignore_set__new();

	CHECK(ignore_set__empty(s));
	CHECK(ignore_set__add(s, IGNORE_TOP, "", "--ignore-top") == -EINVAL);
	CHECK(ignore_set__add(s, IGNORE_TOP, "a b", "--ignore-top") == -EINVAL);
	CHECK(ignore_set__add(s, IGNORE_TOP, "a*b", "--ignore-top") == -EINVAL);
	CHECK(ignore_set__add(s, IGNORE_TOP, NULL, "--ignore-top") == -EINVAL);
	CHECK(ignore_set__empty(s));
	CHECK(ignore_set__add(s, IGNORE_ANY, "runtime.*", "--ignore-any") == 0);
	CHECK(!ignore_set__empty(s));
	ignore_set__free(s);
}

static void test_file(void)
{
	struct ignore_set *s = ignore_set__new();
	struct pw_report r;
	char err[512], want[512];
	const char *p;

	p = write_tmp("good.rules",
		      "# rules for app\n"
		      "\n"
		      "   \t\n"
		      "top __futex_abstimed_wait_common   # glibc's wait\n"
		      "any\tworker_wait\n"
		      "created-by spawn_*#no space before the comment\n"
		      "  top never_seen  \n");
	CHECK(ignore_set__load_file(s, p, err, sizeof(err)) == 0);
	sample(&r);
	ignore_set__apply(s, &r);
	CHECK(r.nrules == 4);
	if (r.nrules == 4) {
		CHECK(!strcmp(r.rules[0].rule, "top __futex_abstimed_wait_common"));
		snprintf(want, sizeof(want), "%s:4", p);
		CHECK(!strcmp(r.rules[0].origin, want));
		CHECK(!strcmp(r.rules[1].rule, "any worker_wait"));
		snprintf(want, sizeof(want), "%s:5", p);
		CHECK(!strcmp(r.rules[1].origin, want));
		CHECK(!strcmp(r.rules[2].rule, "created-by spawn_*"));
		CHECK(!strcmp(r.rules[3].rule, "top never_seen"));
		snprintf(want, sizeof(want), "%s:7", p);
		CHECK(!strcmp(r.rules[3].origin, want));
		CHECK(r.rules[0].matched == 3); /* OTHER: past its unnamed top frame */
		CHECK(r.rules[1].matched == 1);
		CHECK(r.rules[2].matched == 1);
		CHECK(r.rules[3].matched == 0);
	}
	report__free(&r);
	ignore_set__free(s);

	static const char *const bad[] = {
		"top\n",                 /* no function */
		"top a b\n",             /* too many */
		"bottom foo\n",          /* unknown kind */
		"created_by foo\n",      /* misspelt kind */
		"any foo*bar\n",         /* '*' not at the end */
		"top # only a comment\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128];

		s = ignore_set__new();
		snprintf(text, sizeof(text), "# header\ntop ok\n%s", bad[i]);
		p = write_tmp("bad.rules", text);
		err[0] = 0;
		CHECK(ignore_set__load_file(s, p, err, sizeof(err)) == -EINVAL);
		snprintf(want, sizeof(want),
			 "%s:3: expected 'top FUNC', 'any FUNC' or 'created-by FUNC'", p);
		CHECK(!strcmp(err, want));
		if (strcmp(err, want))
			fprintf(stderr, "  got: %s\n", err);
		ignore_set__free(s);
	}

	s = ignore_set__new();
	CHECK(ignore_set__load_file(s, "/nonexistent/rules", err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "/nonexistent/rules: ") == err);
	ignore_set__free(s);
}

/* Apply one rule to the sample report; returns the tids left, as a bitmask
 * of 1 << (tid - 10). */
static unsigned left_after(enum ignore_kind kind, const char *fn, uint64_t *matched)
{
	struct ignore_set *s = ignore_set__new();
	struct pw_report r;
	unsigned mask = 0;

	CHECK(ignore_set__add(s, kind, fn, "test") == 0);
	sample(&r);
	ignore_set__apply(s, &r);
	for (int i = 0; i < r.nthreads; i++)
		mask |= 1u << (r.threads[i].tid - 10);
	CHECK(r.stats.ignored + r.nthreads == 3);
	CHECK(r.stats.flagged == (uint64_t)r.nthreads);
	if (matched)
		*matched = r.nrules == 1 ? r.rules[0].matched : 99;
	report__free(&r);
	ignore_set__free(s);
	return mask;
}

#define T11 (1u << 1)
#define T12 (1u << 2)
#define T13 (1u << 3)
#define ALL (T11 | T12 | T13)

static void test_matching(void)
{
	uint64_t m;

	/* top: the innermost *named* frame; OTHER starts with an unnamed one. */
	CHECK(left_after(IGNORE_TOP, "__futex_abstimed_wait_common", &m) == 0 && m == 3);
	CHECK(left_after(IGNORE_TOP, "pthread_cond_wait", &m) == ALL && m == 0);
	CHECK(left_after(IGNORE_TOP, "worker_wait", NULL) == ALL);
	/* any */
	CHECK(left_after(IGNORE_ANY, "worker_wait", &m) == (T12 | T13) && m == 1);
	CHECK(left_after(IGNORE_ANY, "pthread_mutex_lock", &m) == T11 && m == 2);
	CHECK(left_after(IGNORE_ANY, "worker", NULL) == ALL); /* exact, not substring */
	CHECK(left_after(IGNORE_ANY, "libfoo.so", NULL) == ALL); /* modules are not names */
	/* wildcard: a trailing '*' is a prefix */
	CHECK(left_after(IGNORE_ANY, "runtime.*", &m) == T11 && m == 2);
	CHECK(left_after(IGNORE_ANY, "worker_*", &m) == (T12 | T13) && m == 1);
	CHECK(left_after(IGNORE_TOP, "__futex_*", NULL) == 0);
	CHECK(left_after(IGNORE_ANY, "*", NULL) == 0);
	/* created-by: past pthread_create (versioned) and the clone frames */
	CHECK(left_after(IGNORE_CREATED_BY, "spawn_workers", &m) == (T12 | T13) && m == 1);
	CHECK(left_after(IGNORE_CREATED_BY, "main", NULL) == ALL);
	CHECK(left_after(IGNORE_CREATED_BY, "pthread_create", NULL) == ALL);
	CHECK(left_after(IGNORE_CREATED_BY, "__clone3", NULL) == ALL);
	/* Go: past runtime.clone … runtime.startm */
	CHECK(left_after(IGNORE_CREATED_BY, "runtime.wakep", &m) == (T11 | T12) && m == 1);
	CHECK(left_after(IGNORE_CREATED_BY, "runtime.*", &m) == (T11 | T12) && m == 1);
	CHECK(left_after(IGNORE_CREATED_BY, "*", &m) == T12 && m == 2); /* no creator: never */

	/* An unnamed call site matches nothing (and is not skipped over). */
	{
		struct ignore_set *s = ignore_set__new();
		struct pw_report r = {};

		ignore_set__add(s, IGNORE_CREATED_BY, "main", "test");
		add_thread(&r, 20, 1, "/a", WORKER, CREATOR_UNNAMED);
		ignore_set__apply(s, &r);
		CHECK(r.nthreads == 1 && r.rules[0].matched == 0);
		report__free(&r);
		ignore_set__free(s);
	}
}

/* Rules count every thread they match, even one another rule matched too,
 * and counts add up over reports (watch mode). */
static void test_counting(void)
{
	struct ignore_set *s = ignore_set__new();
	struct pw_report r;

	ignore_set__add(s, IGNORE_ANY, "worker_wait", "--ignore-any");
	ignore_set__add(s, IGNORE_CREATED_BY, "spawn_workers", "--ignore-created-by");
	ignore_set__add(s, IGNORE_TOP, "stale", "--ignore-top");
	for (int round = 1; round <= 3; round++) {
		sample(&r);
		r.stats.ignored = 0;
		ignore_set__apply(s, &r);
		CHECK(r.nthreads == 2 && !has_tid(&r, 11));
		CHECK(r.stats.ignored == 1 && r.stats.flagged == 2);
		CHECK(r.nrules == 3);
		CHECK(r.rules[0].matched == (uint64_t)round);
		CHECK(r.rules[1].matched == (uint64_t)round);
		CHECK(r.rules[2].matched == 0);
		CHECK(!strcmp(r.rules[2].origin, "--ignore-top"));
		report__free(&r);
	}
	/* An empty report still points at the rules (stale ones are shown). */
	memset(&r, 0, sizeof(r));
	ignore_set__apply(s, &r);
	CHECK(r.nrules == 3 && r.rules);
	ignore_set__free(s);

	/* Everything ignored. */
	s = ignore_set__new();
	ignore_set__add(s, IGNORE_ANY, "start_thread", "x");
	sample(&r);
	ignore_set__apply(s, &r);
	CHECK(r.nthreads == 0 && r.stats.ignored == 3 && r.stats.flagged == 0);
	report__free(&r);
	ignore_set__free(s);
}

/* A minimal parkwatch/1 document listing n threads with the WORKER stack
 * (the middle frame unnamed, with an address that must not matter) and one
 * OTHER-like thread. */
static void baseline_doc(FILE *f, int n, const char *exe, const char *addr)
{
	fprintf(f, "{\"schema\":\"parkwatch/1\",\"mode\":\"once\",\"threads\":[");
	for (int i = 0; i < n; i++)
		fprintf(f,
			"%s{\"pid\":7,\"tid\":%d,\"exe\":\"%s\",\"class\":\"futex\","
			"\"wait\":{\"syscall\":\"futex\",\"op\":\"FUTEX_WAIT_BITSET_PRIVATE\"},"
			"\"stack\":[{\"address\":\"%s\",\"function\":\"__futex_abstimed_wait_common\",\"module\":\"libc.so.6\"},"
			"{\"address\":\"%s\",\"function\":null,\"module\":\"app\"},"
			"{\"address\":\"0x3\",\"function\":\"worker_main\",\"module\":\"app\"}],"
			"\"creator\":null}",
			i ? "," : "", 8 + i, exe, addr, addr);
	fprintf(f, "],\"stats\":{}}\n");
}

static const char *const BASE_STACK[] = { "__futex_abstimed_wait_common", "?app", "worker_main",
					  NULL };

static void test_baseline(void)
{
	struct ignore_set *s;
	struct pw_report r;
	char path[256], err[512];
	FILE *f;

	/* Watch output: several documents; the last (3 threads) counts. */
	snprintf(path, sizeof(path), "%s/base.json", tmpdir);
	f = fopen(path, "w");
	baseline_doc(f, 1, "/old/path/app", "0x7f0000001000");
	baseline_doc(f, 3, "/old/path/app", "0x7f0000002000");
	fclose(f);
	s = ignore_set__new();
	CHECK(ignore_set__load_baseline(s, path, err, sizeof(err)) == 0);
	CHECK(!ignore_set__empty(s));

	/* 5 now (born out of order), 3 known: the 3 oldest are ignored. */
	memset(&r, 0, sizeof(r));
	add_thread(&r, 31, 50, "/usr/bin/app", BASE_STACK, NULL);
	add_thread(&r, 32, 10, "/usr/bin/app", BASE_STACK, NULL);
	add_thread(&r, 33, 40, "/usr/bin/app", BASE_STACK, NULL);
	add_thread(&r, 34, 20, "/usr/bin/app", BASE_STACK, NULL);
	add_thread(&r, 35, 30, "/usr/bin/app", BASE_STACK, NULL);
	add_thread(&r, 36, 1, "/usr/bin/other", BASE_STACK, NULL); /* other exe */
	add_thread(&r, 37, 1, "/usr/bin/app", WORKER, NULL);       /* other stack */
	ignore_set__apply(s, &r);
	CHECK(r.nthreads == 4);
	CHECK(has_tid(&r, 31) && has_tid(&r, 33) && has_tid(&r, 36) && has_tid(&r, 37));
	CHECK(r.stats.ignored == 3 && r.stats.flagged == 4);
	CHECK(r.nrules == 1);
	if (r.nrules == 1) {
		char want[300];

		snprintf(want, sizeof(want), "baseline %s", path);
		CHECK(!strcmp(r.rules[0].rule, want));
		CHECK(!strcmp(r.rules[0].origin, "--baseline"));
		CHECK(r.rules[0].matched == 3);
	}
	report__free(&r);

	/* Fewer now than in the baseline: all ignored, count accumulates. */
	memset(&r, 0, sizeof(r));
	add_thread(&r, 41, 1, "/usr/bin/app", BASE_STACK, NULL);
	ignore_set__apply(s, &r);
	CHECK(r.nthreads == 0 && r.rules[0].matched == 4);
	report__free(&r);

	/* A different op is a different signature. */
	memset(&r, 0, sizeof(r));
	strcpy(add_thread(&r, 42, 1, "/usr/bin/app", BASE_STACK, NULL)->wait.op, "FUTEX_WAIT");
	ignore_set__apply(s, &r);
	CHECK(r.nthreads == 1);
	report__free(&r);
	ignore_set__free(s);

	/* A pretty-printed single document, with a null op and exe. */
	f = fopen(path, "w");
	fprintf(f, "{\n  \"schema\": \"parkwatch/1\",\n  \"threads\": [\n    {\"exe\": null,"
		   " \"class\": \"syscall\", \"wait\": {\"syscall\": \"read\", \"op\": null},"
		   " \"stack\": [{\"function\": \"read\"}, {\"function\": null, \"module\": null}]}\n"
		   "  ]\n}\n");
	fclose(f);
	s = ignore_set__new();
	CHECK(ignore_set__load_baseline(s, path, err, sizeof(err)) == 0);
	memset(&r, 0, sizeof(r));
	{
		static const char *const rd[] = { "read", NULL };
		struct pw_flagged *t = add_thread(&r, 50, 1, NULL, rd, NULL);
		struct pw_frame fr = { .pc = 0x99 };

		t->wait.class = PW_CLASS_SYSCALL;
		t->wait.syscall = "read";
		t->wait.op[0] = 0;
		pw_stack__push(&t->stack, &fr);
	}
	ignore_set__apply(s, &r);
	CHECK(r.nthreads == 0 && r.stats.ignored == 1);
	report__free(&r);
	ignore_set__free(s);
}

static void expect_baseline_error(const char *name, const char *text, const char *want)
{
	struct ignore_set *s = ignore_set__new();
	char err[512] = "";
	const char *p = text ? write_tmp(name, text) : name;
	int ret = ignore_set__load_baseline(s, p, err, sizeof(err));

	CHECK(ret < 0);
	CHECK(strstr(err, p) == err && strstr(err, want));
	if (!strstr(err, want))
		fprintf(stderr, "  %s: got '%s', want '%s'\n", name, err, want);
	CHECK(ignore_set__empty(s));
	ignore_set__free(s);
}

static void test_baseline_errors(void)
{
	expect_baseline_error("/nonexistent/report.json", NULL, "No such file or directory");
	expect_baseline_error("text.json", "parkwatch 2026-11-28: 3 threads parked\n",
			      "not a JSON report");
	expect_baseline_error("empty.json", "\n\n", "empty, not a JSON report");
	expect_baseline_error("cut.json", "{\"schema\":\"parkwatch/1\",\"threads\":[",
			      "not a JSON report");
	expect_baseline_error("trailing.json",
			      "{\"schema\":\"parkwatch/1\",\"threads\":[]}\n{\"schema\":",
			      "not a JSON report");
	expect_baseline_error("schema.json", "{\"schema\":\"parkwatch/2\",\"threads\":[]}",
			      "schema 'parkwatch/2', expected parkwatch/1");
	expect_baseline_error("noschema.json", "{\"threads\":[]}",
			      "schema missing, expected parkwatch/1");
	expect_baseline_error("array.json", "[1,2]", "expected parkwatch/1");
	expect_baseline_error("nothreads.json", "{\"schema\":\"parkwatch/1\"}",
			      "no 'threads' array");
}

/* Add a flagged goroutine: pid, goid, stack, go statement's function. */
static struct pw_gflagged *add_goroutine(struct pw_report *r, uint32_t pid, uint64_t goid,
					 const char *reason, const char *const *stack,
					 const char *created_by)
{
	struct pw_gflagged *f = report__add_goroutine(r);

	f->g.pid = pid;
	f->g.goid = goid;
	f->g.status_name = "waiting";
	f->g.wait_reason = reason;
	f->class = "parked";
	set_stack(&f->g.stack, stack);
	if (created_by) {
		f->g.created_by.function = strdup(created_by);
		f->g.created_by.pc = 0x4000;
	}
	return f;
}

static bool has_goid(const struct pw_report *r, uint64_t goid)
{
	for (int i = 0; i < r->ngoroutines; i++)
		if (r->goroutines[i].g.goid == goid)
			return true;
	return false;
}

static const char *const G_SEND[] = { "runtime.gopark", "runtime.chansend", "runtime.chansend1",
				      "main.sendResult", "main.startSenders.gowrap1",
				      "runtime.goexit", NULL };
static const char *const G_SLEEP[] = { "runtime.gopark", "time.Sleep", "main.poll",
				       "runtime.goexit", NULL };
static const char *const G_GOSCHED[] = { "runtime.Gosched", "main.yield", "runtime.goexit",
					 NULL };
static const char *const G_ALLRT[] = { "?app", "runtime.gopark", "runtime.bgsweep",
				       "runtime.goexit", NULL };

/* A report of 5 goroutines (pid 200) and the 3 sample threads. */
static void gsample(struct pw_report *r)
{
	sample(r);
	add_goroutine(r, 200, 21, "chan send", G_SEND, "main.startSenders");
	add_goroutine(r, 200, 22, "chan send", G_SEND, "main.startSenders");
	add_goroutine(r, 200, 23, "sleep", G_SLEEP, "main.main");
	add_goroutine(r, 200, 24, NULL, G_GOSCHED, "main.main");
	add_goroutine(r, 200, 25, "GC sweep wait", G_ALLRT, "runtime.gcenable");
}

/* Goroutines left after one rule, with its match count. */
static int gleft_after(enum ignore_kind kind, const char *fn, uint64_t *matched,
		       struct pw_report *out)
{
	struct ignore_set *s = ignore_set__new();
	struct pw_report r;
	int n;

	CHECK(ignore_set__add(s, kind, fn, "test") == 0);
	gsample(&r);
	ignore_set__apply(s, &r);
	*matched = r.rules[0].matched;
	n = r.ngoroutines;
	if (out)
		*out = r;
	else
		report__free(&r);
	ignore_set__free(s);
	return n;
}

static void test_goroutines(void)
{
	struct pw_report r;
	uint64_t m;

	/* top: the first frame Go's traceback prints (runtime internals
	 * hidden), as goleak's IgnoreTopFunction sees it. */
	CHECK(gleft_after(IGNORE_TOP, "main.sendResult", &m, &r) == 3 && m == 2);
	CHECK(!has_goid(&r, 21) && !has_goid(&r, 22) && has_goid(&r, 23));
	/* the survivors are intact, the threads untouched, both counted */
	CHECK(r.nthreads == 3 && r.stats.ignored == 2 && r.stats.flagged == 3);
	CHECK(r.ngoroutines == 3 && r.goroutines[0].g.stack.nframes > 0);
	CHECK(report__group_goroutines(&r) == 0 && r.nggroups == 3);
	report__free(&r);
	CHECK(gleft_after(IGNORE_TOP, "runtime.gopark", &m, NULL) == 4 && m == 1); /* only all-runtime */
	CHECK(gleft_after(IGNORE_TOP, "runtime.chansend1", &m, NULL) == 5 && m == 0);
	CHECK(gleft_after(IGNORE_TOP, "time.Sleep", &m, NULL) == 4 && m == 1);
	CHECK(gleft_after(IGNORE_TOP, "runtime.Gosched", &m, NULL) == 4 && m == 1); /* exported */
	CHECK(gleft_after(IGNORE_TOP, "main.*", &m, NULL) == 3 && m == 2);
	/* any: every frame, runtime ones included */
	CHECK(gleft_after(IGNORE_ANY, "main.sendResult", &m, NULL) == 3 && m == 2);
	CHECK(gleft_after(IGNORE_ANY, "runtime.gopark", &m, NULL) == 1 && m == 4);
	CHECK(gleft_after(IGNORE_ANY, "runtime.goexit", &m, NULL) == 0 && m == 5);
	CHECK(gleft_after(IGNORE_ANY, "main.startSenders", &m, NULL) == 5 && m == 0);
	/* created-by: the go statement's function, exact or prefix */
	CHECK(gleft_after(IGNORE_CREATED_BY, "main.startSenders", &m, NULL) == 3 && m == 2);
	CHECK(gleft_after(IGNORE_CREATED_BY, "main.*", &m, NULL) == 1 && m == 4);
	CHECK(gleft_after(IGNORE_CREATED_BY, "main.sendResult", &m, NULL) == 5 && m == 0);

	/* A rule that matched only goroutines is not stale, and threads and
	 * goroutines add up in one count. */
	{
		struct ignore_set *s = ignore_set__new();

		CHECK(ignore_set__add(s, IGNORE_ANY, "runtime.goexit", "g") == 0);
		CHECK(ignore_set__add(s, IGNORE_ANY, "worker_wait", "t") == 0);
		CHECK(ignore_set__add(s, IGNORE_ANY, "*", "all") == 0);
		gsample(&r);
		ignore_set__apply(s, &r);
		CHECK(r.nthreads == 0 && r.ngoroutines == 0 && r.stats.ignored == 8);
		CHECK(r.rules[0].matched == 5 && r.rules[1].matched == 1 && r.rules[2].matched == 8);
		report__free(&r);
		ignore_set__free(s);
	}
}

/* A parkwatch/1 document with one thread, n chan-send goroutines and one
 * sleeper (ASLR'd addresses, another pid). */
static void gbaseline_doc(FILE *f, int n, bool with_goroutines)
{
	fprintf(f, "{\"schema\":\"parkwatch/1\",\"threads\":[{\"exe\":\"/bin/x\",\"class\":\"futex\","
		   "\"wait\":{\"syscall\":\"futex\",\"op\":null},\"stack\":[]}]");
	if (!with_goroutines) {
		fprintf(f, "}\n");
		return;
	}
	fprintf(f, ",\"goroutines\":[");
	for (int i = 0; i < n; i++)
		fprintf(f,
			"%s{\"pid\":9,\"goid\":%d,\"status\":\"waiting\",\"wait_reason\":\"chan send\","
			"\"class\":\"parked\",\"created_by\":{\"function\":\"main.startSenders\","
			"\"file\":\"/src/main.go\",\"line\":42,\"parent_goid\":1},\"stack\":["
			"{\"address\":\"0x%x\",\"function\":\"runtime.gopark\"},"
			"{\"address\":\"0x2\",\"function\":\"runtime.chansend\"},"
			"{\"address\":\"0x3\",\"function\":\"runtime.chansend1\"},"
			"{\"address\":\"0x4\",\"function\":\"main.sendResult\"},"
			"{\"address\":\"0x5\",\"function\":\"main.startSenders.gowrap1\"},"
			"{\"address\":\"0x6\",\"function\":\"runtime.goexit\"}]}",
			i ? "," : "", 100 + i, 0x7000 + i);
	fprintf(f, "%s{\"pid\":9,\"goid\":99,\"wait_reason\":\"sleep\",\"class\":\"parked\","
		   "\"created_by\":null,\"stack\":[{\"function\":\"runtime.gopark\"},"
		   "{\"function\":\"time.Sleep\"},{\"function\":null,\"module\":\"app\"}]}]}\n",
		n ? "," : "");
}

static void test_goroutine_baseline(void)
{
	static const char *const SLEEPER[] = { "runtime.gopark", "time.Sleep", "?app", NULL };
	struct ignore_set *s;
	struct pw_report r;
	char path[256], err[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/gbase.json", tmpdir);
	f = fopen(path, "w");
	gbaseline_doc(f, 3, true);
	fclose(f);
	s = ignore_set__new();
	CHECK(ignore_set__load_baseline(s, path, err, sizeof(err)) == 0);

	/* 5 senders now (another process, goids out of order): the 3 oldest
	 * are known, the 2 added flagged; the sleeper (no creator, nameless
	 * frame) matches; a different wait reason or creator does not. */
	memset(&r, 0, sizeof(r));
	add_goroutine(&r, 300, 50, "chan send", G_SEND, "main.startSenders");
	add_goroutine(&r, 300, 10, "chan send", G_SEND, "main.startSenders");
	add_goroutine(&r, 300, 40, "chan send", G_SEND, "main.startSenders");
	add_goroutine(&r, 300, 20, "chan send", G_SEND, "main.startSenders");
	add_goroutine(&r, 300, 30, "chan send", G_SEND, "main.startSenders");
	add_goroutine(&r, 300, 60, "sleep", SLEEPER, NULL);
	add_goroutine(&r, 300, 5, "chan receive", G_SEND, "main.startSenders");
	add_goroutine(&r, 300, 6, "chan send", G_SEND, "main.other");
	ignore_set__apply(s, &r);
	CHECK(r.ngoroutines == 4);
	CHECK(has_goid(&r, 50) && has_goid(&r, 40) && has_goid(&r, 5) && has_goid(&r, 6));
	CHECK(r.stats.ignored == 4 && r.rules[0].matched == 4);
	report__free(&r);

	/* The baseline's thread excuses no goroutine and vice versa: a thread
	 * with the goroutines' stack stays. */
	memset(&r, 0, sizeof(r));
	add_thread(&r, 70, 1, "/bin/x", G_SEND, NULL);
	ignore_set__apply(s, &r);
	CHECK(r.nthreads == 1 && r.rules[0].matched == 4);
	report__free(&r);
	ignore_set__free(s);

	/* A report without a goroutines array (older parkwatch) is a valid
	 * baseline that excuses no goroutine; a malformed one is an error. */
	f = fopen(path, "w");
	gbaseline_doc(f, 3, false);
	fclose(f);
	s = ignore_set__new();
	CHECK(ignore_set__load_baseline(s, path, err, sizeof(err)) == 0);
	memset(&r, 0, sizeof(r));
	add_goroutine(&r, 300, 10, "chan send", G_SEND, "main.startSenders");
	ignore_set__apply(s, &r);
	CHECK(r.ngoroutines == 1 && r.stats.ignored == 0);
	report__free(&r);
	ignore_set__free(s);
	expect_baseline_error("gnotarray.json",
			      "{\"schema\":\"parkwatch/1\",\"threads\":[],\"goroutines\":{}}",
			      "no 'goroutines' array");
	expect_baseline_error("gnotobj.json",
			      "{\"schema\":\"parkwatch/1\",\"threads\":[],\"goroutines\":[1]}",
			      "goroutines[0] is not an object");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	test_add();
	test_file();
	test_matching();
	test_counting();
	test_baseline();
	test_baseline_errors();
	test_goroutines();
	test_goroutine_baseline();
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return unit_done("test_ignore");
}
