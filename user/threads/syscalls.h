/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What a thread blocked in a syscall is waiting on, decoded from the syscall
 * number and argument registers the task iterator saw: name, futex op, and
 * whether the wait has a timeout (timed waits end by themselves).
 */
#ifndef PW_SYSCALLS_H
#define PW_SYSCALLS_H

#include <stdbool.h>
#include <stdint.h>

struct pw_regs;

enum pw_wait_class {
	PW_CLASS_NONE,    /* not a wait parkwatch knows can block */
	PW_CLASS_FUTEX,   /* futex(2), futex_wait(2), futex_waitv(2) */
	PW_CLASS_SYSCALL, /* read, epoll_wait, accept, pause, ... */
	PW_CLASS_RUNNING, /* end of run: still running or runnable, not waiting */
};

struct pw_wait_desc {
	enum pw_wait_class class;
	const char *syscall; /* static name, "syscall_N" style never NULL */
	char op[48];         /* futex op ("FUTEX_WAIT_BITSET_PRIVATE"), else "" */
	uint64_t uaddr;      /* futex word address, 0 otherwise */
	uint64_t value;      /* futex expected value */
	bool timed;          /* the wait has a timeout */
};

/* Decode a thread blocked in syscall nr with regs. Never fails. */
void describe_wait(long nr, const struct pw_regs *regs, struct pw_wait_desc *out);

/* Name of syscall nr, or NULL when not in parkwatch's table. */
const char *syscall_name(long nr);

const char *wait_class_name(enum pw_wait_class c);

#endif
