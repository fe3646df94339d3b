// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Ignore rules, in goleak's vocabulary (IgnoreTopFunction, IgnoreAnyFunction,
 * IgnoreCreatedBy, IgnoreCurrent ~ baseline):
 *
 *   top FUNC         the innermost frame that has a function name is FUNC
 *   any FUNC         some frame of the stack is FUNC
 *   created-by FUNC  the thread's creation call site is FUNC: the first frame
 *                    of the creator's stack that is not thread/process
 *                    creation machinery (creation_machinery[] below)
 *   baseline FILE    an earlier JSON report: each thread it listed excuses
 *                    one current thread with the same signature
 *
 * Goroutines (the same rules, as goleak applies them):
 *   top FUNC         the first frame Go's own traceback would print: frames
 *                    of package runtime are hidden unless exported
 *                    (runtime.gopark, runtime.chansend... are skipped, so a
 *                    goroutine blocked in "ch <- v" is topped by the function
 *                    doing the send); when every frame is hidden, the first
 *                    named one, as Go then prints them all
 *   any FUNC         some frame of the stack is FUNC (runtime frames too)
 *   created-by FUNC  the function holding the go statement (created_by)
 *   baseline FILE    the report's "goroutines" array, a multiset of its own
 *
 * FUNC matches a function name exactly; a trailing '*' makes it a prefix
 * ("runtime.*"). Every rule is checked against every flagged thread and
 * counts its own matches, even when another rule matched the same thread
 * first: a rule that matches nothing on its own is what "stale" means, and a
 * rule shadowed by another is still doing its job.
 *
 * Baselines (signatures, the report file) are in baseline.c.
 *
 * Everything is kept in plain arrays: a rule set is a handful of entries,
 * loaded once, and scanned linearly per flagged thread (itself few).
 */
#define _GNU_SOURCE /* asprintf, qsort_r */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "report/escape.h"
#include "rules/ignore_priv.h"

/*
 * Thread and process creation machinery: frames skipped (innermost first) in
 * the creator's stack to reach the creation call site, the code that asked
 * for the thread. Names are compared up to a '@' symbol version
 * ("pthread_create@@GLIBC_2.34"), though the unwinder strips those already.
 *   glibc threads:    __clone3 ← __GI___clone_internal ← create_thread ←
 *                     pthread_create (__pthread_create_2_1 in debug info)
 *   glibc processes:  fork/_Fork/vfork, posix_spawn → __spawni → __spawnix
 *   Go runtime Ms:    runtime.clone ← runtime.newosproc ← runtime.newm1 ←
 *                     runtime.newm ← runtime.startm (or startTemplateThread);
 *                     with cgo, newm1 goes through asmcgocall and the cgo
 *                     thread-start shims into pthread_create.
 * The caller of the last of these (e.g. spawn_workers, or runtime.wakep for
 * a Go M) is the call site created-by matches.
 */
static const char *const creation_machinery[] = {
	/* glibc: clone and pthread_create */
	"__clone3", "__clone", "clone", "clone3", "__GI___clone3", "__GI___clone",
	"__GI___clone_internal", "__clone_internal", "create_thread",
	"pthread_create", "__pthread_create_2_1", "thrd_create",
	/* glibc: fork, vfork, posix_spawn */
	"fork", "_Fork", "__libc_fork", "__fork", "vfork", "__vfork", "__libc_vfork",
	"posix_spawn", "posix_spawnp", "__posix_spawn", "__posix_spawnp",
	"__spawni", "__spawnix",
	/* Go runtime */
	"runtime.clone", "runtime.newosproc", "runtime.newosproc0", "runtime.newm1",
	"runtime.newm", "runtime.startm", "runtime.startTemplateThread",
	"runtime.asmcgocall", "_cgo_thread_start", "x_cgo_thread_start",
	"_cgo_try_pthread_create",
};

/* a == b, ignoring a "@VERSION" / "@@VERSION" suffix on a. */
static bool same_unversioned(const char *a, const char *b)
{
	size_t n = strlen(b);

	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '@');
}

