// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit test for user/report/durations.c: the duration syntax of -t/-i/-d.
 * Prints "N passed, M failed" and exits non-zero when anything failed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "report/durations.h"

#define NS 1ULL
#define MS 1000000ULL
#define S 1000000000ULL

static int passed, failed;

static void accepts(const char *in, unsigned long long want)
{
	unsigned long long got = 0xdeadbeefULL;
	int err = parse_duration_ns(in, &got);

	if (err == 0 && got == want) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL parse_duration_ns(\"%s\"): want 0 and %llu ns, got %d and %llu ns\n",
	       in, want, err, got);
}

static void rejects(const char *in)
{
	unsigned long long got = 0;
	int err = parse_duration_ns(in, &got);

	if (err == -EINVAL) {
		passed++;
		return;
	}
	failed++;
	printf("FAIL parse_duration_ns(\"%s\"): want -EINVAL, got %d (%llu ns)\n", in, err,
	       got);
}

static void formats(unsigned long long ns, const char *want)
{
	char buf[64];

	memset(buf, 'X', sizeof(buf));
	format_duration(ns, buf, sizeof(buf));
	if (!memchr(buf, '\0', sizeof(buf)) || strcmp(buf, want)) {
		failed++;
		printf("FAIL format_duration(%llu): want \"%s\", got \"%.*s\"\n", ns, want,
		       (int)sizeof(buf), buf);
		return;
	}
	passed++;
}

int main(void)
{
	/* The README's examples and the units the CLI documents. */
	accepts("500ms", 500 * MS);
	accepts("10s", 10 * S);
	accepts("2m", 120 * S);
	accepts("1h", 3600 * S);
	accepts("1.5s", 1500 * MS);
	accepts("10", 10 * S); /* plain number: seconds */
	accepts("0", 0);
	accepts("0s", 0);
	accepts("0ms", 0);
	accepts("1ms", 1 * MS);
	accepts("250ms", 250 * MS);
	accepts("90s", 90 * S);
	accepts("1.5m", 90 * S);
	accepts("1.5h", 5400 * S);
	accepts("2.25", 2250 * MS);
	accepts("1.5ms", 1500000 * NS);
	accepts("24h", 86400 * S);
	/* Fractions are exact, even with many digits and a large unit. */
	accepts("0.001s", 1 * MS);
	accepts("1.000000001s", S + 1);
	accepts("0.123456789h", 444444440400ULL);
	accepts("1.999999999h", 7199999996400ULL);
	/* Largest whole number of hours that fits in 64 bits of nanoseconds. */
	accepts("5124095h", 5124095ULL * 3600 * S);

	rejects("");
	rejects("s");
	rejects("ms");
	rejects("-1s");
	rejects("-1");
	rejects("10x");
	rejects("5parsecs");
	rejects("1e99h");
	rejects("1.s");
	rejects(".5s");
	rejects("1.2.3s");
	rejects("5124096h");                /* overflows u64 nanoseconds */
	rejects("18446744073709551616");    /* overflows before the unit */
	rejects("99999999999999999999999h");

	/* format_duration: the examples in durations.h. */
	formats(450 * MS, "450ms");
	formats(12300 * MS, "12.3s");
	formats(125 * S, "2m05s");
	formats((3 * 3600 + 12 * 60) * S, "3h12m");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
