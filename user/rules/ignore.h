/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Ignore rules in goleak's vocabulary, for threads and goroutines:
 * by top function, by any function in the stack, by creator function, from
 * a rules file, and a baseline (an earlier JSON report: what it listed is
 * not flagged again). Rules that never match are reported: stale allowlists
 * rot.
 */
#ifndef PW_IGNORE_H
#define PW_IGNORE_H

#include <stddef.h>
#include "report/report.h"

/*
 * Limits on the input files (parkwatch(8), LIMITS): going past one is a
 * usage error (exit 2), running out of memory within them an environment
 * error (exit 3). The baseline is streamed, so its memory grows with the
 * number of entries of its last report, not with the file's size: a
 * 100,000-goroutine report is ~150 MB and loads in ~20 MB.
 */
#define BASELINE_MAX_BYTES (1ULL << 30)      /* 1 GiB of JSON */
#define BASELINE_MAX_ENTRY_BYTES (1u << 20)  /* one thread or goroutine: 1 MiB */
#define BASELINE_MAX_ENTRIES (1 << 22)       /* threads, and goroutines, of a report */
#define RULES_MAX_BYTES (16u << 20)          /* --ignore-file: 16 MiB */
#define RULES_MAX_LINE 8192                  /* bytes of one line */
#define RULE_MAX_FUNCTION 4096               /* bytes of one function name */
#define IGNORE_MAX_RULES 100000              /* rules, from all options and files */

enum ignore_kind {
	IGNORE_TOP,        /* the innermost frame with a name is FUNC (goroutines:
			    * the first frame Go's traceback shows, see ignore.c) */
	IGNORE_ANY,        /* any frame is FUNC */
	IGNORE_CREATED_BY, /* the creation call site (see ignore.c) is FUNC;
			    * goroutines: the go statement's function */
};

struct ignore_set;

struct ignore_set *ignore_set__new(void);
/* origin says where the rule came from, for messages ("--ignore-top"). */
int ignore_set__add(struct ignore_set *s, enum ignore_kind kind, const char *function,
		    const char *origin);
/* Rules file: one rule per line, "top FUNC", "any FUNC", "created-by FUNC";
 * blank lines and '#' comments ignored. 0, or -errno with a message in err
 * naming the file and line. */
int ignore_set__load_file(struct ignore_set *s, const char *path, char *err, size_t errlen);
/* Baseline: a parkwatch JSON report (schema parkwatch/1): its threads and
 * (if any) goroutines. 0 or -errno with a message in err. */
int ignore_set__load_baseline(struct ignore_set *s, const char *path, char *err, size_t errlen);
/* Drop the ignored threads and goroutines from r (call before report__group
 * and report__group_goroutines), count them in r->stats.ignored, and point
 * r->rules at the per-rule match counts. */
void ignore_set__apply(struct ignore_set *s, struct pw_report *r);
bool ignore_set__empty(const struct ignore_set *s);
void ignore_set__free(struct ignore_set *s);

#endif
