// pingpong: futex round-trip latency between two threads, the worst case for
// any per-futex-syscall hook (almost all the time goes into futex calls and the
// context switches they cause).
//
//   taskset -c 0 pingpong [ITERATIONS]
//
// The main thread and a partner thread hand a token back and forth through two
// words: main sets `ping` and wakes the partner, then waits on `pong`; the
// partner waits on `ping`, clears it, sets `pong` and wakes main.  Raw
// syscall(SYS_futex) with private futexes, so no libc wrapper is measured.
// The wake is issued unconditionally: every round trip makes two FUTEX_WAKE
// calls plus one FUTEX_WAIT per side that finds its word still clear.
//
// Run it pinned to one CPU (taskset -c 0) so every hand-off is a real
// sleep/wakeup on the same runqueue and cross-CPU wakeup latency does not
// dominate.  Prints one line of key=value pairs:
//   iters=N ns_per_rt=F futex_calls_per_rt=F
// futex_calls_per_rt lets the caller turn a slowdown into ns per futex call:
// on one CPU a woken thread may or may not preempt the waker, which changes
// how many waits actually enter the kernel.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 2000L

static _Atomic uint32_t ping, pong;
static long iterations;

static void futex_call(_Atomic uint32_t *word, int op, uint32_t val, long *calls)
{
	long r = syscall(SYS_futex, (uint32_t *)word, op, val, NULL, NULL, 0);
	(*calls)++;
	if (r < 0 && errno != EAGAIN && errno != EINTR) {
		perror("pingpong: futex");
		exit(1);
	}
}

// Sleep until *word is set, then consume it.
static void take(_Atomic uint32_t *word, long *calls)
{
	while (atomic_load_explicit(word, memory_order_acquire) == 0)
		futex_call(word, FUTEX_WAIT_PRIVATE, 0, calls);
	atomic_store_explicit(word, 0, memory_order_relaxed);
}

// Set *word and wake its waiter (always: a waiter-present flag would hide the
// wake syscall, which is exactly what a futex hook has to pay for).
static void give(_Atomic uint32_t *word, long *calls)
{
	atomic_store_explicit(word, 1, memory_order_release);
	futex_call(word, FUTEX_WAKE_PRIVATE, 1, calls);
}

static long partner_calls; // futex calls in the partner's timed iterations

static void *partner(void *arg)
{
	long calls = 0, warm = 0;
	for (long i = 0; i < WARMUP + iterations; i++) {
		if (i == WARMUP)
			warm = calls;
		take(&ping, &calls);
		give(&pong, &calls);
	}
	partner_calls = calls - warm;
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	iterations = argc > 1 ? atol(argv[1]) : 200000;
	if (iterations <= 0) {
		fprintf(stderr, "usage: pingpong [ITERATIONS>0]\n");
		return 2;
	}

	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) != 1)
		fprintf(stderr, "pingpong: warning: not pinned to one CPU "
				"(run under taskset -c 0)\n");

	pthread_t t;
	if (pthread_create(&t, NULL, partner, NULL) != 0) {
		perror("pingpong: pthread_create");
		return 1;
	}

	// Warm up (thread start, page faults, cache) before timing; the partner
	// runs WARMUP extra round trips so both sides stay in step.
	long calls = 0;
	for (long i = 0; i < WARMUP; i++) {
		give(&ping, &calls);
		take(&pong, &calls);
	}

	long main_warm = calls;
	double t0 = now_ns();
	for (long i = 0; i < iterations; i++) {
		give(&ping, &calls);
		take(&pong, &calls);
	}
	double t1 = now_ns();
	pthread_join(t, NULL);

	printf("iters=%ld ns_per_rt=%.1f futex_calls_per_rt=%.3f\n", iterations,
	       (t1 - t0) / iterations,
	       (double)(calls - main_warm + partner_calls) / iterations);
	return 0;
}
