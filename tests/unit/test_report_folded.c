// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Folded output: frame order, merging, weights, sanitising, pseudo-frames. */
#include <stdlib.h>
#include <string.h>
#include "report/report.h"
#include "unit.h"

/* A frame spec: function (NULL: unknown), module, pc. Innermost first, like
 * the unwinder produces them. */
struct fspec {
	const char *function, *module;
	uint64_t pc;
};

static void push_frames(struct pw_stack *s, const struct fspec *f, int n)
{
	for (int i = 0; i < n; i++) {
		struct pw_frame fr = {
			.pc = f[i].pc,
			.function = f[i].function ? strdup(f[i].function) : NULL,
			.module = f[i].module ? strdup(f[i].module) : NULL,
		};

		pw_stack__push(s, &fr);
	}
}

static struct pw_flagged *add(struct pw_report *r, uint32_t pid, uint32_t tid, const char *exe,
			      const char *comm, uint64_t parked_ns)
{
	struct pw_flagged *t = report__add(r);

	t->pid = pid;
	t->tid = tid;
	t->exe = exe ? strdup(exe) : NULL;
	strncpy(t->comm, comm, sizeof(t->comm) - 1);
	t->parked_ns = parked_ns;
	t->wait.class = PW_CLASS_FUTEX;
	t->wait.syscall = "futex";
	strcpy(t->wait.op, "FUTEX_WAIT_PRIVATE");
	return t;
}

static struct pw_gflagged *add_g(struct pw_report *r, uint32_t pid, uint64_t goid,
				 const char *wait_reason, uint64_t parked_ns)
{
	struct pw_gflagged *g = report__add_goroutine(r);

	g->g.pid = pid;
	g->g.goid = goid;
	g->g.status_name = wait_reason ? "waiting" : "running";
	g->g.wait_reason = wait_reason;
	g->g.created_by.function = strdup("main.startSenders");
	g->g.created_by.module = strdup("srv-go");
	g->class = "parked";
	g->parked_ns = parked_ns;
	return g;
}

/* Print r folded with weight w into a string (caller frees). */
static char *folded(const struct pw_report *r, enum folded_weight w, int *rc)
{
	struct print_opts o = { .weight = w };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*rc = report__print_folded(r, &o, f);
	fclose(f);
	return buf;
}

