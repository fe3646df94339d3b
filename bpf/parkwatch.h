/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The one header shared by the BPF programs and the userspace reader.
 * Only fixed-width __u32/__u64 types, so the same layout is seen by clang
 * -target bpf and by gcc; every struct that crosses the boundary is here.
 */
#ifndef PARKWATCH_H
#define PARKWATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PW_COMM_LEN 16
#define PW_KSTACK_DEPTH 32          /* kernel frames kept per swept thread */
#define PW_CREATOR_STACK_BYTES 8192 /* creator's user stack copied at clone */

/* x86_64 syscall numbers the BPF side must recognise. */
#define PW_NR_FUTEX 202
#define PW_NR_FUTEX_WAITV 449
#define PW_NR_FUTEX_WAIT 455

/*
 * User registers of a thread, as saved on kernel entry (struct pt_regs),
 * reduced to what an unwinder and the syscall decoder need.
 */
struct pw_regs {
	__u64 ip, sp, bp, bx;
	__u64 r12, r13, r14, r15;
	__u64 ax, cx, dx, si, di;
	__u64 r8, r9, r10, r11;
	__u64 orig_ax; /* syscall number while in a syscall, -1 otherwise */
};

/*
 * A futex wait recorded at syscall entry (--futex-hooks only). Kept in an
 * array slot indexed by tid & wait_slot_mask: the cheapest per-thread store
 * BPF has (the lookup is inlined; task storage cost ~30 ns more per call
 * here). Slots are shared modulo the map size, so a slot is believed only
 * when tid, syscall, uaddr and op all match the thread's current call.
 * Never cleared on exit from the call: a thread in a futex call always
 * passed through the entry hook for it, which saves a second hook on the
 * hottest path of the machine.
 */
struct pw_wait {
	__u32 tid;
	__u32 nr;
	__u32 op;
	__u32 pad;
	__u64 uaddr;
	__u64 start_jiffies;   /* at entry: one tick resolution */
	__u64 pcount;          /* sched_info.pcount at entry */
};

/* Who created a thread, recorded by sched_process_fork. */
struct pw_thread {
	__u32 tgid;
	__u32 creator_tid;
	__u32 creator_tgid;
	__u32 flags; /* PW_THREAD_* */
	__u64 born_ns;
	char creator_comm[PW_COMM_LEN];
};

#define PW_THREAD_IS_PROCESS 1 /* a fork (new tgid), not a new thread */

/*
 * Ring buffer record sent at clone: the creator's registers and the top of
 * its user stack, so userspace can unwind the creation site later with CFI
 * (frame pointers are gone inside glibc, see FACTS.md). Userspace keeps it
 * and unwinds only if the child is ever flagged.
 */
enum pw_event_kind {
	PW_EVENT_CLONE = 1,
	PW_EVENT_EXIT = 2,
	PW_EVENT_END = 3,
	PW_EVENT_EXEC = 4,     /* a descendant exec'd (judged or not) */
	PW_EVENT_PROC_END = 5, /* a descendant process ended (its last thread) */
	PW_EVENT_EXEC_LOST = 6, /* an exec ended other threads of a descendant */
};

struct pw_clone_event {
	__u32 kind; /* PW_EVENT_CLONE */
	__u32 child_tid;
	__u32 child_tgid;
	__u32 creator_tid;
	__u32 creator_tgid;
	__u64 born_ns;
	__u32 stack_len; /* valid bytes in stack[], copied from regs.sp up */
	__u32 flags;
	__u32 pad;
	char creator_comm[PW_COMM_LEN];
	struct pw_regs regs;
	__u8 stack[PW_CREATOR_STACK_BYTES];
};

/*
 * A tracked thread exited: userspace drops its clone event at once instead
 * of holding it until the next sweep (thread churn between sweeps would
 * otherwise hold one stack copy per dead thread). Same ring buffer as the
 * clone events, so an exit is never seen before its clone.
 */
struct pw_exit_event {
	__u32 kind; /* PW_EVENT_EXIT */
	__u32 tid;
};

/*
 * Command mode: the command called exit() (or the Go runtime's exit). The
 * uprobe recorded every other thread's state as it was (the stop that
 * follows wakes parked threads into the stopped state) and sent SIGSTOP.
 */
