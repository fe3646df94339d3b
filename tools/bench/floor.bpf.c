// SPDX-License-Identifier: GPL-2.0
// Floor programs for tools/bench-futex.sh: the cost of merely being attached,
// before a tracer does any work of its own.
//
//   floor A: empty programs on the syscall tracepoints of every futex wait
//            entry point (sys_enter/sys_exit of futex, futex_wait,
//            futex_waitv): what any syscall-tracepoint design pays per call.
//   floor B: one tp_btf/sys_enter program that returns at once unless the
//            syscall is a futex wait: the floor of a single raw syscall-entry
//            hook (it runs for every syscall on the machine, not only futex).
//
// Each program bumps a plain (non-atomic) counter so the loader can show that
// it really fired; that is one load/add/store on an already-mapped .bss page,
// noise next to the hook itself.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NR_FUTEX 202
#define NR_FUTEX_WAITV 449
#define NR_FUTEX_WAIT 455

// uapi linux/futex.h values (vmlinux.h has no #defines).
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

__u64 hits_a;
__u64 hits_b;

// ---- floor A: syscall tracepoints ----

SEC("tracepoint/syscalls/sys_enter_futex")
int a_enter_futex(void *ctx)
{
	hits_a++;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex")
int a_exit_futex(void *ctx)
{
	hits_a++;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_futex_wait")
int a_enter_futex_wait(void *ctx)
{
	hits_a++;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex_wait")
int a_exit_futex_wait(void *ctx)
{
	hits_a++;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_futex_waitv")
int a_enter_futex_waitv(void *ctx)
{
	hits_a++;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_futex_waitv")
int a_exit_futex_waitv(void *ctx)
{
	hits_a++;
	return 0;
}

// ---- floor B: one raw syscall-entry hook ----

SEC("tp_btf/sys_enter")
int BPF_PROG(b_sys_enter, struct pt_regs *regs, long id)
{
	if (id != NR_FUTEX && id != NR_FUTEX_WAIT && id != NR_FUTEX_WAITV)
		return 0;
	if (id == NR_FUTEX) {
		// futex(2) multiplexes: only the waiting commands count.
		int cmd = (int)regs->si & FUTEX_CMD_MASK;
		if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET &&
		    cmd != FUTEX_LOCK_PI && cmd != FUTEX_LOCK_PI2 &&
		    cmd != FUTEX_WAIT_REQUEUE_PI)
			return 0;
	}
	hits_b++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
