// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "threads/cpu_sample.h"

/* x86_64 perf register numbers (asm/perf_regs.h): ax..ip are 0..8, r8..r15
 * 16..23. A sample lists the asked registers in ascending bit order. */
#define REGS_MASK (0x1ffULL | (0xffULL << 16))
#define NREGS 17
#define DATA_PAGES 16           /* ring: room for three samples of 16 KiB */
#define PERIOD_NS 1000000ULL    /* one sample per ms of the thread's CPU time */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int get_u64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	if ((size_t)(end - *p) < sizeof(*v))
		return -EINVAL;
	memcpy(v, *p, sizeof(*v));
	*p += sizeof(*v);
	return 0;
}

int cpu_sample__decode(const void *body, size_t len, uint32_t *tid, struct cpu_sample *out)
{
	const uint8_t *p = body, *end = p + len;
	uint64_t pidtid, abi, r[NREGS], size, dyn = 0;

	if (get_u64(&p, end, &pidtid) || get_u64(&p, end, &abi))
		return -EINVAL;
	if (abi == PERF_SAMPLE_REGS_ABI_NONE) /* a kernel thread, or no user state */
		return -EINVAL;
	for (int i = 0; i < NREGS; i++)
		if (get_u64(&p, end, &r[i]))
			return -EINVAL;
	if (get_u64(&p, end, &size) || size > (size_t)(end - p))
		return -EINVAL;
	/* dyn_size follows the data only when size is not 0: the bytes really
	 * copied (less near the top of the stack). */
	if (size) {
		const uint8_t *q = p + size;

		if (get_u64(&q, end, &dyn))
			return -EINVAL;
		if (dyn > size)
			dyn = size;
	}
	*tid = pidtid >> 32;
	out->regs = (struct pw_regs){
		.ax = r[0], .bx = r[1], .cx = r[2], .dx = r[3], .si = r[4], .di = r[5],
		.bp = r[6], .sp = r[7], .ip = r[8], .r8 = r[9], .r9 = r[10], .r10 = r[11],
		.r11 = r[12], .r12 = r[13], .r13 = r[14], .r14 = r[15], .r15 = r[16],
		.orig_ax = (uint64_t)-1, /* in user space, not in a syscall */
	};
	free(out->stack);
	out->stack = NULL;
	out->stack_len = 0;
	if (dyn) {
		out->stack = malloc(dyn);
		if (!out->stack)
			return -ENOMEM;
		memcpy(out->stack, p, dyn);
		out->stack_len = dyn;
	}
	return 0;
}

/* Copy len bytes at offset off of the ring (it wraps) into dst. */
static void ring_copy(const uint8_t *data, uint64_t mask, uint64_t off, void *dst, size_t len)
{
	size_t first = mask + 1 - (off & mask);

	if (first > len)
		first = len;
	memcpy(dst, data + (off & mask), first);
	memcpy((uint8_t *)dst + first, data, len - first);
}

/* Read the records in the ring; 0 once a wanted sample is in out, -EAGAIN
 * to wait for more, another -errno on failure. */
static int drain(struct perf_event_mmap_page *mp, const uint8_t *data, uint64_t mask,
		 pid_t tid, uint64_t want_r14, uint8_t *buf, struct cpu_sample *out)
{
	uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = mp->data_tail;
	int err = -EAGAIN;

	while (tail < head && err == -EAGAIN) {
		struct perf_event_header h;
		uint32_t got;

		ring_copy(data, mask, tail, &h, sizeof(h));
		if (h.size < sizeof(h) || h.size > mask + 1)
			break;
		if (h.type == PERF_RECORD_SAMPLE) {
			ring_copy(data, mask, tail + sizeof(h), buf, h.size - sizeof(h));
			if (!cpu_sample__decode(buf, h.size - sizeof(h), &got, out) &&
			    got == (uint32_t)tid) {
				out->samples++;
				if (!want_r14 || out->regs.r14 == want_r14)
					err = 0;
				else if (out->samples >= CPU_SAMPLE_MAX_SAMPLES)
					err = -ENOMSG;
			}
		}
		tail += h.size;
	}
	__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
	return err;
}

int cpu_sample__take(pid_t tid, int timeout_ms, uint64_t want_r14, struct cpu_sample *out)
{
	struct perf_event_attr a = {
		.size = sizeof(a),
		.type = PERF_TYPE_SOFTWARE,
		/* The thread's own CPU time: an interrupt on its CPU while it
		 * runs, nothing it can see (no signal, no stop, no wakeup). */
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.sample_period = PERIOD_NS,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER,
		.sample_regs_user = REGS_MASK,
		.sample_stack_user = CPU_SAMPLE_STACK_BYTES,
		.exclude_kernel = 1,
		.exclude_hv = 1,
		.wakeup_events = 1,
	};
	long page = sysconf(_SC_PAGESIZE);
	size_t len = page * (1 + DATA_PAGES);
	uint64_t deadline = monotonic_ms() + timeout_ms;
	uint8_t *buf = NULL;
	void *m = MAP_FAILED;
	int fd, err;

	memset(out, 0, sizeof(*out));
	fd = syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	buf = malloc(page * DATA_PAGES);
	if (m == MAP_FAILED || !buf) {
		err = m == MAP_FAILED ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now;

		err = drain(m, (uint8_t *)m + page, page * DATA_PAGES - 1, tid, want_r14, buf, out);
		if (err != -EAGAIN)
			break;
		now = monotonic_ms();
		if (now >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		/* POLLHUP: the thread exited. */
		if (poll(&p, 1, deadline - now) > 0 && (p.revents & POLLHUP) &&
		    !(p.revents & POLLIN)) {
			err = -ESRCH;
			break;
		}
	}
out:
	free(buf);
	if (m != MAP_FAILED)
		munmap(m, len);
	close(fd);
	if (err)
		cpu_sample__free(out);
	return err;
}

void cpu_sample__free(struct cpu_sample *s)
{
	free(s->stack);
	s->stack = NULL;
	s->stack_len = 0;
}

const char *cpu_sample__strerror(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "no CPU sample of its thread in user space in time (it stopped spinning?)";
	case -ENOMSG:
		return "its thread ran other code (another goroutine) at every sample";
	case -ESRCH:
		return "its thread exited before it could be sampled";
	case -EACCES:
	case -EPERM:
		return "perf_event_open was refused (kernel.perf_event_paranoid, or no CAP_PERFMON)";
	case -ENOENT:
	case -ENODEV:
	case -EOPNOTSUPP:
		return "this kernel has no software task-clock perf event";
	default:
		return "perf_event_open failed";
	}
}
