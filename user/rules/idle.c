// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The idle rules. The built-in list is written in the file syntax and
 * parsed like a file, so that what --help and the documents show is exactly
 * what runs, and a user's --idle-file can start from a copy of it.
 *
 * Why these and not a generic "pool at rest" rule: N sibling threads parked
 * at one place look the same in one sweep whether they are a pool waiting
 * for work or N leaked workers (tests/fixtures/condvar_leak.c is exactly
 * that); only the runtime's own code, or growth over time, tells them apart.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules/idle.h"

const char *const idle_default_rules[] = {
	/* Go runtime: Ms with nothing to run, the poller, the template thread. */
	"runtime.notesleep Go runtime", "runtime.mPark Go runtime", "runtime.stopm Go runtime",
	"runtime.stoplockedm Go runtime", "runtime.templateThread Go runtime",
	"runtime.netpoll Go runtime", "runtime.notetsleepg Go runtime",
	"runtime.sysmon Go runtime", "runtime.schedule Go runtime",
	"runtime.findRunnable Go runtime", "runtime.findrunnable Go runtime",
	"runtime.clone Go runtime", /* a new M not yet in mstart (just cloned) */
	/* goleak's standard ignores: goroutines of the standard library and of
	 * package testing that every test binary may have at its exit (for
	 * goroutines these match the start function). */
	"os/signal.signal_recv os/signal loop", "os/signal.loop os/signal loop",
	"runtime.ensureSigM.func1 os/signal loop",
	"testing.tRunner testing package", "testing.(*T).Run testing package",
	"testing.runTests testing package", "testing.runFuzzTests testing package",
	"testing.runFuzzing testing package", "testing.(*M).Run testing package",
	"testing.(*M).startAlarm.func1 testing package",
	"testing.runExample.func1 testing package",
	/* HotSpot JVM (libjvm.so): GC, compilers, VM and service threads. */
	"GangWorker::loop JVM service thread", "WorkerThread::run JVM service thread",
	"ConcurrentGCThread::run JVM service thread", "VMThread::* JVM service thread",
	"CompileBroker::compiler_thread_loop JVM service thread",
	"os::signal_wait JVM service thread", "ServiceThread::* JVM service thread",
	"NotificationThread::* JVM service thread", "MonitorDeflationThread::* JVM service thread",
	"WatcherThread::* JVM service thread", "NMethodSweeper::* JVM service thread",
	"JVM_WaitForReferencePendingList JVM service thread",
	"JVM_MonitorWait comm=Finalizer JVM service thread",
	/* The launcher's first thread joins the Java main thread for good. */
	"CallJavaMainInNewThread JVM launcher",
	/* java.util.concurrent pools park their idle workers (LockSupport.park,
	 * Unsafe_Park); the JDK names their threads. */
	"Unsafe_Park comm=pool-* JVM pool worker", "Unsafe_Park comm=ForkJoinPool* JVM pool worker",
	"Unsafe_Park comm=Common-Cleaner JVM service thread",
	/* Node: libuv's pool and V8's platform workers wait in uv_cond_wait for
	 * work; the inspector's I/O thread in a semaphore. */
	"uv_cond_wait libuv/V8 worker", "node::inspector::* Node inspector thread",
	/* CPython: ThreadPoolExecutor workers block in SimpleQueue.get. */
	"_queue_SimpleQueue_get_impl CPython pool worker",
	/* redis: background job threads; jemalloc's background purger. */
	"bioProcessBackgroundJobs redis background thread",
	"* comm=jemalloc_bg_thd jemalloc background thread",
	/* Event loops at rest: the sweep passes syscall= only with evidence
	 * (a socket fd, a non-empty epoll set, a poll with fds). */
	"* syscall=epoll_wait event loop", "* syscall=epoll_pwait event loop",
	"* syscall=epoll_pwait2 event loop", "* syscall=poll event loop",
	"* syscall=ppoll event loop", "* syscall=select event loop",
	"* syscall=pselect6 event loop", "* syscall=accept accept loop",
	"* syscall=accept4 accept loop", "* syscall=read socket read",
	"* syscall=readv socket read", "* syscall=recvfrom socket read",
	"* syscall=recvmsg socket read", "* syscall=recvmmsg socket read",
	/* A shell or supervisor waiting for a live child (evidence checked). */
	"* syscall=wait4 waiting for a child", "* syscall=waitid waiting for a child",
	NULL,
};

struct pattern {
	char *text; /* without the trailing '*' */
	bool prefix;
};

struct idle_rule {
	struct pattern fn;   /* text NULL: any stack */
	struct pattern comm; /* text NULL: any name */
	char *syscall;       /* NULL: no condition */
	char *reason;
};

struct idle_list {
	struct idle_rule *rules;
	int n, cap;
};

static int set_pattern(struct pattern *p, const char *s, size_t len)
{
	p->prefix = len && s[len - 1] == '*';
	p->text = strndup(s, len - p->prefix);
	return p->text ? 0 : -ENOMEM;
}

