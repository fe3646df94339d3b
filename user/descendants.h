/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Command mode's process tree: every process the command starts (fork,
 * exec, any depth) is watched and gets its own end-of-run snapshot. The
 * kernel side keeps the tree (bpf: tree, exes); this side judges each new
 * executable once, while the process exec'ing it runs on (it is never
 * stopped at its exec: the only stop is the end-of-run one):
 *  - a Go program gets the end-of-run probe on its runtime.exit, and a test
 *    binary a probe on testing.tRunner (which test runs on which goroutine);
 *  - a static C program gets it on its own exit() (dynamic ones load the
 *    C library, probed once for all);
 *  - a tool of the Go toolchain (the go command, compile, link, vet: main
 *    package "cmd/...") is not a subject: not reported, not stopped, but
 *    for the linker at its end, while the executable it wrote is judged:
 *    so a freshly linked test binary has its probes before it runs.
 * A process that ends before its probe is in place is reported as such.
 * The command's own executable is judged before its exec: no race there.
 * It also keeps what the report says of each process: its command line.
 */
#ifndef PW_DESCENDANTS_H
#define PW_DESCENDANTS_H

#include <stdbool.h>
#include <sys/types.h>
#include "parkwatch.h"
#include "tracer.h"

struct tree_proc {
	pid_t pid;
	char *cmdline;       /* arguments joined by spaces; NULL until read */
	char *exe;
	const char *tool;    /* "cmd/go" etc. when a tool, else NULL */
	bool test_binary;    /* testing.tRunner probed */
	char own_exit;       /* 'g' Go, 's' static C: its exit path is probed after
	                      * its exec; '?' ended before its executable was read */
	char note[160];      /* why its test names are unknown, or "" */
};

struct descendants;

struct descendants *descendants__new(struct tracer *t, pid_t root, bool verbose);
void descendants__free(struct descendants *d);
/* A process of the tree exec'd an executable not judged yet: judge it and
 * attach what it needs (the process runs on meanwhile). */
void descendants__on_exec(struct descendants *d, const struct pw_exec_event *ev);
/* The command (held before its exec) will run path with argv: judge it
 * now, so that its probes are in place before its first instruction. */
int descendants__prejudge(struct descendants *d, const char *path, char *const argv[]);
/* The Go linker pid, stopped at its end: judge the executable it wrote
 * (its -o), so that its probes are in place before anything runs it. */
int descendants__on_linker_end(struct descendants *d, pid_t pid);
/* A process of the tree forked (clone event of a new process). */
void descendants__on_fork(struct descendants *d, pid_t child);
/* A process of the tree ended: release its executable's probes when no
 * other process runs it. */
void descendants__on_proc_end(struct descendants *d, const struct pw_proc_end_event *ev);
/* Gone: forget it (after the report used it). */
void descendants__on_end(struct descendants *d, pid_t pid);
/* The record of pid, its command line read now if it is still there (it
 * is stopped at its exit); NULL if pid is not known. */
struct tree_proc *descendants__get(struct descendants *d, pid_t pid);
/* The record of pid as it is (nothing read now), NULL if not known. */
const struct tree_proc *descendants__peek(struct descendants *d, pid_t pid);
/* Live processes of the tree (for periodic sweeps): up to max into out. */
int descendants__live(const struct descendants *d, pid_t *out, int max);

#endif
