// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: runtime.allgs located in a whole file (go/allgs.c: the
 * x86-64 code of runtime.allgadd, found through the pclntab; .symtab).
 */
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct go_binary *b = fuzz_open(data, size);
	struct go_allgs a;
	char err[256];

	if (!b)
		return 0;
	if (!go_binary__find_allgs_in_code(b, &a, err, sizeof(err)))
		FUZZ_CHECK(a.allgs && a.source);
	else
		FUZZ_CHECK(err[0]);
	if (!go_binary__find_allgs(b, &a, err, sizeof(err)))
		FUZZ_CHECK(a.allgs && a.source);
	else
		FUZZ_CHECK(err[0]);
	go_binary__free(b);
	return 0;
}
