#!/usr/bin/env bats
# parkwatch observes without waking: no parked thread gets a voluntary context
# switch from being swept and unwound (ptrace-based unwinders do wake them).

load helpers

setup() {
	require_root
	require_parkwatch
}

# switches PID: "tid nvcsw" for every thread of PID, sorted.
switches() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(awk '/^voluntary_ctxt_switches:/ { print $2 }' "$t/status")"
	done | sort -n
}

# states PID: "tid state" for every thread of PID, sorted.
states() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(awk '{ sub(/.*\) /, ""); print $1 }' "$t/stat")"
	done | sort -n
}

@test "two sweeps with kernel stacks do not wake the parked threads" {
	start_fixture condvar_leak 3
	local before after
	before=$(switches "$FIXTURE_PID")
	[ "$(echo "$before" | wc -l)" -eq 4 ] || fail "expected 4 threads: $before"

	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -k -p "$FIXTURE_PID"
	assert_success
	# It really did look: stacks were unwound and reported.
	assert_output --partial worker_wait
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -k -p "$FIXTURE_PID"
	assert_success
	assert_output --partial worker_wait

	after=$(switches "$FIXTURE_PID")
	assert_equal "$after" "$before"
}

@test "the parked threads are still asleep after being swept" {
	start_fixture condvar_leak 3
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -k -p "$FIXTURE_PID"
	assert_success
	local s
	s=$(states "$FIXTURE_PID")
	[ "$(echo "$s" | awk '$2 == "S"' | wc -l)" -eq 4 ] || fail "not all asleep: $s"
}