static bool is_creation_machinery(const char *fn)
{
	for (size_t i = 0; i < sizeof(creation_machinery) / sizeof(creation_machinery[0]); i++)
		if (same_unversioned(fn, creation_machinery[i]))
			return true;
	return false;
}

/* The creation call site's function, or NULL when unknown: no creator (the
 * thread predates parkwatch), or the first frame past the machinery has no
 * name (a stripped caller cannot match a name). */
static const char *creation_site(const struct pw_flagged *t)
{
	const struct pw_stack *s;

	if (!t->creator)
		return NULL;
	s = &t->creator->stack;
	for (int i = 0; i < s->nframes; i++) {
		const char *fn = s->frames[i].function;

		if (!fn || !is_creation_machinery(fn))
			return fn;
	}
	return NULL;
}

static bool name_matches(const struct rule *rl, const char *fn)
{
	if (!fn)
		return false;
	if (rl->prefix)
		return !strncmp(fn, rl->pattern, strlen(rl->pattern));
	return !strcmp(fn, rl->pattern);
}

static bool rule_matches(const struct rule *rl, const struct pw_flagged *t)
{
	const struct pw_stack *s = &t->stack;

	switch (rl->kind) {
	case IGNORE_TOP:
		for (int i = 0; i < s->nframes; i++)
			if (s->frames[i].function)
				return name_matches(rl, s->frames[i].function);
		return false;
	case IGNORE_ANY:
		for (int i = 0; i < s->nframes; i++)
			if (name_matches(rl, s->frames[i].function))
				return true;
		return false;
	case IGNORE_CREATED_BY:
		return name_matches(rl, creation_site(t));
	}
	return false;
}

/*
 * Does Go's traceback print this frame (runtime.Stack, panics, goleak's
 * input)? Its showfuncinfo at the default GOTRACEBACK: a qualified name not
 * in package runtime, or an exported runtime function (runtime.Gosched).
 * Linknamed runtime code keeps the name it is linked under (time.Sleep,
 * internal/poll.runtime_pollWait, sync.runtime_SemacquireMutex) and shows.
 */
static bool go_frame_shown(const char *fn)
{
	if (!strchr(fn, '.'))
		return false;
	if (strncmp(fn, "runtime.", 8))
		return true;
	return isupper((unsigned char)fn[8]);
}

/* The goroutine's first function as Go prints its stack; NULL if no name. */
static const char *go_top_function(const struct pw_stack *s)
{
	const char *first = NULL;

	for (int i = 0; i < s->nframes; i++) {
		const char *fn = s->frames[i].function;

		if (!fn)
			continue;
		if (go_frame_shown(fn))
			return fn;
		if (!first)
			first = fn;
	}
	return first; /* all hidden: Go prints them all, runtime frames included */
}

static bool rule_matches_goroutine(const struct rule *rl, const struct pw_gflagged *f)
{
	const struct pw_stack *s = &f->g.stack;

	switch (rl->kind) {
	case IGNORE_TOP:
		return name_matches(rl, go_top_function(s));
	case IGNORE_ANY:
		for (int i = 0; i < s->nframes; i++)
			if (name_matches(rl, s->frames[i].function))
				return true;
		return false;
	case IGNORE_CREATED_BY:
		return name_matches(rl, f->g.created_by.function);
	}
	return false;
}

static const char *kind_name(int kind)
{
	switch (kind) {
	case IGNORE_TOP: return "top";
	case IGNORE_ANY: return "any";
	case IGNORE_CREATED_BY: return "created-by";
	default: return "baseline";
	}
}

struct ignore_set *ignore_set__new(void)
{
	return calloc(1, sizeof(struct ignore_set));
}

