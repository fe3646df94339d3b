// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Decoding a blocked thread's syscall registers into a wait description. */
#include <string.h>
#include "parkwatch.h"
#include "threads/syscalls.h"
#include "unit.h"

static struct pw_wait_desc decode(long nr, struct pw_regs r)
{
	struct pw_wait_desc d;

	r.orig_ax = nr;
	describe_wait(nr, &r, &d);
	return d;
}

int main(void)
{
	struct pw_wait_desc d;

	/* pthread_cond_wait: FUTEX_WAIT_BITSET|PRIVATE|CLOCK_REALTIME, no timeout */
	d = decode(202, (struct pw_regs){ .di = 0x1000, .si = 9 | 128 | 256, .dx = 7 });
	CHECK(d.class == PW_CLASS_FUTEX);
	CHECK(!strcmp(d.syscall, "futex"));
	CHECK(!strcmp(d.op, "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"));
	CHECK(d.uaddr == 0x1000 && d.value == 7 && !d.timed);
	/* same with a timeout pointer in r10 */
	d = decode(202, (struct pw_regs){ .di = 0x1000, .si = 9 | 128, .r10 = 0x7ffd0000 });
	CHECK(d.timed);
	/* pthread_join waits with plain FUTEX_WAIT (shared) */
	d = decode(202, (struct pw_regs){ .si = 0 });
	CHECK(!strcmp(d.op, "FUTEX_WAIT") && !d.timed);
	/* a wake does not park */
	d = decode(202, (struct pw_regs){ .si = 1 | 128 });
	CHECK(d.class == PW_CLASS_NONE);
	CHECK(!strcmp(d.op, "FUTEX_WAKE_PRIVATE"));
	/* PI lock, requeue-PI wait */
	CHECK(decode(202, (struct pw_regs){ .si = 6 }).class == PW_CLASS_FUTEX);
	CHECK(decode(202, (struct pw_regs){ .si = 11 }).class == PW_CLASS_FUTEX);
	/* unknown futex op number is named, not crashed on */
	d = decode(202, (struct pw_regs){ .si = 100 });
	CHECK(!strncmp(d.op, "FUTEX_OP_", 9) && d.class == PW_CLASS_NONE);
	/* futex_waitv: timeout is the 4th argument */
	CHECK(decode(449, (struct pw_regs){ .r10 = 0 }).class == PW_CLASS_FUTEX);
	CHECK(!decode(449, (struct pw_regs){ .r10 = 0 }).timed);
	CHECK(decode(449, (struct pw_regs){ .r10 = 1 }).timed);
	/* futex_wait(2): timeout is the 5th argument */
	CHECK(!decode(455, (struct pw_regs){ .r10 = 1 }).timed);
	CHECK(decode(455, (struct pw_regs){ .r8 = 1 }).timed);

	/* read, accept, pause: no timeout at all */
	d = decode(0, (struct pw_regs){});
	CHECK(d.class == PW_CLASS_SYSCALL && !strcmp(d.syscall, "read") && !d.timed);
	CHECK(!strcmp(decode(43, (struct pw_regs){}).syscall, "accept"));
	CHECK(!strcmp(decode(34, (struct pw_regs){}).syscall, "pause"));
	/* poll and epoll_wait: negative ms = forever */
	CHECK(!decode(7, (struct pw_regs){ .dx = (unsigned long)-1 }).timed);
	CHECK(decode(7, (struct pw_regs){ .dx = 100000 }).timed);
	CHECK(!decode(232, (struct pw_regs){ .r10 = 0xffffffff }).timed);
	CHECK(decode(232, (struct pw_regs){ .r10 = 0 }).timed); /* 0 ms: returns at once */
	/* select/ppoll: NULL timeout pointer = forever */
	CHECK(!decode(23, (struct pw_regs){ .r8 = 0 }).timed);
	CHECK(decode(271, (struct pw_regs){ .dx = 0x7000 }).timed);
	/* sleeps are always timed */
	CHECK(decode(35, (struct pw_regs){}).timed);
	CHECK(decode(230, (struct pw_regs){}).timed);
	/* a syscall parkwatch does not know is not a wait */
	d = decode(39 /* getpid */, (struct pw_regs){});
	CHECK(d.class == PW_CLASS_NONE && d.syscall != NULL);
	CHECK(syscall_name(39) == NULL);
	CHECK(!strcmp(syscall_name(288), "accept4"));
	return unit_done("test_syscalls");
}
