/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Names for JIT code from the perf map a runtime writes: /tmp/perf-PID.map,
 * one "START SIZE name" line (hex) per compiled function (node
 * --perf-basic-prof, JVM perf-map agents, LuaJIT, ...). Read through
 * /proc/PID/root with the process's own PID in its namespace, so a
 * container's map is found. The file is the target's: it must be a regular
 * file owned by the process's user (or root), at most PERFMAP_MAX_BYTES;
 * names are cut at PERFMAP_MAX_NAME.
 */
#ifndef PW_PERFMAP_H
#define PW_PERFMAP_H

#include <stdint.h>
#include <sys/types.h>

#define PERFMAP_MAX_BYTES (256u << 20)
#define PERFMAP_MAX_NAME 512

struct perfmap;

/* The process's map, or NULL (errno: ENOENT none, EPERM wrong owner,
 * EFBIG too large, ENOMEM). */
struct perfmap *perfmap__load(pid_t pid);
/* The function containing pc (the last written wins where ranges overlap),
 * its start in *start; NULL when none. */
const char *perfmap__lookup(const struct perfmap *m, uint64_t pc, uint64_t *start);
void perfmap__free(struct perfmap *m);

#endif
