#!/usr/bin/env bats
# Unusual binaries: stripped, deleted while running, executed from a memfd,
# code that no ELF file describes (JIT-like), Go built without DWARF. Stacks
# unwind and get names as far as the mapped files allow, and a stack that
# cannot go on says why in words.

load helpers

setup() {
	require_root
	require_parkwatch
	BIN_DIR=$BATS_TEST_TMPDIR/bin
	mkdir -p "$BIN_DIR"
}

# start_copy NAME ARGS...: start $BIN_DIR/NAME like a fixture (READY line
# awaited with a timeout, killed by teardown).
start_copy() {
	FIXTURES=$BIN_DIR start_fixture "$@"
}

# The three condvar_leak workers, each down to start_thread, with the
# stripped/copied binary's frames in the middle.
CONDVAR_STACK='mine | length == 3
	and all(has_fn("^_*pthread_cond_wait(@.*)?$") and has_fn("^start_thread$"))'

@test "stripped binary: the stack still unwinds to start_thread, its frames are address + module" {
	require_fixture condvar_leak
	cp "$FIXTURES/condvar_leak" "$BIN_DIR/condvar_stripped"
	strip "$BIN_DIR/condvar_stripped"
	# Not vacuous: no symbol table and no DWARF left, .eh_frame kept.
	run readelf -S "$BIN_DIR/condvar_stripped"
	assert_success
	refute_output --partial .symtab
	refute_output --partial .debug_
	assert_output --partial .eh_frame
	# condvar_leak exports no functions, so no dynamic symbol covers its
	# code: every frame there is address + module only.
	[ -z "$(readelf --dyn-syms -W "$BIN_DIR/condvar_stripped" | awk '$4 == "FUNC" && $7 != "UND"')" ]

	start_copy condvar_stripped 3
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check "$CONDVAR_STACK"
	jq_check 'mine | all(.stack_error == null)'
	# worker_wait and worker_main, in that order, between pthread_cond_wait and start_thread.
	jq_check 'mine | all([.stack[] | select(.module == "condvar_stripped")]
		| length == 2 and all(.function == null and .file == null and .line == null
				      and (.address | test("^0x[0-9a-f]+$"))))'
	jq_check 'mine | all(.stack as $s
		| ($s | map(.module) | index("condvar_stripped")) as $i
		| $i != null and $s[$i - 1].function != null
		  and ($s[$i - 1].function | test("pthread_cond_wait"))
		  and $s[$i + 2].function == "start_thread")'
}

