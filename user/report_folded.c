// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Folded stacks for flame graph tools (stub: being written). */
#include <errno.h>
#include "report.h"

int report__print_folded(const struct pw_report *r, const struct print_opts *o, FILE *f)
{
	return -ENOSYS;
}
