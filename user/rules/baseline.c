// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Baselines: an earlier JSON report whose threads and goroutines are not
 * flagged again, as a multiset of signatures (N listed excuse N now, the
 * oldest first). Signatures are built here for both sides: from the live
 * report and from the baseline's JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rules/ignore_priv.h"
#include "rules/json_split.h"

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

char *baseline__thread_signature(const struct pw_flagged *t)
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
char *baseline__goroutine_signature(const struct pw_gflagged *f)
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

void baseline__free_sigs(struct sig_count *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].sig);
	free(v);
}

/* A growing list of signatures, one per baseline entry. */
struct sig_list {
	struct sig_count *v;
	int n, cap;
};

static int sig_list__push(struct sig_list *l, char *sig)
{
	if (l->n == l->cap) {
		int ncap = l->cap ? l->cap * 2 : 256;
		struct sig_count *v;

		if (l->n >= BASELINE_MAX_ENTRIES)
			return -EFBIG;
		v = realloc(l->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = ncap;
	}
	l->v[l->n++] = (struct sig_count){ .sig = sig, .count = 1 };
	return 0;
}

/* Sorted and folded into (signature, count): a multiset, so N baseline
 * entries with one signature excuse N current ones, no more. */
static void sig_list__fold(struct sig_list *l)
{
	int w = 0;

	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_sig);
	for (int i = 0; i < l->n; i++) {
		if (w && !strcmp(l->v[w - 1].sig, l->v[i].sig)) {
			l->v[w - 1].count++;
			free(l->v[i].sig);
		} else {
			l->v[w++] = l->v[i];
		}
	}
	l->n = w;
}

/*
 * What the stream of documents left: the file may hold several (watch mode
 * writes one per line, a --once report is one, maybe pretty-printed); the
 * last one is the baseline, the state the earlier run ended in. Each
 * document's signatures replace the previous one's, so only one document's
 * worth is ever kept.
 */
struct baseline_load {
	const char *path;
	int docs;
	bool top_object;
	char schema[JSON_SPLIT_SHORT + 2];
	bool has_schema;
	bool threads_array, goroutines_other; /* "threads": [...], "goroutines": not [...] */
	struct sig_list threads, goroutines;
};

static int on_doc_begin(void *ctx, enum json_split_kind top)
{
	struct baseline_load *b = ctx;

	baseline__free_sigs(b->threads.v, b->threads.n);
	baseline__free_sigs(b->goroutines.v, b->goroutines.n);
	memset(&b->threads, 0, sizeof(b->threads));
	memset(&b->goroutines, 0, sizeof(b->goroutines));
	b->docs++;
	b->top_object = top == JSON_SPLIT_OBJECT;
	b->has_schema = b->threads_array = b->goroutines_other = false;
	return 0;
}

static int on_member(void *ctx, const char *key, enum json_split_kind kind, const char *str)
{
	struct baseline_load *b = ctx;

	if (!strcmp(key, "schema") && kind == JSON_SPLIT_STRING && str) {
		snprintf(b->schema, sizeof(b->schema), "%s", str);
		b->has_schema = true;
	} else if (!strcmp(key, "threads")) {
		b->threads_array = kind == JSON_SPLIT_ARRAY;
	} else if (!strcmp(key, "goroutines")) {
		b->goroutines_other = kind != JSON_SPLIT_ARRAY;
	}
	return 0;
}

/* One thread or goroutine of the baseline: parsed alone, reduced to its
 * signature, freed. */
static int on_element(void *ctx, const char *key, size_t i, const char *json, size_t len,
		      char *err, size_t errlen)
{
	struct baseline_load *b = ctx;
	bool threads = !strcmp(key, "threads");
	enum json_tokener_error jerr;
	struct json_object *o = json_tokener_parse_verbose(json, &jerr);
	char *sig;
	int ret;

	if (!o && jerr != json_tokener_success) {
		snprintf(err, errlen, "%s: not a JSON report (%s[%zu]: %s)", b->path, key, i,
			 json_tokener_error_desc(jerr));
		return -EINVAL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "%s: not a parkwatch report (%s[%zu] is not an object)",
			 b->path, key, i);
		return -EINVAL;
	}
	sig = threads ? json_thread_signature(o) : json_goroutine_signature(o);
	json_object_put(o);
	ret = sig ? sig_list__push(threads ? &b->threads : &b->goroutines, sig) : -ENOMEM;
	if (ret) {
		free(sig);
		if (ret == -EFBIG)
			snprintf(err, errlen, "%s: more than %d %s (the limit)", b->path,
				 BASELINE_MAX_ENTRIES, key);
		else
			snprintf(err, errlen, "%s: out of memory", b->path);
	}
	return ret;
}

static int on_doc_end(void *ctx)
{
	return 0;
}

int ignore_set__load_baseline(struct ignore_set *s, const char *path, char *err, size_t errlen)
{
	static const char *const arrays[] = { "threads", "goroutines", NULL };
	struct baseline_load b = { .path = path };
	const struct json_split_ops ops = {
		.ctx = &b, .arrays = arrays, .max_element = BASELINE_MAX_ENTRY_BYTES,
		.max_bytes = BASELINE_MAX_BYTES, .doc_begin = on_doc_begin, .member = on_member,
		.element = on_element, .doc_end = on_doc_end,
	};
	struct rule rl = { .kind = IGNORE_BASELINE };
	int ret;
	FILE *f = fopen(path, "r");

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	ret = json_split_file(f, path, &ops, err, errlen);
	fclose(f);
	if (ret)
		goto out;
	ret = -EINVAL;
	if (!b.docs) {
		snprintf(err, errlen, "%s: empty, not a JSON report", path);
		goto out;
	}
	if (!b.top_object || !b.has_schema || strcmp(b.schema, "parkwatch/1")) {
		snprintf(err, errlen, "%s: not a parkwatch report (schema %s%s%s, expected parkwatch/1)",
			 path, b.has_schema ? "'" : "", b.has_schema ? b.schema : "missing",
			 b.has_schema ? "'" : "");
		goto out;
	}
	if (!b.threads_array || b.goroutines_other) {
		snprintf(err, errlen, "%s: not a parkwatch report (no '%s' array)", path,
			 b.threads_array ? "goroutines" : "threads");
		goto out;
	}
	sig_list__fold(&b.threads);
	sig_list__fold(&b.goroutines);
	rl.sigs = b.threads.v;
	rl.nsigs = b.threads.n;
	rl.gsigs = b.goroutines.v;
	rl.ngsigs = b.goroutines.n;
	ret = ignore_set__push(s, &rl, path, "--baseline");
	if (!ret)
		return 0;
	snprintf(err, errlen, "%s: out of memory", path);
out:
	baseline__free_sigs(b.threads.v, b.threads.n);
	baseline__free_sigs(b.goroutines.v, b.goroutines.n);
	return ret;
}

void baseline__excuse(const struct sig_count *bl, int nbl, struct pw_rule_use *use, int n,
		      char **sigs, const int *order, bool *drop)
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