int main(void)
{
	/* Same functions at different call sites and in different processes
	 * of the same executable: one line. */
	const struct fspec worker_a[] = {
		{ "pthread_cond_wait", "libc.so.6", 0x7f0000001000 },
		{ "worker_wait", "app", 0x5500000011a0 },
		{ "worker_main", "app", 0x5500000011f0 },
		{ "start_thread", "libc.so.6", 0x7f0000002000 },
	};
	const struct fspec worker_b[] = {
		{ "pthread_cond_wait", "libc.so.6", 0x7f1100001000 },
		{ "worker_wait", "app", 0x5611000011b4 },
		{ "worker_main", "app", 0x5611000011f0 },
		{ "start_thread", "libc.so.6", 0x7f1100002000 },
	};
	const struct fspec odd[] = {
		{ NULL, "libjit.so", 0x7f00dead0 },
		{ NULL, NULL, 0xbeef },
		{ "operator new; really\tweird\nname", "app", 0x1000 },
		{ "", "app", 0x2000 },
	};
	const struct fspec kernel[] = {
		{ "futex_wait", "[kernel]", 0xffffffff81000010 },
		{ "do_futex", "[kernel]", 0xffffffff81000020 },
	};
	struct pw_report r = {};
	struct pw_flagged *t;
	char *out;
	int rc;

	/* An empty report prints nothing and succeeds. */
	out = folded(&r, WEIGHT_COUNT, &rc);
	CHECK(rc == 0 && out && !strcmp(out, ""));
	free(out);

	t = add(&r, 100, 101, "/usr/bin/app", "app", 2000000000);
	push_frames(&t->stack, worker_a, 4);
	t = add(&r, 100, 102, "/usr/bin/app", "app", 3000000000);
	push_frames(&t->stack, worker_a, 4);
	t = add(&r, 200, 201, "/opt/other/app", "app-2", 5000000000);
	push_frames(&t->stack, worker_b, 4);

	out = folded(&r, WEIGHT_COUNT, &rc);
	CHECK(rc == 0);
	CHECK(out && !strcmp(out, "app;start_thread;worker_main;worker_wait;pthread_cond_wait;"
				  "[futex:FUTEX_WAIT_PRIVATE] 3\n"));
	free(out);
	out = folded(&r, WEIGHT_PARKED_NS, &rc);
	CHECK(rc == 0);
	CHECK(out && !strcmp(out, "app;start_thread;worker_main;worker_wait;pthread_cond_wait;"
				  "[futex:FUTEX_WAIT_PRIVATE] 10000000000\n"));
	free(out);

	/* A different wait splits the line. */
	t = add(&r, 100, 103, "/usr/bin/app", "app", 1);
	push_frames(&t->stack, worker_a, 4);
	strcpy(t->wait.op, "FUTEX_LOCK_PI");
	out = folded(&r, WEIGHT_COUNT, &rc);
	CHECK(out && strstr(out, ";pthread_cond_wait;[futex:FUTEX_LOCK_PI] 1\n"));
	CHECK(out && strstr(out, ";pthread_cond_wait;[futex:FUTEX_WAIT_PRIVATE] 3\n"));
	free(out);
	report__free(&r);

	/* Unknown symbols, separators and whitespace in names, no exe,
	 * an incomplete stack, a non-futex wait. */
	t = add(&r, 300, 301, NULL, "my comm", 7);
	push_frames(&t->stack, odd, 4);
	t->stack.error = strdup("no CFI");
	t->wait.class = PW_CLASS_SYSCALL;
	t->wait.syscall = "read";
	t->wait.op[0] = 0;
	out = folded(&r, WEIGHT_COUNT, &rc);
	CHECK(rc == 0);
	CHECK(out && !strcmp(out, "my_comm;[incomplete];app@0x2000;operator_new:_really\\tweird\\nname;0xbeef;"
				  "libjit.so@0x7f00dead0;[read] 1\n"));
	free(out);
	report__free(&r);

	/* Kernel frames follow the wait, innermost last, suffixed _[k];
	 * a thread still running at the end of a command run; a thread with
	 * no frames at all. */
	t = add(&r, 400, 401, "/bin/srv", "srv", 1);
	push_frames(&t->stack, worker_a, 2);
	push_frames(&t->kstack, kernel, 2);
	t->has_kstack = true;
	t = add(&r, 400, 402, "/bin/srv", "srv", 0);
	t->wait.class = PW_CLASS_RUNNING;
	t->wait.syscall = "none";
	t->wait.op[0] = 0;
	out = folded(&r, WEIGHT_COUNT, &rc);
	CHECK(rc == 0);
	CHECK(out && !strcmp(out,
			     "srv;[running] 1\n"
			     "srv;worker_wait;pthread_cond_wait;[futex:FUTEX_WAIT_PRIVATE];"
			     "do_futex_[k];futex_wait_[k] 1\n"));
	free(out);
	/* Every line has the shape flame graph tools expect. */
	out = folded(&r, WEIGHT_PARKED_NS, &rc);
	for (char *line = out, *nl; line && *line; line = nl + 1) {
		char *sp;

		nl = strchr(line, '\n');
		CHECK(nl != NULL);
		if (!nl)
			break;
		*nl = 0;
		sp = strrchr(line, ' ');
		CHECK(sp && memchr(line, ' ', sp - line) == NULL);
		CHECK(sp && sp[1] && strspn(sp + 1, "0123456789") == strlen(sp + 1));
	}
	free(out);
	report__free(&r);

	/* Goroutines: the Go executable (their frames' module) is the root,
	 * frames root first, the wait reason as [go:...]; created_by is not a
	 * frame; unknown durations weigh 0; they sort and merge with threads. */
	const struct fspec gsend[] = {
		{ "runtime.gopark", "srv-go", 0x47a72e },
		{ "runtime.chansend1", "srv-go", 0x414477 },
		{ "main.sendResult", "srv-go", 0x4a453d },
		{ "main.startSenders.gowrap1", "srv-go", 0x4a463b },
		{ "runtime.goexit", "srv-go", 0x480721 },
	};
	struct pw_gflagged *g;

	for (int i = 0; i < 3; i++) {
		g = add_g(&r, 500, 7 + i, "chan send", i == 0 ? 0 : 1000);
		push_frames(&g->g.stack, gsend, 5);
	}
	g = add_g(&r, 500, 20, NULL, 0);          /* running, no wait reason */
	push_frames(&g->g.stack, gsend, 3);
	g->g.stack.truncated = true;
	g = add_g(&r, 600, 21, "select", 5);      /* no module anywhere: go:PID */
	free(g->g.created_by.module);
	g->g.created_by.module = NULL;
	t = add(&r, 500, 501, "/srv/srv-go", "srv-go", 9);
	push_frames(&t->stack, worker_a, 1);
	out = folded(&r, WEIGHT_COUNT, &rc);
	CHECK(rc == 0);
	CHECK(out && !strcmp(out,
			     "go:600;[go:select] 1\n"
			     "srv-go;[incomplete];main.sendResult;runtime.chansend1;"
			     "runtime.gopark;[go:running] 1\n"
			     "srv-go;pthread_cond_wait;[futex:FUTEX_WAIT_PRIVATE] 1\n"
			     "srv-go;runtime.goexit;main.startSenders.gowrap1;main.sendResult;"
			     "runtime.chansend1;runtime.gopark;[go:chan_send] 3\n"));
	free(out);
	out = folded(&r, WEIGHT_PARKED_NS, &rc);
	CHECK(rc == 0);
	CHECK(out && strstr(out, "go:600;[go:select] 5\n"));
	CHECK(out && strstr(out, ";[go:running] 0\n"));
	CHECK(out && strstr(out, ";runtime.gopark;[go:chan_send] 2000\n"));
	free(out);
	report__free(&r);
	return unit_done("test_report_folded");
}
