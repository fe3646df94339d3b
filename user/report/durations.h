/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Human durations: "500ms", "10s", "2m", "1h", "1.5s", "10" (seconds). */
#ifndef PW_DURATIONS_H
#define PW_DURATIONS_H

#include <stddef.h>

/* Returns 0 and the value in nanoseconds, or -EINVAL (empty, negative, bad
 * unit, overflow). */
int parse_duration_ns(const char *s, unsigned long long *out_ns);

/* "12.3s", "450ms", "2m05s", "3h12m": short and exact enough for people. */
void format_duration(unsigned long long ns, char *buf, size_t len);

#endif
