// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The one escaping rule for bytes a target controls: see escape.h. */
#include <stdlib.h>
#include <string.h>
#include "report/escape.h"

int utf8_seq_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		/* No overlong forms, no UTF-16 surrogates. */
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

uint32_t utf8_decode(const unsigned char *s, int n)
{
	static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = s[0] & lead_mask[n];

	for (int i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

bool escape_hidden_codepoint(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Bytes that are shown as they are, whatever follows. */
static bool plain(unsigned char c, unsigned flags)
{
	if (c < 0x20 || c >= 0x7f || c == '\\')
		return false;
	return !(flags & ESCAPE_FOLDED) || (c != ';' && c != ' ');
}

/*
 * The escaped form of the sequence at s, written to out (at most 7 bytes);
 * returns how many input bytes it stands for. Called only where plain()
 * said no.
 */
static int escape_one(const unsigned char *s, unsigned flags, char out[8])
{
	static const char hex[] = "0123456789abcdef";
	int n;

	switch (*s) {
	case '\\': strcpy(out, "\\\\"); return 1;
	case '\n': strcpy(out, "\\n"); return 1;
	case '\t': strcpy(out, "\\t"); return 1;
	case '\r': strcpy(out, "\\r"); return 1;
	case ';': strcpy(out, ":"); return 1;   /* folded only */
	case ' ': strcpy(out, "_"); return 1;   /* folded only */
	}
	n = *s < 0x80 ? 0 : utf8_seq_len(s);
	if (n) {
		uint32_t cp = utf8_decode(s, n);

		if (!escape_hidden_codepoint(cp)) {
			memcpy(out, s, n);
			out[n] = 0;
			return n;
		}
		snprintf(out, 8, "\\u%04x", (unsigned)cp);
		return n;
	}
	/* A control byte, DEL, or a byte of invalid UTF-8. */
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[*s >> 4];
	out[3] = hex[*s & 15];
	out[4] = 0;
	return 1;
}

bool escape_needed(const char *str, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	char out[8];

	for (; *s; s++) {
		if (plain(*s, flags))
			continue;
		if (*s < 0x80)
			return true;
		int n = escape_one(s, flags, out);

		if (strlen(out) != (size_t)n || memcmp(out, s, n))
			return true;
		s += n - 1;
	}
	return false;
}

void escape_fputs(FILE *f, const char *str, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	char out[8];

	if (!s)
		return;
	while (*s) {
		const unsigned char *run = s;

		while (plain(*s, flags))
			s++;
		if (s > run)
			fwrite(run, 1, s - run, f);
		if (!*s)
			break;
		s += escape_one(s, flags, out);
		fputs(out, f);
	}
}

const char *escape_str(struct escape_buf *b, const char *str, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	/* The widest escape: "\u202e" (6 bytes) for 3 input bytes, "\xff"
	 * (4) for 1. */
	size_t len = 0, need;
	char out[8];

	if (!s || !escape_needed(str, flags))
		return str;
	need = strlen(str) * 4 + 1;
	if (b->cap < need) {
		char *t = realloc(b->text, need);

		if (!t)
			return "(unprintable)";
		b->text = t;
		b->cap = need;
	}
	while (*s) {
		if (plain(*s, flags)) {
			b->text[len++] = *s++;
			continue;
		}
		s += escape_one(s, flags, out);
		memcpy(b->text + len, out, strlen(out));
		len += strlen(out);
	}
	b->text[len] = 0;
	return b->text;
}

void escape_buf_free(struct escape_buf *b)
{
	free(b->text);
	b->text = NULL;
	b->cap = 0;
}

const char *escape_head(struct escape_buf *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1), keep = n > max ? max : n;
	char *head = malloc(keep + 4);
	const char *e;

	if (!head)
		return "(unprintable)";
	memcpy(head, s, keep);
	strcpy(head + keep, n > max ? "..." : "");
	e = escape_str(b, head, 0);
	if (e == head) { /* nothing to escape: b gets the copy */
		if (b->cap < keep + 4) {
			char *t = realloc(b->text, keep + 4);

			if (!t) {
				free(head);
				return "(unprintable)";
			}
			b->text = t;
			b->cap = keep + 4;
		}
		strcpy(b->text, head);
		e = b->text;
	}
	free(head);
	return e;
}
