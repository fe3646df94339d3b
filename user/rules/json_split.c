// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The byte scanner behind json_split_file (json_split.h). It checks only
 * what it must to find its way (nesting, strings, no stray bytes): the
 * pieces it hands out are parsed, and so checked, by json-c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "rules/json_split.h"

#define MAX_DEPTH 64

struct scan {
	const struct json_split_ops *ops;
	const char *path;
	char *err;
	size_t errlen;
	uint64_t offset;
	int depth;
	char open[MAX_DEPTH];     /* '{' or '[' per level */
	bool in_str, esc;
	bool top_object;          /* the document is an object: its members count */
	bool expect_key;          /* depth 1: the next string is a key */
	char key[JSON_SPLIT_SHORT];
	size_t keylen;
	bool key_long;
	/* The short string being read: a key, or a top-level member's value. */
	enum { STR_NONE, STR_KEY, STR_VALUE } str;
	char sval[JSON_SPLIT_SHORT];
	size_t svallen;
	bool sval_long;
	/* The array member whose elements are handed out, and the element. */
	bool active;
	char active_key[JSON_SPLIT_SHORT];
	size_t index;
	bool in_elem, in_literal;
	bool in_other_literal;    /* a number or true/false/null elsewhere */
	char *elem;
	size_t elen, ecap;
};

static int fail(struct scan *s, int ret, const char *fmt, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, what);
	snprintf(s->err, s->errlen, "%s: %s", s->path, msg);
	return ret;
}

static int too_large(struct scan *s)
{
	char what[32];

	snprintf(what, sizeof(what), "%llu MiB", (unsigned long long)(s->ops->max_bytes >> 20));
	return fail(s, -EFBIG, "larger than %s (the limit for this file)", what);
}

static int not_json(struct scan *s, const char *why)
{
	char what[128];

	snprintf(what, sizeof(what), "%s at byte %llu", why, (unsigned long long)s->offset);
	return fail(s, -EINVAL, "not a JSON report (%s)", what);
}

static bool literal_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '+' ||
	       c == '.' || c == 'E';
}

static bool space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int elem_put(struct scan *s, unsigned char c)
{
	if (s->elen + 2 > s->ecap) {
		size_t ncap = s->ecap ? s->ecap * 2 : 4096;
		char *p;

		if (s->elen + 2 > s->ops->max_element) {
			char what[96];

			snprintf(what, sizeof(what), "%s[%zu]", s->active_key, s->index);
			return fail(s, -EFBIG, "%s is larger than the limit for one entry", what);
		}
		if (ncap > s->ops->max_element)
			ncap = s->ops->max_element;
		p = realloc(s->elem, ncap);
		if (!p)
			return fail(s, -ENOMEM, "out of memory%s", "");
		s->elem = p;
		s->ecap = ncap;
	}
	s->elem[s->elen++] = c;
	return 0;
}

/* The element just read is complete: hand it out. */
static int elem_done(struct scan *s)
{
	int ret;

	s->elem[s->elen] = 0;
	ret = s->ops->element(s->ops->ctx, s->active_key, s->index++, s->elem, s->elen, s->err,
			      s->errlen);
	s->in_elem = false;
	s->elen = 0;
	return ret;
}

/* A value begins with byte c (its kind k) at the current depth. */
static int value_begin(struct scan *s, unsigned char c, enum json_split_kind k)
{
	if (s->depth == 0) {
		if (k != JSON_SPLIT_OBJECT && k != JSON_SPLIT_ARRAY)
			return not_json(s, "a value that is not an object or array");
		s->top_object = k == JSON_SPLIT_OBJECT;
		s->expect_key = true;
		return s->ops->doc_begin(s->ops->ctx, k);
	}
	if (s->depth == 1 && s->top_object) {
		if (s->expect_key) {
			if (k != JSON_SPLIT_STRING)
				return not_json(s, "an object key that is not a string");
			s->str = STR_KEY;
			s->keylen = 0;
			s->key_long = false;
			return 0;
		}
		if (k == JSON_SPLIT_STRING) {
			s->str = STR_VALUE;
			s->svallen = 0;
			s->sval_long = false;
			return 0;
		}
		if (k == JSON_SPLIT_ARRAY && !s->key_long)
			for (const char *const *a = s->ops->arrays; *a; a++)
				if (!strcmp(*a, s->key)) {
					s->active = true;
					s->index = 0;
					memcpy(s->active_key, s->key, sizeof(s->key));
				}
		return s->ops->member(s->ops->ctx, s->key_long ? "" : s->key, k, NULL);
	}
	if (s->depth == 2 && s->active && !s->in_elem) {
		s->in_elem = true;
		s->in_literal = k == JSON_SPLIT_OTHER;
		s->elen = 0;
		return elem_put(s, c);
	}
	return 0;
}

