/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* When did a parked thread's wait begin? From what the sweep saw of it. */
#ifndef PW_WAIT_TIME_H
#define PW_WAIT_TIME_H

#include <stdint.h>

struct pw_task;

/* CLOCK_MONOTONIC ns, from the scheduler's accounting: always available. */
uint64_t wait_start_estimate(const struct pw_task *rec);
/* From the futex entry record (PW_TASK_WAIT_RECORDED), 0 when it cannot be
 * told (no CONFIG_HZ); exact to the microsecond when the thread has not run
 * since entry, to one tick otherwise. */
uint64_t wait_start_exact(const struct pw_task *rec);

#endif
