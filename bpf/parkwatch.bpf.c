// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * parkwatch's kernel side. Three concerns, cheapest first:
 *  - creators: sched_process_fork/exit keep who created each live thread
 *    (a hash map sized from userspace) and ship the creator's registers and
 *    stack top to userspace, which unwinds them only if the child is flagged;
 *  - futex entry (optional, --futex-hooks): one store in task-local storage
 *    per futex wait, nothing else — no exit hook, no allocation, no stack;
 *  - the sweep: a sleepable task iterator that reads what the kernel already
 *    knows about every thread (state, syscall, registers, last_arrival, ...).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "parkwatch.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before load. */
const volatile __u32 filter_tgid_count = 0; /* 0: every process */
const volatile __u32 want_kstack = 0;
const volatile __u32 wait_slot_mask = 65535; /* wait_slots size - 1 */
const volatile __u32 command_tgid = 0; /* command mode: the command's process */
/* Tick rate, to turn jiffies into nanoseconds; 0 when the kernel config is
 * not readable (the sweep then falls back to the estimate). */
extern unsigned int CONFIG_HZ __kconfig __weak;

#define PF_KTHREAD 0x00200000

/* tgids to watch when filter_tgid_count > 0 (creators only; the iterator is
 * filtered in the kernel by its link). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} filter_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized from userspace (--max-threads) */
	__type(key, __u32);
	__type(value, struct pw_thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536); /* resized from userspace to a power of 2 */
	__type(key, __u32);
	__type(value, struct pw_wait);
} wait_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} clone_events SEC(".maps");

/* Command mode: the other threads' state at exit(), by tid. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized from userspace (--max-threads) */
	__type(key, __u32);
	__type(value, struct pw_exit_snap);
} exit_snaps SEC(".maps");

/* Command mode: the command's process tree (tgid -> pw_tree_proc). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pw_tree_proc);
} tree SEC(".maps");

/* Executables exec'd in the tree and judged by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pw_exe_key);
	__type(value, struct pw_exe_verdict);
} exes SEC(".maps");

/* Executables: how many processes of the tree run each (its probes can go
 * when none does). Only the BPF side changes the counts. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pw_exe_key);
	__type(value, __u64);
} exe_users SEC(".maps");

/* Go test binaries: the test each tRunner goroutine runs. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pw_test_key);
	__type(value, struct pw_test_name);
} test_names SEC(".maps");

/* pw_task is too big for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pw_task);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(enum pw_counter c)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	if (v)
		(*v)++;
}

static __always_inline bool tgid_watched(__u32 tgid)
{
	if (!filter_tgid_count)
		return true;
	return bpf_map_lookup_elem(&filter_tgids, &tgid) != NULL ||
	       (command_tgid && bpf_map_lookup_elem(&tree, &tgid) != NULL);
}

/* Count a process of the tree in or out of an executable's users. */
static __always_inline __u64 exe_user(struct pw_exe_key *key, int delta)
{
	__u64 *n, zero = 0;

	if (!key->ino)
		return 0;
	n = bpf_map_lookup_elem(&exe_users, key);
	if (!n && delta > 0) {
		bpf_map_update_elem(&exe_users, key, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&exe_users, key);
	}
	if (!n)
		return 0;
	return __sync_add_and_fetch(n, delta);
}

/* A tree process's flags, with the verdict on its executable taken in if
 * userspace gave it since the exec. */
static __always_inline __u32 proc_flags(struct pw_tree_proc *tp)
{
	struct pw_exe_verdict *v;
	__u32 flags = tp->flags;

	if (!(flags & PW_PROC_UNJUDGED))
		return flags;
	v = bpf_map_lookup_elem(&exes, &tp->exe);
	if (!v)
		return flags;
	tp->flags = v->proc_flags;
	return v->proc_flags;
}

/* Command mode: a process forked by a member of the tree joins it; a thread
 * created in a member is counted (a process that never had a second thread
 * cannot leave one behind). */
