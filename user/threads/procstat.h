/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * /proc/PID/stat, the fields parkwatch needs: whether a PID is a kernel
 * thread, and its start time, which with the PID identifies a process (a
 * PID is reused once its process is gone; the start time never is).
 */
#ifndef PW_PROCSTAT_H
#define PW_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_PF_KTHREAD 0x00200000u /* task->flags: a kernel thread */

struct proc_stat {
	char state;
	pid_t ppid;
	pid_t pgrp;
	unsigned int flags;
	int num_threads;
	uint64_t start_ticks; /* field 22: clock ticks after boot */
};

/* Parse the text of /proc/PID/stat. The comm (field 2) is whatever the
 * process named itself, ')' and newlines included: fields are found from
 * the last ')'. 0 or -EINVAL. */
int proc_stat_parse(const char *text, struct proc_stat *out);
/* Read and parse /proc/PID/stat: 0, -ESRCH when there is no such process,
 * -errno. */
int proc_stat_read(pid_t pid, struct proc_stat *out);
/* The executable's path (/proc/PID/exe), malloc'd; NULL when unreadable. */
char *proc_exe_path(pid_t pid);
/* Gone for good: a zombie with no thread left (a leader that called
 * pthread_exit is a zombie while its other threads run). */
static inline bool proc_stat_is_dead(const struct proc_stat *s)
{
	return (s->state == 'Z' || s->state == 'X') && s->num_threads <= 1;
}
static inline bool proc_stat_is_kthread(const struct proc_stat *s)
{
	return s->flags & PROC_PF_KTHREAD;
}

#endif
