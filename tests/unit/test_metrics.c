// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit test for user/serve/labels.c and the address parser of
 * user/serve/http.c: label values as the exposition formats need them,
 * parking sites, Accept negotiation, --listen.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "serve/metrics.h"
#include "serve/serve.h"
#include "unit.h"

static int escapes_to(const char *in, size_t max, const char *want)
{
	char *got = metrics__escape_label(in, max);
	int ok = got && !strcmp(got, want);

	if (!ok)
		fprintf(stderr, "escape(\"%s\"): got \"%s\", want \"%s\"\n", in, got, want);
	free(got);
	return ok;
}

#define FFFD "\xef\xbf\xbd"

static void test_escape(void)
{
	CHECK(escapes_to("worker", 256, "worker"));
	CHECK(escapes_to("", 256, ""));
	CHECK(escapes_to(NULL, 256, ""));
	CHECK(escapes_to("a\"b", 256, "a\\\"b"));
	CHECK(escapes_to("a\\b", 256, "a\\\\b"));
	CHECK(escapes_to("a\nb", 256, "a\\nb"));
	CHECK(escapes_to("pw\"q\\\n\xffz", 256, "pw\\\"q\\\\\\n" FFFD "z"));
	/* Control bytes and DEL: replaced. */
	CHECK(escapes_to("a\tb\x01\x7f", 256, "a" FFFD "b" FFFD FFFD));
	/* Valid UTF-8 stays; overlong, surrogate, truncated and > U+10FFFF do not. */
	CHECK(escapes_to("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98", 256,
			 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98"));
	CHECK(escapes_to("\xc0\xaf", 256, FFFD FFFD));
	CHECK(escapes_to("\xed\xa0\x80", 256, FFFD FFFD FFFD));
	CHECK(escapes_to("x\xe2\x82", 256, "x" FFFD FFFD));
	CHECK(escapes_to("\xf4\x90\x80\x80", 256, FFFD FFFD FFFD FFFD));
	/* The cut never splits a character into invalid bytes silently. */
	CHECK(escapes_to("abcdef", 3, "abc"));
	CHECK(escapes_to("a\xc3\xa9", 2, "a" FFFD));
}

static struct pw_frame frame(const char *fn, const char *module)
{
	return (struct pw_frame){ .function = (char *)fn, .module = (char *)module };
}

static void test_sites(void)
{
	struct pw_frame t[] = {
		frame("__futex_abstimed_wait_common", "libc.so.6"),
		frame("pthread_cond_wait", "libc.so.6"), frame(NULL, "strand"),
		frame("strand_wait", "strand"), frame("strand_main", "strand"),
	};
	struct pw_frame libc_only[] = { frame(NULL, NULL), frame("pthread_join", "libc.so.6") };
	struct pw_frame g[] = {
		frame("runtime.gopark", "app"), frame("runtime.chanrecv1", "app"),
		frame("sync.(*WaitGroup).Wait", "app"), frame("main.leak", "app"),
	};
	struct pw_frame g_exported[] = { frame("runtime.gopark", "app"),
					 frame("runtime.Goexit", "app") };
	struct pw_stack s = { .frames = t, .nframes = 5 };

	CHECK(!strcmp(metrics__thread_site(&s), "strand_wait"));
	s = (struct pw_stack){ .frames = libc_only, .nframes = 2 };
	CHECK(!strcmp(metrics__thread_site(&s), "pthread_join"));
	s = (struct pw_stack){ .frames = libc_only, .nframes = 1 };
	CHECK(!strcmp(metrics__thread_site(&s), "unknown"));
	s = (struct pw_stack){ .frames = g, .nframes = 4 };
	CHECK(!strcmp(metrics__goroutine_site(&s), "main.leak"));
	s = (struct pw_stack){ .frames = g_exported, .nframes = 2 };
	CHECK(!strcmp(metrics__goroutine_site(&s), "runtime.Goexit"));
}

static void test_negotiate(void)
{
	/* What Prometheus 2.42 sends. */
	CHECK(metrics__negotiate("application/openmetrics-text;version=1.0.0,"
				 "application/openmetrics-text;version=0.0.1;q=0.75,"
				 "text/plain;version=0.0.4;q=0.5,*/*;q=0.1") == METRICS_OPENMETRICS);
	CHECK(metrics__negotiate(NULL) == METRICS_PROMETHEUS);
	CHECK(metrics__negotiate("*/*") == METRICS_PROMETHEUS);
	CHECK(metrics__negotiate("text/plain") == METRICS_PROMETHEUS);
	CHECK(metrics__negotiate("Application/OpenMetrics-Text") == METRICS_OPENMETRICS);
	CHECK(metrics__negotiate("text/plain;q=0.9, application/openmetrics-text;q=0.5") ==
	      METRICS_PROMETHEUS);
	CHECK(metrics__negotiate("application/openmetrics-text;q=0") == METRICS_PROMETHEUS);
	CHECK(metrics__negotiate("application/openmetrics-textual") == METRICS_PROMETHEUS);
}

static int listen_ok(const char *in, int family, const char *addr, unsigned port)
{
	struct sockaddr_storage ss;
	char err[256], got[64] = "";
	socklen_t len;
	unsigned p;

	if (serve__parse_listen(in, &ss, &len, err, sizeof(err)) || ss.ss_family != family)
		return 0;
	if (family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, got, sizeof(got));
		p = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, got, sizeof(got));
		p = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return !strcmp(got, addr) && p == port;
}

static int listen_bad(const char *in)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256] = "";

	return serve__parse_listen(in, &ss, &len, err, sizeof(err)) && strstr(err, in);
}

