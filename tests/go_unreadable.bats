#!/usr/bin/env bats
# A process that looks like Go but cannot be read as Go (section headers
# zeroed or pointing nowhere: the program still runs) is listed with the
# reason in text and JSON, never silently left out.

load helpers

setup() {
	require_root
	require_parkwatch
}

# damaged_copy VERSION MODE: a copy of the chansend fixture whose ELF section
# header table is gone (zero) or points past the end of the file (bogus).
damaged_copy() {
	local v=$1 mode=$2
	require_fixture "go/chansend-$v"
	DAMAGED=$BATS_TEST_TMPDIR/chansend-$v-$mode
	cp "$FIXTURES/go/chansend-$v" "$DAMAGED"
	python3 - "$DAMAGED" "$mode" <<'PY'
import struct, sys
path, mode = sys.argv[1], sys.argv[2]
b = bytearray(open(path, 'rb').read())
if mode == 'zero':
    b[0x28:0x30] = b'\0' * 8   # e_shoff
    b[0x3c:0x40] = b'\0' * 4   # e_shnum, e_shstrndx
else:
    b[0x28:0x30] = struct.pack('<Q', len(b) * 4)
open(path, 'wb').write(b)
PY
}

start_damaged() {
	local out=$BATS_TEST_TMPDIR/damaged.$RANDOM.out
	start_bg "$out" "$out.err" "$DAMAGED"
	wait_for_line "$out" "^READY $BG_PID\$" 30 || fail "damaged copy did not start: $(cat "$out.err")"
	FIXTURE_PID=$BG_PID
}

@test "Go with zeroed section headers: listed in JSON go_processes with the reason" {
	for v in go126 go119; do
		damaged_copy "$v" zero
		start_damaged
		run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
		assert_success
		jq -e --argjson p "$FIXTURE_PID" \
			'[.go_processes[] | select(.pid == $p and (.error | test("looks like Go")))] | length == 1' \
			"$REPORT" >/dev/null || fail "$v: not listed: $(jq -c .go_processes "$REPORT")"
	done
}

@test "Go with section headers past the end of the file: listed in text with the reason" {
	damaged_copy go126 bogus
	start_damaged
	run_parkwatch --once -t 0 -p "$FIXTURE_PID"
	assert_success
	assert_output --regexp "goroutines of $FIXTURE_PID not read: .*looks like Go \\("
}

@test "a C program is not taken for Go (no go_processes entry)" {
	start_fixture condvar_leak 1
	run_parkwatch --once -t 0 -p "$FIXTURE_PID" --json
	assert_success
	jq -e '.go_processes == []' "$REPORT" >/dev/null || fail "$(jq -c .go_processes "$REPORT")"
	# parkwatch itself holds the marks' needles as strings: not Go either.
	start_parkwatch -p "$FIXTURE_PID" -i 1h
	wait_for_line "$PW_ERR" "watching" 20
	run_parkwatch --once -t 0 -p "$PW_PID" --json
	assert_success
	jq -e '.go_processes == []' "$REPORT" >/dev/null || fail "$(jq -c .go_processes "$REPORT")"
}
