// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Wait-for graph: cycles (each once, smallest member first), chains, the
 * stack classifier, and the mutex/rwlock word validation. */
#include <stdlib.h>
#include <string.h>
#include "threads/waitgraph.h"
#include "unit.h"

#define N(pid_, tid_, tgt_, obj_) { .pid = pid_, .tid = tid_, .target = tgt_, .object = obj_, .kind = PW_WAIT_MUTEX }

static void test_two_cycle(void)
{
	struct wg_node n[] = { N(1, 20, 10, 0xb), N(1, 10, 20, 0xa) };
	struct pw_deadlock *d;
	struct pw_wait_chain *c;
	int nd, nc;

	CHECK(waitgraph__cycles(n, 2, &d, &nd) == 0);
	CHECK(nd == 1);
	CHECK(d[0].n == 2 && d[0].pid == 1);
	CHECK(d[0].members[0] == 10 && d[0].members[1] == 20);
	CHECK(d[0].objects[0] == 0xa && d[0].objects[1] == 0xb);
	waitgraph__free_deadlocks(d, nd);
	CHECK(waitgraph__chains(n, 2, &c, &nc) == 0);
	CHECK(nc == 0);
	waitgraph__free_chains(c, nc);
}

static void test_three_cycle_with_tail(void)
{
	/* 7 -> 5 -> 9 -> 3 -> 5: cycle {3,5,9} and a tail 7 into it. */
	struct wg_node n[] = { N(2, 7, 5, 0x7), N(2, 5, 9, 0x5), N(2, 9, 3, 0x9), N(2, 3, 5, 0x3) };
	struct pw_deadlock *d;
	struct pw_wait_chain *c;
	int nd, nc;

	CHECK(waitgraph__cycles(n, 4, &d, &nd) == 0);
	CHECK(nd == 1);
	CHECK(d[0].n == 3);
	CHECK(d[0].members[0] == 3 && d[0].members[1] == 5 && d[0].members[2] == 9);
	CHECK(d[0].objects[0] == 0x3 && d[0].objects[1] == 0x5 && d[0].objects[2] == 0x9);
	waitgraph__free_deadlocks(d, nd);
	CHECK(waitgraph__chains(n, 4, &c, &nc) == 0);
	CHECK(nc == 1);
	CHECK(c[0].n == 2 && c[0].members[0] == 7 && c[0].members[1] == 5 && c[0].reaches_deadlock);
	waitgraph__free_chains(c, nc);
}

static void test_chain_and_self(void)
{
	/* A(1) -> B(2) -> C(3) -> condvar; D(4) -> D (relocked a normal mutex);
	 * E(5) -> 99 (not flagged); same tids in another pid do not link. */
	struct wg_node n[] = {
		N(1, 3, 0, 0xc), N(1, 1, 2, 0xa), N(1, 2, 3, 0xb), N(1, 4, 4, 0xd),
		N(1, 5, 99, 0xe), N(8, 1, 2, 0xf),
	};
	struct pw_deadlock *d;
	struct pw_wait_chain *c;
	int nd, nc;

	n[0].kind = PW_WAIT_CONDVAR;
	CHECK(waitgraph__cycles(n, 6, &d, &nd) == 0);
	CHECK(nd == 1 && d[0].n == 1 && d[0].members[0] == 4 && d[0].objects[0] == 0xd);
	waitgraph__free_deadlocks(d, nd);
	CHECK(waitgraph__chains(n, 6, &c, &nc) == 0);
	CHECK(nc == 1);
	CHECK(c[0].pid == 1 && c[0].n == 3);
	CHECK(c[0].members[0] == 1 && c[0].members[1] == 2 && c[0].members[2] == 3);
	CHECK(c[0].objects[0] == 0xa && c[0].objects[1] == 0xb);
	CHECK(c[0].end.kind == PW_WAIT_CONDVAR && c[0].end.object == 0xc && !c[0].end.target_tid);
	CHECK(!c[0].reaches_deadlock);
	waitgraph__free_chains(c, nc);
}

static void test_many_cycles_sorted(void)
{
	/* Two cycles given in reverse order, and an empty graph. */
	struct wg_node n[] = { N(1, 40, 30, 1), N(1, 30, 40, 2), N(1, 20, 10, 3), N(1, 10, 20, 4) };
	struct pw_deadlock *d;
	int nd;

	CHECK(waitgraph__cycles(n, 4, &d, &nd) == 0);
	CHECK(nd == 2 && d[0].members[0] == 10 && d[1].members[0] == 30);
	waitgraph__free_deadlocks(d, nd);
	CHECK(waitgraph__cycles(NULL, 0, &d, &nd) == 0 && nd == 0);
	waitgraph__free_deadlocks(d, nd);
}

