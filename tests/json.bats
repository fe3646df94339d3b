#!/usr/bin/env bats
# The JSON report follows the README's schema parkwatch/1.

load helpers

setup() {
	require_root
	require_parkwatch
	start_fixture condvar_leak 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json -k
	assert_success
}

@test "the output is one JSON document that jq parses" {
	run jq -s 'length' "$REPORT"
	assert_success
	assert_output 1
}

@test "the top level has schema parkwatch/1, threads, groups, stats and exited" {
	jq_check '.schema == "parkwatch/1"'
	jq_check '(.threads | type) == "array" and (.groups | type) == "array"
		and (.stats | type) == "object" and (.exited | type) == "array"'
	jq_check '.mode == "once" and .tracking == "sweep" and .final == true'
	jq_check '.threshold_ns == 0'
	jq_check '.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?Z$")'
}

@test "stats has every counter the README lists" {
	local key
	for key in tasks_seen candidates flagged idle_hidden tracked_threads creator_records \
		threads_map_full wait_slot_shared clone_events_lost; do
		jq_check ".stats | has(\"$key\")"
	done
	jq_check '.stats.flagged == (.threads | length)'
}

@test "every thread has the README's required keys" {
	jq_check '.threads | length >= 3'
	jq_check '.threads | all(
		has("pid") and has("tid") and has("comm") and has("exe") and has("wait")
		and has("parked_ns") and has("since_attach") and has("stack") and has("creator")
		and has("state") and has("class") and has("idle") and has("group")
		and has("duration_source") and has("stack_error"))'
	jq_check '.threads | all(.wait | has("syscall") and has("op") and has("uaddr") and has("timed"))'
	jq_check '[.threads[].stack[]] | length > 0 and all(
		has("function") and has("offset") and has("module") and has("file") and has("line")
		and has("address"))'
}

@test "numbers are integers, addresses are hex strings, flags are booleans" {
	jq_check 'def int: type == "number" and . == floor;
		.threads | all(
			(.pid | int) and (.tid | int) and (.parked_ns | int) and .parked_ns >= 0
			and (.comm | type) == "string" and (.exe | type) == "string"
			and (.since_attach | type) == "boolean" and (.idle | type) == "boolean"
			and (.wait.timed | type) == "boolean"
			and (.wait.uaddr | type == "string" and test("^0x[0-9a-f]+$")))'
	jq_check 'def int: type == "number" and . == floor;
		[.threads[].stack[]] | all(
			(.address | type == "string" and test("^0x[0-9a-f]+$"))
			and (.offset | int)
			and (.line == null or (.line | int)))'
	jq_check 'def int: type == "number" and . == floor;
		.stats | to_entries | all(.value | int)'
	jq_check 'def int: type == "number" and . == floor;
		.groups | all((.id | int) and (.count | int) and (.tids | all(int)))'
}

@test "the futex wait of a condvar worker is described" {
	jq_check 'mine | all(.class == "futex" and .wait.syscall == "futex"
		and (.wait.op | test("^FUTEX_WAIT")) and .wait.timed == false)'
	jq_check 'mine | all(.state == "S" and .comm == "condvar_leak"
		and (.exe | endswith("/fixtures/condvar_leak")))'
}

@test "-k adds kernel stacks with [kernel] frames" {
	jq_check 'mine | all((.kernel_stack | type) == "array" and (.kernel_stack | length) > 0)'
	jq_check '[mine[].kernel_stack[]] | all(.module == "[kernel]"
		and (.address | test("^0xffff[0-9a-f]+$")))'
	jq_check '[mine[].kernel_stack[].function // empty] | any(test("futex"))'
}

@test "kernel_stack is absent without -k" {
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 3 and all(has("kernel_stack") | not)'
}

@test "threshold_ns reflects -t" {
	run_parkwatch --once -t 1500ms -p "$FIXTURE_PID" --json
	assert_success
	jq_check '.threshold_ns == 1500000000'
}

@test "unknown file and line are null, never empty strings or 0" {
	start_fixture syscall_waits
	# --timed adds the main thread, whose _start frame has no line info.
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --timed
	assert_success
	jq_check '[.threads[].stack[]] | any(.file == null)'
	jq_check '[.threads[].stack[]] | all(
		(.file == null or (.file | type == "string" and length > 0))
		and (.line == null or .line > 0)
		and (.function == null or (.function | type == "string" and length > 0))
		and ((.file == null) == (.line == null)))'
}
