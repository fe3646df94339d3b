/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Streaming a file of JSON documents (one report, or one per line as watch
 * mode writes them) with bounded memory: a byte scanner follows nesting and
 * strings, hands out each document's short top-level string members and,
 * one at a time, the raw bytes of each element of the top-level arrays it
 * is asked for; json-c parses those small pieces. A 150 MB baseline never
 * exists in memory as a whole (its json-c tree would take ~10x that).
 */
#ifndef PW_JSON_SPLIT_H
#define PW_JSON_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_SPLIT_SHORT 64 /* longer keys and string values are not handed out */

enum json_split_kind { JSON_SPLIT_OBJECT, JSON_SPLIT_ARRAY, JSON_SPLIT_STRING, JSON_SPLIT_OTHER };

struct json_split_ops {
	void *ctx;
	const char *const *arrays;   /* NULL-terminated: whose elements to hand out */
	size_t max_element;          /* bytes of one element */
	uint64_t max_bytes;          /* of the whole file */
	/* Each returns 0 or -errno (the message in err) to stop. */
	int (*doc_begin)(void *ctx, enum json_split_kind top);
	/* A top-level member: its key, the kind of its value, and the value
	 * when it is a short string (raw JSON string bytes, escapes kept). */
	int (*member)(void *ctx, const char *key, enum json_split_kind kind, const char *str);
	/* Element i of the array member key: its raw bytes (NUL-terminated),
	 * any JSON value. */
	int (*element)(void *ctx, const char *key, size_t i, const char *json, size_t len,
		       char *err, size_t errlen);
	int (*doc_end)(void *ctx);
};

/* Reads f to its end. 0; -EINVAL (not JSON), -EFBIG (a limit), -ENOMEM,
 * -EIO, or a callback's error; err names what and where (after "path: "). */
int json_split_file(FILE *f, const char *path, const struct json_split_ops *ops, char *err,
		    size_t errlen);

#endif
