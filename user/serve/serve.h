/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * parkwatch serve: the sweep loop's reports published for Prometheus. After
 * each sweep the session hands the report here; it is rendered once (metrics
 * in both formats, the JSON report) into a snapshot that replaces the
 * previous one under a mutex. libmicrohttpd's own thread answers requests
 * from the snapshot only, so a slow sweep never delays a scrape and a scrape
 * never touches the sweep's data. --prom-file gets the same metrics written
 * atomically for node_exporter's textfile collector.
 */
#ifndef PW_SERVE_H
#define PW_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "report/report.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:9477"
#define SERVE_DEFAULT_MAX_SERIES 5000

struct serve_opts {
	/* Where to listen; NULL: no HTTP server (only with prom_file). */
	const struct sockaddr_storage *listen;
	socklen_t listen_len;
	const char *prom_file; /* NULL: none */
	int max_series;
};

struct server;

/*
 * "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (loopback) into ss; numeric
 * addresses only, plus "localhost" (127.0.0.1). Port 0 asks the kernel for a
 * free one. 0, or -EINVAL with a message in err.
 */
int serve__parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			char *err, size_t errlen);

/*
 * Check the --prom-file directory, start the HTTP server (if listening) and
 * print "parkwatch: serving on ADDR:PORT" with the port really bound.
 * 0, or -errno with a message in err (EADDRINUSE, EACCES: environment).
 */
int serve__open(const struct serve_opts *o, struct server **out, char *err, size_t errlen);

/* A sweep ended: r is its report (NULL when it failed, with why), taking
 * duration_ns. Renders and swaps the snapshot, writes --prom-file. */
void serve__publish(struct server *s, const struct pw_report *r, uint64_t duration_ns,
		    const char *why);

/* A SIGHUP reload happened (ok) or was refused (the old rules stay). */
void serve__count_reload(struct server *s, bool ok);

/* Stop the HTTP thread and close the socket. NULL-safe. */
void serve__close(struct server *s);

#endif