static __always_inline void follow_tree(struct task_struct *cur, struct task_struct *child)
{
	__u32 parent = cur->tgid, tgid = child->tgid;
	struct pw_tree_proc *pp = bpf_map_lookup_elem(&tree, &parent), np = {};

	if (!pp)
		return;
	if (tgid == parent) {
		__sync_fetch_and_add(&pp->threads, 1);
		return;
	}
	np.flags = proc_flags(pp); /* until it execs: the same program */
	np.exe = pp->exe;
	if (!bpf_map_update_elem(&tree, &tgid, &np, BPF_ANY))
		exe_user(&np.exe, 1);
}

static __always_inline void copy_regs(struct pw_regs *dst, struct pt_regs *src)
{
	dst->ip = BPF_CORE_READ(src, ip);
	dst->sp = BPF_CORE_READ(src, sp);
	dst->bp = BPF_CORE_READ(src, bp);
	dst->bx = BPF_CORE_READ(src, bx);
	dst->r12 = BPF_CORE_READ(src, r12);
	dst->r13 = BPF_CORE_READ(src, r13);
	dst->r14 = BPF_CORE_READ(src, r14);
	dst->r15 = BPF_CORE_READ(src, r15);
	dst->ax = BPF_CORE_READ(src, ax);
	dst->cx = BPF_CORE_READ(src, cx);
	dst->dx = BPF_CORE_READ(src, dx);
	dst->si = BPF_CORE_READ(src, si);
	dst->di = BPF_CORE_READ(src, di);
	dst->r8 = BPF_CORE_READ(src, r8);
	dst->r9 = BPF_CORE_READ(src, r9);
	dst->r10 = BPF_CORE_READ(src, r10);
	dst->r11 = BPF_CORE_READ(src, r11);
	dst->orig_ax = BPF_CORE_READ(src, orig_ax);
}

/*
 * Copy the creator's user stack from sp upwards, page by page, stopping at
 * the first page that cannot be read (top of the stack mapping): a single
 * large read would fail as a whole near the top of a thread stack.
 */
