#!/usr/bin/env bats
# The wait-for graph: who each parked thread waits for (read from the target's
# memory, validated), deadlock cycles and wait chains, in JSON and text.

load helpers

setup() {
	require_root
	require_parkwatch
}

# tid_of(re): the tid of the one flagged thread with a frame matching re.
WG_DEFS='def tid_of($re): [mine[] | select(has_fn($re)) | .tid] | if length == 1 then .[0] else error("not one thread: \($re)") end;
def edge_of($re): [mine[] | select(has_fn($re)) | .waits_for];
def my_deadlocks: [.deadlocks[] | select(.pid == $pid)];
def my_chains: [.chains[] | select(.pid == $pid)];'

wg_check() {
	jq_check "$WG_DEFS $1"
}

json_sweep() {
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
}

text_sweep() {
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --no-color
	assert_success
}

@test "a two-thread lock-order deadlock is one cycle with both mutexes" {
	start_fixture deadlock
	json_sweep
	wg_check 'mine | length == 2'
	wg_check 'mine | all(.waits_for.kind == "mutex")'
	wg_check 'edge_of("^lock_ab_main$")[0].target_tid == tid_of("^lock_ba_main$")
		and edge_of("^lock_ba_main$")[0].target_tid == tid_of("^lock_ab_main$")'
	wg_check 'my_deadlocks | length == 1'
	wg_check 'my_deadlocks[0].members == ([mine[].tid] | sort)'
	# objects[i] is what members[i] waits on: the futex word it sleeps on.
	wg_check '. as $r | my_deadlocks[0] as $d | [range(0; 2) as $i
		| ($r | mine[] | select(.tid == $d.members[$i]) | .wait.uaddr) == $d.objects[$i]] | all'
	wg_check 'my_deadlocks[0].objects | unique | length == 2'
	wg_check 'my_chains | length == 0'
}

@test "the text report opens with the DEADLOCK section and a waits-for line per thread" {
	start_fixture deadlock
	text_sweep
	assert_line --regexp '^DEADLOCK 1 in PID [0-9]+: 2 threads wait for each other: [0-9]+ -> [0-9]+ -> [0-9]+$'
	assert_line --regexp '^    waits for mutex 0x[0-9a-f]+ held by thread [0-9]+ \(deadlock\)$'
	assert_line --regexp '^    in DEADLOCK 1'
	# Every member's stack is in the DEADLOCK section, before the groups.
	local dl pid_line ab
	dl=$(grep -n '^DEADLOCK 1' <<<"$output" | cut -d: -f1)
	pid_line=$(grep -n '^PID ' <<<"$output" | head -1 | cut -d: -f1)
	ab=$(grep -n 'lock_ab_main' <<<"$output" | head -1 | cut -d: -f1)
	[ "$dl" -lt "$ab" ] && [ "$ab" -lt "$pid_line" ]
}

@test "a three-thread cycle is reported once, smallest member first" {
	start_fixture deadlock3
	json_sweep
	wg_check 'mine | length == 3 and all(.waits_for.kind == "mutex")'
	wg_check 'my_deadlocks | length == 1'
	wg_check 'my_deadlocks[0].members | length == 3'
	wg_check 'my_deadlocks[0].members[0] == ([mine[].tid] | min)'
	wg_check '. as $r | my_deadlocks[0] as $d | [range(0; 3) as $i
		| ($r | mine[] | select(.tid == $d.members[$i]) | .waits_for.target_tid)
		  == $d.members[($i + 1) % 3]] | all'
	wg_check 'my_deadlocks[0].objects | unique | length == 3'
	wg_check 'edge_of("^lock_01_main$")[0].target_tid == tid_of("^lock_12_main$")
		and edge_of("^lock_12_main$")[0].target_tid == tid_of("^lock_20_main$")
		and edge_of("^lock_20_main$")[0].target_tid == tid_of("^lock_01_main$")'
}

@test "waiters on a held mutex point at the holder, who waits on a condvar nobody owns" {
	start_fixture mutex_holder 3
	json_sweep
	wg_check '[mine[] | select(has_fn("^waiter_lock$"))] | length == 3'
	wg_check 'tid_of("^holder_wait$") as $h | edge_of("^waiter_lock$")
		| all(.kind == "mutex" and .target_tid == $h and .target_comm == "mutex_holder")'
	wg_check 'edge_of("^waiter_lock$") | map(.object) | unique | length == 1'
	wg_check 'edge_of("^holder_wait$")[0] | .kind == "condvar" and .target_tid == null
		and (.object | test("^0x[0-9a-f]+$"))
		and .note == "nobody is recorded as able to wake this"'
	wg_check 'my_deadlocks | length == 0'
	wg_check 'tid_of("^holder_wait$") as $h | my_chains | length == 3
		and all(.members[1] == $h and .end.kind == "condvar" and .end.target_tid == null)'
	text_sweep
	local h
	h=$(jq_value "$WG_DEFS tid_of(\"^holder_wait$\")")
	assert_line --regexp "^    waits for mutex 0x[0-9a-f]+ held by thread $h \\(mutex_holder\\)\$"
	assert_line --regexp '^    waits for condition variable 0x[0-9a-f]+: nobody is recorded as able to wake this$'
	assert_line --regexp "^    chain: [0-9]+ -> $h, which waits for condition variable 0x[0-9a-f]+: nobody"
	refute_line --partial DEADLOCK
}

