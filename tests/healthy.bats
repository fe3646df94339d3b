#!/usr/bin/env bats
# What must not be flagged (a busy pool, timed waits) and indefinite waits in
# syscalls other than futex (syscall_waits).

load helpers

setup() {
	require_root
	require_parkwatch
}

@test "a busy pool of timed waits is not flagged, even at threshold 0" {
	start_fixture busy_pool 4
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail
	assert_success
	jq_check '.threads == []'
	jq_check '.stats.flagged == 0'
	# The sweep did look at the pool (main + 4 workers), it just found nothing.
	jq_check '.stats.tasks_seen >= 5'
}

@test "a busy pool gives exit 0 with --fail in text mode too" {
	start_fixture busy_pool 4
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --fail
	assert_success
	refute_output --partial pool_worker_main
}

@test "read on a pipe, epoll_wait on an empty set and pause with no timeout are flagged as syscall waits" {
	start_fixture syscall_waits
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	local entry
	for entry in read:reader_main epoll_wait:epoll_main pause:pause_main; do
		local sc=${entry%%:*} fn=${entry#*:}
		jq_check "[mine[] | select(.wait.syscall // \"\" | test(\"^($sc)\$\"))] | length == 1"
		jq_check "[mine[] | select(.wait.syscall // \"\" | test(\"^($sc)\$\"))][0]
			| .class == \"syscall\" and .verdict == \"parked\" and .wait.timed == false and has_fn(\"^$fn\$\")"
	done
}

@test "accept on a listening socket is an idle accept loop: counted, listed only with --show-idle" {
	start_fixture syscall_waits
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | all(has_fn("^accept_main$") | not)'
	jq_check '.idle_summary[] | select(.pid == $pid) | .reasons == [{"reason": "accept loop", "count": 1}]'
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --show-idle
	assert_success
	jq_check '[mine[] | select(has_fn("^accept_main$"))] | length == 1'
	jq_check '[mine[] | select(has_fn("^accept_main$"))][0]
		| .verdict == "idle" and .idle_reason == "accept loop" and (.wait.syscall | test("^accept4?$"))'
}

@test "poll with a timeout is not flagged by default" {
	start_fixture syscall_waits
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 3'
	jq_check 'mine | all(.wait.syscall != "poll" and (has_fn("^poll_main$") | not))'
	jq_check 'mine | all(.wait.timed == false)'
}

@test "poll with a timeout is flagged with --timed, marked timed" {
	start_fixture syscall_waits
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --timed
	assert_success
	jq_check '[mine[] | select(has_fn("^poll_main$"))] | length == 1'
	jq_check '[mine[] | select(has_fn("^poll_main$"))][0]
		| .wait.syscall == "poll" and .wait.timed == true and .class == "syscall"'
}

@test "with --fail, flagged syscall waits give exit 1" {
	start_fixture syscall_waits
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --fail
	assert_failure 1
	jq_check 'mine | length == 3'
}

@test "a shell waiting in wait4 for a live child is idle; the child is judged on its own" {
	local out=$BATS_TEST_TMPDIR/shell.out
	# The shell runs a child that parks for good, and waits for it.
	start_bg "$out" /dev/null bash -c '"$0" 1; exit 0' "$FIXTURES/condvar_leak"
	local shell=$BG_PID child i
	wait_for_line "$out" '^READY [0-9]+$' 20
	child=$(awk '/^READY/ { print $2 }' "$out")
	PW_STARTED_PIDS+=("$child")
	for ((i = 0; i < 200; i++)); do # the shell may still be on its way into wait4
		[[ $(cut -d' ' -f1 /proc/"$shell"/syscall) == 61 ]] && break
		sleep 0.05
	done
	[[ $(cut -d' ' -f1 /proc/"$shell"/syscall) == 61 ]]
	FIXTURE_PID=$shell
	run_parkwatch --once -t 0 -p "$shell" -p "$child" --json
	assert_success
	jq_check 'mine | length == 0'
	jq_check '.idle_summary[] | select(.pid == $pid) | .reasons == [{"reason": "waiting for a child", "count": 1}]'
	FIXTURE_PID=$child
	jq_check 'mine | length == 1 and .[0].verdict == "parked"'
}