static int string_end(struct scan *s)
{
	int ret = 0;

	if (s->str == STR_KEY) {
		s->key[s->keylen] = 0;
		s->expect_key = false;
	} else if (s->str == STR_VALUE) {
		s->sval[s->svallen] = 0;
		ret = s->ops->member(s->ops->ctx, s->key_long ? "" : s->key, JSON_SPLIT_STRING,
				     s->sval_long ? NULL : s->sval);
	}
	s->str = STR_NONE;
	if (!ret && s->in_elem && s->depth == 2)
		ret = elem_done(s); /* the element was a string */
	return ret;
}

static void short_put(char *buf, size_t *len, bool *too_long, unsigned char c)
{
	if (*len + 1 < JSON_SPLIT_SHORT)
		buf[(*len)++] = c;
	else
		*too_long = true;
}

static int in_string(struct scan *s, unsigned char c)
{
	if (s->esc) {
		s->esc = false;
	} else if (c == '\\') {
		s->esc = true;
	} else if (c == '"') {
		s->in_str = false;
		return string_end(s);
	} else if (c < 0x20) {
		return not_json(s, "a control byte inside a string");
	}
	if (s->str == STR_KEY)
		short_put(s->key, &s->keylen, &s->key_long, c);
	else if (s->str == STR_VALUE)
		short_put(s->sval, &s->svallen, &s->sval_long, c);
	return 0;
}

static int close_container(struct scan *s, unsigned char c)
{
	if (!s->depth || s->open[s->depth - 1] != (c == '}' ? '{' : '['))
		return not_json(s, "a bracket that does not match");
	s->depth--;
	if (s->depth == 2 && s->in_elem)
		return elem_done(s);
	if (s->depth == 1)
		s->active = false;
	if (s->depth == 0)
		return s->ops->doc_end(s->ops->ctx);
	return 0;
}

static int scan_byte(struct scan *s, unsigned char c)
{
	int ret;

	if (s->in_literal) {
		/* A number or true/false/null element ends at the first
		 * byte that is not part of it. */
		if (literal_byte(c))
			return elem_put(s, c);
		s->in_literal = false;
		if ((ret = elem_done(s)))
			return ret;
	} else if (s->in_elem && (ret = elem_put(s, c))) {
		return ret;
	}
	if (s->in_str)
		return in_string(s, c);
	if (s->in_other_literal && literal_byte(c))
		return 0;
	s->in_other_literal = false;
	if (space(c))
		return 0;
	switch (c) {
	case '{':
	case '[':
		if (s->depth == MAX_DEPTH)
			return not_json(s, "nested too deep");
		if ((ret = value_begin(s, c, c == '{' ? JSON_SPLIT_OBJECT : JSON_SPLIT_ARRAY)))
			return ret;
		s->open[s->depth++] = c;
		return 0;
	case '}':
	case ']':
		return close_container(s, c);
	case '"':
		s->in_str = true;
		return value_begin(s, c, JSON_SPLIT_STRING);
	case ':':
	case ',':
		if (!s->depth)
			return not_json(s, "a stray separator");
		if (s->depth == 1 && s->top_object)
			s->expect_key = c == ',';
		return 0;
	}
	if (!literal_byte(c))
		return not_json(s, "an unexpected byte");
	if (!s->depth)
		return not_json(s, "a value that is not an object or array");
	if (s->depth == 1 && s->top_object && s->expect_key)
		return not_json(s, "an object key that is not a string");
	if ((ret = value_begin(s, c, JSON_SPLIT_OTHER)))
		return ret;
	s->in_other_literal = !s->in_literal;
	return 0;
}

int json_split_file(FILE *f, const char *path, const struct json_split_ops *ops, char *err,
		    size_t errlen)
{
	struct scan s = { .ops = ops, .path = path, .err = err, .errlen = errlen };
	unsigned char buf[65536];
	struct stat st;
	size_t got;
	int ret = 0;

	/* A regular file says its size up front: no need to read 1 GiB to
	 * find out. Anything else (a pipe, /dev/zero) is counted as read. */
	if (!fstat(fileno(f), &st) && S_ISREG(st.st_mode) && (uint64_t)st.st_size > ops->max_bytes)
		return too_large(&s);
	while (!ret && (got = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (s.offset + got > ops->max_bytes) {
			ret = too_large(&s);
			break;
		}
		for (size_t i = 0; !ret && i < got; i++, s.offset++)
			ret = scan_byte(&s, buf[i]);
	}
	if (!ret && ferror(f))
		ret = fail(&s, errno ? -errno : -EIO, "%s", strerror(errno ? errno : EIO));
	if (!ret && s.in_literal)
		ret = not_json(&s, "unexpected end of file");
	if (!ret && (s.depth || s.in_str))
		ret = not_json(&s, "unexpected end of file");
	free(s.elem);
	return ret;
}
