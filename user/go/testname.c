// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "parkwatch.h"
#include "go/testname.h"

/*
 * testing.common.name by release, measured from the DWARF of `go test -c`
 * binaries (amd64). The field moves whenever common gains a field, so a
 * release not listed here is named only when its binary has DWARF.
 */
static const struct { int minor, common_name; } name_offsets[] = {
	{ 19, 240 },
	{ 26, 288 },
	{ 27, 288 },
};

int go_test_layout(const struct go_binary *b, const struct go_g_layout *gl,
		   struct go_test_layout *out)
{
	int minor = go_version_minor(go_binary__version(b));

	memset(out, 0, sizeof(*out));
	out->common_name = out->g_ancestors = out->ancestor_size = out->ancestor_goid = -1;
	if (go_binary__test_layout_dwarf(b, out) == 0)
		return 0;
	out->source = "table";
	for (size_t i = 0; i < sizeof(name_offsets) / sizeof(name_offsets[0]); i++)
		if (name_offsets[i].minor == minor)
			out->common_name = name_offsets[i].common_name;
	/* ancestors sits between gopc and startpc in every release since it
	 * came (1.11); ancestorInfo is {pcs []uintptr; goid int64; gopc}. */
	if (gl && gl->gopc > 0 && gl->startpc == gl->gopc + 16)
		out->g_ancestors = gl->gopc + 8;
	out->ancestor_size = 40;
	out->ancestor_goid = 24;
	return out->common_name < 0 ? -ENOTSUP : 0;
}

/* "" is the root runner (runTests on the main goroutine): not a test. */
static char *lookup(const struct go_test_names *names, uint32_t pid, uint64_t goid)
{
	char buf[PW_TEST_NAME_LEN];

	if (!names->lookup(names->ctx, pid, goid, buf, sizeof(buf)) || !buf[0])
		return NULL;
	return strdup(buf);
}

char *go_test__attribute(const struct go_process *p, const struct go_test_names *names,
			 const struct pw_goroutine *g)
{
	const struct go_g_layout *gl = go_process__g_layout(p);
	struct { uint64_t ptr, len, cap; } slice;
	/* Same placement as go_test_layout's table (no DWARF per goroutine). */
	struct go_test_layout tl = {
		.g_ancestors = gl->gopc > 0 && gl->startpc == gl->gopc + 16 ? gl->gopc + 8 : -1,
		.ancestor_size = 40, .ancestor_goid = 24,
	};
	uint64_t sp = 0;
	char *name;

	if (!names || !names->lookup)
		return NULL;
	if ((name = lookup(names, g->pid, g->goid)))
		return name;
	if (tl.g_ancestors > 0 &&
	    !go_process__read(p, g->gaddr + tl.g_ancestors, &sp, sizeof(sp)) && sp &&
	    !go_process__read(p, sp, &slice, sizeof(slice))) {
		/* Nearest first: [0] is the creator, [1] its creator, ... */
		for (uint64_t i = 0; i < slice.len && i < GO_TEST_ANCESTORS * 2; i++) {
			uint64_t goid;

			if (go_process__read(p, slice.ptr + i * tl.ancestor_size + tl.ancestor_goid,
					     &goid, sizeof(goid)))
				break;
			if ((name = lookup(names, g->pid, goid)))
				return name;
		}
		return NULL;
	}
	return g->parent_goid > 0 ? lookup(names, g->pid, g->parent_goid) : NULL;
}
