// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* serve's SIGHUP: the ignore rules and the idle file read again. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "rules/idle.h"
#include "rules/ignore.h"
#include "session_priv.h"

/* The ignore options again, in their order, into a new set: NULL with a
 * message in err when a file does not parse (the caller keeps the old set). */
static struct ignore_set *build_ignore(const struct config *c, char *err, size_t errlen)
{
	static const char *const origin[] = { "--ignore-top", "--ignore-any",
					      "--ignore-created-by" };
	static const enum ignore_kind kind[] = { IGNORE_TOP, IGNORE_ANY, IGNORE_CREATED_BY };
	struct ignore_set *set = ignore_set__new();
	int e = set ? 0 : -ENOMEM;

	for (int i = 0; !e && i < c->nrule_args; i++) {
		const struct rule_arg *a = &c->rule_args[i];

		if (a->kind == RULE_ARG_FILE)
			e = ignore_set__load_file(set, a->value, err, errlen);
		else if (a->kind == RULE_ARG_BASELINE)
			e = ignore_set__load_baseline(set, a->value, err, errlen);
		else if ((e = ignore_set__add(set, kind[a->kind], a->value, origin[a->kind])))
			snprintf(err, errlen, "invalid ignore rule '%s'", a->value);
	}
	if (e == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (e) {
		ignore_set__free(set);
		return NULL;
	}
	return set;
}

/*
 * serve's SIGHUP: read the ignore rules (files, baselines) and the idle file
 * again. Both are replaced, or neither: on an error the old ones stay and
 * the daemon says why. 0 or -errno.
 */
int session__reload_rules(struct session *s)
{
	struct idle_list *idle = NULL;
	struct ignore_set *ign;
	char err[512];
	int bad_line = 0;

	if (s->c->idle_file) {
		idle = idle_list__load(s->c->idle_file, &bad_line);
		if (!idle) {
			if (bad_line)
				fprintf(stderr, "parkwatch: reload: %s:%d: malformed rule; "
					"keeping the previous rules\n",
					s->c->idle_file, bad_line);
			else
				fprintf(stderr, "parkwatch: reload: cannot read %s: %s; keeping "
					"the previous rules\n", s->c->idle_file, strerror(errno));
			return -EINVAL;
		}
	}
	ign = build_ignore(s->c, err, sizeof(err));
	if (!ign) {
		fprintf(stderr, "parkwatch: reload: %s; keeping the previous rules\n", err);
		idle_list__free(idle);
		return -EINVAL;
	}
	if (idle) {
		idle_list__free(s->idle);
		s->idle = idle;
		s->so.idle = idle;
	}
	ignore_set__free(s->c->ignore);
	s->c->ignore = s->so.ignore = ign;
	fprintf(stderr, "parkwatch: reload: ignore rules and idle list read again\n");
	return 0;
}
