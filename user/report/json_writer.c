// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include "report/escape.h"
#include "report/json_writer.h"

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Every value is preceded by a comma unless it is the first in its
 * container or follows a key. */
static void before_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->has_items[j->depth])
		fputc(',', j->f);
	j->has_items[j->depth] = true;
}

static void container_open(struct json *j, char c)
{
	before_value(j);
	fputc(c, j->f);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void container_close(struct json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0)
		fputc('\n', j->f);
}

void json_object_begin(struct json *j) { container_open(j, '{'); }
void json_object_end(struct json *j) { container_close(j, '}'); }
void json_array_begin(struct json *j) { container_open(j, '['); }
void json_array_end(struct json *j) { container_close(j, ']'); }

/* Bytes that go out as they are: printable ASCII but '"' and '\\'. */
static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void write_escaped(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		const unsigned char *run = s;
		int n;

		/* Runs of plain bytes in one write: reports can hold
		 * millions of strings (100k goroutines with their stacks). */
		while (plain(*s))
			s++;
		if (s > run)
			fwrite(run, 1, s - run, f);
		if (!*s)
			break;
		switch (*s) {
		case '"': fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		}
		if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
			s++;
			continue;
		}
		n = utf8_seq_len(s);
		if (!n) {
			fputs("\\ufffd", f); /* comm and paths are bytes, not UTF-8 */
			s++;
			continue;
		}
		/* Valid, but invisible on a terminal (bidi overrides reorder
		 * what follows): escaped, so that it still round-trips. */
		if (escape_hidden_codepoint(utf8_decode(s, n)))
			fprintf(f, "\\u%04x", (unsigned)utf8_decode(s, n));
		else
			fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	before_value(j);
	write_escaped(j->f, key);
	fputc(':', j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	before_value(j);
	write_escaped(j->f, s);
}

/* Digits of v in base (10 or 16), written into the end of buf; returns the
 * first digit. fprintf per number was a third of a 100k-goroutine report. */
static char *digits(unsigned long long v, unsigned base, char *end)
{
	*--end = 0;
	do {
		*--end = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	return end;
}

void json_int(struct json *j, long long v)
{
	char buf[24];

	before_value(j);
	if (v < 0)
		fputc('-', j->f);
	fputs(digits(v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10, buf + sizeof(buf)),
	      j->f);
}

void json_uint(struct json *j, unsigned long long v)
{
	char buf[24];

	before_value(j);
	fputs(digits(v, 10, buf + sizeof(buf)), j->f);
}

void json_bool(struct json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	before_value(j);
	fputs("null", j->f);
}

void json_hex(struct json *j, uint64_t v)
{
	char buf[24];

	before_value(j);
	fputs("\"0x", j->f);
	fputs(digits(v, 16, buf + sizeof(buf)), j->f);
	fputc('"', j->f);
}

void json_raw(struct json *j, const char *text, size_t len)
{
	before_value(j);
	fwrite(text, 1, len, j->f);
}

void json_kstring(struct json *j, const char *k, const char *s) { json_key(j, k); json_string(j, s); }
void json_kint(struct json *j, const char *k, long long v) { json_key(j, k); json_int(j, v); }
void json_kuint(struct json *j, const char *k, unsigned long long v) { json_key(j, k); json_uint(j, v); }
void json_kbool(struct json *j, const char *k, bool v) { json_key(j, k); json_bool(j, v); }
void json_khex(struct json *j, const char *k, uint64_t v) { json_key(j, k); json_hex(j, v); }