static void test_listen(void)
{
	CHECK(listen_ok("127.0.0.1:9477", AF_INET, "127.0.0.1", 9477));
	CHECK(listen_ok(":0", AF_INET, "127.0.0.1", 0));
	CHECK(listen_ok("localhost:80", AF_INET, "127.0.0.1", 80));
	CHECK(listen_ok("0.0.0.0:9477", AF_INET, "0.0.0.0", 9477));
	CHECK(listen_ok("[::1]:9477", AF_INET6, "::1", 9477));
	CHECK(listen_ok("[::]:1", AF_INET6, "::", 1));
	CHECK(listen_bad("127.0.0.1"));
	CHECK(listen_bad("127.0.0.1:"));
	CHECK(listen_bad("127.0.0.1:65536"));
	CHECK(listen_bad("127.0.0.1:-1"));
	CHECK(listen_bad("127.0.0.1:80x"));
	CHECK(listen_bad("example.com:80"));
	CHECK(listen_bad("::1:80"));
	CHECK(listen_bad("[::1]80"));
	CHECK(listen_bad("[127.0.0.1]:80"));
	CHECK(listen_bad("[::1:80"));
}

/* The first line of a rendering that starts with prefix, or NULL. */
static char *line_with(const char *text, const char *prefix)
{
	static char line[512];

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		size_t len = strcspn(p, "\n");

		if (!strncmp(p, prefix, strlen(prefix)) && len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			return line;
		}
	}
	return NULL;
}

static void read_comm(pid_t pid, char *out, size_t len)
{
	char path[40];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	out[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		if (fgets(out, len, f))
			out[strcspn(out, "\n")] = '\0';
		fclose(f);
	}
}

/* Many processes at once (each reads its /proc/PID/comm: the cache must
 * not move under the series pointing into it), three threads at one site
 * counted as one series, a deadlock's members as "deadlocked", the cap. */
