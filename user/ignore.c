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
#include <json-c/json.h>
#include "ignore.h"

/* The baseline is a fourth kind, not part of the public enum: it is only
 * created by ignore_set__load_baseline. */
#define IGNORE_BASELINE (IGNORE_CREATED_BY + 1)

/* One signature of a baseline and how many baseline threads had it. */
struct sig_count {
	char *sig;
	int count;
};

struct rule {
	int kind;               /* enum ignore_kind or IGNORE_BASELINE */
	char *pattern;          /* function name, without the trailing '*' */
	bool prefix;            /* pattern ended in '*': match names starting with it */
	struct sig_count *sigs; /* baseline threads: sorted by sig, for bsearch */
	int nsigs;
	struct sig_count *gsigs; /* baseline goroutines, likewise */
	int ngsigs;
};

struct ignore_set {
	struct rule *rules;
	/* Parallel to rules: the text, origin and match count the printers
	 * show. A separate array so r->rules can point straight at it. */
	struct pw_rule_use *uses;
	int n;
};

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

/* Append a rule (taking pattern and sigs) with its printed text and origin.
 * On failure nothing is taken. */
static int push_rule(struct ignore_set *s, const struct rule *rl, const char *arg,
		     const char *origin)
{
	struct rule *rules;
	struct pw_rule_use *uses;
	char *text = NULL, *orig;

	rules = realloc(s->rules, (s->n + 1) * sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	s->rules = rules;
	uses = realloc(s->uses, (s->n + 1) * sizeof(*uses));
	if (!uses)
		return -ENOMEM;
	s->uses = uses;
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

	if (!s || kind > IGNORE_CREATED_BY || !valid_pattern(function))
		return -EINVAL;
	n = strlen(function);
	rl.prefix = function[n - 1] == '*';
	rl.pattern = strndup(function, rl.prefix ? n - 1 : n);
	if (!rl.pattern)
		return -ENOMEM;
	err = push_rule(s, &rl, function, origin);
	if (err)
		free(rl.pattern);
	return err;
}

int ignore_set__load_file(struct ignore_set *s, const char *path, char *err, size_t errlen)
{
	char *line = NULL, origin[4096];
	size_t cap = 0;
	int lineno = 0, ret = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (getline(&line, &cap, f) >= 0) {
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
			snprintf(err, errlen, "%s:%d: %s", path, lineno, strerror(-ret));
			break;
		}
	}
	if (!ret && ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	}
	free(line);
	fclose(f);
	return ret;
}

/*
 * A thread's signature: what stays the same for "the same leak" in another
 * run or another process of the same program. Executable basename, wait
 * class, syscall, futex op, and the stack's function names; a frame without
 * a name counts as "MODULE?" so that ASLR'd addresses do not matter. Fields
 * are joined with '\x1f' (unit separator), which no name contains.
 */
struct sigbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sig_add(struct sigbuf *b, const char *a, const char *c)
{
	size_t la = a ? strlen(a) : 0, lc = c ? strlen(c) : 0;

	if (b->oom)
		return;
	if (b->len + la + lc + 2 > b->cap) {
		size_t ncap = (b->len + la + lc + 2) * 2;
		char *p = realloc(b->p, ncap);

		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = ncap;
	}
	if (la)
		memcpy(b->p + b->len, a, la);
	if (lc)
		memcpy(b->p + b->len + la, c, lc);
	b->len += la + lc;
	b->p[b->len++] = '\x1f';
	b->p[b->len] = '\0';
}