struct pw_end_event {
	__u32 kind; /* PW_EVENT_END */
	__u32 tgid;
	__u32 tid;  /* the thread that called exit */
	__u32 threads; /* threads recorded in exit_snaps */
	__u64 code; /* exit()'s argument */
	__u64 now_ns;
	__u32 flags; /* PW_END_* */
	__u32 pad;
};

/* The process was not stopped: a tool (not a subject), or its only thread
 * is the one calling exit (nothing can be left behind). */
#define PW_END_NOT_STOPPED 1
#define PW_END_LINKER 2 /* a linker stopped at its end: not a subject, but what
			 * it wrote is read and probed before it is resumed */

/*
 * Command mode follows the command's process tree: every process forked by
 * a member is a member (any depth). Keyed by tgid.
 */
struct pw_exe_key {
	__u64 dev; /* the kernel's s_dev (MKDEV: major << 20 | minor) */
	__u64 ino;
};

struct pw_tree_proc {
	__u32 flags;     /* PW_PROC_* */
	__u32 ended;     /* end-of-run probe fired (first fire wins) */
	__u32 threads;   /* threads created in it while watched */
	__u32 exec_killed; /* threads ended by an exec in progress */
	struct pw_exe_key exe; /* what it runs since its last exec (0: unknown) */
};

#define PW_PROC_TOOL 1 /* a tool, not a subject (the go command, its compilers) */
/* Runs an executable userspace had not judged at its exec: the verdict is
 * taken from exes when needed (userspace never rewrites a tree entry: the
 * process runs, and its counters move, while it is judged). */
#define PW_PROC_UNJUDGED 2
/* A tool that writes executables (the Go linker): stopped at its end, so
 * that what it wrote is read and probed before its caller can run it. */
#define PW_PROC_LINKER 4

/* An executable seen exec'd in the tree, by inode (pw_exe_key); its
 * verdict is set by userspace once it has read it (the exec'ing process
 * runs on meanwhile, a subject until then). How many processes of the
 * tree run it: exe_users. */

struct pw_exe_verdict {
	__u32 proc_flags; /* PW_PROC_* given to every process exec'ing it */
	__u32 pad;
};

#define PW_EXEC_PATH_LEN 256

struct pw_exec_event {
	__u32 kind; /* PW_EVENT_EXEC */
	__u32 tgid;
	struct pw_exe_key exe;
	/* The name execve was given (NUL-terminated, cut): the executable
	 * can still be read by it when the process is gone before its
	 * /proc/PID/exe was (a quick `link -V=full`). */
	char filename[PW_EXEC_PATH_LEN];
};

/* A process of the tree exec'd while other threads ran: the kernel ended
 * them without an exit() call, so without an end-of-run snapshot. */
struct pw_exec_lost_event {
	__u32 kind; /* PW_EVENT_EXEC_LOST */
	__u32 tgid;
	__u32 threads; /* threads the exec ended */
	__u32 pad;
};

struct pw_proc_end_event {
	__u32 kind; /* PW_EVENT_PROC_END */
	__u32 tgid;
	__u32 exit_code; /* wait status: (code << 8) or the killing signal */
	__u32 proc_flags;
	__u32 threads;   /* threads it created while watched */
	__u32 ended;     /* the end-of-run probe fired for it */
	struct pw_exe_key exe; /* what it ran */
	__u64 exe_users; /* processes of the tree still running it */
};

/*
 * Go test binaries: which test each tRunner goroutine runs, recorded by an
 * entry uprobe on testing.tRunner (its *T in rax, the g in r14). The
 * offsets come in the probe's cookie: g.goid in the low 16 bits,
 * testing.common.name in the next 16.
 */
#define PW_TEST_NAME_LEN 128

/* Cookie of a per-executable uprobe multi-link probe: the kind in the top
 * byte; a test runner's keeps its offsets (goid | name << 16) below. */
#define PW_PROBE_KIND_SHIFT 56
#define PW_PROBE_GO_EXIT 1ULL
#define PW_PROBE_TRUNNER 2ULL

struct pw_test_key {
	__u64 goid;
	__u32 tgid;
	__u32 pad;
};