static __always_inline __u32 copy_user_stack(__u8 *dst, __u64 sp)
{
	__u32 first = 4096 - (sp & 4095); /* 1..4096: up to the page end */
	__u32 done;

	if (bpf_probe_read_user(dst, first, (void *)sp))
		return 0;
	done = first;
#pragma unroll
	for (int i = 0; i < PW_CREATOR_STACK_BYTES / 4096; i++) {
		if (done + 4096 > PW_CREATOR_STACK_BYTES)
			break;
		if (bpf_probe_read_user(dst + done, 4096, (void *)(sp + done)))
			break;
		done += 4096;
	}
	return done;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pw_thread t = {};
	struct pw_clone_event *ev;
	__u32 child_tid = child->pid;

	t.tgid = child->tgid;
	if (command_tgid)
		follow_tree(cur, child);
	if (!tgid_watched(t.tgid) && !tgid_watched(cur->tgid))
		return 0;
	/* Kernel threads, and user processes a kernel thread spawns (usermode
	 * helpers), have no user creation site to show. */
	if ((child->flags | cur->flags) & PF_KTHREAD)
		return 0;
	count(PW_CNT_CLONES);
	t.creator_tid = cur->pid;
	t.creator_tgid = cur->tgid;
	t.born_ns = bpf_ktime_get_ns();
	if (t.tgid != t.creator_tgid)
		t.flags |= PW_THREAD_IS_PROCESS;
	bpf_probe_read_kernel_str(t.creator_comm, sizeof(t.creator_comm), cur->comm);
	/* A thread the map cannot hold gets no clone event either: userspace
	 * memory stays bounded by --max-threads too. */
	if (bpf_map_update_elem(&threads, &child_tid, &t, BPF_ANY)) {
		count(PW_CNT_THREADS_FULL);
		return 0;
	}

	ev = bpf_ringbuf_reserve(&clone_events, sizeof(*ev), 0);
	if (!ev) {
		count(PW_CNT_RINGBUF_FULL);
		return 0;
	}
	ev->kind = PW_EVENT_CLONE;
	ev->child_tid = child_tid;
	ev->child_tgid = t.tgid;
	ev->creator_tid = t.creator_tid;
	ev->creator_tgid = t.creator_tgid;
	ev->born_ns = t.born_ns;
	ev->flags = t.flags;
	__builtin_memcpy(ev->creator_comm, t.creator_comm, sizeof(ev->creator_comm));
	copy_regs(&ev->regs, (struct pt_regs *)bpf_task_pt_regs(cur));
	ev->stack_len = copy_user_stack(ev->stack, ev->regs.sp);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

#define SIGSTOP 19

/*
 * Command mode: a member of the tree exec'd. An executable already judged
 * (the linker's output is, before anything runs it) gives its verdict at
 * once; a new one is read by userspace, which attaches what it needs (the
 * end-of-run probe on a Go or static program's own exit path, the test
 * runner probe) while the process runs: it is never stopped here (the one
 * stop allowed is the end-of-run one). Userspace hears of every exec: the
 * report names each process by the program it runs.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	struct pw_tree_proc *tp = bpf_map_lookup_elem(&tree, &tgid);
	struct pw_exe_verdict *v;
	struct pw_exec_event *ev;
	struct pw_exe_key key = {};
	struct inode *ino;

	if (!tp)
		return 0;
	if (tp->exec_killed) {
		struct pw_exec_lost_event lost = {
			.kind = PW_EVENT_EXEC_LOST, .tgid = tgid, .threads = tp->exec_killed,
		};

		if (bpf_ringbuf_output(&clone_events, &lost, sizeof(lost), 0))
			count(PW_CNT_RINGBUF_FULL);
	}
	tp->threads = 0; /* exec left one thread */
	tp->exec_killed = 0;
	ino = BPF_CORE_READ(bprm, file, f_inode);
	key.dev = BPF_CORE_READ(ino, i_sb, s_dev);
	key.ino = BPF_CORE_READ(ino, i_ino);
	exe_user(&tp->exe, -1);
	tp->exe = key;
	exe_user(&key, 1);
	v = bpf_map_lookup_elem(&exes, &key);
	/* Not its parent's program any more (a tool's child). */
	tp->flags = v ? v->proc_flags : PW_PROC_UNJUDGED;
	ev = bpf_ringbuf_reserve(&clone_events, sizeof(*ev), 0);
	if (!ev) {
		count(PW_CNT_RINGBUF_FULL);
		return 0;
	}
	ev->kind = PW_EVENT_EXEC;
	ev->tgid = tgid;
	ev->exe = key;
	if (bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename),
				      BPF_CORE_READ(bprm, filename)) < 0)
		ev->filename[0] = 0;
	/* Forced: a wakeup is otherwise skipped while userspace is still
	 * consuming earlier records, and the probes race the process. */
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* Command mode: a member of the tree is gone (its last thread exited). */
static __always_inline void tree_proc_end(struct task_struct *p)
{
	__u32 tgid = p->tgid;
	struct pw_tree_proc *tp = bpf_map_lookup_elem(&tree, &tgid);
	struct pw_proc_end_event ev = { .kind = PW_EVENT_PROC_END, .tgid = tgid };

	if (!tp)
		return;
	ev.exit_code = p->exit_code;
	ev.proc_flags = proc_flags(tp);
	ev.threads = tp->threads;
	ev.ended = tp->ended;
	ev.exe = tp->exe;
	ev.exe_users = exe_user(&tp->exe, -1);
	bpf_map_delete_elem(&tree, &tgid);
	if (bpf_ringbuf_output(&clone_events, &ev, sizeof(ev), 0))
		count(PW_CNT_RINGBUF_FULL);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	__u32 tid = p->pid;
	struct pw_exit_event ev = { .kind = PW_EVENT_EXIT, .tid = tid };

	if (command_tgid && group_dead) {
		tree_proc_end(p);
	} else if (command_tgid && BPF_CORE_READ(p, signal, group_exec_task)) {
		/* Another thread of its process is in execve: this one ends
		 * without exit(), killed by the exec. */
		__u32 tgid = p->tgid;
		struct pw_tree_proc *tp = bpf_map_lookup_elem(&tree, &tgid);

		if (tp)
			__sync_fetch_and_add(&tp->exec_killed, 1);
	}
	/* Only a thread we track costs a delete; lookup first keeps exits of
	 * untracked threads to a single hash probe. */
	if (bpf_map_lookup_elem(&threads, &tid)) {
		bpf_map_delete_elem(&threads, &tid);
		count(PW_CNT_EXITS);
		if (bpf_ringbuf_output(&clone_events, &ev, sizeof(ev), 0))
			count(PW_CNT_RINGBUF_FULL);
	}
	return 0;
}

