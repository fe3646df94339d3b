// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * --listen: numeric addresses only (no resolver in a daemon's start-up, and
 * no surprise about which interface a name resolves to), loopback when the
 * address is left out. Unit-tested (tests/unit/test_metrics.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "serve/serve.h"

int serve__parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port_s, *h = s;
	size_t hlen;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			goto bad;
		h = s + 1;
		hlen = close - h;
		port_s = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			goto bad; /* no port, or a bare IPv6 address */
		hlen = colon - s;
		port_s = colon + 1;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port > 65535 || *port_s == '-' || *port_s == '+')
		goto bad;
	if (hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (!hlen || !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (*s == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		*len = sizeof(*a);
	}
	return 0;
bad:
	snprintf(err, errlen, "invalid --listen '%s' (use ADDR:PORT with a numeric address, "
		 "e.g. 127.0.0.1:9477, [::1]:9477 or :9477 for loopback)", s);
	return -EINVAL;
}
