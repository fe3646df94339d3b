/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Go test binaries: which test left a goroutine behind.
 *
 * Every test and subtest runs on its own goroutine, started by t.Run with
 * `go tRunner(t, fn)`. An entry probe on testing.tRunner records that
 * goroutine's id with t.name (bpf/parkwatch.bpf.c: test_names). A leaked
 * goroutine names the nearest goroutine of its creation chain that is such
 * a test runner: the chain is the runtime's own record, g.ancestors, kept
 * when the program runs with GODEBUG=tracebackancestors=N (command mode
 * sets it for the command unless the user set GODEBUG); without it only
 * the direct creator (g.parentGoid, Go 1.21+) is known.
 */
#ifndef PW_GOTESTNAME_H
#define PW_GOTESTNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "go/elf.h"
#include "go/goroutines.h"

/* How many ancestors command mode asks the runtime to keep. */
#define GO_TEST_ANCESTORS 64

/* The test a tRunner goroutine ran, from the probe's records. */
struct go_test_names {
	bool (*lookup)(void *ctx, uint32_t tgid, uint64_t goid, char *buf, size_t len);
	void *ctx;
};

/* Offsets the tRunner probe needs (t.name) and the chain walk needs:
 * DWARF when the binary has it (`go test -c`), else the built-in table
 * (`go test` strips its binaries). 0 or -ENOTSUP for an unknown version. */
int go_test_layout(const struct go_binary *b, const struct go_g_layout *gl,
		   struct go_test_layout *out);

/* The test behind g ("TestX/sub"), malloc'd; NULL when none is known (not
 * created under a test, or a program that is not a test binary). */
char *go_test__attribute(const struct go_process *p, const struct go_test_names *names,
			 const struct pw_goroutine *g);

#endif
