/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Internals shared by ignore.c (rules, the decision pass) and baseline.c
 * (signatures and the baseline file). */
#ifndef PW_IGNORE_PRIV_H
#define PW_IGNORE_PRIV_H

#include "rules/ignore.h"

/* The baseline is a fourth kind, not part of the public enum: it is only
 * created by ignore_set__load_baseline. */
#define IGNORE_BASELINE (IGNORE_CREATED_BY + 1)

/* One signature of a baseline and how many baseline threads had it. */
struct sig_count {
	char *sig;
	int count;
};

struct rule {
	int kind;               /* enum ignore_kind or IGNORE_BASELINE */
	char *pattern;          /* function name, without the trailing '*' */
	bool prefix;            /* pattern ended in '*': match names starting with it */
	struct sig_count *sigs; /* baseline threads: sorted by sig, for bsearch */
	int nsigs;
	struct sig_count *gsigs; /* baseline goroutines, likewise */
	int ngsigs;
};

struct ignore_set {
	struct rule *rules;
	/* Parallel to rules: the text, origin and match count the printers
	 * show. A separate array so r->rules can point straight at it. */
	struct pw_rule_use *uses;
	int n, cap;
};

/* ignore.c: append a rule (taking pattern and sigs) with its printed text
 * and origin. On failure nothing is taken. */
int ignore_set__push(struct ignore_set *s, const struct rule *rl, const char *arg,
		     const char *origin);

/* baseline.c */
/* What stays the same for "the same leak" in another run; NULL when out of
 * memory (then it never matches). */
char *baseline__thread_signature(const struct pw_flagged *t);
char *baseline__goroutine_signature(const struct pw_gflagged *f);
/* Marks in drop[] the n entries (visited in order[]) that the baseline
 * multiset bl excuses, and counts them in use. */
void baseline__excuse(const struct sig_count *bl, int nbl, struct pw_rule_use *use, int n,
		      char **sigs, const int *order, bool *drop);
void baseline__free_sigs(struct sig_count *v, int n);

#endif
