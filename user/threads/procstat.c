// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* /proc/PID/stat: see procstat.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "threads/procstat.h"

int proc_stat_parse(const char *text, struct proc_stat *out)
{
	const char *p = strrchr(text, ')');
	unsigned long long v[20];
	char state;
	int n;

	if (!p)
		return -EINVAL;
	/* Fields 3..22 after the comm: state, then 19 numbers. */
	n = sscanf(p + 1, " %c %lld %lld %lld %lld %lld %llu %llu %llu %llu %llu %llu %llu "
		   "%lld %lld %lld %lld %lld %lld %llu", &state, (long long *)&v[0],
		   (long long *)&v[1], (long long *)&v[2], (long long *)&v[3], (long long *)&v[4],
		   &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], (long long *)&v[12],
		   (long long *)&v[13], (long long *)&v[14], (long long *)&v[15],
		   (long long *)&v[16], (long long *)&v[17], &v[18]);
	if (n != 20)
		return -EINVAL;
	out->state = state;
	out->ppid = (pid_t)v[0];
	out->pgrp = (pid_t)v[1];
	out->flags = (unsigned int)v[5];
	out->num_threads = (int)v[16];
	out->start_ticks = v[18];
	return 0;
}

int proc_stat_read(pid_t pid, struct proc_stat *out)
{
	char path[40], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	buf[n] = 0;
	return proc_stat_parse(buf, out);
}

char *proc_exe_path(pid_t pid)
{
	char path[32], buf[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}
