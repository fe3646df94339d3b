// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include "parkwatch.h"
#include "threads/wait_time.h"

/*
 * Start of a wait nobody saw begin. last_arrival is when the thread last got
 * a CPU; it then ran for last_slice_ns and went to sleep in this wait.
 * Without the slice, a thread that computed for seconds before blocking
 * would look parked for those seconds too.
 */
uint64_t wait_start_estimate(const struct pw_task *rec)
{
	if (!rec->last_arrival_ns)
		return rec->start_ns;
	return rec->last_arrival_ns + rec->last_slice_ns;
}

/*
 * Start of a wait whose entry the futex hook saw, or 0 when it cannot be
 * told. The hook records jiffies (one tick) and pcount; if the thread has not
 * been on a CPU since (same pcount), it went to sleep at the end of the slice
 * it entered in, which the scheduler's accounting gives to the microsecond.
 * Otherwise (woken inside the call and asleep again) the tick-resolution
 * time stands.
 */
uint64_t wait_start_exact(const struct pw_task *rec)
{
	uint64_t ticks;

	if (rec->pcount == rec->wait.pcount && rec->last_arrival_ns)
		return wait_start_estimate(rec);
	ticks = rec->now_jiffies - rec->wait.start_jiffies;
	if (!rec->hz || ticks > rec->now_ns / (1000000000ULL / rec->hz))
		return 0;
	return rec->now_ns - ticks * (1000000000ULL / rec->hz);
}
