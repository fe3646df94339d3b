// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "report/durations.h"

#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL

static const struct {
	const char *suffix;
	unsigned long long ns;
} units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "ms", NS_PER_MS }, { "s", NS_PER_S },
	{ "m", 60 * NS_PER_S }, { "h", 3600 * NS_PER_S }, { "", NS_PER_S },
};

int parse_duration_ns(const char *s, unsigned long long *out_ns)
{
	unsigned long long whole = 0, frac = 0, frac_div = 1;
	const char *p = s;
	size_t i;

	if (!s || !*s || *p < '0' || *p > '9')
		return -EINVAL;
	/* Integer arithmetic only: "1.5s" must be exactly 1500000000. */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (~0ULL - 9) / 10)
			return -EINVAL;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_div >= NS_PER_S)
				continue; /* digits past nanoseconds do not matter */
			frac = frac * 10 + (*p - '0');
			frac_div *= 10;
		}
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		unsigned long long u = units[i].ns;

		if (strcmp(p, units[i].suffix))
			continue;
		if (whole > ~0ULL / u)
			return -EINVAL;
		/* frac < frac_div <= 1e9: split so frac * u cannot overflow */
		*out_ns = whole * u + frac * (u / frac_div) + frac * (u % frac_div) / frac_div;
		if (*out_ns < whole * u)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

void format_duration(unsigned long long ns, char *buf, size_t len)
{
	unsigned long long s = ns / NS_PER_S;

	if (ns < NS_PER_S)
		snprintf(buf, len, "%llums", ns / NS_PER_MS);
	else if (s < 60)
		snprintf(buf, len, "%llu.%llus", s, ns % NS_PER_S / (NS_PER_S / 10));
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%llud%02lluh", s / 86400, s % 86400 / 3600);
}
