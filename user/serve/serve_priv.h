/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Between serve.c (the snapshot) and http.c (libmicrohttpd). */
#ifndef PW_SERVE_PRIV_H
#define PW_SERVE_PRIV_H

#include <stddef.h>
#include <sys/socket.h>
#include "serve/metrics.h"

struct server;
struct http;

enum snapshot_doc { DOC_METRICS_TEXT, DOC_METRICS_OPENMETRICS, DOC_REPORT, DOC_HEALTH };

/*
 * A copy of one document of the current snapshot (malloc'd, *len set), or
 * NULL with *status 503 when there is none yet (or ENOMEM: 500). For
 * DOC_HEALTH the copy is the health text and *status 200 or 503.
 */
char *snapshot__copy(struct server *s, enum snapshot_doc doc, size_t *len, int *status);

/* Start libmicrohttpd on sa (its own thread, answering from s's snapshot);
 * bound: "ADDR:PORT" as bound. 0 or -errno with a message in err. */
int http__start(struct server *s, const struct sockaddr *sa, socklen_t salen,
		struct http **out, char *bound, size_t boundlen, char *err, size_t errlen);
void http__stop(struct http *h);

#endif
