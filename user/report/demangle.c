// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>
#include "report/demangle.h"

char *pw_demangle(const char *name, size_t len)
{
	char *raw = strndup(name, len), *nice;

	/* Only "_Z..." (C++, legacy Rust) and "_R..." (Rust v0) are mangled:
	 * C names and Go's "pkg.Func" never reach the demangler. */
	if (!raw || raw[0] != '_' || (raw[1] != 'Z' && raw[1] != 'R'))
		return raw;
	nice = cplus_demangle(raw, DMGL_AUTO);
	if (!nice)
		return raw;
	free(raw);
	return nice;
}
