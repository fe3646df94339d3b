#!/usr/bin/env bats
# A joiner waiting for a stuck thread (join_stuck) and a lock-order deadlock
# (deadlock): every thread involved is flagged with its own frames.

load helpers

setup() {
	require_root
	require_parkwatch
}

@test "the joiner is flagged inside pthread_join, called from join_worker" {
	start_fixture join_stuck
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check '[mine[] | select(has_fn("^join_worker$"))] | length == 1'
	# pthread_join is a tail call into __pthread_clockjoin_ex in glibc.
	jq_check '[mine[] | select(has_fn("^join_worker$"))][0]
		| has_fn("pthread_(clock|timed)?join") and has_fn("^joiner_main$")
		  and .class == "futex" and .wait.timed == false'
}

@test "the thread it joins is flagged too, in stuck_wait" {
	start_fixture join_stuck
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check '[mine[] | select(has_fn("^stuck_wait$"))] | length == 1'
	jq_check '[mine[] | select(has_fn("^stuck_wait$"))][0]
		| has_fn("^_*pthread_cond_wait") and has_fn("^stuck_main$")'
	jq_check 'mine | length == 2 and all(.tid != $pid)'
}

@test "both threads of a lock-order deadlock are flagged in pthread_mutex_lock" {
	start_fixture deadlock
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 2'
	jq_check 'mine | all(has_fn("pthread_mutex_lock|__lll_lock_wait"))'
	jq_check '[mine[] | select(has_fn("^lock_ab_main$"))] | length == 1'
	jq_check '[mine[] | select(has_fn("^lock_ba_main$"))] | length == 1'
	jq_check 'mine | all(.class == "futex" and .wait.timed == false)'
}
