// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The pure parts of the metrics: label values made safe for the exposition
 * formats (a process names itself with any bytes it likes: prctl(PR_SET_NAME)
 * takes quotes, backslashes, newlines and invalid UTF-8), the parking site of
 * a stack, and content negotiation. Unit-tested (tests/unit/test_metrics.c).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "serve/metrics.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

char *metrics__escape_label(const char *in, size_t max_bytes)
{
	static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t n = strlen((const char *)s), o = 0;
	char *out;

	if (n > max_bytes)
		n = max_bytes;
	/* Worst case: every byte becomes U+FFFD (3 bytes). */
	out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(s + i, n - i);

		if (s[i] == '\\' || s[i] == '"' || s[i] == '\n') {
			out[o++] = '\\';
			out[o++] = s[i] == '\n' ? 'n' : (char)s[i];
			i++;
		} else if (!len || s[i] < 0x20 || s[i] == 0x7f) {
			memcpy(out + o, replacement, 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		}
	}
	out[o] = '\0';
	return out;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The C and C++ runtime libraries: a wait inside them was asked for by
 * their caller. */
static bool system_module(const char *module)
{
	static const char *const libs[] = {
		"libc.so", "libc-", "libpthread", "ld-linux", "ld64.so", "libstdc++",
		"libc++", "libgcc_s", "librt",
	};

	if (!module)
		return false;
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (has_prefix(module, libs[i]))
			return true;
	return false;
}

/* The first named frame for which skip() is false; the first named frame
 * when all are skipped; "unknown" when none has a name. */
static const char *site_of(const struct pw_stack *s, bool (*skip)(const struct pw_frame *))
{
	const char *first = NULL;

	for (int i = 0; i < s->nframes; i++) {
		const struct pw_frame *f = &s->frames[i];

		if (!f->function)
			continue;
		if (!skip(f))
			return f->function;
		if (!first)
			first = f->function;
	}
	return first ? first : "unknown";
}

static bool skip_thread_frame(const struct pw_frame *f)
{
	return system_module(f->module);
}

/* Go's runtime (unexported functions: runtime.gopark, runtime.chanrecv1...),
 * its internal packages and package sync are the machinery of a wait; the
 * caller of sync.(*WaitGroup).Wait or of "<-ch" is the site. */
static bool skip_go_frame(const struct pw_frame *f)
{
	const char *fn = f->function;

	if (has_prefix(fn, "runtime."))
		return !(fn[8] >= 'A' && fn[8] <= 'Z');
	return has_prefix(fn, "internal/") || has_prefix(fn, "sync.");
}

const char *metrics__thread_site(const struct pw_stack *s)
{
	return site_of(s, skip_thread_frame);
}

const char *metrics__goroutine_site(const struct pw_stack *s)
{
	return site_of(s, skip_go_frame);
}

/* The q-value of one Accept element's parameters (";q=0.5;version=..."). */
static double q_value(const char *params, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (params[i] != ';')
			continue;
		i++;
		while (i < len && (params[i] == ' ' || params[i] == '\t'))
			i++;
		if (i + 1 < len && (params[i] == 'q' || params[i] == 'Q') && params[i + 1] == '=')
			return strtod(params + i + 2, NULL);
	}
	return 1.0;
}

enum metrics_format metrics__negotiate(const char *accept)
{
	double om = -1, text = -1;

	if (!accept)
		return METRICS_PROMETHEUS;
	while (*accept) {
		size_t len = strcspn(accept, ","), type_len;
		const char *type = accept;
		double q;

		while (len && (*type == ' ' || *type == '\t'))
			type++, len--;
		type_len = strcspn(type, ";, \t");
		if (type_len > len)
			type_len = len;
		q = q_value(type + type_len, len - type_len);
		if (type_len == 28 && !strncasecmp(type, "application/openmetrics-text", 28))
			om = q > om ? q : om;
		else if (type_len == 10 && !strncasecmp(type, "text/plain", 10))
			text = q > text ? q : text;
		accept = type + len;
		if (*accept == ',')
			accept++;
	}
	return om > 0 && om >= text ? METRICS_OPENMETRICS : METRICS_PROMETHEUS;
}
