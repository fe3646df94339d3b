#!/usr/bin/env bats
# Command line: help, usage errors (exit 2) and environment errors (exit 3).

load helpers

setup() {
	require_parkwatch
}

@test "--help lists every exit code" {
	run --separate-stderr "$PARKWATCH" --help
	assert_success
	assert_output --regexp '[Ee][Xx][Ii][Tt]'
	for code in 0 1 2 3; do
		assert_line --regexp "^[[:space:]]*$code[[:space:]:.)=-]"
	done
}

@test "an unknown option is a usage error (exit 2)" {
	run --separate-stderr "$PARKWATCH" --no-such-option
	assert_failure 2
	[ -n "$stderr" ] || fail "no message on stderr"
}

@test "a duration with a bad unit is a usage error that names the value" {
	run --separate-stderr "$PARKWATCH" --once -t 5parsecs
	assert_failure 2
	[[ $stderr == *5parsecs* ]] || fail "stderr does not name the value: $stderr"
}

@test "a -p PID that does not exist is a usage error that names the pid" {
	require_root
	run --separate-stderr "$PARKWATCH" --once -p 999999999
	assert_failure 2
	[[ $stderr == *999999999* ]] || fail "stderr does not name the pid: $stderr"
}

@test "a missing BTF file is an environment error that mentions BTF" {
	require_root
	run --separate-stderr "$PARKWATCH" --once --btf /nonexistent
	assert_failure 3
	[[ $stderr == *BTF* ]] || fail "stderr does not mention BTF: $stderr"
}

@test "an unprivileged user gets an environment error that mentions root or CAP_BPF" {
	require_root
	# nobody must be able to reach the binary, wherever the build dir is.
	local dir
	dir=$(mktemp -d /tmp/parkwatch-cli.XXXXXX)
	chmod 755 "$dir"
	cp "$PARKWATCH" "$dir/parkwatch"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$dir/parkwatch" --once
	rm -rf "$dir"
	assert_failure 3
	[[ $stderr == *root* || $stderr == *CAP_BPF* ]] ||
		fail "stderr mentions neither root nor CAP_BPF: $stderr"
}

@test "text output is coloured on a tty, and not with NO_COLOR or --no-color" {
	require_root
	require_parkwatch
	start_fixture condvar_leak 1
	local cmd="$PARKWATCH --once -t 0 -p $FIXTURE_PID"
	# script(1) gives parkwatch a terminal as stdout.
	run script -qec "$cmd" /dev/null
	assert_success
	assert_output --partial $'\e[1m'
	run env NO_COLOR=1 script -qec "$cmd" /dev/null
	assert_success
	refute_output --partial $'\e['
	run script -qec "$cmd --no-color" /dev/null
	assert_success
	refute_output --partial $'\e['
	# not a tty: never colour
	run $cmd
	assert_success
	refute_output --partial $'\e['
}

@test "-p with a thread id watches that thread's process, once even if given twice" {
	require_root
	start_fixture condvar_leak 2
	local tid
	tid=$(ls "/proc/$FIXTURE_PID/task" | grep -v "^$FIXTURE_PID\$" | head -1)
	run --separate-stderr "$PARKWATCH" --once -t 0 -p "$tid" -p "$FIXTURE_PID" --json
	assert_success
	assert_valid_json <<<"$output"
	[[ "$stderr" == *"thread of process $FIXTURE_PID"* ]]
	# the two workers, each listed once
	[ "$(jq '.threads | length' <<<"$output")" -eq 2 ]
	[ "$(jq '[.threads[].tid] | unique | length' <<<"$output")" -eq 2 ]
	[ "$(jq '.exited | length' <<<"$output")" -eq 0 ]
}
