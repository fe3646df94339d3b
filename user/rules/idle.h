/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Waits that are not leaks, from evidence: a runtime's own service threads
 * (the Go runtime's spare Ms, the JVM's GC/compiler/VM threads, libuv's
 * pool, CPython's executor workers, redis's background jobs, ...) by a
 * function on their stack and sometimes their thread name, and event loops
 * by the syscall they rest in (when the sweep found the evidence: a socket,
 * a non-empty epoll set). Each rule carries the reason printed for it.
 *
 * Rule syntax, one per line (the built-in list uses it too):
 *   FUNC [comm=NAME] [syscall=NAME] [REASON...]
 * FUNC is a function name on the stack, "*" for any stack; FUNC and NAME
 * take a trailing '*' as a prefix match. REASON defaults to FUNC. The list
 * is replaceable with --idle-file; --show-idle lists idle entries too.
 */
#ifndef PW_IDLE_H
#define PW_IDLE_H

#include <stdbool.h>
#include "report/stack.h"

struct idle_list;

/* What a rule looks at. comm and syscall may be NULL. */
struct idle_subject {
	const struct pw_stack *stack;
	const char *comm;
	const char *syscall; /* an event-loop wait the sweep has evidence for */
};

/* The built-in list. */
struct idle_list *idle_list__default(void);
/* A rules file replacing the built-in list; blank lines and '#' comments
 * ignored. NULL + errno on error (EFBIG: past IDLE_MAX_BYTES); *bad_line is
 * the malformed line, if any (a line of NUL bytes, /dev/zero, is one). */
#define IDLE_MAX_BYTES (1u << 20)
struct idle_list *idle_list__load(const char *path, int *bad_line);
/* The reason of the first rule that matches, or NULL when not idle. */
const char *idle_list__match(const struct idle_list *l, const struct idle_subject *s);
void idle_list__free(struct idle_list *l);
/* For --help and the documents: the built-in rules, NULL-terminated. */
extern const char *const idle_default_rules[];

#endif