int ignore_set__push(struct ignore_set *s, const struct rule *rl, const char *arg,
		     const char *origin)
{
	struct rule *rules;
	struct pw_rule_use *uses;
	char *text = NULL, *orig;

	/* Every rule is tried on every frame of every candidate: a bound
	 * keeps a sweep's cost bounded too. */
	if (s->n >= IGNORE_MAX_RULES)
		return -EFBIG;
	if (s->n == s->cap) { /* doubling: a rules file may hold 100,000 */
		int ncap = s->cap ? s->cap * 2 : 16;

		rules = realloc(s->rules, ncap * sizeof(*rules));
		if (!rules)
			return -ENOMEM;
		s->rules = rules;
		uses = realloc(s->uses, ncap * sizeof(*uses));
		if (!uses)
			return -ENOMEM;
		s->uses = uses;
		s->cap = ncap;
	}
	if (asprintf(&text, "%s %s", kind_name(rl->kind), arg) < 0)
		return -ENOMEM;
	orig = strdup(origin ? origin : "");
	if (!orig) {
		free(text);
		return -ENOMEM;
	}
	s->rules[s->n] = *rl;
	s->uses[s->n] = (struct pw_rule_use){ .rule = text, .origin = orig };
	s->n++;
	return 0;
}

/* A function pattern: no whitespace, not empty, '*' only at the end. */
static bool valid_pattern(const char *f)
{
	size_t n = f ? strlen(f) : 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)f[i]) || (f[i] == '*' && i != n - 1))
			return false;
	return true;
}

int ignore_set__add(struct ignore_set *s, enum ignore_kind kind, const char *function,
		    const char *origin)
{
	struct rule rl = { .kind = kind };
	size_t n;
	int err;

	if (!s || kind > IGNORE_CREATED_BY || !function)
		return -EINVAL;
	n = strnlen(function, RULE_MAX_FUNCTION + 1);
	if (n > RULE_MAX_FUNCTION)
		return -ENAMETOOLONG;
	if (!valid_pattern(function))
		return -EINVAL;
	rl.prefix = function[n - 1] == '*';
	rl.pattern = strndup(function, rl.prefix ? n - 1 : n);
	if (!rl.pattern)
		return -ENOMEM;
	err = ignore_set__push(s, &rl, function, origin);
	if (err)
		free(rl.pattern);
	return err;
}

/*
 * One line of a rules file into buf (cap bytes), without its newline: 1, 0
 * at the end of the file, -EFBIG when the line or the file (*total bytes so
 * far) passes its limit, -EINVAL for a NUL byte (not a text file), -errno
 * when reading fails. Never more than cap bytes in memory, whatever the
 * file (/dev/zero, a FIFO that never ends).
 */
static int read_line(FILE *f, char *buf, size_t cap, size_t *total)
{
	size_t len = 0;
	int c;

	errno = 0;
	while ((c = getc(f)) != EOF) {
		if (++*total > RULES_MAX_BYTES)
			return -EFBIG;
		if (c == '\n')
			break;
		if (c == 0)
			return -EINVAL;
		if (len + 1 >= cap)
			return -E2BIG;
		buf[len++] = c;
	}
	buf[len] = 0;
	if (c == EOF && ferror(f))
		return errno ? -errno : -EIO;
	return c == EOF && !len ? 0 : 1;
}

