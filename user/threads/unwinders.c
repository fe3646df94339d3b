// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The unwinders of one sweep, a few open at a time (threads/unwinders.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "threads/procstat.h"
#include "threads/unwinders.h"

/* proc_exe_path(pid), read once per run of that process's threads. */
char *unwinders__exe_of(struct unwinders *us, pid_t pid)
{
	if (us->exe_pid != pid || !us->exe) {
		free(us->exe);
		us->exe = proc_exe_path(pid);
		us->exe_pid = pid;
	}
	return us->exe ? strdup(us->exe) : NULL;
}

struct unwinder *unwinders__get(struct unwinders *us, pid_t pid, int *err)
{
	void *nv;
	int i;

	/* Newest first: a process's threads come together, and a search from
	 * the start over a thousand processes per thread adds up. */
	for (i = us->n - 1; i >= 0 && us->v[i].pid != pid; i--)
		;
	if (i >= 0 && !us->v[i].closed) {
		*err = us->v[i].err;
		return us->v[i].u;
	}
	if (i < 0) {
		nv = realloc(us->v, (us->n + 1) * sizeof(*us->v));
		if (!nv) {
			*err = ENOMEM;
			return NULL;
		}
		us->v = nv;
		i = us->n++;
		us->v[i].pid = pid;
	}
	/* Close the oldest open one first (the entries are in opening order,
	 * but for one opened again). */
	for (int k = 0; k < us->n && us->nopen >= UNWINDERS_OPEN; k++)
		if (k != i && !us->v[k].closed && us->v[k].u) {
			unwinder__free(us->v[k].u);
			us->v[k].u = NULL;
			us->v[k].closed = true;
			us->nopen--;
		}
	us->v[i].closed = false;
	us->v[i].u = unwinder__new(pid, us->cache);
	us->v[i].err = us->v[i].u ? 0 : errno;
	us->nopen += us->v[i].u != NULL;
	*err = us->v[i].err;
	return us->v[i].u;
}

void unwinders__free(struct unwinders *us)
{
	for (int i = 0; i < us->n; i++)
		unwinder__free(us->v[i].u);
	free(us->v);
	free(us->exe);
	unwind_cache__free(us->cache); /* after the unwinders, which point to it */
}
