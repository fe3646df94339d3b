/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Where a running thread runs, without stopping or signalling it: a
 * perf-event sample of that thread (software task clock, user registers and
 * a copy of the top of its user stack), which the unwinder walks like the
 * creator stacks copied at clone. A thread parked in the kernel never runs,
 * so it is never sampled: only spinning threads are.
 */
#ifndef PW_CPU_SAMPLE_H
#define PW_CPU_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "parkwatch.h"

#define CPU_SAMPLE_STACK_BYTES 16384 /* user stack copied per sample */
#define CPU_SAMPLE_MAX_SAMPLES 8     /* samples read before giving up on want_r14 */

struct cpu_sample {
	struct pw_regs regs;   /* user registers at the sample */
	uint8_t *stack;        /* copy of [regs.sp, regs.sp + stack_len), malloc'd */
	uint32_t stack_len;
	int samples;           /* samples read (the last one is kept) */
};

/*
 * One sample of thread tid in user space, waiting at most timeout_ms for it
 * (the event counts the thread's own CPU time, so a thread that does not
 * run gives none). want_r14, when not 0: keep reading samples (up to
 * CPU_SAMPLE_MAX_SAMPLES) until one has r14 == want_r14 — Go keeps the
 * running goroutine's g there, so that sample is of that goroutine.
 * Returns 0, -ETIMEDOUT (no sample in time), -ENOMSG (CPU_SAMPLE_MAX_SAMPLES samples,
 * none with want_r14), -ESRCH (no such
 * thread) or another -errno from perf_event_open (e.g. -EACCES).
 */
int cpu_sample__take(pid_t tid, int timeout_ms, uint64_t want_r14, struct cpu_sample *out);

void cpu_sample__free(struct cpu_sample *s);

/* A sentence for a stack_error when cpu_sample__take failed with err (< 0). */
const char *cpu_sample__strerror(int err);

/*
 * Decode one PERF_RECORD_SAMPLE body laid out as cpu_sample__take asks
 * (tid, user regs, user stack). 0, or -EINVAL when it is short or has no
 * user registers (exposed for the unit test and the fuzz target).
 */
int cpu_sample__decode(const void *body, size_t len, uint32_t *tid, struct cpu_sample *out);

#endif
