/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * For the fuzz targets that take a whole file: the input as an open Go
 * binary, through a memfd, the way parkwatch opens /proc/PID/exe
 * (go_binary__open_fd maps it). Bad input must give NULL with a message or
 * an object whose answers hold together, never a crash.
 */
#ifndef PW_FUZZ_FILE_H
#define PW_FUZZ_FILE_H

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "go/elf.h"

/* Abort (a finding) unless cond holds: a wrong answer is a bug too. */
#define FUZZ_CHECK(cond)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,    \
				__LINE__, #cond);                                 \
			abort();                                                  \
		}                                                                 \
	} while (0)

static inline struct go_binary *fuzz_open(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct go_binary *b;
	char err[256];
	int e = 0;

	if (fd < 0 && (fd = memfd_create("fuzz", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	b = go_binary__open_fd(fd, "fuzz", &e, err, sizeof(err));
	/* Failure: an errno and a sentence. */
	FUZZ_CHECK(b || (e < 0 && err[0]));
	return b;
}

#endif