static __always_inline bool futex_op_waits(__u32 op)
{
	switch (op & 127) { /* FUTEX_CMD_MASK */
	case 0:  /* FUTEX_WAIT */
	case 6:  /* FUTEX_LOCK_PI */
	case 9:  /* FUTEX_WAIT_BITSET */
	case 11: /* FUTEX_WAIT_REQUEUE_PI */
	case 13: /* FUTEX_LOCK_PI2 */
		return true;
	}
	return false;
}

/*
 * The hot path: runs for every syscall on the machine while attached, so it
 * leaves at once for anything but a futex wait and otherwise fills one array
 * slot. No bpf_ktime_get_ns() (~60 ns in this VM; the coarse clock is not
 * allowed here): jiffies give the start to a tick, and pcount lets the sweep
 * find the exact moment from the scheduler's own accounting when the thread
 * has not run since.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *cur;
	struct pw_wait *w;
	__u32 op = 0, slot;

	if (id == PW_NR_FUTEX) {
		op = regs->si;
		if (!futex_op_waits(op))
			return 0;
	} else if (id != PW_NR_FUTEX_WAITV && id != PW_NR_FUTEX_WAIT) {
		return 0;
	}
	cur = bpf_get_current_task_btf();
	slot = cur->pid & wait_slot_mask;
	w = bpf_map_lookup_elem(&wait_slots, &slot);
	if (!w)
		return 0;
	w->tid = cur->pid;
	w->nr = id;
	w->op = op;
	w->uaddr = regs->di;
	w->start_jiffies = bpf_jiffies64();
	w->pcount = cur->sched_info.pcount;
	return 0;
}

SEC("iter.s/task")
int sweep(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct pw_task *rec;
	struct pw_wait *w;
	struct pw_thread *t;
	__u32 key = 0, tid, slot;
	long nr;

	if (!task || (task->flags & PF_KTHREAD))
		return 0;
	rec = bpf_map_lookup_elem(&scratch, &key);
	if (!rec)
		return 0;
	__builtin_memset(rec, 0, sizeof(*rec));
	tid = task->pid;
	rec->tid = tid;
	rec->tgid = task->tgid;
	rec->state = task->__state;
	rec->last_arrival_ns = task->sched_info.last_arrival;
	/* prev_sum_exec_runtime is sum_exec_runtime when this slice began. */
	rec->last_slice_ns = task->se.sum_exec_runtime - task->se.prev_sum_exec_runtime;
	rec->pcount = task->sched_info.pcount;
	rec->start_ns = task->start_time;
	rec->nvcsw = task->nvcsw;
	rec->nivcsw = task->nivcsw;
	rec->cpu_ns = task->se.sum_exec_runtime;
	rec->now_ns = bpf_ktime_get_ns();
	rec->now_jiffies = bpf_jiffies64();
	rec->hz = CONFIG_HZ;
	bpf_probe_read_kernel_str(rec->comm, sizeof(rec->comm), task->comm);
	copy_regs(&rec->regs, (struct pt_regs *)bpf_task_pt_regs(task));
	nr = (long)rec->regs.orig_ax;
	if (nr >= 0)
		rec->flags |= PW_TASK_IN_SYSCALL;

	if (nr == PW_NR_FUTEX || nr == PW_NR_FUTEX_WAIT) {
		__u32 word = 0;

		if (!bpf_copy_from_user_task(&word, sizeof(word), (void *)rec->regs.di, task, 0)) {
			rec->futex_word = word;
			rec->flags |= PW_TASK_FUTEX_WORD;
		}
	}
	slot = tid & wait_slot_mask;
	w = bpf_map_lookup_elem(&wait_slots, &slot);
	if (w && w->tid == tid && w->nr == nr && w->uaddr == rec->regs.di &&
	    (nr != PW_NR_FUTEX || w->op == (__u32)rec->regs.si)) {
		rec->wait = *w;
		rec->flags |= PW_TASK_WAIT_RECORDED;
	} else if (w && w->tid && w->tid != tid &&
		   (nr == PW_NR_FUTEX || nr == PW_NR_FUTEX_WAIT || nr == PW_NR_FUTEX_WAITV)) {
		rec->flags |= PW_TASK_WAIT_COLLISION;
	}
	t = bpf_map_lookup_elem(&threads, &tid);
	if (t) {
		rec->thread = *t;
		rec->flags |= PW_TASK_THREAD_KNOWN;
	}
	if (want_kstack) {
		long n = bpf_get_task_stack(task, rec->kstack, sizeof(rec->kstack), 0);

		if (n > 0)
			rec->kstack_len = n / sizeof(__u64);
	}
	bpf_seq_write(seq, rec, sizeof(*rec));
	return 0;
}