@test "a join chain A -> B -> C ends on C's condition variable" {
	start_fixture join_chain
	json_sweep
	wg_check 'edge_of("^a_main$")[0] | .kind == "join"'
	wg_check 'edge_of("^a_main$")[0].target_tid == tid_of("^b_main$")
		and edge_of("^b_main$")[0].target_tid == tid_of("^c_main$")'
	wg_check 'edge_of("^b_main$")[0].kind == "join" and edge_of("^c_main$")[0].kind == "condvar"'
	wg_check 'edge_of("^c_main$")[0].target_tid == null'
	wg_check 'my_deadlocks | length == 0'
	wg_check 'my_chains | length == 1'
	wg_check '[tid_of("^a_main$"), tid_of("^b_main$"), tid_of("^c_main$")] as $abc
		| my_chains[0] | .members == $abc and .end.kind == "condvar" and .reaches_deadlock == false'
	text_sweep
	local b a c
	a=$(jq_value "$WG_DEFS tid_of(\"^a_main$\")")
	b=$(jq_value "$WG_DEFS tid_of(\"^b_main$\")")
	c=$(jq_value "$WG_DEFS tid_of(\"^c_main$\")")
	assert_line "    waits for thread $b (join_chain) to exit (pthread_join)"
	assert_line --regexp "^    chain: $a -> $b -> $c, which waits for condition variable 0x[0-9a-f]+: nobody is recorded as able to wake this\$"
}

@test "a PI mutex's waiter points at the owner named by the futex word" {
	start_fixture pi_mutex
	json_sweep
	wg_check 'edge_of("^pi_waiter_main$")[0] | .kind == "mutex"'
	wg_check '[mine[] | select(has_fn("^pi_waiter_main$"))][0].wait.op | test("FUTEX_LOCK_PI")'
	wg_check 'edge_of("^pi_waiter_main$")[0].target_tid == tid_of("^pi_holder_wait$")'
	wg_check 'edge_of("^pi_waiter_main$")[0].object == [mine[] | select(has_fn("^pi_waiter_main$"))][0].wait.uaddr'
	wg_check 'edge_of("^pi_holder_wait$")[0].kind == "condvar"'
	wg_check '(my_chains | length == 1) and my_deadlocks == []'
}

@test "a recursive mutex held twice: the waiter points at the owner" {
	start_fixture recursive_mutex
	json_sweep
	wg_check 'edge_of("^rec_waiter_main$")[0] | .kind == "mutex"'
	wg_check 'edge_of("^rec_waiter_main$")[0].target_tid == tid_of("^rec_holder_wait$")'
	wg_check 'edge_of("^rec_holder_wait$")[0].kind == "condvar"'
}

@test "words that only look like a mutex draw no edge" {
	start_fixture fake_mutex
	json_sweep
	wg_check 'mine | length == 3'
	# The stack claims __lll_lock_wait, the words do not validate.
	wg_check 'mine | all(has_fn("__lll_lock_wait"))'
	wg_check 'mine | all(.waits_for.kind == "unknown" and .waits_for.target_tid == null)'
	wg_check 'edge_of("^fake_garbage_main$")[0].note | test("not a live thread")'
	wg_check 'edge_of("^fake_foreign_main$")[0].note | test("not a live thread")'
	wg_check 'edge_of("^fake_kind_main$")[0].note | test("does not validate")'
	wg_check 'my_deadlocks == [] and my_chains == []'
}

@test "an rwlock reader points at the writer; a semaphore waiter has nobody" {
	start_fixture rwlock_sem
	json_sweep
	wg_check 'tid_of("^writer_hold$") as $w | edge_of("^reader_lock$")
		| length == 1 and all(.kind == "rwlock" and .target_tid == $w)'
	wg_check 'edge_of("^sem_block$")[0] | .kind == "semaphore" and .target_tid == null
		and .note == "nobody is recorded as able to wake this"'
	wg_check 'tid_of("^writer_hold$") as $w | my_chains | any(.members[1] == $w and .end.kind == "condvar")'
	wg_check 'my_deadlocks | length == 0'
}
