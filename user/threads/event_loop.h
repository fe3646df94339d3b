/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Is a thread blocked with no timeout an event loop at rest? Waiting for
 * I/O is a server's normal state, but only when there is something to wait
 * for: the evidence is read from /proc (no probe, nothing woken) —
 *   epoll_wait/epoll_pwait(2)  the epoll set watches at least one fd;
 *   poll/ppoll, select/pselect6 at least one fd;
 *   accept/accept4             the fd is a socket (a listener);
 *   read/readv/recv*           the fd is a socket (a peer may still write);
 *   wait4/waitid               a child it waits for is alive (a shell running
 *                              a command): that child is judged on its own.
 * A read on a pipe, an empty epoll set, pause(): no evidence, still parked.
 */
#ifndef PW_EVENT_LOOP_H
#define PW_EVENT_LOOP_H

#include <sys/types.h>
#include "parkwatch.h"
#include "threads/syscalls.h"

/* The wait's syscall name when the evidence holds, else NULL. */
const char *event_loop_wait(pid_t pid, const struct pw_wait_desc *wd, const struct pw_regs *regs);

#endif
