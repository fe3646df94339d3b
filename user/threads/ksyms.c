// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "threads/ksyms.h"

struct ksym {
	uint64_t addr;
	char *name;
};

struct ksyms {
	struct ksym *syms;
	size_t n;
};

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

struct ksyms *ksyms__load(void)
{
	struct ksyms *k = calloc(1, sizeof(*k));
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], name[256], type;
	unsigned long long addr;
	size_t cap = 0;

	if (!k || !f)
		goto fail;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (k->n == cap) {
			struct ksym *s;

			cap = cap ? cap * 2 : 65536;
			s = realloc(k->syms, cap * sizeof(*s));
			if (!s)
				goto fail;
			k->syms = s;
		}
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = strdup(name);
		if (!k->syms[k->n].name)
			goto fail;
		k->n++;
	}
	fclose(f);
	if (!k->n) { /* kptr_restrict hides addresses: treat as unavailable */
		ksyms__free(k);
		errno = EPERM;
		return NULL;
	}
	qsort(k->syms, k->n, sizeof(*k->syms), cmp_addr);
	return k;
fail:
	if (f)
		fclose(f);
	ksyms__free(k);
	errno = ENOMEM;
	return NULL;
}

static const struct ksym *find(const struct ksyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &k->syms[lo - 1] : NULL;
}

int ksyms__stack(const struct ksyms *k, const uint64_t *addrs, int n, struct pw_stack *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n && addrs[i]; i++) {
		const struct ksym *s = k ? find(k, addrs[i]) : NULL;
		struct pw_frame f = { .pc = addrs[i], .module = strdup("[kernel]") };

		if (s) {
			f.function = strdup(s->name);
			f.offset = addrs[i] - s->addr;
		}
		if (pw_stack__push(out, &f))
			return -ENOMEM;
	}
	return 0;
}

void ksyms__free(struct ksyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->syms[i].name);
	free(k->syms);
	free(k);
}