@test "binary deleted while it runs: names and lines still come from the mapped file" {
	require_fixture condvar_leak
	cp "$FIXTURES/condvar_leak" "$BIN_DIR/condvar_deleted"
	start_copy condvar_deleted 3
	rm "$BIN_DIR/condvar_deleted"
	[[ "$(readlink "/proc/$FIXTURE_PID/exe")" == *" (deleted)" ]]

	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check "$CONDVAR_STACK"
	jq_check 'mine | all(.stack_error == null and (.exe | endswith(" (deleted)")))'
	jq_check 'mine | all(has_fn("^worker_wait$") and has_fn("^worker_main$"))'
	# The module is the file's name, without " (deleted)"; lines from its DWARF.
	jq_check '[mine[].stack[] | select(.function == "worker_wait")]
		| length == 3 and all(.module == "condvar_deleted"
				      and (.file // "" | endswith("condvar_leak.c")) and .line > 0)'
}

@test "binary executed from a memfd: its frames are named" {
	require_fixture condvar_leak
	start_fixture memfd_exec "$FIXTURES/condvar_leak" 3
	[[ "$(readlink "/proc/$FIXTURE_PID/exe")" == "/memfd:pw-exec (deleted)" ]]

	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check "$CONDVAR_STACK"
	jq_check 'mine | all(.stack_error == null and has_fn("^worker_wait$"))'
	jq_check '[mine[].stack[] | select(.function == "worker_wait")]
		| length == 3 and all(.module == "memfd:pw-exec")'
}

@test "static binary executed from a memfd: unwound, not 'Exec format error'" {
	# libdw finds the architecture in no module of such a process (it
	# skips deleted ones): the case the system's memfd agents hit.
	command -v "${CC:-cc}" >/dev/null || skip_or_fail "no C compiler"
	"${CC:-cc}" -O2 -g -fomit-frame-pointer -pthread -static -I"$PW_REPO/tests/fixtures" \
		"$PW_REPO/tests/fixtures/condvar_leak.c" -o "$BIN_DIR/condvar_static" 2>"$BIN_DIR/cc.err" ||
		skip_or_fail "cannot link statically: $(head -c 300 "$BIN_DIR/cc.err")"
	require_fixture memfd_exec
	start_fixture memfd_exec "$BIN_DIR/condvar_static" 3
	# Not vacuous: nothing but the memfd, the vDSO and anonymous memory is mapped.
	run grep -c '\.so' "/proc/$FIXTURE_PID/maps"
	assert_output 0

	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 3 and all(.stack_error == null
		and has_fn("^worker_wait$") and has_fn("^start_thread$"))'
}

@test "code in a mapped file that is not ELF: address + module, and a clear stack_error" {
	require_fixture jit_park
	start_fixture jit_park memfd
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 1'
	jq_check 'mine[0].stack | length == 1 and .[0].module == "memfd:jit" and .[0].function == null'
	jq_check 'mine[0].stack_error
		| startswith("cannot open the ELF file of memfd:jit (deleted? not ELF?)")'
}

@test "code in anonymous memory: the address, and a clear stack_error" {
	require_fixture jit_park
	start_fixture jit_park anon
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq_check 'mine | length == 1'
	jq_check 'mine[0].stack | length == 1 and .[0].module == null and .[0].function == null'
	jq_check 'mine[0].stack_error | test("^0x[0-9a-f]+ is in no mapped file \\(JIT or anonymous code\\)")'
	# The text report says the same, never a bare libdw or errno string.
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID"
	assert_success
	assert_output --regexp '\(unwinding stopped: 0x[0-9a-f]+ is in no mapped file'
}

@test "go -ldflags=-w: the caller of the frameless runtime.futex is kept" {
	local go=${GO:-/usr/local/go/bin/go}
	[ -x "$go" ] || skip_or_fail "no Go toolchain at $go"
	(cd "$PW_REPO/tests/fixtures/go/idle" &&
		GOFLAGS=-mod=mod GOTOOLCHAIN=local "$go" build -ldflags=-w \
			-o "$BIN_DIR/idle-nodwarf" main.go) 2>"$BIN_DIR/go.err" ||
		fail "go build: $(cat "$BIN_DIR/go.err")"
	# Not vacuous: no DWARF, so no CFI at all (Go emits no .eh_frame).
	run readelf -S "$BIN_DIR/idle-nodwarf"
	refute_output --partial .debug_frame
	refute_output --partial .eh_frame

	start_copy idle-nodwarf
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json --show-idle
	assert_success
	jq_check '[mine[] | select(.stack[0].function // "" | startswith("runtime.futex"))]
		| length >= 2
		and all(.stack[1].function == "runtime.futexsleep"
			and .stack[2].function == "runtime.notesleep")'
}

@test "JIT code named from the runtime's perf map, the stack continuing through its frame" {
	require_fixture jit_park
	start_fixture jit_park perfmap
	local map=/tmp/perf-$FIXTURE_PID.map
	[ -f "$map" ]
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	rm -f "$map"
	assert_success
	jq_check '(mine | length == 1) and mine[0].stack_error == null'
	jq_check 'mine[0].stack[0] | .function == "jit_wait_stub" and .module == "[jit]"'
	jq_check 'mine[0] | fns == ["jit_wait_stub", "jit_wait", "worker_main", "start_thread", "__clone3"]'
}

@test "a perf map owned by another user is not believed" {
	require_fixture jit_park
	start_fixture jit_park perfmap
	local map=/tmp/perf-$FIXTURE_PID.map
	chown nobody "$map"
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	rm -f "$map"
	assert_success
	jq_check '(mine | length == 1) and mine[0].stack[0].function == null and mine[0].stack[0].module == null'
}
