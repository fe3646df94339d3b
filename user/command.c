// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "command.h"
#include "go/testname.h"

#define PW_STR_(x) #x
#define PW_STR(x) PW_STR_(x)

/* execvp's search, done here so the end-of-run probe can be attached to the
 * executable before it runs. */
static int resolve(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (strchr(name, '/')) {
		snprintf(out, len, "%s", name);
		return access(out, X_OK) ? -errno : 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		int n = end - path;

		snprintf(out, len, "%.*s/%s", n ? n : 1, n ? path : ".", name);
		if (!stat(out, &st) && S_ISREG(st.st_mode) && !access(out, X_OK))
			return 0;
		path = *end ? end + 1 : end;
	}
	return -ENOENT;
}

int command__spawn(struct command *c, char *const argv[], char *err, size_t errlen)
{
	int release[2], exec_err[2], e;
	char byte;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	e = resolve(argv[0], c->exe, sizeof(c->exe));
	if (e) {
		snprintf(err, errlen, "%s: %s", argv[0],
			 e == -ENOENT ? "command not found" : strerror(-e));
		return e;
	}
	if (pipe2(release, O_CLOEXEC) || pipe2(exec_err, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0) {
		e = -errno;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return e;
	}
	if (c->pid == 0) {
		/* If parkwatch dies while the command is stopped for the
		 * end-of-run snapshot, the command must not stay stopped. */
		prctl(PR_SET_PDEATHSIG, SIGCONT);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(release[1]);
		close(exec_err[0]);
		/* Held here until the programs are attached; EOF without a
		 * byte means parkwatch gave up. */
		if (read(release[0], &byte, 1) != 1)
			_exit(127);
		/* Go programs of the tree keep their goroutines' creation
		 * chains, so a leak names the test that started it; a
		 * GODEBUG of the user's own is left as it is. */
		if (!getenv("GODEBUG"))
			setenv("GODEBUG", "tracebackancestors=" PW_STR(GO_TEST_ANCESTORS), 1);
		execv(c->exe, argv);
		e = errno;
		if (write(exec_err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(release[0]);
	close(exec_err[1]);
	c->release_fd = release[1];
	c->exec_err_fd = exec_err[0];
	return 0;
}

int command__release(struct command *c, char *err, size_t errlen)
{
	int e = 0;

	if (write(c->release_fd, "x", 1) != 1) {
		e = errno;
		snprintf(err, errlen, "cannot start the command: %s", strerror(e));
		return -e;
	}
	close(c->release_fd);
	c->release_fd = -1;
	/* The exec_err pipe closes on a successful exec (O_CLOEXEC). */
	if (read(c->exec_err_fd, &e, sizeof(e)) == sizeof(e)) {
		snprintf(err, errlen, "cannot run %s: %s", c->exe, strerror(e));
		close(c->exec_err_fd);
		command__wait(c);
		return -e;
	}
	close(c->exec_err_fd);
	c->exec_err_fd = -1;
	return 0;
}

bool command__poll(struct command *c)
{
	if (!c->exited && c->pid > 0 && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->exited = true;
	return c->exited;
}

void command__wait(struct command *c)
{
	while (!c->exited && c->pid > 0) {
		if (waitpid(c->pid, &c->status, 0) == c->pid)
			c->exited = true;
		else if (errno != EINTR)
			break;
	}
}

/* Every thread of the child in the stopped state ('T') right now? */
static bool all_stopped(pid_t pid)
{
	char path[300], buf[512];
	struct dirent *d;
	bool all = true;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (all && (d = readdir(dir))) {
		FILE *f;
		char *p;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", pid, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* exited meanwhile */
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
			all = p[2] == 'T';
		fclose(f);
	}
	closedir(dir);
	return all;
}

bool command__pid_stopped(pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited++) {
		if (all_stopped(pid))
			return true;
		usleep(1000);
	}
	return false;
}

int command__exit_code(const struct command *c)
{
	if (WIFEXITED(c->status))
		return WEXITSTATUS(c->status);
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return 0;
}

void command__abort(struct command *c)
{
	if (c->pid <= 0 || c->exited)
		return;
	if (c->release_fd >= 0)
		close(c->release_fd); /* the child reads EOF and exits 127 */
	c->release_fd = -1;
	command__wait(c);
}
