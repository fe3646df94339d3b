/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Threads that pile up: a site whose parked count rose at each of the last
 * GROWTH_LOOKS sweeps is "growing" — a worker started per request and never
 * stopped, the thread-side twin of go/class.c's growing goroutines. A site
 * is a group of the report (same process, same wait, identical stack), so
 * the history is keyed by a hash of what makes the group.
 */
#ifndef PW_GROWTH_H
#define PW_GROWTH_H

#include "report/report.h"

#define GROWTH_LOOKS 3

struct growth;

struct growth *growth__new(void);
/* Record this sweep's groups (call after report__group) and mark the
 * threads of rising sites (site_count). 0 or -ENOMEM (history kept). */
int growth__observe(struct growth *g, struct pw_report *r);
void growth__free(struct growth *g);

#endif
