#!/usr/bin/env bats
# The JSON report follows schema parkwatch/1, written down as a JSON Schema in
# tools/parkwatch.schema.json (fields explained in tools/doc/output.md).
# helpers.bash validates every report the suite makes parkwatch write with
# tools/validate-json.py; the last tests here show that validation can fail.

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

@test "stats has every counter the schema file lists" {
	local key keys
	keys=$(jq -r '."$defs".stats.required[]' "$PW_SCHEMA")
	[ "$(wc -l <<<"$keys")" -ge 11 ] || fail "no stats counters read from $PW_SCHEMA"
	for key in $keys; do
		jq_check ".stats | has(\"$key\")"
	done
	jq_check '.stats.flagged == (.threads | length)'
}

@test "every thread has the schema file's required keys" {
	local key
	jq_check '.threads | length >= 3'
	for key in $(jq -r '."$defs".thread.required[]' "$PW_SCHEMA"); do
		jq_check ".threads | all(has(\"$key\"))"
	done
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

# --- the schema check itself ----------------------------------------------------

@test "the validator accepts the report and fails when a required key is removed" {
	run "$PW_VALIDATE" "$REPORT"
	assert_success
	jq -c 'del(.threads[0].tid)' "$REPORT" >"$BATS_TEST_TMPDIR/no-tid.json"
	run "$PW_VALIDATE" "$BATS_TEST_TMPDIR/no-tid.json"
	assert_failure 1
	assert_output --partial "no-tid.json: report 1 (line 1): \$.threads[0]: 'tid' is a required property"
	jq -c 'del(.stats)' "$REPORT" >"$BATS_TEST_TMPDIR/no-stats.json"
	run "$PW_VALIDATE" "$BATS_TEST_TMPDIR/no-stats.json"
	assert_failure 1
	assert_output --partial "'stats' is a required property"
	# and the suite's helper fails the test with that message
	run assert_valid_json "$BATS_TEST_TMPDIR/no-tid.json"
	assert_failure
	assert_output --partial "does not follow tools/parkwatch.schema.json"
	assert_output --partial "'tid' is a required property"
}

@test "the validator fails on a wrong type, an unknown key or value, a bad address" {
	local bad=$BATS_TEST_TMPDIR/bad.json
	jq -c '.threads[0].pid = "1234"' "$REPORT" >"$bad"
	run "$PW_VALIDATE" "$bad"
	assert_failure 1
	assert_output --partial "\$.threads[0].pid: '1234' is not of type 'integer'"
	jq -c '.stats.flagged = 1.5' "$REPORT" >"$bad"
	run "$PW_VALIDATE" - <"$bad"
	assert_failure 1
	assert_output --partial "<stdin>: report 1 (line 1): \$.stats.flagged: 1.5 is not of type 'integer'"
	jq -c '.threads[0].wait.timed = "no"' "$REPORT" >"$bad"
	run "$PW_VALIDATE" "$bad"
	assert_failure 1
	assert_output --partial "\$.threads[0].wait.timed: 'no' is not of type 'boolean'"
	jq -c '.threads[0].creator = {"tid": 1}' "$REPORT" >"$bad"
	run "$PW_VALIDATE" "$bad"
	assert_failure 1
	assert_output --partial "\$.threads[0].creator: 'pid' is a required property"
	jq -c '.threads[0].surprise = 1' "$REPORT" >"$bad"
	run "$PW_VALIDATE" "$bad"
	assert_failure 1
	assert_output --partial "('surprise' was unexpected)"
	jq -c '.mode = "daemon"' "$REPORT" >"$bad"
	run "$PW_VALIDATE" "$bad"
	assert_failure 1
	assert_output --partial "\$.mode: 'daemon' is not one of"
	jq -c '.threads[0].stack[0].address = "7f00"' "$REPORT" >"$bad"
	run "$PW_VALIDATE" "$bad"
	assert_failure 1
	assert_output --partial "\$.threads[0].stack[0].address: '7f00' does not match"
}

@test "the validator checks each report of a file, and a report cut short" {
	local two=$BATS_TEST_TMPDIR/two.json
	cat "$REPORT" "$REPORT" >"$two"
	run "$PW_VALIDATE" -v "$two"
	assert_success
	assert_output --partial "2 reports valid"
	{ cat "$REPORT"; jq -c 'del(.final)' "$REPORT"; } >"$two"
	run "$PW_VALIDATE" "$two"
	assert_failure 1
	assert_output --partial "report 2 (line 2): \$: 'final' is a required property"
	# a report still being written: a failure, unless --allow-partial
	{ cat "$REPORT"; head -c 100 "$REPORT"; } >"$two"
	run "$PW_VALIDATE" "$two"
	assert_failure 1
	assert_output --partial "report 2 (line 2): not JSON"
	run "$PW_VALIDATE" --allow-partial "$two"
	assert_success
	# nothing at all, or not JSON
	run "$PW_VALIDATE" /dev/null
	assert_failure 1
	assert_output --partial "no JSON report"
	run "$PW_VALIDATE" - <<<"parkwatch: watching"
	assert_failure 1
	assert_output --partial "not JSON"
	run "$PW_VALIDATE" "$BATS_TEST_TMPDIR/missing.json"
	assert_failure 2
}
