/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Where reports go: stdout, or -o FILE. A regular FILE is written to a
 * temporary file beside it and renamed over FILE only when the run's final
 * report was written in full, so a run that fails (no privileges, a full
 * disk) leaves an earlier report untouched. Anything that is not a regular
 * file (a terminal, a pipe, /dev/full) is written directly.
 */
#ifndef PW_OUTPUT_H
#define PW_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct output {
	FILE *f;
	const char *name; /* for messages: FILE or "standard output" */
	char *path;       /* where the report ends up (symlinks resolved), or NULL */
	char *tmp;        /* the temporary file beside it, or NULL */
};

/* path NULL: stdout. 0 or -errno, with err set. */
int output__open(struct output *o, const char *path, char *err, size_t len);
/* After a report: did every write reach the file (or the kernel, for
 * stdout)? 0 or -errno. */
int output__flush(struct output *o);
/* End of run: flush and close; keep: rename the temporary file over FILE,
 * otherwise remove it. 0 or -errno (with err set) when a write, the close
 * or the rename failed. */
int output__close(struct output *o, bool keep, char *err, size_t len);

#endif
