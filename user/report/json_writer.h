/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* A small streaming JSON writer: compact, one document per line, correct
 * escaping (control characters, quotes, invalid UTF-8 replaced). */
#ifndef PW_JSON_H
#define PW_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

struct json {
	FILE *f;
	int depth;
	bool has_items[JSON_MAX_DEPTH]; /* a comma is due before the next value */
	bool after_key;
};

void json_init(struct json *j, FILE *f);
void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s); /* NULL prints null */
void json_int(struct json *j, long long v);
void json_uint(struct json *j, unsigned long long v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
void json_hex(struct json *j, uint64_t v); /* "0x1f" as a string */
/* One value written before as JSON text (by this writer, into memory). */
void json_raw(struct json *j, const char *text, size_t len);

/* key + value shorthands */
void json_kstring(struct json *j, const char *key, const char *s);
void json_kint(struct json *j, const char *key, long long v);
void json_kuint(struct json *j, const char *key, unsigned long long v);
void json_kbool(struct json *j, const char *key, bool v);
void json_khex(struct json *j, const char *key, uint64_t v);

#endif
