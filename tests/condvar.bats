#!/usr/bin/env bats
# Workers waiting on a condition variable nobody signals (condvar_leak).

load helpers

setup() {
	require_root
	require_parkwatch
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
}

@test "exactly the three workers are flagged, not the main thread" {
	jq_check 'mine | length == 3'
	jq_check 'mine | all(.tid != $pid)'
	jq_check 'mine | map(.tid) | unique | length == 3'
}

@test "each worker's stack runs from start_thread through worker_main and worker_wait to pthread_cond_wait" {
	jq_check 'mine | length > 0'
	for fn in worker_wait worker_main start_thread; do
		jq_check "mine | all(has_fn(\"^$fn\$\"))"
	done
	# glibc's aliases (__pthread_cond_wait, versioned names) are the same function.
	jq_check 'mine | all(has_fn("^_*pthread_cond_wait(@.*)?$"))'
}

@test "the stack frames are in the right order, innermost first" {
	jq_check 'mine | length > 0'
	jq_check 'mine | all(fns as $f
		| ($f | index("worker_wait")) as $w
		| ($f | index("worker_main")) as $m
		| ($f | index("start_thread")) as $s
		| $w != null and $m != null and $s != null and $w < $m and $m < $s)'
}

@test "worker frames carry condvar_leak.c and a line number" {
	jq_check 'mine | length > 0'
	jq_check '[mine[].stack[] | select(.function == "worker_wait" or .function == "worker_main")]
		| length == 6
		and all((.file // "" | split("/") | last) == "condvar_leak.c" and (.line // 0) > 0)
		and all(.module == "condvar_leak")'
}

@test "the three workers form one group of count 3" {
	jq_check '[.groups[] | select(.pid == $pid)] | length == 1'
	jq_check '[.groups[] | select(.pid == $pid)][0] as $g
		| $g.count == 3
		and ($g.tids | sort) == (mine | map(.tid) | sort)
		and (mine | all(.group == $g.id))'
}

@test "creator is null for threads created before parkwatch started" {
	jq_check 'mine | length == 3 and all(has("creator") and .creator == null)'
}

@test "the text report says 3 threads" {
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID"
	assert_success
	assert_output --partial "3 threads"
	assert_output --partial worker_wait
	# stdout is not a tty: no colour escapes.
	refute_output --partial $'\e['
}
