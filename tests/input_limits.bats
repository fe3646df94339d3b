#!/usr/bin/env bats
# Input files have limits (parkwatch(8), LIMITS): past one is a usage error
# (2) with a clear message, out of memory within them an environment error
# (3); endless input (/dev/zero) ends at once; nothing is echoed whole.

load helpers

setup() {
	require_parkwatch
}

@test "/dev/zero as --ignore-file, --baseline or --idle-file ends at once with exit 2" {
	for opt in --ignore-file --baseline --idle-file; do
		run --separate-stderr timeout 10 "$PARKWATCH" --once "$opt" /dev/zero
		[ "$status" -eq 2 ] || fail "$opt /dev/zero: exit $status (124: it did not end), $stderr"
		[[ $stderr == *"/dev/zero"* ]] || fail "$opt: message does not name the file: $stderr"
	done
	run --separate-stderr timeout 10 "$PARKWATCH" --once --baseline /dev/zero
	[[ $stderr == *"not a JSON report"* ]] || fail "baseline message: $stderr"
	run --separate-stderr timeout 10 "$PARKWATCH" --once --ignore-file /dev/zero
	[[ $stderr == *"NUL byte"* ]] || fail "ignore-file message: $stderr"
}

@test "endless text input (a pipe) stops at the size limit, exit 2" {
	run --separate-stderr timeout 20 bash -c 'yes "# filler" | "$1" --once --ignore-file /dev/stdin' _ "$PARKWATCH"
	assert_failure 2
	[[ $stderr == *"larger than 16 MiB"* ]] || fail "$stderr"
	run --separate-stderr timeout 20 bash -c 'yes "top f" | "$1" --once --ignore-file /dev/stdin' _ "$PARKWATCH"
	assert_failure 2
	[[ $stderr == *"/dev/stdin:100001: more than 100000 rules"* ]] || fail "$stderr"
	run --separate-stderr timeout 20 bash -c 'yes f | "$1" --once --idle-file /dev/stdin' _ "$PARKWATCH"
	assert_failure 2
	[[ $stderr == *"larger than 1024 KiB"* ]] || fail "$stderr"
	# A baseline past 1 GiB (sparse: it costs no disk) is refused unread.
	local big=$BATS_TEST_TMPDIR/huge.json
	printf '{"schema":"parkwatch/1","threads":[' >"$big"
	truncate -s 1100M "$big"
	run --separate-stderr timeout 20 "$PARKWATCH" --once --baseline "$big"
	rm -f "$big"
	assert_failure 2
	[[ $stderr == *"huge.json: larger than 1024 MiB"* ]] || fail "$stderr"
}

@test "a 10 MB function name in a rules file is refused, echoed cut to 48 bytes" {
	local rules=$BATS_TEST_TMPDIR/big.rules
	{ printf 'top '; head -c 10000000 /dev/zero | tr '\0' a; echo; } >"$rules"
	run --separate-stderr timeout 10 "$PARKWATCH" --once --ignore-file "$rules"
	assert_failure 2
	[[ $stderr == *"big.rules:1: line longer than 8191 bytes: 'top aaaa"*"a...'"* ]] || fail "$stderr"
	[ "${#stderr}" -lt 400 ] || fail "message of ${#stderr} bytes: the name was echoed whole"
	# Within the line limit but past the name limit.
	{ printf 'top '; head -c 5000 /dev/zero | tr '\0' b; echo; } >"$rules"
	run --separate-stderr timeout 10 "$PARKWATCH" --once --ignore-file "$rules"
	assert_failure 2
	[[ $stderr == *"function name longer than 4096 bytes: 'bbbb"*"b...'"* ]] || fail "$stderr"
	[ "${#stderr}" -lt 400 ] || fail "message of ${#stderr} bytes"
}

