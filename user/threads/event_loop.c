// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "threads/event_loop.h"

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
	else
		ok = false;
	return ok ? sc : NULL;
}