static void test_kinds(void)
{
	CHECK(waitgraph__kind_from_function("__GI___lll_lock_wait") == PW_WAIT_MUTEX);
	CHECK(waitgraph__kind_from_function("__lll_lock_wait") == PW_WAIT_MUTEX);
	CHECK(waitgraph__kind_from_function("___pthread_mutex_lock") == PW_WAIT_MUTEX);
	CHECK(waitgraph__kind_from_function("pthread_cond_wait") == PW_WAIT_CONDVAR);
	CHECK(waitgraph__kind_from_function("___pthread_cond_timedwait64") == PW_WAIT_CONDVAR);
	CHECK(waitgraph__kind_from_function("__pthread_clockjoin_ex") == PW_WAIT_JOIN);
	CHECK(waitgraph__kind_from_function("pthread_join") == PW_WAIT_JOIN);
	CHECK(waitgraph__kind_from_function("__pthread_rwlock_wrlock") == PW_WAIT_RWLOCK);
	CHECK(waitgraph__kind_from_function("__new_sem_wait_slow64") == PW_WAIT_SEMAPHORE);
	CHECK(waitgraph__kind_from_function("sem_wait") == PW_WAIT_SEMAPHORE);
	CHECK(waitgraph__kind_from_function("worker_main") == PW_WAIT_NONE);
	CHECK(waitgraph__kind_from_function(NULL) == PW_WAIT_NONE);
	CHECK(!strcmp(waitgraph__kind_name(PW_WAIT_JOIN), "join"));
}

/* Live threads of the fake process: 100, 101, 102. */
static bool live(uint32_t tid, void *ctx)
{
	return tid >= 100 && tid <= 102;
}

static void test_mutex_words(void)
{
	const char *why;
	/* lock, count, owner, nusers, kind */
	int32_t normal[5] = { 2, 0, 101, 1, 0 };
	int32_t recursive[5] = { 2, 2, 101, 1, 1 };
	int32_t errorcheck[5] = { 2, 0, 101, 1, 2 };
	int32_t pi[5] = { (int32_t)(0x80000000u | 102), 1, 102, 1, 32 };
	int32_t garbage_owner[5] = { 2, 0, 0x3ffffff0, 1, 0 };
	int32_t foreign_owner[5] = { 2, 0, 555, 1, 0 };
	int32_t bad_kind[5] = { 2, 0, 101, 1, 0x4000 };
	int32_t unlocked[5] = { 0, 0, 101, 1, 0 };
	int32_t no_users[5] = { 2, 0, 101, 0, 0 };
	int32_t rec_no_count[5] = { 2, 0, 101, 1, 1 };
	int32_t pi_mismatch[5] = { (int32_t)(0x80000000u | 102), 1, 101, 1, 32 };

	CHECK(waitgraph__mutex_owner(normal, 100, false, live, NULL, &why) == 101 && !why);
	CHECK(waitgraph__mutex_owner(recursive, 100, false, live, NULL, &why) == 101);
	CHECK(waitgraph__mutex_owner(errorcheck, 100, false, live, NULL, &why) == 101);
	CHECK(waitgraph__mutex_owner(pi, 100, true, live, NULL, &why) == 102);
	/* A PI mutex waited on with FUTEX_WAIT, or a plain one with LOCK_PI: no. */
	CHECK(waitgraph__mutex_owner(pi, 100, false, live, NULL, &why) == 0);
	CHECK(waitgraph__mutex_owner(normal, 100, true, live, NULL, &why) == 0);
	CHECK(waitgraph__mutex_owner(garbage_owner, 100, false, live, NULL, &why) == 0 && why);
	CHECK(waitgraph__mutex_owner(foreign_owner, 100, false, live, NULL, &why) == 0 && why);
	CHECK(waitgraph__mutex_owner(bad_kind, 100, false, live, NULL, &why) == 0);
	CHECK(waitgraph__mutex_owner(unlocked, 100, false, live, NULL, &why) == 0);
	CHECK(waitgraph__mutex_owner(no_users, 100, false, live, NULL, &why) == 0);
	CHECK(waitgraph__mutex_owner(rec_no_count, 100, false, live, NULL, &why) == 0);
	CHECK(waitgraph__mutex_owner(pi_mismatch, 100, true, live, NULL, &why) == 0);
	/* Relocking a normal mutex: a self edge; a recursive/errorcheck one
	 * never blocks its owner, so that word is not believed. */
	CHECK(waitgraph__mutex_owner(normal, 101, false, live, NULL, &why) == 101);
	CHECK(waitgraph__mutex_owner(recursive, 101, false, live, NULL, &why) == 0);
	CHECK(waitgraph__mutex_owner(errorcheck, 101, false, live, NULL, &why) == 0);
}

static void test_rwlock_words(void)
{
	uint32_t rw[14] = { 0 };
	const char *why;
	bool valid;

	rw[0] = 2 | 1; /* WRLOCKED | WRPHASE */
	rw[6] = 101;   /* __cur_writer */
	CHECK(waitgraph__rwlock_writer(rw, 100, live, NULL, &valid, &why) == 101 && valid);
	rw[6] = 555;
	CHECK(waitgraph__rwlock_writer(rw, 100, live, NULL, &valid, &why) == 0 && valid && why);
	rw[6] = 0;
	rw[0] = 3 << 3; /* readers hold it */
	CHECK(waitgraph__rwlock_writer(rw, 100, live, NULL, &valid, &why) == 0 && valid && why);
	rw[4] = 7; /* __pad3 must be zero */
	CHECK(waitgraph__rwlock_writer(rw, 100, live, NULL, &valid, &why) == 0 && !valid);
	rw[4] = 0;
	rw[12] = 9; /* __flags beyond the known preferences */
	CHECK(waitgraph__rwlock_writer(rw, 100, live, NULL, &valid, &why) == 0 && !valid);
}

int main(void)
{
	test_two_cycle();
	test_three_cycle_with_tail();
	test_chain_and_self();
	test_many_cycles_sorted();
	test_kinds();
	test_mutex_words();
	test_rwlock_words();
	return unit_done("test_waitgraph");
}