struct pw_test_name {
	char name[PW_TEST_NAME_LEN]; /* NUL-terminated, cut at 127 bytes */
};

/* One thread's scheduler state at the command's exit() call. */
struct pw_exit_snap {
	__u32 state;
	__u32 pad;
	__u64 last_arrival_ns;
	__u64 last_slice_ns;
	__u64 pcount;
	__u64 nvcsw;
};

/* One record per thread written by the task iterator. */
struct pw_task {
	__u32 tid;
	__u32 tgid;
	__u32 state;    /* task->__state */
	__u32 flags;    /* PW_TASK_* */
	__u64 last_arrival_ns; /* sched_info.last_arrival: last time it got a CPU */
	__u64 last_slice_ns;   /* CPU time used in that last slice */
	__u64 pcount;          /* sched_info.pcount: times it got a CPU */
	__u64 start_ns;        /* task->start_time (monotonic) */
	__u64 nvcsw, nivcsw;
	__u64 cpu_ns;          /* se.sum_exec_runtime: CPU time so far (spinning) */
	__u64 now_ns;          /* bpf_ktime_get_ns() when this record was made */
	__u64 now_jiffies;     /* jiffies at the same moment */
	__u32 hz;              /* CONFIG_HZ, 0 if unknown */
	__u32 pad2;
	__u64 futex_word;      /* *(u32 *)uaddr when in a futex wait */
	char comm[PW_COMM_LEN];
	struct pw_regs regs;
	struct pw_wait wait;   /* valid when PW_TASK_WAIT_RECORDED */
	struct pw_thread thread; /* valid when PW_TASK_THREAD_KNOWN */
	__u32 kstack_len;      /* number of valid kstack entries */
	__u32 pad;
	__u64 kstack[PW_KSTACK_DEPTH];
};

#define PW_TASK_IN_SYSCALL 1
#define PW_TASK_WAIT_RECORDED 2 /* wait matches the current futex call */
#define PW_TASK_WAIT_COLLISION 32 /* in a futex wait, slot held by another tid */
#define PW_TASK_THREAD_KNOWN 4  /* created while watching */
#define PW_TASK_FUTEX_WORD 8    /* futex_word was read */
#define PW_TASK_KTHREAD 16

/* Indexes into the counters array map. */
enum pw_counter {
	PW_CNT_THREADS_FULL,   /* threads map had no room for a new thread */
	PW_CNT_RINGBUF_FULL,   /* clone event dropped */
	PW_CNT_CLONES,
	PW_CNT_EXITS,
	PW_CNT_MAX,
};

/*
 * --go-precise (bpf/goprecise.bpf.c): one entry per goroutine of a watched
 * Go process, written by entry uprobes on the runtime's park, ready and exit
 * paths. Keyed by (tgid, g address): Go heaps start at the same address in
 * every process, so the g address alone collides across processes.
 */
struct pw_gokey {
	__u64 g;
	__u32 tgid;
	__u32 pad;
};

struct pw_gopark {
	__u64 park_ns;     /* bpf_ktime_get_ns() at the last runtime.gopark */
	__u64 wake_ns;     /* at the last runtime.ready (before or after it) */
	__u32 wait_reason; /* gopark's reason argument (runtime.waitReason) */
	__u32 prev_wait_reason;
	/* The park before, and wake_ns as it was at the last park: userspace
	 * reads the map after its snapshot, by when a goroutine that wakes
	 * every few ms has often parked again; the snapshot saw this one. */
	__u64 prev_park_ns, prev_wake_ns;
};

/* Indexes into goprecise's counters array map. */
enum pw_go_counter {
	PW_GO_CNT_PARKS,      /* gopark fires in watched processes */
	PW_GO_CNT_REPARKS,    /* gopark on a g not woken by ready since its last
				 park: the stack-growth double fire, a park whose
				 unlockf failed, or a wake not through ready
				 (netpoll, GC assists) */
	PW_GO_CNT_WAKES,      /* ready of a g the map holds */
	PW_GO_CNT_EXITS,
	PW_GO_CNT_FULL,       /* a park not recorded: the map was full */
	PW_GO_CNT_MAX,
};

#endif /* PARKWATCH_H */