int ignore_set__load_file(struct ignore_set *s, const char *path, char *err, size_t errlen)
{
	char *line = malloc(RULES_MAX_LINE), origin[4096];
	size_t total = 0;
	int lineno = 0, ret = 0, got;
	FILE *f;

	if (!line) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(line);
		return ret;
	}
	while ((got = read_line(f, line, RULES_MAX_LINE, &total)) > 0) {
		char *kw, *fn, *extra, *save = NULL, *hash;
		enum ignore_kind kind;

		lineno++;
		hash = strchr(line, '#'); /* a comment runs to the end of the line */
		if (hash)
			*hash = '\0';
		kw = strtok_r(line, " \t\r\n\v\f", &save);
		if (!kw)
			continue; /* blank or comment only */
		fn = strtok_r(NULL, " \t\r\n\v\f", &save);
		extra = strtok_r(NULL, " \t\r\n\v\f", &save);
		if (!strcmp(kw, "top"))
			kind = IGNORE_TOP;
		else if (!strcmp(kw, "any"))
			kind = IGNORE_ANY;
		else if (!strcmp(kw, "created-by"))
			kind = IGNORE_CREATED_BY;
		else
			fn = NULL;
		if (fn && strlen(fn) > RULE_MAX_FUNCTION) {
			struct escape_buf esc = { 0 };

			snprintf(err, errlen, "%s:%d: function name longer than %d bytes: '%s'",
				 path, lineno, RULE_MAX_FUNCTION, escape_head(&esc, fn, 48));
			escape_buf_free(&esc);
			ret = -EFBIG;
			break;
		}
		if (!fn || extra || !valid_pattern(fn)) {
			snprintf(err, errlen,
				 "%s:%d: expected 'top FUNC', 'any FUNC' or 'created-by FUNC'",
				 path, lineno);
			ret = -EINVAL;
			break;
		}
		snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
		ret = ignore_set__add(s, kind, fn, origin);
		if (ret) {
			if (ret == -EFBIG)
				snprintf(err, errlen, "%s:%d: more than %d rules (the limit)", path,
					 lineno, IGNORE_MAX_RULES);
			else
				snprintf(err, errlen, "%s:%d: %s", path, lineno,
					 ret == -ENOMEM ? "out of memory" : strerror(-ret));
			break;
		}
	}
	if (got == -E2BIG) {
		struct escape_buf esc = { 0 };

		ret = -EFBIG;
		line[RULES_MAX_LINE - 1] = 0;
		snprintf(err, errlen, "%s:%d: line longer than %d bytes: '%s'", path, lineno + 1,
			 RULES_MAX_LINE - 1, escape_head(&esc, line, 48));
		escape_buf_free(&esc);
	} else if (got == -EFBIG) {
		ret = got;
		snprintf(err, errlen, "%s: larger than %u MiB (the limit for a rules file)", path,
			 RULES_MAX_BYTES >> 20);
	} else if (got == -EINVAL) {
		ret = got;
		snprintf(err, errlen, "%s:%d: a NUL byte: not a text file", path, lineno + 1);
	} else if (got < 0) {
		ret = got;
		snprintf(err, errlen, "%s: %s", path, strerror(-got));
	}
	free(line);
	fclose(f);
	return ret;
}

/* Oldest first: with a baseline of N threads of a signature and more now,
 * the N that have been there longest are the ones the baseline knew. */