static void test_collect(void)
{
	enum { NPROC = 40 };
	struct pw_flagged th[NPROC + 3] = { 0 };
	struct pw_frame fr[2] = { frame("pthread_cond_wait", "libc.so.6"), frame("worker", "app") };
	uint32_t members[2] = { 7001, 7002 };
	struct pw_deadlock dl = { .pid = 1, .n = 2, .members = members };
	struct pw_report r = { .threads = th, .nthreads = NPROC + 3, .deadlocks = &dl,
			       .ndeadlocks = 1 };
	struct metrics_counters c = { .sweeps = 3 };
	struct metrics_set *set;
	uint64_t dropped = 9;
	char *text = NULL, want[256], comm[32], *l;
	size_t len;
	FILE *f;

	/* Processes that exist: this one, its parent, and pid 1. */
	pid_t pids[3] = { getpid(), getppid(), 1 };

	for (int i = 0; i < NPROC; i++) {
		th[i] = (struct pw_flagged){ .pid = i < 3 ? (uint32_t)pids[i] : 4000000u + i,
					     .tid = 5000 + i, .parked_ns = 2000000000ULL * (i + 1) };
		snprintf(th[i].comm, sizeof(th[i].comm), "thr%d", i);
		th[i].wait.syscall = "futex";
		th[i].stack = (struct pw_stack){ .frames = fr, .nframes = 2 };
	}
	for (int i = NPROC; i < NPROC + 3; i++) {
		th[i] = th[2]; /* pid 1, same site */
		th[i].tid = 7001 + i - NPROC;
		th[i].waits_for.kind = PW_WAIT_CONDVAR;
	}
	set = metrics__collect(&r, 5000, &dropped);
	CHECK(set != NULL && dropped == 0);
	f = open_memstream(&text, &len);
	metrics__render(set, &c, METRICS_PROMETHEUS, f);
	fclose(f);
	for (int i = 0; i < 3; i++) {
		read_comm(pids[i], comm, sizeof(comm));
		snprintf(want, sizeof(want), "parkwatch_parked_threads{pid=\"%d\",comm=\"%s\",", pids[i],
			 comm);
		CHECK(comm[0] && line_with(text, want));
	}
	/* Gone processes are named by their thread. */
	CHECK(line_with(text, "parkwatch_parked_threads{pid=\"4000039\",comm=\"thr39\",verdict=\"parked\","
			"wait=\"futex\",site=\"worker\"} 1"));
	/* Two deadlocked members and one more condvar waiter of pid 1. */
	l = line_with(text, "parkwatch_parked_threads{pid=\"1\",");
	CHECK(l != NULL);
	CHECK(strstr(text, "verdict=\"deadlocked\",wait=\"condvar\",site=\"worker\"} 2\n") != NULL);
	CHECK(strstr(text, "verdict=\"parked\",wait=\"condvar\",site=\"worker\"} 1\n") != NULL);
	CHECK(line_with(text, "parkwatch_oldest_parked_seconds{pid=\"4000039\",comm=\"thr39\"} 80.000"));
	CHECK(line_with(text, "parkwatch_sweeps_total 3"));
	CHECK(!strstr(text, "# EOF"));
	free(text);
	metrics__free(set);

	/* The cap keeps the largest series and counts the rest. */
	set = metrics__collect(&r, 1, &dropped);
	CHECK(set != NULL);
	/* 42 thread series (pid 1 has three) and 40 "oldest": one kept. */
	CHECK(dropped == 81);
	f = open_memstream(&text, &len);
	metrics__render(set, &c, METRICS_OPENMETRICS, f);
	fclose(f);
	CHECK(line_with(text, "parkwatch_oldest_parked_seconds{pid=\"4000039\"") != NULL);
	CHECK(!line_with(text, "parkwatch_parked_threads{"));
	CHECK(strstr(text, "# TYPE parkwatch_sweeps counter\n") && strstr(text, "\n# EOF\n"));
	free(text);
	metrics__free(set);
}

int main(void)
{
	test_collect();
	test_escape();
	test_sites();
	test_negotiate();
	test_listen();
	return unit_done("test_metrics");
}