/* Open-coded task iterator (kernel 6.7+), to walk the exiting process. */
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;


/*
 * Command mode: entry of exit() in the C library, or of the Go runtime's
 * exit. exit_group would kill every other thread at once, so this is the
 * last moment they can be seen: record each one's scheduler state now (the
 * stop below wakes parked threads into the stopped state), then stop the
 * command so userspace can unwind them; userspace resumes it with SIGCONT.
 */
static __always_inline int send_end(struct task_struct *cur, long code, __u32 n, __u32 flags)
{
	struct pw_end_event *ev = bpf_ringbuf_reserve(&clone_events, sizeof(*ev), 0);

	if (!ev) {
		count(PW_CNT_RINGBUF_FULL);
		return -1;
	}
	ev->kind = PW_EVENT_END;
	ev->tgid = cur->tgid;
	ev->tid = cur->pid;
	ev->threads = n;
	ev->code = code;
	ev->now_ns = bpf_ktime_get_ns();
	ev->flags = flags;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP); /* the process waits stopped */
	return 0;
}

static __always_inline int end_of_run(struct task_struct *cur, long code)
{
	__u32 tgid = cur->tgid, n = 0, flags;
	struct pw_tree_proc *tp = bpf_map_lookup_elem(&tree, &tgid);
	struct task_struct *t;
	struct bpf_iter_task it;

	if (!tp || __sync_fetch_and_add(&tp->ended, 1))
		return 0;
	flags = proc_flags(tp);
	/* The linker's output gets its probes before anything can run it:
	 * then no process needs stopping at its exec (none is). */
	if (flags & PW_PROC_LINKER) {
		if (!send_end(cur, code, 0, PW_END_LINKER))
			bpf_send_signal(SIGSTOP);
		return 0;
	}
	/* A tool is not examined; a process whose only thread calls exit
	 * leaves nothing behind: neither is stopped. */
	if ((flags & PW_PROC_TOOL) || cur->signal->nr_threads <= 1)
		return send_end(cur, code, 0, PW_END_NOT_STOPPED);
	/* Every thread of the machine, keeping this process's: the per-process
	 * mode walks the thread list only from the task it is given to its
	 * end, so from a thread other than the leader (a Go program often
	 * exits from one) it misses those listed before it, and the leader
	 * cannot be had as a trusted pointer in a uprobe. Once per run. */
	bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_THREADS);
	while ((t = bpf_iter_task_next(&it))) {
		struct pw_exit_snap snap = {};
		__u32 tid = t->pid;

		if (t->tgid != cur->tgid || tid == cur->pid)
			continue;
		snap.state = t->__state;
		snap.last_arrival_ns = t->sched_info.last_arrival;
		snap.last_slice_ns = t->se.sum_exec_runtime - t->se.prev_sum_exec_runtime;
		snap.pcount = t->sched_info.pcount;
		snap.nvcsw = t->nvcsw;
		if (!bpf_map_update_elem(&exit_snaps, &tid, &snap, BPF_ANY))
			n++;
	}
	bpf_iter_task_destroy(&it);
	if (!send_end(cur, code, n, 0))
		bpf_send_signal(SIGSTOP); /* no stop userspace would not hear of */
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_exit_call, long code)
{
	return end_of_run(bpf_get_current_task_btf(), code);
}

