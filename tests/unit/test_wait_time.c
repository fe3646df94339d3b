// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Wait start times from the scheduler's accounting and the futex record. */
#include "parkwatch.h"
#include "threads/wait_time.h"
#include "unit.h"

#define MS 1000000ULL
#define S 1000000000ULL

int main(void)
{
	struct pw_task t = {
		.start_ns = 10 * S,
		.now_ns = 100 * S,
		.last_arrival_ns = 50 * S,
		.last_slice_ns = 2 * S, /* computed for 2 s, then blocked */
		.pcount = 7,
		.now_jiffies = 100000,
		.hz = 250,
	};

	/* the estimate is the end of the last slice, not its start */
	CHECK(wait_start_estimate(&t) == 52 * S);
	/* a thread that never ran (last_arrival 0): its own start time */
	t.last_arrival_ns = 0;
	CHECK(wait_start_estimate(&t) == 10 * S);
	t.last_arrival_ns = 50 * S;

	/* futex entry seen, thread never ran since: the scheduler's moment */
	t.wait.pcount = 7;
	t.wait.start_jiffies = 100000 - 48 * 250;
	CHECK(wait_start_exact(&t) == 52 * S);
	/* woken inside the call and asleep again: the entry tick stands */
	t.wait.pcount = 5;
	t.wait.start_jiffies = 100000 - 60 * 250 - 1; /* 60 s + one 4 ms tick ago */
	CHECK(wait_start_exact(&t) == 100 * S - 60 * S - 4 * MS);
	/* unknown tick rate: cannot tell, caller falls back to the estimate */
	t.hz = 0;
	CHECK(wait_start_exact(&t) == 0);
	/* a record from before boot time is nonsense, not a huge duration */
	t.hz = 1000;
	t.wait.start_jiffies = 0;
	t.now_jiffies = 1000000000ULL;
	CHECK(wait_start_exact(&t) == 0);
	return unit_done("test_wait_time");
}
