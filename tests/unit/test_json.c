// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The JSON writer: commas, nesting, escaping, invalid UTF-8. */
#include <stdlib.h>
#include <string.h>
#include "report/json_writer.h"
#include "unit.h"

static char *render(void (*fill)(struct json *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	json_init(&j, f);
	fill(&j);
	fclose(f);
	return buf;
}

static void nested(struct json *j)
{
	json_object_begin(j);
	json_kstring(j, "a", "x");
	json_key(j, "b");
	json_array_begin(j);
	json_int(j, -1);
	json_uint(j, 18446744073709551615ULL);
	json_null(j);
	json_object_begin(j);
	json_object_end(j);
	json_array_end(j);
	json_kbool(j, "c", true);
	json_khex(j, "d", 0x7f00);
	json_kstring(j, "e", NULL);
	json_object_end(j);
}

static void escapes(struct json *j)
{
	json_array_begin(j);
	json_string(j, "q\"b\\n\nt\tc\x01");
	json_string(j, "caf\xc3\xa9");   /* valid UTF-8 kept */
	json_string(j, "bad\xff\xc3("); /* invalid bytes replaced */
	/* DEL, a bidi override (U+202E), a C1 control (U+0085): escaped,
	 * so they round-trip; overlong '/' and a surrogate are invalid. */
	json_string(j, "d\x7f" "b\xe2\x80\xae" "c\xc2\x85" "o\xc0\xaf" "s\xed\xa0\x80");
	json_array_end(j);
}

static void empty_containers(struct json *j)
{
	json_object_begin(j);
	json_key(j, "t");
	json_array_begin(j);
	json_array_end(j);
	json_key(j, "o");
	json_object_begin(j);
	json_object_end(j);
	json_object_end(j);
}

int main(void)
{
	char *s;

	s = render(nested);
	CHECK(!strcmp(s, "{\"a\":\"x\",\"b\":[-1,18446744073709551615,null,{}],\"c\":true,"
			 "\"d\":\"0x7f00\",\"e\":null}\n"));
	free(s);
	s = render(escapes);
	CHECK(!strcmp(s, "[\"q\\\"b\\\\n\\nt\\tc\\u0001\",\"caf\xc3\xa9\",\"bad\\ufffd\\ufffd(\","
			 "\"d\\u007fb\\u202ec\\u0085o\\ufffd\\ufffds\\ufffd\\ufffd\\ufffd\"]\n"));
	free(s);
	s = render(empty_containers);
	CHECK(!strcmp(s, "{\"t\":[],\"o\":{}}\n"));
	free(s);
	return unit_done("test_json");
}
