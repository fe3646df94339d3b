#!/usr/bin/env bats
# Thread stacks of Go processes named from .gopclntab: stripped builds
# (-ldflags='-s -w': no symbols, no DWARF, no CFI) are unwound with the
# pclntab's SP deltas and named with its functions, file:line and inlined
# calls, down to where the thread or the goroutine stack starts; the same
# frames as an unstripped build. cgo: C and Go frames on one stack.

load helpers

setup() {
	require_root
	require_parkwatch
}

# Where a thread stack of Go code may end: a thread's start, the stack switches
# (mcall, morestack, systemstack: Go's own traceback stops there too),
# a goroutine's start, the cgo boundary.
BOTTOM_RE='^runtime[.](mstart|rt0_go|mcall|morestack|systemstack|goexit|asmcgocall|cgocallback)$'

# sweep_all: every thread of the fixture, idle and timed ones included.
sweep_all() {
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --show-idle --timed --no-goroutines --json
	assert_success
}

# The function names of the thread blocked in read(2) whose stack has $1.
read_stack() {
	jq_value "[mine[] | select(.wait.syscall == \"read\" and has_fn(\"$1\")) | fns] | first | join(\" \")"
}

all_named_to_the_start() {
	start_fixture "go/threadstacks-$1"
	sweep_all
	# Not vacuous: the reader, idle Ms in futexsleep, sysmon.
	jq_check 'mine | length >= 3'
	jq_check '[mine[] | select(.wait.syscall == "read" and has_fn("^main[.]blockedRead$"))] | length == 1'
	jq_check '[mine[] | select(has_fn("^runtime[.]futex$"))] | length >= 1'
	# Every frame named, with a file:line; no stack cut short.
	jq_check '[mine[] | .stack[] | select(.function == null or .file == null or .line == 0)] | length == 0'
	jq_check '[mine[] | select(.stack_error != null)] | length == 0'
	jq_check "mine | all(.stack | length >= 3 and (last.function | test(\"$BOTTOM_RE\")))"
	# Thread starts: the idle Ms started by the runtime end at mstart.
	jq_check '[mine[] | select(.stack[-1].function == "runtime.mstart")] | length >= 1'
	# The reader: user code down to the goroutine's start, inlined
	# syscall.Read included (offset 0, the pc of the frame below it).
	jq_check '[mine[] | select(has_fn("^main[.]blockedRead$")) | fns
		  | (index("syscall.Read") != null) and (.[-3:] | .[0] == "main.readForever" and .[-1] == "runtime.goexit")] | all'
}

@test "go1.26 -s -w: every thread frame named from .gopclntab, down to the thread's start" {
	all_named_to_the_start go126-s
}

@test "go1.19 -s -w: every thread frame named from .gopclntab, down to the thread's start" {
	all_named_to_the_start go119-s
}

@test "go1.26 unstripped: every thread frame named, down to the thread's start" {
	all_named_to_the_start go126
}

@test "stripped and unstripped builds give the same function names per frame" {
	local stripped unstripped
	for v in go126 go119; do
		start_fixture "go/threadstacks-$v-s"
		sweep_all
		stripped=$(read_stack '^main[.]blockedRead$')
		start_fixture "go/threadstacks-$v"
		sweep_all
		unstripped=$(read_stack '^main[.]blockedRead$')
		echo "$v stripped:   $stripped" >&2
		echo "$v unstripped: $unstripped" >&2
		[ -n "$stripped" ]
		[ "$stripped" = "$unstripped" ]
	done
}

@test "cgo: C frames then Go from runtime.asmcgocall; a C thread's Go callback down to runtime.cgocallback" {
	start_fixture go/cgostacks-go126-w
	sweep_all
	jq_check '[mine[] | select(.wait.syscall == "read" and has_fn("^c_blocked_read$"))
		  | fns | .[0] == "read" and .[-1] == "runtime.asmcgocall"] == [true]'
	jq_check '[mine[] | select(.wait.syscall == "read" and has_fn("^main[.]goRead$"))
		  | fns | .[-1] == "runtime.cgocallback" and index("main.goBlockedCallback") != null] == [true]'
	jq_check '[mine[] | .stack[] | select(.function == null)] | length == 0'
	jq_check '[mine[] | select(.stack_error != null)] | length == 0'
}

@test "cgo -s -w: Go frames named; only the C function without a symbol is an address" {
	start_fixture go/cgostacks-go126-s
	sweep_all
	jq_check '[mine[] | select(.wait.syscall == "read" and has_fn("^runtime[.]asmcgocall$"))
		  | [.stack[].function] | .[0] == "read" and .[1] == null and .[-1] == "runtime.asmcgocall"] == [true]'
	jq_check '[mine[] | .stack[] | select(.function == null)] | length == 1'
	jq_check '[mine[] | select(has_fn("^main[.]goRead$")) | .stack[-1].function] == ["runtime.cgocallback"]'
	jq_check '[mine[] | select(.stack_error != null)] | length == 0'
}
