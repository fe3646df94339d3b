// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The text escaping rule for bytes a target controls (report/escape.c). */
#include <stdlib.h>
#include <string.h>
#include "report/escape.h"
#include "unit.h"

static struct escape_buf buf;

static int shows(const char *in, unsigned flags, const char *want)
{
	const char *got = escape_str(&buf, in, flags);

	if (strcmp(got, want)) {
		fprintf(stderr, "  escape(\"%s\") gave \"%s\", want \"%s\"\n",
			escape_str(&buf, in, 0), escape_str(&buf, got, 0), want);
		return 0;
	}
	return 1;
}

/* What escape_fputs writes must equal what escape_str returns. */
static int same_stream(const char *in, unsigned flags)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int ok;

	escape_fputs(f, in, flags);
	fclose(f);
	ok = !strcmp(s, escape_str(&buf, in, flags));
	free(s);
	return ok;
}

int main(void)
{
	static const char *const samples[] = {
		"plain", "a\\b", "\x1b[31mred", "line\nforged", "\x7f\x01", "caf\xc3\xa9",
		"bad\xff\xc3(", "rtl\xe2\x80\xae" "cod", "iso\xe2\x81\xa6x", "%s%n", "a;b c",
	};

	CHECK(shows("worker", 0, "worker"));
	CHECK(escape_str(&buf, "worker", 0)[0] == 'w');
	CHECK(escape_str(&buf, NULL, 0) == NULL);
	CHECK(!escape_needed("%s%n \"quoted\" ok", 0));
	/* Backslash first: an escape in the input stays distinguishable. */
	CHECK(shows("a\\x1b", 0, "a\\\\x1b"));
	CHECK(shows("\x1b[2J", 0, "\\x1b[2J"));
	CHECK(shows("a\nb\tc\rd", 0, "a\\nb\\tc\\rd"));
	CHECK(shows("\x01\x1f\x7f", 0, "\\x01\\x1f\\x7f"));
	/* Valid UTF-8 is kept; invalid bytes are shown one by one. */
	CHECK(shows("caf\xc3\xa9", 0, "caf\xc3\xa9"));
	CHECK(shows("\xff\xfe", 0, "\\xff\\xfe"));
	CHECK(shows("x\xc3", 0, "x\\xc3"));          /* truncated sequence */
	CHECK(shows("\xc0\xaf", 0, "\\xc0\\xaf"));    /* overlong '/' */
	CHECK(shows("\xed\xa0\x80", 0, "\\xed\\xa0\\x80")); /* surrogate */
	CHECK(shows("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80")); /* above U+10FFFF */
	CHECK(shows("\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80")); /* emoji kept */
	/* Bidi controls, C1 controls and line separators are shown as \u. */
	CHECK(shows("a\xe2\x80\xae" "b", 0, "a\\u202eb"));
	CHECK(shows("\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9", 0, "\\u202a\\u2066\\u2069"));
	CHECK(shows("\xc2\x85\xc2\x9b", 0, "\\u0085\\u009b"));
	CHECK(shows("\xe2\x80\xa8", 0, "\\u2028"));
	/* Folded: its separators too. */
	CHECK(shows("a;b c", ESCAPE_FOLDED, "a:b_c"));
	CHECK(shows("a;b c", 0, "a;b c"));
	for (size_t i = 0; i < sizeof(samples) / sizeof(*samples); i++) {
		const char *e = escape_str(&buf, samples[i], 0);

		/* Nothing below 0x20, no DEL, in any escaped output. */
		for (const char *p = e; *p; p++)
			CHECK(*(const unsigned char *)p >= 0x20 && *p != 0x7f);
		CHECK(same_stream(samples[i], 0));
		CHECK(same_stream(samples[i], ESCAPE_FOLDED));
	}
	/* The worst case fits: every byte invalid. */
	{
		char big[1001];

		memset(big, 0xff, 1000);
		big[1000] = 0;
		CHECK(strlen(escape_str(&buf, big, 0)) == 4000);
	}
	escape_buf_free(&buf);
	return unit_done("test_escape");
}
