// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Ignore rules (stub: being written). */
#include <errno.h>
#include <stdlib.h>
#include "ignore.h"

struct ignore_set {
	int n;
};

struct ignore_set *ignore_set__new(void) { return calloc(1, sizeof(struct ignore_set)); }
int ignore_set__add(struct ignore_set *s, enum ignore_kind kind, const char *function,
		    const char *origin) { return -ENOSYS; }
int ignore_set__load_file(struct ignore_set *s, const char *path, char *err, size_t errlen) { return -ENOSYS; }
int ignore_set__load_baseline(struct ignore_set *s, const char *path, char *err, size_t errlen) { return -ENOSYS; }
void ignore_set__apply(struct ignore_set *s, struct pw_report *r) {}
bool ignore_set__empty(const struct ignore_set *s) { return true; }
void ignore_set__free(struct ignore_set *s) { free(s); }
