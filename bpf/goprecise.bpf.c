// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * --go-precise: exact park times of goroutines, from entry uprobes on the Go
 * runtime (never uretprobes: they rewrite return addresses on goroutine
 * stacks, which the runtime moves, and crash it).
 *
 *   runtime.gopark       current g in r14, wait reason in cl  -> park_ns
 *   runtime.ready        target g in rax                      -> wake_ns
 *   runtime.gdestroy     (goexit0 before 1.21) g in rax       -> delete
 *
 * All three are ABIInternal (register ABI) in every Go version since 1.17.
 * Userspace attaches them at the stack check's conditional jump when the
 * prologue has one (the kernel emulates a jcc; it single-steps the cmp at
 * +0, ~10x dearer), and a uprobe on a binary fires in every process that
 * maps it: the tgid filter below keeps only the watched ones.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "parkwatch.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Watched processes (the -p targets that are Go programs). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} go_tgids SEC(".maps");

/* One entry per goroutine that parked since attach; bounded, resized from
 * userspace. A park that finds it full is counted and that goroutine keeps
 * the sweep's own (observed) duration. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct pw_gokey);
	__type(value, struct pw_gopark);
} go_parks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_GO_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} go_counters SEC(".maps");

static __always_inline void count(enum pw_go_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&go_counters, &key);

	if (v)
		(*v)++;
}

/* The key for g if the current process is watched. */
static __always_inline bool watched_key(__u64 g, struct pw_gokey *k)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!bpf_map_lookup_elem(&go_tgids, &tgid))
		return false;
	k->g = g;
	k->tgid = tgid;
	k->pad = 0;
	return true;
}

/*
 * Every fire overwrites park_ns: the last gopark before the goroutine
 * sleeps is its park. This makes the stack-growth double fire harmless
 * (the first fire was before newstack copied the stack, the second is the
 * real park, microseconds later) and is right for wakes that do not go
 * through runtime.ready (netpoll's injectglist, GC assist queues), where
 * keeping the first time would date an I/O wait from the goroutine's first
 * read ever. Events of one g are ordered by the runtime itself (a g is
 * readied only once parked, parks only while running), so plain stores
 * into the entry do not race.
 */
SEC("uprobe")
int BPF_KPROBE(go_park)
{
	struct pw_gokey k;
	struct pw_gopark *v, nv = {};
	__u64 now;

	if (!watched_key(ctx->r14, &k))
		return 0;
	now = bpf_ktime_get_ns();
	count(PW_GO_CNT_PARKS);
	v = bpf_map_lookup_elem(&go_parks, &k);
	if (v) {
		if (v->park_ns > v->wake_ns)
			count(PW_GO_CNT_REPARKS);
		v->prev_park_ns = v->park_ns;
		v->prev_wake_ns = v->wake_ns;
		v->prev_wait_reason = v->wait_reason;
		v->park_ns = now;
		v->wait_reason = ctx->cx & 0xff;
		return 0;
	}
	nv.park_ns = now;
	nv.wait_reason = ctx->cx & 0xff;
	if (bpf_map_update_elem(&go_parks, &k, &nv, BPF_NOEXIST) && !bpf_map_lookup_elem(&go_parks, &k))
		count(PW_GO_CNT_FULL);
	return 0;
}

/* Only goroutines seen parking are tracked: a wake of one parked before
 * attach adds nothing (it has no park time to end). */
SEC("uprobe")
int BPF_KPROBE(go_ready)
{
	struct pw_gokey k;
	struct pw_gopark *v;

	if (!watched_key(ctx->ax, &k))
		return 0;
	v = bpf_map_lookup_elem(&go_parks, &k);
	if (!v)
		return 0;
	v->wake_ns = bpf_ktime_get_ns();
	count(PW_GO_CNT_WAKES);
	return 0;
}

/* The g goes back to the free list and its address will be reused by a new
 * goroutine: forget it. */
SEC("uprobe")
int BPF_KPROBE(go_exit)
{
	struct pw_gokey k;

	if (!watched_key(ctx->ax, &k))
		return 0;
	if (!bpf_map_delete_elem(&go_parks, &k))
		count(PW_GO_CNT_EXITS);
	return 0;
}