static int cmp_age(const void *x, const void *y, void *threads)
{
	const struct pw_flagged *a = (const struct pw_flagged *)threads + *(const int *)x;
	const struct pw_flagged *b = (const struct pw_flagged *)threads + *(const int *)y;

	if (a->born_ns != b->born_ns)
		return a->born_ns < b->born_ns ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

/* Goroutines have no birth time; goids are handed out in creation order. */
static int cmp_goid(const void *x, const void *y, void *gs)
{
	const struct pw_gflagged *a = (const struct pw_gflagged *)gs + *(const int *)x;
	const struct pw_gflagged *b = (const struct pw_gflagged *)gs + *(const int *)y;

	if (a->g.goid != b->g.goid)
		return a->g.goid < b->g.goid ? -1 : 1;
	return a->g.pid < b->g.pid ? -1 : a->g.pid > b->g.pid;
}

static bool has_baseline(const struct ignore_set *s)
{
	for (int j = 0; j < s->n; j++)
		if (s->rules[j].kind == IGNORE_BASELINE)
			return true;
	return false;
}

/* One kind of entry the rules judge: threads or goroutines. */
struct pass {
	int n;
	const void *items;
	bool (*matches)(const struct rule *rl, const void *items, int i);
	char *(*signature)(const void *items, int i);
	int (*cmp_age)(const void *x, const void *y, void *items);
	bool goroutines; /* which half of a baseline applies */
};

static bool thread_matches(const struct rule *rl, const void *items, int i)
{
	return rule_matches(rl, &((const struct pw_flagged *)items)[i]);
}

static bool goroutine_matches(const struct rule *rl, const void *items, int i)
{
	return rule_matches_goroutine(rl, &((const struct pw_gflagged *)items)[i]);
}

static char *thread_sig(const void *items, int i)
{
	return baseline__thread_signature(&((const struct pw_flagged *)items)[i]);
}

static char *goroutine_sig(const void *items, int i)
{
	return baseline__goroutine_signature(&((const struct pw_gflagged *)items)[i]);
}

/*
 * Which entries the rules drop, counting each rule's matches. NULL when
 * memory runs out: the report then stays as it was — better to flag an
 * entry that should have been ignored than to hide a real leak.
 */
static bool *decide(struct ignore_set *s, const struct pass *p)
{
	bool *drop = calloc(p->n, sizeof(*drop));
	char **sigs = NULL;
	int *order = NULL;

	if (!drop)
		return NULL;
	for (int j = 0; j < s->n; j++) {
		if (s->rules[j].kind == IGNORE_BASELINE)
			continue;
		for (int i = 0; i < p->n; i++)
			if (p->matches(&s->rules[j], p->items, i)) {
				s->uses[j].matched++;
				drop[i] = true;
			}
	}
	if (has_baseline(s)) {
		sigs = calloc(p->n, sizeof(*sigs));
		order = malloc(p->n * sizeof(*order));
		if (!sigs || !order) {
			free(drop);
			drop = NULL;
			goto out;
		}
		for (int i = 0; i < p->n; i++) {
			sigs[i] = p->signature(p->items, i); /* NULL: OOM, never matches */
			order[i] = i;
		}
		qsort_r(order, p->n, sizeof(*order), p->cmp_age, (void *)p->items);
		for (int j = 0; j < s->n; j++) {
			const struct rule *rl = &s->rules[j];

			if (rl->kind == IGNORE_BASELINE)
				baseline__excuse(p->goroutines ? rl->gsigs : rl->sigs,
					       p->goroutines ? rl->ngsigs : rl->nsigs, &s->uses[j],
					       p->n, sigs, order, drop);
		}
	}
out:
	if (sigs)
		for (int i = 0; i < p->n; i++)
			free(sigs[i]);
	free(sigs);
	free(order);
	return drop;
}

static void apply_threads(struct ignore_set *s, struct pw_report *r)
{
	struct pass p = { r->nthreads, r->threads, thread_matches, thread_sig, cmp_age, false };
	uint64_t removed = 0;
	bool *drop;

	if (!p.n || !(drop = decide(s, &p)))
		return;
	/* Backwards: report__remove moves the last entry into the hole, and
	 * every entry after i has already been decided. */
	for (int i = p.n - 1; i >= 0; i--)
		if (drop[i]) {
			report__remove(r, i);
			removed++;
		}
	r->stats.ignored += removed;
	r->stats.flagged -= removed < r->stats.flagged ? removed : r->stats.flagged;
	free(drop);
}

/* The survivors keep their order (the caller regroups them). Goroutines
 * never count in stats.flagged. */
static void apply_goroutines(struct ignore_set *s, struct pw_report *r)
{
	struct pass p = { r->ngoroutines, r->goroutines, goroutine_matches, goroutine_sig,
			  cmp_goid, true };
	bool *drop;
	int w = 0;

	if (!p.n || !(drop = decide(s, &p)))
		return;
	for (int i = 0; i < p.n; i++) {
		if (drop[i])
			report__gflagged_free(&r->goroutines[i]);
		else
			r->goroutines[w++] = r->goroutines[i];
	}
	r->stats.ignored += p.n - w;
	r->ngoroutines = w;
	free(drop);
}

void ignore_set__apply(struct ignore_set *s, struct pw_report *r)
{
	if (!s)
		return;
	r->rules = s->uses;
	r->nrules = s->n;
	if (!s->n)
		return;
	apply_threads(s, r);
	apply_goroutines(s, r);
}

bool ignore_set__empty(const struct ignore_set *s)
{
	return !s || !s->n;
}

void ignore_set__free(struct ignore_set *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++) {
		free(s->rules[i].pattern);
		baseline__free_sigs(s->rules[i].sigs, s->rules[i].nsigs);
		baseline__free_sigs(s->rules[i].gsigs, s->rules[i].ngsigs);
		free((char *)s->uses[i].rule);
		free((char *)s->uses[i].origin);
	}
	free(s->rules);
	free(s->uses);
	free(s);
}
