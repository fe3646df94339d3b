#!/usr/bin/env bats
# --prove on stripped binaries of releases without a heap table
# (user/go/heap_infer.c, user/go/reach_layout.c): with the tables of Go
# 1.19, 1.26 and 1.27 switched off (PARKWATCH_TEST_NO_LAYOUT_TABLE), as for
# a release parkwatch has never seen, the heap layout recovered from the
# binary's code and checked on the live heap gives the same verdicts as the
# tables, goroutine by goroutine, and the report says it was inferred. A
# layout that fails a check (an offset moved by a test setting) is refused
# with the reason: no verdict, never a wrong one.

load helpers

setup() {
	require_root
	require_parkwatch
}

verdicts() { # FILE: goids by verdict
	jq -c '{leaked: [.goroutines[] | select(.verdict == "leaked") | .goid] | sort,
		parked: [.goroutines[] | select(.verdict == "parked") | .goid] | sort}' "$1"
}

# same_verdicts FIXTURE MINORS LEAKED: one --prove sweep with the tables,
# one with the tables of MINORS off; same verdicts, LEAKED of them leaked.
same_verdicts() {
	local bin=$1 off=$2 nleaked=$3
	start_fixture "go/$bin" leak
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
	assert_success
	local tables=$REPORT
	jq_check '.go_processes[0].prove.heap_layout | startswith("table go1.")' "$tables"
	PARKWATCH_TEST_NO_LAYOUT_TABLE=$off run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
	assert_success
	jq -c '.go_processes[0].prove' "$REPORT"
	jq_check '.go_processes[0].prove.error == null'
	jq_check '.go_processes[0].prove.heap_layout | test("^inferred: mheap_.arenas \\+[0-9]+, " +
		"heapArenas \\+[0-9]+, heapArena.spans \\+[0-9]+, checked on the live heap$")'
	jq_check '.go_processes[0].layout | startswith("inferred")'
	# LEAKED, or one fewer in a process where leakSend's channel stays
	# reachable through a stale pointer (proved_leaks.bats): what matters
	# here is that the inferred layout judges exactly as the table
	local n
	n=$(jq '[.goroutines[] | select(.verdict == "leaked")] | length' "$tables")
	[ "$n" -eq "$nleaked" ] || [ "$n" -eq $((nleaked - 1)) ]
	assert_equal "$(verdicts "$REPORT")" "$(verdicts "$tables")"
	kill_started
}

@test "Go 1.26 stripped, heap table off: inferred layout, the same leaked and parked goroutines" {
	same_verdicts leakshapes-go126-s 1.26 13
}

@test "Go 1.27 stripped, heap table off: inferred layout, the same leaked and parked goroutines" {
	same_verdicts leakshapes-go127-s 1.27 13
}

@test "Go 1.19 stripped (2 MiB heap bitmap era), heap table off: inferred layout, same verdicts" {
	same_verdicts leakshapes-go119-s 1.19 9
}

# The leaked count of a --prove sweep of the fixture with its tables: 13,
# or 12 in a process where leakSend's channel stays reachable through a
# stale pointer (a conservative miss, proved_leaks.bats). What a layout
# test compares with, on the same process.
table_leaked() {
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
	assert_success
	jq_check '.go_processes[0].prove.heap_layout == "table go1.26"'
	jq_check '.go_processes[0].prove.leaked >= 12'
	jq_value '.go_processes[0].prove.leaked'
}

@test "an implausible layout is refused with the reason, and nothing is leaked" {
	start_fixture go/leakshapes-go126-s leak
	local want
	want=$(table_leaked)
	for field in span_elemsize arena_spans mheap_arenas; do
		PARKWATCH_TEST_HEAP_PERTURB=$field PARKWATCH_TEST_NO_LAYOUT_TABLE=1.26 \
			run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
		assert_success
		jq -c '.go_processes[0].prove' "$REPORT"
		jq_check '.go_processes[0].prove.error | startswith("heap layout not inferred: no candidate passed the checks on the live heap")'
		jq_check '.go_processes[0].prove.heap_layout == null'
		jq_check '[.goroutines[] | select(.verdict == "leaked")] | length == 0'
		jq_check '.goroutines | length > 20'
	done
	# the same process, unperturbed: inferred and judged as with the table
	PARKWATCH_TEST_NO_LAYOUT_TABLE=1.26 run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
	jq_check ".go_processes[0].prove.leaked == $want"
}

@test "a stripped binary with its table keeps the table; the perturbing setting touches only inferred layouts" {
	start_fixture go/leakshapes-go126-s leak
	local want
	want=$(table_leaked)
	PARKWATCH_TEST_HEAP_PERTURB=span_elemsize run_parkwatch --once -t 0 -p "$FIXTURE_PID" --prove --json
	assert_success
	jq_check ".go_processes[0].prove.heap_layout == \"table go1.26\" and .go_processes[0].prove.leaked == $want"
}
