// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* /proc/PID/stat parsing: hostile comms, kernel threads, start time. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "threads/procstat.h"
#include "unit.h"

int main(void)
{
	struct proc_stat s;

	/* A kernel thread (kthreadd), flags 0x208040. */
	CHECK(!proc_stat_parse("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 "
			       "9 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 "
			       "0 0 0 0 0 0 0 0 0 0 0\n", &s));
	CHECK(s.state == 'S' && s.ppid == 0 && proc_stat_is_kthread(&s) && s.start_ticks == 9);
	/* A user process whose comm holds ") R 1 " and a newline. */
	CHECK(!proc_stat_parse("4242 (a) R 1 x\n) S) S 77 4242 4242 34816 4242 4194560 100 0 0 "
			       "0 1 2 0 0 20 0 3 0 123456789 1000 200 18446744073709551615\n", &s));
	CHECK(s.state == 'S' && s.ppid == 77 && !proc_stat_is_kthread(&s) &&
	      s.start_ticks == 123456789);
	/* Truncated or garbage. */
	CHECK(proc_stat_parse("4242 (a) S 1 2 3", &s) == -EINVAL);
	CHECK(proc_stat_parse("no parenthesis", &s) == -EINVAL);
	CHECK(proc_stat_parse("", &s) == -EINVAL);
	/* This process, for real: not a kernel thread, started. */
	CHECK(!proc_stat_read(getpid(), &s));
	CHECK(!proc_stat_is_kthread(&s) && s.start_ticks > 0);
	CHECK(proc_stat_read(0x3ffffff0, &s) == -ESRCH);
	return unit_done("test_procstat");
}
