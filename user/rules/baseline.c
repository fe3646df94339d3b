// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Baselines: an earlier JSON report whose threads and goroutines are not
 * flagged again, as a multiset of signatures (N listed excuse N now, the
 * oldest first). Signatures are built here for both sides: from the live
 * report and from the baseline's JSON.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "rules/ignore_priv.h"

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
			baseline__free_sigs(v, nv);
			return -EINVAL;
		}
		v[nv].sig = sig_of(t);
		if (!v[nv].sig) {
			baseline__free_sigs(v, nv);
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
	ret = ignore_set__push(s, &rl, path, "--baseline");
	if (!ret) {
		json_object_put(doc);
		return 0;
	}
	snprintf(err, errlen, "%s: out of memory", path);
out:
	baseline__free_sigs(rl.sigs, rl.nsigs);
	baseline__free_sigs(rl.gsigs, rl.ngsigs);
	json_object_put(doc);
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

