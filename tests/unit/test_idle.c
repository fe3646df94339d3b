// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The idle-wait list: defaults, file parsing, matching any frame. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rules/idle.h"
#include "unit.h"

static struct pw_stack stack_of(const char **names, int n)
{
	struct pw_stack s = {};

	for (int i = 0; i < n; i++) {
		struct pw_frame f = { .pc = 0x1000 + i, .function = names[i] ? strdup(names[i]) : NULL };

		pw_stack__push(&s, &f);
	}
	return s;
}

static char *write_tmp(const char *text)
{
	static char path[] = "/tmp/pw-idle-XXXXXX";
	int fd;

	strcpy(path, "/tmp/pw-idle-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		return NULL;
	close(fd);
	return path;
}

int main(void)
{
	const char *go_idle[] = { "runtime.futex", "runtime.futexsleep", "runtime.notesleep",
				  "runtime.mPark", "runtime.stopm", "runtime.schedule" };
	const char *leak[] = { "__futex_abstimed_wait_common", NULL, "worker_wait", "start_thread" };
	const char *jvm_pool[] = { "pthread_cond_wait", "Parker::park", "Unsafe_Park" };
	struct pw_stack a = stack_of(go_idle, 6), b = stack_of(leak, 4), c = stack_of(jvm_pool, 3);
	struct idle_subject go = { .stack = &a }, mine = { .stack = &b, .comm = "condvar_leak" };
	struct idle_list *l = idle_list__default();
	const char *why;
	int bad = -1;
	char *path;

	CHECK(l != NULL);
	CHECK((why = idle_list__match(l, &go)) && !strcmp(why, "Go runtime"));
	CHECK(idle_list__match(l, &mine) == NULL);
	/* comm= conditions: a JDK pool worker is idle, the same park elsewhere is not */
	CHECK((why = idle_list__match(l, &(struct idle_subject){ .stack = &c, .comm = "pool-1-thread-3" })) &&
	      !strcmp(why, "JVM pool worker"));
	CHECK(idle_list__match(l, &(struct idle_subject){ .stack = &c, .comm = "stranded" }) == NULL);
	/* syscall= rules need the sweep's evidence: no syscall, no match */
	CHECK((why = idle_list__match(l, &(struct idle_subject){ .stack = &b, .syscall = "epoll_wait" })) &&
	      !strcmp(why, "event loop"));
	CHECK(idle_list__match(l, &(struct idle_subject){ .stack = &b, .syscall = "pause" }) == NULL);
	/* a comm-only rule */
	CHECK((why = idle_list__match(l, &(struct idle_subject){ .stack = &b, .comm = "jemalloc_bg_thd" })) &&
	      !strcmp(why, "jemalloc background thread"));
	/* goleak's standard ignores: signal.Notify's loop, the testing
	 * package's own goroutines (matched on their start function); a user
	 * goroutine in a test is not */
	{
		const char *sig[] = { "os/signal.signal_recv", "os/signal.loop", "runtime.goexit" };
		const char *trunner[] = { "testing.tRunner" };
		const char *user[] = { "runtime.gopark", "runtime.chansend1", "main.leak.func1",
				       "runtime.goexit" };
		struct pw_stack s1 = stack_of(sig, 3), s2 = stack_of(trunner, 1), s3 = stack_of(user, 4);

		CHECK((why = idle_list__match(l, &(struct idle_subject){ .stack = &s1 })) &&
		      !strcmp(why, "os/signal loop"));
		CHECK(idle_list__match(l, &(struct idle_subject){ .stack = &s2 }) != NULL);
		CHECK(idle_list__match(l, &(struct idle_subject){ .stack = &s3 }) == NULL);
		pw_stack__free(&s1);
		pw_stack__free(&s2);
		pw_stack__free(&s3);
	}
	idle_list__free(l);

	path = write_tmp("# comment\n\n  worker_wait  # trailing comment\nother\nworker_* comm=cv* my pool  at rest\n");
	l = idle_list__load(path, &bad);
	CHECK(l != NULL && bad == 0);
	CHECK(l && (why = idle_list__match(l, &mine)) && !strcmp(why, "worker_wait"));
	CHECK(l && idle_list__match(l, &go) == NULL); /* the file replaces the defaults */
	idle_list__free(l);
	unlink(path);

	/* prefix patterns and a reason of several words (spaces collapsed) */
	path = write_tmp("worker_* comm=cond* my pool  at rest\n");
	l = idle_list__load(path, &bad);
	CHECK(l && (why = idle_list__match(l, &mine)) && !strcmp(why, "my pool at rest"));
	CHECK(l && idle_list__match(l, &(struct idle_subject){ .stack = &b, .comm = "other" }) == NULL);
	idle_list__free(l);
	unlink(path);

	/* malformed: "*" alone would call everything idle; a condition twice */
	path = write_tmp("ok\n*\n");
	l = idle_list__load(path, &bad);
	CHECK(l == NULL && bad == 2);
	unlink(path);
	path = write_tmp("f comm=a comm=b\n");
	l = idle_list__load(path, &bad);
	CHECK(l == NULL && bad == 1);
	unlink(path);

	l = idle_list__load("/nonexistent/idle", &bad);
	CHECK(l == NULL && bad == 0);

	pw_stack__free(&c);
	pw_stack__free(&a);
	pw_stack__free(&b);
	return unit_done("test_idle");
}
