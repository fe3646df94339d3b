/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Readable function names: C++ (Itanium ABI) and Rust (legacy and v0)
 * symbols demangled by libiberty, without parameter lists, so that a name
 * reads as the code spells it ("Parker::park") and an ignore or idle rule
 * can name it the same way.
 */
#ifndef PW_DEMANGLE_H
#define PW_DEMANGLE_H

#include <stddef.h>

/* A malloc'd copy of the first len bytes of name, demangled when it is a
 * mangled C++ or Rust symbol; NULL only when out of memory. */
char *pw_demangle(const char *name, size_t len);

#endif
