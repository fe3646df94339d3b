// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#ifndef PW_UNWINDERS_H
#define PW_UNWINDERS_H

#include <stdbool.h>
#include <sys/types.h>

#include "threads/unwind.h"

/*
 * Unwinders opened during one sweep, one per process. Only the last few
 * stay open: the candidates come process by process (sweep.c, cmp_candidate), and
 * a thousand open unwinders hold a thousand copies of every library's
 * tables (hundreds of MiB). One needed again (a creator's process) is
 * opened again.
 */
#define UNWINDERS_OPEN 8

struct unwinders {
	struct {
		pid_t pid;
		struct unwinder *u; /* NULL: could not open (errno in err) */
		int err;
		bool closed;        /* freed to make room: open again if needed */
	} *v;
	int n;
	int nopen;
	struct unwind_cache *cache; /* shared by all of them */
	/* The last process's executable: the candidates come process by
	 * process, and a readlink per thread adds up. */
	pid_t exe_pid;
	char *exe;
};

/* proc_exe_path(pid) (to free), read once per run of that process's threads. */
char *unwinders__exe_of(struct unwinders *us, pid_t pid);
/* The unwinder of pid, opened on first use (NULL: *err says why). */
struct unwinder *unwinders__get(struct unwinders *us, pid_t pid, int *err);
/* Every unwinder, then the cache they share. */
void unwinders__free(struct unwinders *us);

#endif
