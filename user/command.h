/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Command mode's child process: forked first and held before exec until the
 * BPF programs are attached, so tracing is in place from its first
 * instruction; then released, waited for, and its exit status passed on.
 */
#ifndef PW_COMMAND_H
#define PW_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct command {
	pid_t pid;
	int release_fd;  /* write end: closing it lets the child exec */
	int exec_err_fd; /* read end: an errno here means exec failed */
	char exe[4096];  /* resolved executable path */
	bool exited;
	int status;      /* waitpid status once exited */
};

/* Resolve argv[0] like execvp and fork a child that waits to exec it.
 * 0, or -errno with a message in err (e.g. command not found). */
int command__spawn(struct command *c, char *const argv[], char *err, size_t errlen);
/* Let the child exec. 0, or -errno (exec failed, message in err). */
int command__release(struct command *c, char *err, size_t errlen);
/* Reap the child if it has exited; true once it has. */
bool command__poll(struct command *c);
/* Block until the child exits. */
void command__wait(struct command *c);
/* Wait until every thread of pid is stopped (timeout_ms), true if so. */
bool command__pid_stopped(pid_t pid, int timeout_ms);
/* The exit code parkwatch passes on: the child's status, or 128+signal. */
int command__exit_code(const struct command *c);
/* Kill a child that was never released (setup failed). */
void command__abort(struct command *c);

#endif