static char *sig_done(struct sigbuf *b)
{
	if (b->oom || !b->p) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

static const char *base_name(const char *p)
{
	const char *s;

	if (!p)
		return "";
	s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The same name syscalls.c's wait_class_name gives, spelled out here so this
 * module (and its unit test) needs nothing but the report model. */
static const char *class_name(enum pw_wait_class c)
{
	switch (c) {
	case PW_CLASS_FUTEX: return "futex";
	case PW_CLASS_SYSCALL: return "syscall";
	default: return "none";
	}
}

static char *thread_signature(const struct pw_flagged *t)
{
	struct sigbuf b = {};

	sig_add(&b, base_name(t->exe), NULL);
	sig_add(&b, class_name(t->wait.class), NULL);
	sig_add(&b, t->wait.syscall, NULL);
	sig_add(&b, t->wait.op, NULL);
	for (int i = 0; i < t->stack.nframes; i++) {
		const struct pw_frame *f = &t->stack.frames[i];

		if (f->function)
			sig_add(&b, f->function, NULL);
		else
			sig_add(&b, f->module, "?");
	}
	return sig_done(&b);
}

/* A goroutine's signature: the report has no executable, only the pid, so
 * class, wait reason, the go statement's function and the stack's function
 * names (a nameless frame counts as "MODULE?"). */
static char *goroutine_signature(const struct pw_gflagged *f)
{
	struct sigbuf b = {};

	sig_add(&b, f->class, NULL);
	sig_add(&b, f->g.wait_reason, NULL);
	sig_add(&b, f->g.created_by.function, NULL);
	for (int i = 0; i < f->g.stack.nframes; i++) {
		const struct pw_frame *fr = &f->g.stack.frames[i];

		if (fr->function)
			sig_add(&b, fr->function, NULL);
		else
			sig_add(&b, fr->module, "?");
	}
	return sig_done(&b);
}

/* A string member of o, or NULL when absent, null or not a string. */
static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The function names of a JSON stack array (null or absent: none). */
static void json_stack_sig(struct sigbuf *b, struct json_object *o)
{
	struct json_object *stack = NULL;

	if (json_object_object_get_ex(o, "stack", &stack) &&
	    json_object_is_type(stack, json_type_array)) {
		size_t n = json_object_array_length(stack);

		for (size_t i = 0; i < n; i++) {
			struct json_object *f = json_object_array_get_idx(stack, i);
			const char *fn = jstr(f, "function");

			if (fn)
				sig_add(b, fn, NULL);
			else
				sig_add(b, jstr(f, "module"), "?");
		}
	}
}

static char *json_thread_signature(struct json_object *t)
{
	struct json_object *wait = NULL;
	struct sigbuf b = {};

	json_object_object_get_ex(t, "wait", &wait);
	sig_add(&b, base_name(jstr(t, "exe")), NULL);
	sig_add(&b, jstr(t, "class"), NULL);
	sig_add(&b, jstr(wait, "syscall"), NULL);
	sig_add(&b, jstr(wait, "op"), NULL); /* null op ≡ "" in the model */
	json_stack_sig(&b, t);
	return sig_done(&b);
}

static char *json_goroutine_signature(struct json_object *g)
{
	struct json_object *cb = NULL;
	struct sigbuf b = {};

	json_object_object_get_ex(g, "created_by", &cb);
	sig_add(&b, jstr(g, "class"), NULL);
	sig_add(&b, jstr(g, "wait_reason"), NULL);
	sig_add(&b, jstr(cb, "function"), NULL);
	json_stack_sig(&b, g);
	return sig_done(&b);
}

static int cmp_sig(const void *x, const void *y)
{
	return strcmp(((const struct sig_count *)x)->sig, ((const struct sig_count *)y)->sig);
}

static void free_sigs(struct sig_count *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].sig);
	free(v);
}

/*
 * Read the whole file and parse every JSON document in it (watch mode writes
 * one per line, a --once report is one, maybe pretty-printed): the last one
 * is the baseline, the state the earlier run ended in. Returns it (a new
 * reference) or NULL with a message in err.
 */
static struct json_object *last_document(const char *path, int *ret, char *err, size_t errlen)
{
	struct json_object *last = NULL;
	struct json_tokener *tok = NULL;
	char *buf = NULL;
	size_t len = 0, off = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	{
		size_t cap = 0, got;

		do {
			if (len + 65536 > cap) {
				char *p = realloc(buf, cap = (len + 65536) * 2);

				if (!p) {
					*ret = -ENOMEM;
					snprintf(err, errlen, "%s: out of memory", path);
					goto out;
				}
				buf = p;
			}
			got = fread(buf + len, 1, cap - len, f);
			len += got;
		} while (got);
		if (ferror(f)) {
			*ret = errno ? -errno : -EIO; /* EISDIR for a directory */
			snprintf(err, errlen, "%s: %s", path, strerror(-*ret));
			goto out;
		}
		if (len > INT_MAX) { /* json_tokener_parse_ex takes an int length */
			*ret = -EFBIG;
			snprintf(err, errlen, "%s: too large for a report", path);
			goto out;
		}
	}
	tok = json_tokener_new();
	if (!tok) {
		*ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		struct json_object *doc;
		enum json_tokener_error jerr;

		while (off < len && isspace((unsigned char)buf[off]))
			off++;
		if (off == len)
			break;
		doc = json_tokener_parse_ex(tok, buf + off, (int)(len - off));
		jerr = json_tokener_get_error(tok);
		if (!doc) {
			*ret = -EINVAL;
			snprintf(err, errlen, "%s: not a JSON report (%s)", path,
				 jerr == json_tokener_continue ? "unexpected end of file"
							       : json_tokener_error_desc(jerr));
			goto out;
		}
		off += json_tokener_get_parse_end(tok);
		json_tokener_reset(tok);
		json_object_put(last);
		last = doc;
	}
	if (!last) {
		*ret = -EINVAL;
		snprintf(err, errlen, "%s: empty, not a JSON report", path);
	}
out:
	if (*ret) {
		json_object_put(last);
		last = NULL;
	}
	if (tok)
		json_tokener_free(tok);
	free(buf);
	fclose(f);
	return last;
}

