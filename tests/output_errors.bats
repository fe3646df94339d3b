#!/usr/bin/env bats
# Lost reports: every write is checked, a failed one is exit 3 with the
# reason, and -o FILE is replaced only by a complete report.

load helpers

setup() {
	require_root
	require_parkwatch
}

@test "-o /dev/full: every format exits 3 and says why" {
	start_fixture condvar_leak 1
	for fmt in text json folded pprof; do
		run --separate-stderr "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --format "$fmt" -o /dev/full
		[ "$status" -eq 3 ] || fail "--format $fmt -o /dev/full: exit $status, stderr: $stderr"
		[[ $stderr == *"cannot write the report to /dev/full: No space left on device"* ]] ||
			fail "--format $fmt: no reason given: $stderr"
	done
}

@test "standard output on /dev/full: every format exits 3 and says why" {
	start_fixture condvar_leak 1
	for fmt in text json folded pprof; do
		run bash -c '"$@" >/dev/full' _ "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --format "$fmt"
		[ "$status" -eq 3 ] || fail "--format $fmt >/dev/full: exit $status: $output"
		[[ $output == *"standard output: No space left on device"* ]] ||
			fail "--format $fmt: no reason given: $output"
	done
}

@test "a run that fails (no privileges) leaves an existing -o FILE untouched" {
	local dir
	dir=$(mktemp -d /tmp/parkwatch-out.XXXXXX)
	chmod 777 "$dir"
	cp "$PARKWATCH" "$dir/parkwatch"
	echo "the earlier report" >"$dir/report.txt"
	chmod 666 "$dir/report.txt"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$dir/parkwatch" --once -o "$dir/report.txt"
	local content leftovers
	content=$(cat "$dir/report.txt")
	leftovers=$(ls -A "$dir" | grep -v '^parkwatch$\|^report.txt$' || true)
	rm -rf "$dir"
	assert_failure 3
	[ "$content" = "the earlier report" ] || fail "FILE was changed to: $content"
	[ -z "$leftovers" ] || fail "temporary files left behind: $leftovers"
}

@test "a successful run replaces -o FILE whole, keeps its mode, and leaves no temporary file" {
	start_fixture condvar_leak 1
	local dir=$BATS_TEST_TMPDIR/out
	mkdir -p "$dir"
	echo "the earlier report" >"$dir/r.json"
	chmod 640 "$dir/r.json"
	ln -s r.json "$dir/link.json"
	run "$PARKWATCH" --once -t 0 -p "$FIXTURE_PID" --json -o "$dir/link.json"
	assert_success
	[ -L "$dir/link.json" ] || fail "the symlink was replaced"
	jq -e --argjson p "$FIXTURE_PID" '[.threads[] | select(.pid == $p)] | length == 1' \
		"$dir/r.json" >/dev/null || fail "report not written through the link: $(cat "$dir/r.json")"
	[ "$(stat -c %a "$dir/r.json")" = 640 ] || fail "mode changed to $(stat -c %a "$dir/r.json")"
	[ "$(ls -A "$dir" | wc -l)" -eq 2 ] || fail "leftovers: $(ls -A "$dir")"
}