/* The Go runtime's exit is an ABI0 assembly function: its argument is on
 * the stack, above the return address. */
static __always_inline int go_exit(struct pt_regs *ctx)
{
	__s32 code = 0;

	bpf_probe_read_user(&code, sizeof(code), (void *)(PT_REGS_SP(ctx) + 8));
	return end_of_run(bpf_get_current_task_btf(), code);
}

SEC("uprobe")
int BPF_KPROBE(on_go_exit)
{
	return go_exit(ctx);
}

/*
 * Go test binaries: entry of testing.tRunner(t *T, fn func(*T)), the
 * goroutine every test and subtest runs on. Records goid -> t.name, read
 * now: a finished test's T may be freed by the end of the run. At +0 the
 * probe is single-stepped (~10 us), once per test: not worth placing it.
 */
static __always_inline int test_started(struct pt_regs *ctx, __u64 cookie)
{
	__u32 goid_off = cookie & 0xffff, name_off = (cookie >> 16) & 0xffff;
	struct pw_test_key key = { .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct pw_test_name *v, zero = {};
	struct { __u64 ptr, len; } str;
	__u32 len;

	if (bpf_probe_read_user(&key.goid, sizeof(key.goid), (void *)(ctx->r14 + goid_off)) ||
	    bpf_probe_read_user(&str, sizeof(str), (void *)(ctx->ax + name_off)))
		return 0;
	if (bpf_map_update_elem(&test_names, &key, &zero, BPF_ANY))
		return 0;
	v = bpf_map_lookup_elem(&test_names, &key);
	if (!v)
		return 0;
	len = str.len < PW_TEST_NAME_LEN - 1 ? str.len : PW_TEST_NAME_LEN - 1;
	if (bpf_probe_read_user(v->name, len & (PW_TEST_NAME_LEN - 1), (void *)str.ptr))
		v->name[0] = 0;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_trunner)
{
	return test_started(ctx, bpf_get_attach_cookie(ctx));
}

/*
 * The same two probes as uprobe multi-links, which attach and detach
 * without the kernel's trace-event mutex (a perf-event uprobe's detach holds
 * it through two grace periods, ~90 ms, and every attach on the machine
 * waits behind it). One program for both: the cookie says which probe hit.
 * Userspace loads it as BPF_TRACE_UPROBE_MULTI.
 */
SEC("uprobe")
int BPF_KPROBE(on_exe_multi)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);

	if (cookie >> PW_PROBE_KIND_SHIFT == PW_PROBE_TRUNNER)
		return test_started(ctx, cookie);
	return go_exit(ctx);
}
