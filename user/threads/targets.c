// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* -p targets by PID and start time: see targets.h. */
#include <errno.h>
#include "threads/procstat.h"
#include "threads/targets.h"
#include "tracer.h"

enum target_state targets__state(const struct targets *t, int i)
{
	struct proc_stat st;
	int err = proc_stat_read(t->pids[i], &st);

	if (err == -ESRCH || (!err && proc_stat_is_dead(&st)))
		return TARGET_EXITED;
	if (err)
		return TARGET_SAME; /* unreadable now: nothing proves it changed */
	if (t->start[i] && st.start_ticks != t->start[i])
		return TARGET_REUSED;
	return TARGET_SAME;
}

bool targets__any_changed(const struct targets *t)
{
	for (int i = 0; t && i < t->n; i++)
		if (!t->gone[i] && targets__state(t, i) != TARGET_SAME)
			return true;
	return false;
}

int targets__drop_changed(struct targets *t, struct tracer *tr, struct pw_report *r)
{
	int dropped = 0;

	for (int i = 0; t && i < t->n; i++) {
		enum target_state s;

		if (t->gone[i] || (s = targets__state(t, i)) == TARGET_SAME)
			continue;
		t->gone[i] = true;
		t->ngone++;
		dropped++;
		tracer__unwatch(tr, i, t->pids[i]);
		if (report__add_exited_why(r, t->pids[i], s == TARGET_REUSED ? PW_EXIT_PID_REUSED
									    : PW_EXIT_TARGET))
			return -ENOMEM;
	}
	return dropped;
}
