// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The HTTP side of serve, on libmicrohttpd: one internal thread answers GET
 * and HEAD on /metrics, /report and /healthz from the snapshot (a copy taken
 * under the snapshot's mutex), 405 for any other method (nothing here
 * changes state), 404 elsewhere. Listening addresses are numeric and
 * loopback unless the user names another.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "serve/serve.h"
#include "serve/serve_priv.h"

struct http {
	struct MHD_Daemon *d;
};

static const char CT_TEXT[] = "text/plain; version=0.0.4; charset=utf-8";
static const char CT_OPENMETRICS[] = "application/openmetrics-text; version=1.0.0; charset=utf-8";
static const char CT_JSON[] = "application/json";
static const char CT_PLAIN[] = "text/plain; charset=utf-8";

static enum MHD_Result reply(struct MHD_Connection *c, int status, const char *ctype,
			     void *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, body ? MHD_RESPMEM_MUST_FREE :
					    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, int status, const char *text)
{
	char *copy = strdup(text);

	if (!copy)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, CT_PLAIN, NULL, 0);
	return reply(c, status, CT_PLAIN, copy, strlen(text));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	enum snapshot_doc doc;
	const char *ctype;
	int status = 200;
	size_t len;
	char *body;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "parkwatch serve is read-only: GET or HEAD\n");
	if (!strcmp(url, "/metrics")) {
		const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								 MHD_HTTP_HEADER_ACCEPT);
		bool om = metrics__negotiate(accept) == METRICS_OPENMETRICS;

		doc = om ? DOC_METRICS_OPENMETRICS : DOC_METRICS_TEXT;
		ctype = om ? CT_OPENMETRICS : CT_TEXT;
	} else if (!strcmp(url, "/report")) {
		doc = DOC_REPORT;
		ctype = CT_JSON;
	} else if (!strcmp(url, "/healthz")) {
		doc = DOC_HEALTH;
		ctype = CT_PLAIN;
	} else if (!strcmp(url, "/")) {
		return reply_text(c, 200, "parkwatch serve: /metrics /report /healthz\n");
	} else {
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: /metrics /report /healthz\n");
	}
	body = snapshot__copy(s, doc, &len, &status);
	if (!body)
		return reply_text(c, status, status == 503 ? "no sweep yet\n" : "out of memory\n");
	return reply(c, status, ctype, body, len);
}

/* "ADDR:PORT" of the listening socket, the port the kernel chose included. */
static void bound_name(int fd, char *out, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(out, len, "?");
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

int http__start(struct server *s, const struct sockaddr *sa, socklen_t salen,
		struct http **out, char *bound, size_t boundlen, char *err, size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	sigset_t block, old;
	struct http *h;
	int e;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The HTTP thread inherits this mask: signals for the daemon
	 * (SIGTERM, SIGHUP...) then always reach the sweeping thread. */
	sigfillset(&block);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	errno = 0;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->d) {
		char name[INET6_ADDRSTRLEN + 8] = "?";
		char a[INET6_ADDRSTRLEN] = "?";

		if (sa->sa_family == AF_INET6) {
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, a, sizeof(a));
			snprintf(name, sizeof(name), "[%s]:%u", a,
				 ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
		} else {
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, a, sizeof(a));
			snprintf(name, sizeof(name), "%s:%u", a,
				 ntohs(((const struct sockaddr_in *)sa)->sin_port));
		}
		snprintf(err, errlen, "cannot listen on %s: %s", name,
			 e ? strerror(e) : "the HTTP server did not start");
		free(h);
		return -(e ? e : EADDRNOTAVAIL);
	}
	(void)salen; /* MHD_OPTION_SOCK_ADDR takes the length from the family */
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_LISTEN_FD);
	bound_name(info ? info->listen_fd : -1, bound, boundlen);
	*out = h;
	return 0;
}

void http__stop(struct http *h)
{
	if (!h)
		return;
	/* Joins the HTTP thread and closes the listening socket. */
	MHD_stop_daemon(h->d);
	free(h);
}