@test "a 100 kB function name on the command line is refused, echoed cut and escaped" {
	local name
	name=$(head -c 100000 /dev/zero | tr '\0' c)
	run --separate-stderr "$PARKWATCH" --once --ignore-top "$name"
	assert_failure 2
	[[ $stderr == *"function name of 100000 bytes, at most 4096: 'cccc"*"c...'"* ]] || fail "${stderr:0:300}"
	[ "${#stderr}" -lt 400 ] || fail "message of ${#stderr} bytes: the name was echoed whole"
	run --separate-stderr "$PARKWATCH" --once --ignore-top $'bad name\e[2J'
	assert_failure 2
	[[ $stderr == *"invalid ignore rule 'bad name\\x1b[2J'"* ]] || fail "$stderr"
}

@test "a 100,000-entry baseline loads streamed, in bounded memory" {
	require_root
	local base=$BATS_TEST_TMPDIR/big.json n=100000 min_bytes=80000000
	# Under ASan the same path is checked on 10,000 (100,000 take minutes).
	if [ -n "${PARKWATCH_SANITIZED:-}" ]; then
		n=10000 min_bytes=8000000
	fi
	# n threads of 16 frames (~100 MB for 100,000): what a large real
	# report holds.
	python3 - "$base" "$n" <<'PY'
import json, sys
frame = lambda i: {"function": "some_function_name_%d" % i, "module": "/usr/lib/x86_64-linux-gnu/libexample.so.1",
                   "file": "/build/src/example/source_file.c", "line": 123, "pc": "0x7f0000001000", "offset": "0x10"}
t = {"pid": 1, "tid": 2, "comm": "worker", "exe": "/usr/bin/app", "class": "parked",
     "wait": {"syscall": "futex", "op": "FUTEX_WAIT_PRIVATE"}, "stack": [frame(i) for i in range(16)]}
with open(sys.argv[1], "w") as f:
    f.write('{"schema":"parkwatch/1","threads":[')
    s = json.dumps(t)
    f.write(",".join([s] * int(sys.argv[2])))
    f.write('],"goroutines":[]}\n')
PY
	[ "$(stat -c %s "$base")" -gt "$min_bytes" ] || fail "baseline only $(stat -c %s "$base") bytes"
	start_fixture condvar_leak 1
	run --separate-stderr /usr/bin/time -f 'maxrss_kb=%M' "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" \
		--json --baseline "$base"
	assert_success
	local rss
	rss=$(printf '%s\n' "$stderr" | sed -n 's/^maxrss_kb=//p')
	# The old loader held the file and its json-c tree: ~10x its size.
	# (ASan's shadow memory and quarantine make RSS meaningless there.)
	if [ -z "${PARKWATCH_SANITIZED:-}" ]; then
		[ "$rss" -lt 150000 ] || fail "maximum RSS ${rss} kB for a ~100 MB baseline"
	fi
	printf '%s\n' "$output" | jq -e --argjson p "$FIXTURE_PID" '[.threads[] | select(.pid == $p)] | length == 1' >/dev/null ||
		fail "the fixture's thread is not flagged: $output"
}

@test "out of memory while loading rules is exit 3 and says so" {
	[ -z "${PARKWATCH_SANITIZED:-}" ] || skip "address space limits do not apply under ASan"
	command -v prlimit >/dev/null || skip_or_fail "prlimit not installed"
	local rules=$BATS_TEST_TMPDIR/many.rules
	python3 -c "
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(150000): f.write('any f_%06d_%s\n' % (i, 'x' * 88))
" "$rules"
	# Below some limit parkwatch cannot start, above some it loads them
	# all; in between the rules run out of memory. Never a crash.
	local mb hit=
	for mb in 16 24 32 40 48; do
		run --separate-stderr prlimit --as=$((mb << 20)) "$PARKWATCH" --once \
			--ignore-file "$rules" -p 999999999
		[ "$status" -lt 128 ] || fail "killed by a signal under ${mb} MB: $status $stderr"
		if [ "$status" -eq 3 ] && [[ $stderr == *"many.rules:"*": out of memory"* ]]; then
			hit=$mb
		fi
	done
	[ -n "$hit" ] || fail "no limit between 16 and 48 MB reached the out-of-memory path"
}
