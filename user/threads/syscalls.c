// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>
#include "parkwatch.h"
#include "threads/syscalls.h"

enum timeout_kind {
	T_NONE,   /* no timeout: blocks until an event, however long */
	T_PTR,    /* timeout pointer argument: NULL means wait forever */
	T_MS,     /* int milliseconds argument: negative means forever */
	T_ALWAYS, /* a sleep: always ends by itself */
	T_FUTEX,  /* decoded from the futex op */
};

struct syscall_info {
	int nr;
	const char *name;
	enum timeout_kind timeout;
	int timeout_arg; /* 0-based argument index */
};

/* The x86_64 syscalls that can put a thread to sleep indefinitely. */
static const struct syscall_info table[] = {
	{ 0, "read", T_NONE, 0 },
	{ 1, "write", T_NONE, 0 },
	{ 2, "open", T_NONE, 0 },
	{ 7, "poll", T_MS, 2 },
	{ 17, "pread64", T_NONE, 0 },
	{ 19, "readv", T_NONE, 0 },
	{ 20, "writev", T_NONE, 0 },
	{ 23, "select", T_PTR, 4 },
	{ 34, "pause", T_NONE, 0 },
	{ 35, "nanosleep", T_ALWAYS, 0 },
	{ 42, "connect", T_NONE, 0 },
	{ 43, "accept", T_NONE, 0 },
	{ 44, "sendto", T_NONE, 0 },
	{ 45, "recvfrom", T_NONE, 0 },
	{ 46, "sendmsg", T_NONE, 0 },
	{ 47, "recvmsg", T_NONE, 0 },
	{ 61, "wait4", T_NONE, 0 },
	{ 65, "semop", T_NONE, 0 },
	{ 69, "msgsnd", T_NONE, 0 },
	{ 70, "msgrcv", T_NONE, 0 },
	{ 73, "flock", T_NONE, 0 },
	{ 128, "rt_sigtimedwait", T_PTR, 2 },
	{ 130, "rt_sigsuspend", T_NONE, 0 },
	{ 202, "futex", T_FUTEX, 3 },
	{ 208, "io_getevents", T_PTR, 4 },
	{ 220, "semtimedop", T_PTR, 3 },
	{ 230, "clock_nanosleep", T_ALWAYS, 0 },
	{ 232, "epoll_wait", T_MS, 3 },
	{ 247, "waitid", T_NONE, 0 },
	{ 257, "openat", T_NONE, 0 },
	{ 270, "pselect6", T_PTR, 4 },
	{ 271, "ppoll", T_PTR, 2 },
	{ 281, "epoll_pwait", T_MS, 3 },
	{ 288, "accept4", T_NONE, 0 },
	{ 299, "recvmmsg", T_PTR, 4 },
	{ 426, "io_uring_enter", T_NONE, 0 },
	{ 441, "epoll_pwait2", T_PTR, 3 },
	{ PW_NR_FUTEX_WAITV, "futex_waitv", T_PTR, 3 },
	{ PW_NR_FUTEX_WAIT, "futex_wait", T_PTR, 4 },
};

static const char *const futex_cmds[] = {
	[0] = "FUTEX_WAIT", [1] = "FUTEX_WAKE", [2] = "FUTEX_FD",
	[3] = "FUTEX_REQUEUE", [4] = "FUTEX_CMP_REQUEUE", [5] = "FUTEX_WAKE_OP",
	[6] = "FUTEX_LOCK_PI", [7] = "FUTEX_UNLOCK_PI", [8] = "FUTEX_TRYLOCK_PI",
	[9] = "FUTEX_WAIT_BITSET", [10] = "FUTEX_WAKE_BITSET",
	[11] = "FUTEX_WAIT_REQUEUE_PI", [12] = "FUTEX_CMP_REQUEUE_PI",
	[13] = "FUTEX_LOCK_PI2",
};

#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK 127

static const struct syscall_info *lookup(long nr)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].nr == nr)
			return &table[i];
	return NULL;
}

const char *syscall_name(long nr)
{
	const struct syscall_info *si = lookup(nr);

	return si ? si->name : NULL;
}

static uint64_t arg(const struct pw_regs *r, int i)
{
	switch (i) {
	case 0: return r->di;
	case 1: return r->si;
	case 2: return r->dx;
	case 3: return r->r10;
	case 4: return r->r8;
	default: return r->r9;
	}
}

static bool futex_cmd_waits(unsigned int cmd)
{
	return cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13;
}

static void describe_futex(const struct pw_regs *r, struct pw_wait_desc *out)
{
	unsigned int op = r->si, cmd = op & FUTEX_CMD_MASK;
	const char *name = cmd < sizeof(futex_cmds) / sizeof(futex_cmds[0]) ? futex_cmds[cmd] : NULL;

	if (name)
		snprintf(out->op, sizeof(out->op), "%s%s%s", name,
			 op & FUTEX_PRIVATE_FLAG ? "_PRIVATE" : "",
			 op & FUTEX_CLOCK_REALTIME ? "|FUTEX_CLOCK_REALTIME" : "");
	else
		snprintf(out->op, sizeof(out->op), "FUTEX_OP_%u", op);
	out->uaddr = r->di;
	if (!futex_cmd_waits(cmd)) {
		/* A wake or requeue does not park the caller. */
		out->class = PW_CLASS_NONE;
		return;
	}
	out->value = (uint32_t)r->dx;
	out->timed = r->r10 != 0;
}

void describe_wait(long nr, const struct pw_regs *regs, struct pw_wait_desc *out)
{
	const struct syscall_info *si = lookup(nr);

	memset(out, 0, sizeof(*out));
	if (!si) {
		out->syscall = "unknown";
		out->class = PW_CLASS_NONE;
		return;
	}
	out->syscall = si->name;
	out->class = PW_CLASS_SYSCALL;
	switch (si->timeout) {
	case T_NONE:
		break;
	case T_PTR:
		out->timed = arg(regs, si->timeout_arg) != 0;
		break;
	case T_MS:
		out->timed = (int)arg(regs, si->timeout_arg) >= 0;
		break;
	case T_ALWAYS:
		out->timed = true;
		break;
	case T_FUTEX:
		out->class = PW_CLASS_FUTEX;
		describe_futex(regs, out);
		return;
	}
	if (nr == PW_NR_FUTEX_WAITV || nr == PW_NR_FUTEX_WAIT) {
		out->class = PW_CLASS_FUTEX;
		out->uaddr = regs->di;
		if (nr == PW_NR_FUTEX_WAIT)
			out->value = regs->si;
	}
}

const char *wait_class_name(enum pw_wait_class c)
{
	switch (c) {
	case PW_CLASS_FUTEX: return "futex";
	case PW_CLASS_SYSCALL: return "syscall";
	case PW_CLASS_RUNNING: return "running";
	default: return "none";
	}
}
