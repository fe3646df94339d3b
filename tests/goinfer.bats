#!/usr/bin/env bats
# Layout inference (user/go/infer.c): with the built-in tables of Go 1.26
# and 1.27 switched off (PARKWATCH_TEST_NO_LAYOUT_TABLE), as for a release
# parkwatch has never seen, the layout inferred from the live process
# gives the same goroutine list as the tables do: goids, states, wait
# reasons, stacks, creation sites and wait objects. Refusals say why.
# Binaries: the Go binary matrix (Makefile, tools/go-matrix-build.sh),
# builds without DWARF (-s -w, build info removed): tables or nothing.

load helpers

setup() {
	require_root
	require_parkwatch
}

# The goroutine list as the report gives it, sorted by goid.
LIST='[.goroutines[] | {goid, status, wait_reason, class, stack: [.stack[].function], created_by: .created_by.function, created_line: .created_by.line, waits_for}] | sort_by(.goid)'

# same_as_tables BUILD: one sweep with the tables, one with 1.26 and 1.27
# switched off; same goroutines, and the second says "inferred".
same_as_tables() {
	local bin=$1
	start_fixture "go/matrix/$bin" leak 3
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	local tables=$output
	[[ "$(jq -r '.go_processes[0].layout' <<<"$tables")" == "table go1.2"[67] ]]
	PARKWATCH_TEST_NO_LAYOUT_TABLE=1.26,1.27 PARKWATCH_TEST_INFER_LOG=1 \
		run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	local inferred=$output
	echo "$stderr" | grep 'infer:' | head -20
	jq -c '.go_processes' <<<"$inferred"
	[[ "$(jq -r '.go_processes[0].layout' <<<"$inferred")" == "inferred ("*"checked on "*" goroutines)" ]]
	[ "$(jq '.go_processes[0].error' <<<"$inferred")" = null ]
	# wrong candidates were tried and rejected, with a reason each
	[ "$(grep -c 'infer: table go1\.[0-9-]*.*: g 0x' <<<"$stderr")" -gt 0 ]
	# holder in chan receive + 3 waiters on the mutex: not vacuous
	[ "$(jq "$LIST | length" <<<"$tables")" -eq 4 ]
	[ "$(jq -r '[.goroutines[] | select(.wait_reason == "chan receive")][0].waits_for.kind' <<<"$inferred")" = "chan receive" ]
	diff -u <(jq "$LIST" <<<"$tables") <(jq "$LIST" <<<"$inferred")
	# and the offsets themselves are the DWARF's of the same toolchain's
	# default build
	local fields="goid atomicstatus waitreason waitsince sched_sp sched_pc sched_bp gopc startpc parent_goid stack_lo stack_hi m m_curg m_procid"
	local chosen dwarf f
	chosen=$(grep -o 'infer: chosen: .*' <<<"$stderr")
	dwarf=$("$PARKWATCH_BUILD/unit/test_goelf" --layout "$FIXTURES/go/matrix/${bin%-*}-default" | sed -n 2p)
	for f in $fields; do
		[ "$(grep -oE "(^| )$f [0-9-]+" <<<"${chosen#infer: chosen: }" | awk '{print $2}')" = \
		  "$(grep -oE "(^| )$f [0-9-]+" <<<"$dwarf" | awk '{print $2}')" ] || { echo "$f differs: $chosen / $dwarf"; return 1; }
	done
	# the text report labels it
	PARKWATCH_TEST_NO_LAYOUT_TABLE=1.26,1.27 run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID"
	assert_output --regexp "PID $FIXTURE_PID goroutines \\(go1\\.2[67].*, layout inferred \\("
	kill "$FIXTURE_PID"
}

@test "go1.26 -s -w: the inferred layout reads the same goroutines as the table" {
	same_as_tables mutexhold-go126-sw
}

@test "go1.27.3 -s -w: the inferred layout reads the same goroutines as the table" {
	same_as_tables mutexhold-go127-sw
}

@test "go1.26, no build info: inference with the version from runtime.buildVersion" {
	same_as_tables mutexhold-go126-nobuildinfo
}

@test "go1.27.3, no build info: inference with the version from runtime.buildVersion" {
	same_as_tables mutexhold-go127-nobuildinfo
}

@test "no candidate passes the checks: refused with the reason, no goroutines" {
	start_fixture go/matrix/mutexhold-go127-sw leak 3
	# only the go1.15 table left: its saved-bp offset is wrong for 1.27
	PARKWATCH_TEST_NO_LAYOUT_TABLE=1.16,1.17,1.18,1.19,1.20,1.21,1.22,1.23,1.24,1.25,1.26,1.27 \
		run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	[ "$(jq '.goroutines | length' <<<"$output")" -eq 0 ]
	local err
	err=$(jq -r '.go_processes[0].error' <<<"$output")
	echo "$err"
	[[ "$err" == "go1.27.3: no built-in runtime.g layout, and none of "*" candidate layouts passes every check on the process (nearest: table go1.15"*": g 0x"* ]]
	kill "$FIXTURE_PID"
}

@test "no table at all: nothing to infer from, said so" {
	start_fixture go/matrix/mutexhold-go126-sw leak 3
	PARKWATCH_TEST_NO_LAYOUT_TABLE=all run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	[ "$(jq '.goroutines | length' <<<"$output")" -eq 0 ]
	[[ "$(jq -r '.go_processes[0].error' <<<"$output")" == "go1.26"*": no built-in layout to start an inference from" ]]
	kill "$FIXTURE_PID"
}
