// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * spin_sample [ROUNDS]: what a CPU sample of a spinning thread costs
 * (user/threads/cpu_sample.c, as parkwatch takes one per spinning thread
 * per look). A spinner thread counts loop iterations; each round has two
 * 300 ms windows, in alternating order: "off" (nothing) and "on" (samples
 * of the spinner taken back to back, far more than parkwatch's one per
 * look). Prints the median latency of one sample, and the spinner's loop
 * rate with and without sampling, as a ratio, and the CPU the spinner loses
 * per sample derived from it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "threads/cpu_sample.h"

#define WINDOW_NS 300000000ULL
#define MAX_SAMPLES 100000

static volatile unsigned long loops;
static volatile pid_t spinner_tid;

static void *spin(void *arg)
{
	(void)arg;
	spinner_tid = (pid_t)syscall(SYS_gettid);
	for (;;)
		loops++;
	return NULL;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* Loops per second over one window; *samples: samples taken in it. */
static double window(int sampling, double *lat, int *nlat, int *samples)
{
	unsigned long long t0 = now_ns(), t;
	unsigned long l0 = loops;

	*samples = 0;
	while ((t = now_ns()) - t0 < WINDOW_NS) {
		struct cpu_sample cs;

		if (!sampling) {
			usleep(1000);
			continue;
		}
		if (!cpu_sample__take(spinner_tid, 100, 0, &cs)) {
			if (*nlat < MAX_SAMPLES)
				lat[(*nlat)++] = (now_ns() - t) / 1e3;
			++*samples;
			cpu_sample__free(&cs);
		}
	}
	return (loops - l0) / ((now_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 10, nlat = 0, total = 0;
	double *off = calloc(rounds, sizeof(double)), *on = calloc(rounds, sizeof(double));
	double *lat = calloc(MAX_SAMPLES, sizeof(double)), ratio, per_sample_us;
	pthread_t th;

	if (rounds < 1 || !off || !on || !lat || pthread_create(&th, NULL, spin, NULL))
		return 2;
	while (!spinner_tid)
		usleep(1000);
	for (int r = 0; r < rounds; r++) {
		int s;

		if (r % 2) {
			on[r] = window(1, lat, &nlat, &s);
			total += s;
			off[r] = window(0, lat, &nlat, &s);
		} else {
			off[r] = window(0, lat, &nlat, &s);
			on[r] = window(1, lat, &nlat, &s);
			total += s;
		}
	}
	if (!nlat) {
		fprintf(stderr, "spin_sample: no sample could be taken\n");
		return 1;
	}
	ratio = median(on, rounds) / median(off, rounds);
	/* CPU the spinner lost over all "on" windows, per sample taken. */
	per_sample_us = (1 - ratio) * rounds * (WINDOW_NS / 1e3) / total;
	printf("samples: %d, latency median %.0f us (open, first sample, close)\n", nlat,
	       median(lat, nlat));
	printf("spinner loops/s: off %.3g, sampling back to back %.3g, ratio %.3f\n",
	       median(off, rounds), median(on, rounds), ratio);
	printf("spinner CPU lost per sample: ~%.0f us\n", per_sample_us > 0 ? per_sample_us : 0);
	return 0;
}