static bool pattern_matches(const struct pattern *p, const char *s)
{
	if (!s)
		return false;
	return p->prefix ? !strncmp(s, p->text, strlen(p->text)) : !strcmp(s, p->text);
}

static void rule_free(struct idle_rule *r)
{
	free(r->fn.text);
	free(r->comm.text);
	free(r->syscall);
	free(r->reason);
}

/* Parse one rule from line (comments already cut). 0, 1 for a blank line,
 * -EINVAL or -ENOMEM. */
static int parse_rule(char *line, struct idle_rule *r)
{
	char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
	size_t cap = 0, len = 0;
	int err = 0;

	memset(r, 0, sizeof(*r));
	if (!tok)
		return 1;
	if (strcmp(tok, "*") && (err = set_pattern(&r->fn, tok, strlen(tok))))
		return err;
	while (!err && (tok = strtok_r(NULL, " \t\r\n", &save))) {
		if (!r->reason && !strncmp(tok, "comm=", 5) && tok[5]) {
			err = r->comm.text ? -EINVAL : set_pattern(&r->comm, tok + 5, strlen(tok + 5));
		} else if (!r->reason && !strncmp(tok, "syscall=", 8) && tok[8]) {
			if (r->syscall || !(r->syscall = strdup(tok + 8)))
				err = r->syscall ? -EINVAL : -ENOMEM;
		} else {
			size_t n = strlen(tok);
			char *v = len + n + 2 > cap ? realloc(r->reason, cap = len + n + 64) : r->reason;

			if (!v) {
				err = -ENOMEM;
				break;
			}
			r->reason = v;
			if (len)
				v[len++] = ' ';
			memcpy(v + len, tok, n + 1);
			len += n;
		}
	}
	if (!err && !r->fn.text && !r->comm.text && !r->syscall)
		err = -EINVAL; /* "*" alone would call everything idle */
	if (!err && !r->reason)
		r->reason = strdup(r->fn.text ? r->fn.text : r->comm.text ? r->comm.text : r->syscall);
	if (!err && !r->reason)
		err = -ENOMEM;
	if (err)
		rule_free(r);
	return err;
}

/* Add the rule on line (modified); 0, or -errno. */
static int add_line(struct idle_list *l, char *line)
{
	struct idle_rule r, *v;
	char *hash = strchr(line, '#');
	int ret;

	if (hash)
		*hash = 0;
	ret = parse_rule(line, &r);
	if (ret)
		return ret > 0 ? 0 : ret;
	if (l->n == l->cap) { /* doubling: a file may hold many rules */
		v = realloc(l->rules, (l->cap ? l->cap * 2 : 64) * sizeof(*v));
		if (!v) {
			rule_free(&r);
			return -ENOMEM;
		}
		l->rules = v;
		l->cap = l->cap ? l->cap * 2 : 64;
	}
	l->rules[l->n++] = r;
	return 0;
}

struct idle_list *idle_list__default(void)
{
	struct idle_list *l = calloc(1, sizeof(*l));
	char line[256];

	for (int i = 0; l && idle_default_rules[i]; i++) {
		snprintf(line, sizeof(line), "%s", idle_default_rules[i]);
		if (add_line(l, line)) {
			idle_list__free(l);
			return NULL;
		}
	}
	return l;
}

struct idle_list *idle_list__load(const char *path, int *bad_line)
{
	struct idle_list *l = calloc(1, sizeof(*l));
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t total = 0;
	int lineno = 0, err = 0;

	*bad_line = 0;
	if (!l || !f) {
		err = l ? errno : ENOMEM;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		/* A bound on the whole file too: a FIFO or a device never ends. */
		total += strlen(line);
		if (total > IDLE_MAX_BYTES) {
			err = EFBIG;
			goto out;
		}
		if (!strchr(line, '\n') && !feof(f))
			err = -EINVAL; /* longer than any rule we expect */
		else
			err = add_line(l, line);
		if (err) {
			if (err == -EINVAL)
				*bad_line = lineno;
			err = -err;
			goto out;
		}
	}
	/* fgets also ends on a read error: a list cut short must not pass
	 * for the whole. */
	if (ferror(f))
		err = errno ? errno : EIO;
out:
	if (f)
		fclose(f);
	if (err) {
		idle_list__free(l);
		errno = err;
		return NULL;
	}
	return l;
}

static bool stack_has(const struct pattern *p, const struct pw_stack *s)
{
	for (int i = 0; s && i < s->nframes; i++)
		if (pattern_matches(p, s->frames[i].function))
			return true;
	return false;
}

const char *idle_list__match(const struct idle_list *l, const struct idle_subject *s)
{
	for (int j = 0; l && j < l->n; j++) {
		const struct idle_rule *r = &l->rules[j];

		if (r->syscall && (!s->syscall || strcmp(r->syscall, s->syscall)))
			continue;
		if (r->comm.text && !pattern_matches(&r->comm, s->comm))
			continue;
		if (r->fn.text && !stack_has(&r->fn, s->stack))
			continue;
		return r->reason;
	}
	return NULL;
}

void idle_list__free(struct idle_list *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n; i++)
		rule_free(&l->rules[i]);
	free(l->rules);
	free(l);
}
