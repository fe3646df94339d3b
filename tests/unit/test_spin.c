// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Spinning threads from looks (spin.c), and the CPU sample decoder
 * (cpu_sample.c): what a perf sample record holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include "parkwatch.h"
#include "threads/cpu_sample.h"
#include "threads/spin.h"
#include "unit.h"

#define S 1000000000ULL

static struct pw_task running(uint32_t tid, uint64_t now, uint64_t cpu, uint64_t nvcsw)
{
	return (struct pw_task){ .tid = tid, .tgid = tid, .state = 0, .start_ns = 7,
				 .now_ns = now, .cpu_ns = cpu, .nvcsw = nvcsw };
}

static void test_looks(void)
{
	struct spin_history *h = spin_history__new();
	struct spin_evidence e = {};
	struct pw_task t;

	CHECK(h != NULL);
	/* two looks are not enough */
	for (int i = 0; i < 2; i++) {
		t = running(10, (1 + i) * S, (1 + i) * S / 2, 4);
		CHECK(spin_history__observe(h, &t, 1) == 0);
		CHECK(!spin_history__spinning(h, &t, &e));
	}
	/* the third look: spinning, with the span's wall and CPU time */
	t = running(10, 3 * S, 3 * S / 2, 4);
	CHECK(spin_history__observe(h, &t, 1) == 0);
	CHECK(spin_history__spinning(h, &t, &e));
	CHECK(e.looks == 3 && e.wall_ns == 2 * S && e.cpu_ns == S);
	/* it slept once (nvcsw moved): starts over */
	t = running(10, 4 * S, 2 * S, 5);
	CHECK(spin_history__observe(h, &t, 1) == 0);
	CHECK(!spin_history__spinning(h, &t, &e));
	/* asleep at a look: forgotten */
	t.state = 1;
	CHECK(spin_history__observe(h, &t, 1) == 0);
	t.state = 0;
	CHECK(!spin_history__spinning(h, &t, &e));
	/* runnable but no CPU time at all between looks (stopped? starved):
	 * no evidence that it runs */
	for (int i = 0; i < 4; i++) {
		t = running(11, (10 + i) * S, S, 0);
		CHECK(spin_history__observe(h, &t, 1) == 0);
	}
	CHECK(!spin_history__spinning(h, &t, &e));
	/* a reused tid (another start time) is another thread */
	for (int i = 0; i < 3; i++) {
		t = running(12, (20 + i) * S, (20 + i) * S, 0);
		t.start_ns = i == 2 ? 99 : 7;
		CHECK(spin_history__observe(h, &t, 1) == 0);
	}
	CHECK(!spin_history__spinning(h, &t, &e));
	/* kernel threads are never judged */
	for (int i = 0; i < 3; i++) {
		t = running(13, (30 + i) * S, (30 + i) * S, 0);
		t.flags = PW_TASK_KTHREAD;
		CHECK(spin_history__observe(h, &t, 1) == 0);
	}
	CHECK(!spin_history__spinning(h, &t, &e));
	CHECK(!spin_history__spinning(NULL, &t, &e)); /* --once: no history */
	spin_history__free(h);
}

static void test_decode(void)
{
	uint64_t rec[2 + 17 + 1 + 4 + 1] = {};
	struct cpu_sample cs = {};
	uint32_t tid = 0;

	rec[0] = (uint64_t)1234 << 32 | 1234;  /* pid, tid */
	rec[1] = PERF_SAMPLE_REGS_ABI_64;
	for (int i = 0; i < 17; i++)
		rec[2 + i] = 100 + i;              /* ax..ip, r8..r15 */
	rec[19] = 32;                          /* stack size */
	memset(&rec[20], 0xab, 32);
	rec[24] = 16;                          /* dyn_size: bytes really copied */
	CHECK(cpu_sample__decode(rec, sizeof(rec), &tid, &cs) == 0);
	CHECK(tid == 1234);
	CHECK(cs.regs.ax == 100 && cs.regs.sp == 107 && cs.regs.ip == 108);
	CHECK(cs.regs.r8 == 109 && cs.regs.r14 == 115 && cs.regs.r15 == 116);
	CHECK(cs.regs.orig_ax == (uint64_t)-1);
	CHECK(cs.stack_len == 16 && cs.stack[0] == 0xab);
	/* short records and a sample with no user state are refused */
	for (size_t len = 0; len < sizeof(rec); len += 8)
		CHECK(cpu_sample__decode(rec, len, &tid, &cs) == -EINVAL);
	rec[1] = PERF_SAMPLE_REGS_ABI_NONE;
	CHECK(cpu_sample__decode(rec, sizeof(rec), &tid, &cs) == -EINVAL);
	/* a stack size past the record */
	rec[1] = PERF_SAMPLE_REGS_ABI_64;
	rec[19] = 1 << 20;
	CHECK(cpu_sample__decode(rec, sizeof(rec), &tid, &cs) == -EINVAL);
	cpu_sample__free(&cs);
}

int main(void)
{
	test_looks();
	test_decode();
	return unit_done("test_spin");
}
