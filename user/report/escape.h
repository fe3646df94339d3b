/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * How every output shows bytes a target controls (thread names, executable
 * and module paths, symbols, file names, Go type names): a process on the
 * machine can name a thread "\e[2J" or ";forged\nline", and the report is
 * read on an operator's terminal or parsed line by line.
 *
 * The text rule (text, folded, pprof strings):
 *   printable ASCII        as is, but '\' is shown as "\\"
 *   \n \t \r               "\n" "\t" "\r"
 *   other C0 bytes, DEL    "\x1b", "\x7f"
 *   invalid UTF-8          each bad byte as "\xff"
 *   valid UTF-8            as is, but C1 controls, bidi overrides and marks
 *                          (U+061C, U+200E-F, U+202A-E, U+2066-9) and the
 *                          line/paragraph separators U+2028-9 as "\u202e"
 * So the output holds no control byte and no invisible reordering, and a
 * report line is never split. The JSON writer uses the same UTF-8 reading:
 * it escapes the same code points as \uXXXX (which round-trip) and writes
 * invalid bytes as U+FFFD.
 */
#ifndef PW_ESCAPE_H
#define PW_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Folded output also keeps its separators out of a frame: ';' becomes ':'
 * and a space '_' (as flame graph tools expect, e.g. C++ argument lists). */
#define ESCAPE_FOLDED 1u

/* Length (1-4) of the valid, shortest-form UTF-8 sequence at s, 0 when the
 * byte at s does not start one. s must be NUL-terminated. */
int utf8_seq_len(const unsigned char *s);
/* The code point of a sequence utf8_seq_len accepted (n its length). */
uint32_t utf8_decode(const unsigned char *s, int n);
/* Code points no output shows raw: C1 controls, bidi controls, U+2028-9. */
bool escape_hidden_codepoint(uint32_t cp);

/* Does s need any escaping under flags? (most strings do not) */
bool escape_needed(const char *s, unsigned flags);
/* Write s escaped to f. NULL writes nothing. */
void escape_fputs(FILE *f, const char *s, unsigned flags);

/* A growable buffer for escaped copies. */
struct escape_buf {
	char *text;
	size_t cap;
};

/* s escaped into b (s itself when nothing needs escaping, NULL for NULL);
 * on allocation failure a fixed "(unprintable)" so output never breaks. */
const char *escape_str(struct escape_buf *b, const char *s, unsigned flags);
void escape_buf_free(struct escape_buf *b);
/* For messages that quote input: the first max bytes of s escaped, with
 * "..." when s was longer (a 10 MB function name is not echoed whole). */
const char *escape_head(struct escape_buf *b, const char *s, size_t max);

#endif
