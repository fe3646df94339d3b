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
	struct pw_stack a = stack_of(go_idle, 6), b = stack_of(leak, 4);
	struct idle_list *l = idle_list__default();
	int bad = -1;
	char *path;

	CHECK(l != NULL);
	CHECK(idle_list__match(l, &a) && !strcmp(idle_list__match(l, &a), "runtime.notesleep"));
	CHECK(idle_list__match(l, &b) == NULL);
	/* goleak's standard ignores: signal.Notify's loop, the testing
	 * package's own goroutines (matched on their start function); a user
	 * goroutine in a test is not */
	{
		const char *sig[] = { "os/signal.signal_recv", "os/signal.loop", "runtime.goexit" };
		const char *trunner[] = { "testing.tRunner" };
		const char *user[] = { "runtime.gopark", "runtime.chansend1", "main.leak.func1",
				       "runtime.goexit" };
		struct pw_stack s1 = stack_of(sig, 3), s2 = stack_of(trunner, 1), s3 = stack_of(user, 4);

		CHECK(idle_list__match(l, &s1) && !strcmp(idle_list__match(l, &s1), "os/signal.signal_recv"));
		CHECK(idle_list__match(l, &s2) != NULL);
		CHECK(idle_list__match(l, &s3) == NULL);
		pw_stack__free(&s1);
		pw_stack__free(&s2);
		pw_stack__free(&s3);
	}
	idle_list__free(l);

	path = write_tmp("# comment\n\n  worker_wait  # trailing comment\nother\n");
	l = idle_list__load(path, &bad);
	CHECK(l != NULL && bad == 0);
	CHECK(l && idle_list__match(l, &b) && !strcmp(idle_list__match(l, &b), "worker_wait"));
	CHECK(l && idle_list__match(l, &a) == NULL); /* the file replaces the defaults */
	idle_list__free(l);
	unlink(path);

	path = write_tmp("ok\ntwo words\n");
	l = idle_list__load(path, &bad);
	CHECK(l == NULL && bad == 2);
	unlink(path);

	l = idle_list__load("/nonexistent/idle", &bad);
	CHECK(l == NULL && bad == 0);

	pw_stack__free(&a);
	pw_stack__free(&b);
	return unit_done("test_idle");
}
