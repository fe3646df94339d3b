// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The wait reason strings of the binary's own runtime: the array
 * runtime.waitReasonStrings ([...]string, indexed by g.waitreason). For a
 * release parkwatch has no table for, these are the names; for known ones
 * the tests compare them with the table (tests/unit/test_goelf.c).
 *
 * Without .symtab the array is found through the code of
 * runtime.waitReason.String (by name in the pclntab), which on amd64 in
 * every release built here (1.19 - 1.27) is
 *
 *	cmp al, N                 ; N = len(waitReasonStrings)
 *	jb ...
 *	...
 *	lea rdx, [rip+X]          ; X = &waitReasonStrings
 *
 * The array must then read as N Go string headers, the first "" and the
 * others printable text: a wrong X gives no names rather than wrong ones.
 */
#include <stdlib.h>
#include <string.h>

#include "go/elf_priv.h"

#define MAX_REASONS 255 /* waitReason is a uint8 */
#define REASON_MAX_LEN 64

/* A copy of string i of the array at addr, or NULL when it is not text. */
static char *reason_at(const struct go_binary *b, uint64_t addr, unsigned i)
{
	const uint8_t *h = go_binary__bytes(b, addr + 16 * i, 16), *s;
	uint64_t ptr, len;

	if (!h)
		return NULL;
	ptr = go_le64(h);
	len = go_le64(h + 8);
	if (!len)
		return i == 0 ? strdup("") : NULL;
	if (i == 0 || len > REASON_MAX_LEN)
		return NULL;
	if (!ptr)
		ptr = go_binary__relocated_word(b, addr + 16 * i);
	if (!(s = go_binary__bytes(b, ptr, len)))
		return NULL;
	for (uint64_t k = 0; k < len; k++)
		if (s[k] < 0x20 || s[k] > 0x7e)
			return NULL;
	return strndup((const char *)s, len);
}

/* n names from the array at addr into b, all or nothing. */
static bool take_array(struct go_binary *b, uint64_t addr, unsigned n, const char *source)
{
	char **names;

	if (!n || n > MAX_REASONS || !(names = calloc(n, sizeof(*names))))
		return false;
	for (unsigned i = 0; i < n; i++)
		if (!(names[i] = reason_at(b, addr, i))) {
			while (i--)
				free(names[i]);
			free(names);
			return false;
		}
	b->wait_names = names;
	b->nwait_names = n;
	b->wait_names_source = source;
	return true;
}

/* (array address, count) from the code of runtime.waitReason.String. */
static bool from_code(struct go_binary *b)
{
	uint64_t end, entry = go_binary__func_entry(b, "runtime.waitReason.String", &end);
	const uint8_t *code;
	unsigned n;

	if (!entry || end <= entry || end - entry > 4096 || b->machine != EM_X86_64 ||
	    !(code = go_binary__bytes(b, entry, end - entry)) || end - entry < 9 ||
	    code[0] != 0x3c)
		return false;
	n = code[1];
	for (uint64_t i = 2; i + 7 <= end - entry; i++) {
		const uint8_t *p = code + i;

		/* lea r64, [rip+disp32]: REX.W (0x48/0x4c), 8d, modrm 00 reg 101 */
		if ((p[0] & 0xfb) == 0x48 && p[1] == 0x8d && (p[2] & 0xc7) == 0x05 &&
		    take_array(b, entry + i + 7 + (int64_t)(int32_t)go_le32(p + 3), n,
			       "code: runtime.waitReason.String"))
			return true;
	}
	return false;
}

int go_binary__wait_reasons(struct go_binary *b, const char *const **names, const char **source)
{
	uint64_t size, addr;

	if (!b->nwait_names) {
		addr = go_binary__symbol(b, "runtime.waitReasonStrings", &size);
		if (!(addr && take_array(b, addr, size / 16, "symtab")) && !from_code(b))
			b->nwait_names = -1;
	}
	*names = (const char *const *)b->wait_names;
	if (source)
		*source = b->wait_names_source;
	return b->nwait_names > 0 ? b->nwait_names : 0;
}