/*
 * The signatures of the baseline's array KEY ("threads" or "goroutines"),
 * sorted and folded into (signature, count): a multiset, so N baseline
 * entries with one signature excuse N current ones, no more. An absent
 * array is empty when !required (reports before goroutines had none).
 */
static int load_sigs(struct json_object *doc, const char *key, bool required,
		     char *(*sig_of)(struct json_object *), struct sig_count **out, int *nout,
		     const char *path, char *err, size_t errlen)
{
	struct json_object *arr = NULL;
	struct sig_count *v;
	size_t n;
	int nv = 0, w = 0;

	*out = NULL;
	*nout = 0;
	if (!json_object_object_get_ex(doc, key, &arr) && !required)
		return 0;
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "%s: not a parkwatch report (no '%s' array)", path, key);
		return -EINVAL;
	}
	n = json_object_array_length(arr);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(t, json_type_object)) {
			snprintf(err, errlen, "%s: not a parkwatch report (%s[%zu] is not an object)",
				 path, key, i);
			free_sigs(v, nv);
			return -EINVAL;
		}
		v[nv].sig = sig_of(t);
		if (!v[nv].sig) {
			free_sigs(v, nv);
			goto oom;
		}
		v[nv++].count = 1;
	}
	qsort(v, nv, sizeof(*v), cmp_sig);
	for (int i = 0; i < nv; i++) {
		if (w && !strcmp(v[w - 1].sig, v[i].sig)) {
			v[w - 1].count++;
			free(v[i].sig);
		} else {
			v[w++] = v[i];
		}
	}
	*out = v;
	*nout = w;
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", path);
	return -ENOMEM;
}

int ignore_set__load_baseline(struct ignore_set *s, const char *path, char *err, size_t errlen)
{
	struct json_object *doc;
	struct rule rl = { .kind = IGNORE_BASELINE };
	const char *schema;
	int ret = 0;

	doc = last_document(path, &ret, err, errlen);
	if (!doc)
		return ret;
	schema = json_object_is_type(doc, json_type_object) ? jstr(doc, "schema") : NULL;
	if (!schema || strcmp(schema, "parkwatch/1")) {
		snprintf(err, errlen, "%s: not a parkwatch report (schema %s%s%s, expected parkwatch/1)",
			 path, schema ? "'" : "", schema ? schema : "missing", schema ? "'" : "");
		ret = -EINVAL;
		goto out;
	}
	ret = load_sigs(doc, "threads", true, json_thread_signature, &rl.sigs, &rl.nsigs, path,
			err, errlen);
	if (!ret)
		ret = load_sigs(doc, "goroutines", false, json_goroutine_signature, &rl.gsigs,
				&rl.ngsigs, path, err, errlen);
	if (ret)
		goto out;
	ret = push_rule(s, &rl, path, "--baseline");
	if (!ret) {
		json_object_put(doc);
		return 0;
	}
	snprintf(err, errlen, "%s: out of memory", path);
out:
	free_sigs(rl.sigs, rl.nsigs);
	free_sigs(rl.gsigs, rl.ngsigs);
	json_object_put(doc);
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

/* Marks in drop[] the n entries (visited in order[]) that the baseline
 * multiset bl excuses, and counts them in use. */
static void apply_baseline(const struct sig_count *bl, int nbl, struct pw_rule_use *use,
			   int n, char **sigs, const int *order, bool *drop)
{
	int *left;

	if (!nbl)
		return;
	left = malloc(nbl * sizeof(*left));
	if (!left)
		return; /* out of memory: flag rather than hide */
	for (int i = 0; i < nbl; i++)
		left[i] = bl[i].count;
	for (int k = 0; k < n; k++) {
		int i = order[k];
		struct sig_count key = { .sig = sigs[i] }, *hit;

		if (!sigs[i])
			continue;
		hit = bsearch(&key, bl, nbl, sizeof(*bl), cmp_sig);
		if (!hit || !left[hit - bl])
			continue;
		left[hit - bl]--;
		use->matched++;
		drop[i] = true;
	}
	free(left);
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
	return thread_signature(&((const struct pw_flagged *)items)[i]);
}

static char *goroutine_sig(const void *items, int i)
{
	return goroutine_signature(&((const struct pw_gflagged *)items)[i]);
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
				apply_baseline(p->goroutines ? rl->gsigs : rl->sigs,
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
			pw_goroutine__release(&r->goroutines[i].g);
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
		free_sigs(s->rules[i].sigs, s->rules[i].nsigs);
		free_sigs(s->rules[i].gsigs, s->rules[i].ngsigs);
		free((char *)s->uses[i].rule);
		free((char *)s->uses[i].origin);
	}
	free(s->rules);
	free(s->uses);
	free(s);
}
