// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "threads/event_loop.h"
#include "threads/procstat.h"

#define P_ALL 0
#define P_PID 1
#define P_PGID 2
#define P_PIDFD 3
#define ANY_PGRP 0

/* Is child a live (not yet reaped-able) child of pid, in pgrp if not ANY_PGRP? */
static bool live_child(pid_t pid, pid_t child, pid_t pgrp)
{
	struct proc_stat st;

	return child > 0 && !proc_stat_read(child, &st) && st.ppid == pid &&
	       !proc_stat_is_dead(&st) && (pgrp == ANY_PGRP || st.pgrp == pgrp);
}

/* Without CONFIG_PROC_CHILDREN (no /proc/PID/task/TID/children here) the
 * children are found by their PPid. */
static bool any_live_child(pid_t pid, pid_t pgrp)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			found = live_child(pid, (pid_t)atoi(e->d_name), pgrp);
	closedir(d);
	return found;
}

/* The process a pidfd refers to: "Pid:" in its fdinfo. */
static pid_t pidfd_pid(pid_t pid, long fd)
{
	char path[64], line[128];
	pid_t found = 0;
	FILE *f;

	if (fd < 0 || fd > 0x7fffffff)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%ld", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Pid:", 4))
			found = (pid_t)atoi(line + 4);
	fclose(f);
	return found > 0 ? found : 0;
}

static pid_t own_pgrp(pid_t pid)
{
	struct proc_stat st;

	return proc_stat_read(pid, &st) ? -1 : st.pgrp;
}

/*
 * wait4/waitid blocked with no WNOHANG: idle when a child it waits for is
 * alive (a shell running a command, a supervisor): that child is judged on
 * its own. With no such child the call would have failed with ECHILD, so
 * this is a safety net against reading /proc at a bad moment.
 */
static bool waits_for_live_child(pid_t pid, const char *sc, const struct pw_regs *regs)
{
	if (!strcmp(sc, "wait4")) {
		int which = (int)regs->di;

		if (which > 0)
			return live_child(pid, which, ANY_PGRP);
		if (which == -1)
			return any_live_child(pid, ANY_PGRP);
		return any_live_child(pid, which == 0 ? own_pgrp(pid) : -which);
	}
	switch ((int)regs->di) { /* waitid(idtype, id, ...) */
	case P_ALL:
		return any_live_child(pid, ANY_PGRP);
	case P_PID:
		return live_child(pid, (pid_t)regs->si, ANY_PGRP);
	case P_PGID:
		return any_live_child(pid, (pid_t)regs->si ? (pid_t)regs->si : own_pgrp(pid));
	case P_PIDFD:
		return live_child(pid, pidfd_pid(pid, (long)regs->si), ANY_PGRP);
	default:
		return false;
	}
}

static bool fd_is_socket(pid_t pid, long fd)
{
	char path[64], target[64];
	ssize_t n;

	if (fd < 0 || fd > 0x7fffffff)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%ld", pid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	return !strncmp(target, "socket:", 7);
}

/* /proc/PID/fdinfo/EPFD lists one "tfd:" line per watched fd. */
static bool epoll_watches_something(pid_t pid, long epfd)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	if (epfd < 0 || epfd > 0x7fffffff)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%ld", pid, epfd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "tfd:", 4);
	fclose(f);
	return found;
}

static bool one_of(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(s, *names))
			return true;
	return false;
}

const char *event_loop_wait(pid_t pid, const struct pw_wait_desc *wd, const struct pw_regs *regs)
{
	static const char *const epolls[] = { "epoll_wait", "epoll_pwait", "epoll_pwait2", NULL };
	static const char *const polls[] = { "poll", "ppoll", NULL };
	static const char *const selects[] = { "select", "pselect6", NULL };
	static const char *const sockets[] = { "accept", "accept4", "read", "readv", "recvfrom",
					       "recvmsg", "recvmmsg", NULL };
	static const char *const waits[] = { "wait4", "waitid", NULL };
	const char *sc = wd->syscall;
	bool ok;

	if (wd->class != PW_CLASS_SYSCALL || wd->timed || !sc)
		return NULL;
	/* x86_64: the first syscall arguments are in rdi and rsi. */
	if (one_of(sc, epolls))
		ok = epoll_watches_something(pid, (long)regs->di);
	else if (one_of(sc, polls))
		ok = regs->si > 0;
	else if (one_of(sc, selects))
		ok = regs->di > 0;
	else if (one_of(sc, sockets))
		ok = fd_is_socket(pid, (long)regs->di);
	else if (one_of(sc, waits))
		ok = waits_for_live_child(pid, sc, regs);
	else
		ok = false;
	return ok ? sc : NULL;
}
