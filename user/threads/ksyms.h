/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Kernel symbols from /proc/kallsyms, for kernel stacks (-k). */
#ifndef PW_KSYMS_H
#define PW_KSYMS_H

#include <stdint.h>
#include "report/stack.h"

struct ksyms;

struct ksyms *ksyms__load(void); /* NULL + errno */
/* Symbolize n kernel addresses into out (module "[kernel]"). 0 or -ENOMEM. */
int ksyms__stack(const struct ksyms *k, const uint64_t *addrs, int n, struct pw_stack *out);
void ksyms__free(struct ksyms *k);

#endif
