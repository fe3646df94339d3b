/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Well-known waits that are not leaks: a runtime's own idle threads (the Go
 * runtime's spare Ms parked in notesleep, its network poller, ...). A thread
 * whose stack contains one of these functions is "idle" and not flagged
 * unless --show-idle. The list is replaceable with --idle-file.
 */
#ifndef PW_IDLE_H
#define PW_IDLE_H

#include <stdbool.h>
#include "report/stack.h"

struct idle_list;

/* The built-in list. */
struct idle_list *idle_list__default(void);
/* One function name per line; blank lines and '#' comments ignored. NULL +
 * errno on error (EFBIG: past IDLE_MAX_BYTES); *bad_line is set to the line
 * of a malformed entry (a line of NUL bytes, /dev/zero, is one). */
#define IDLE_MAX_BYTES (1u << 20)
struct idle_list *idle_list__load(const char *path, int *bad_line);
/* The matching function name, or NULL when the stack is not idle. */
const char *idle_list__match(const struct idle_list *l, const struct pw_stack *s);
void idle_list__free(struct idle_list *l);
/* For --help and the README: the built-in names, NULL-terminated. */
extern const char *const idle_default_functions[];

#endif
