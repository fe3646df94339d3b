// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pprof profile.proto output (stub: being written). */
#include <errno.h>
#include "report.h"

int report__print_pprof(const struct pw_report *r, FILE *f)
{
	return -ENOSYS;
}
