// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Folded output: frame order, merging, weights, sanitising, pseudo-frames. */
#include <stdlib.h>
#include <string.h>
#include "report.h"
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
	CHECK(out && !strcmp(out, "my_comm;[incomplete];app@0x2000;operator_new:_really_weird_name;0xbeef;"
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
	return unit_done("test_report_folded");
}
