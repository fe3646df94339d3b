#!/usr/bin/env bats
# Bounded per-thread records: 5000 short-lived threads created and joined
# while parkwatch watches the whole machine leave no records, memory or fds
# behind, and a full thread map is counted, not silent.

load helpers

setup() {
	require_root
	require_parkwatch
	FIFO=$BATS_TEST_TMPDIR/go.fifo
	mkfifo "$FIFO"
}

# Anonymous memory only: the clone-event ring buffer (8 MiB, mapped from the
# kernel) counts in VmRSS as far as the reader has been through it, which
# depends on how far events piled up between two polls (on a loaded machine,
# further), not on what parkwatch keeps.
rss_kib() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
# Not counted: the /proc/PID/mem of Go processes elsewhere on the machine,
# which parkwatch keeps open while they live (they come and go with other
# work on a shared machine, not with the churn).
fd_count() {
	local n=0 f
	for f in /proc/"$1"/fd/*; do
		[[ "$(readlink "$f")" == /proc/[0-9]*/mem ]] || n=$((n + 1))
	done
	echo "$n"
}

# alive_born_since PID: threads alive on the machine now that started no
# earlier than PID did (stat field 22). What parkwatch may legitimately still
# track, whatever else runs on the machine meanwhile.
alive_born_since() {
	local since
	since=$(awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat")
	cat /proc/[0-9]*/task/[0-9]*/stat 2>/dev/null |
		awk -v since="$since" '{ sub(/.*\) /, ""); if ($20 + 0 >= since + 0) n++ } END { print n + 0 }'
}

@test "per-thread records, memory and fds return to baseline after 5000 threads come and go" {
	start_fixture churn "$FIFO" 5000
	start_parkwatch -t 1h -i 1s --json
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	wait_for_reports "$PW_OUT" 1 20

	local base=$BATS_TEST_TMPDIR/base.json
	last_report "$PW_OUT" "$base"
	local base_tracked base_creators base_rss base_fds n alive
	base_tracked=$(jq_value '.stats.tracked_threads' "$base")
	base_creators=$(jq_value '.stats.creator_records' "$base")
	base_rss=$(rss_kib "$PW_PID")
	base_fds=$(fd_count "$PW_PID")

	echo go >"$FIFO"
	wait_for_line "$FIXTURE_OUT" "^CHURNED $FIXTURE_PID\$" 120
	# Two full reports after the churn ended, so exits have been processed.
	n=$(json_docs "$PW_OUT" | wc -l)
	wait_for_reports "$PW_OUT" $((n + 2)) 20

	REPORT=$BATS_TEST_TMPDIR/after.json
	last_report "$PW_OUT" "$REPORT"
	alive=$(alive_born_since "$PW_PID")
	echo "baseline: tracked=$base_tracked creators=$base_creators rss=${base_rss}KiB fds=$base_fds" >&2
	echo "after:    $(jq -c .stats "$REPORT") rss=$(rss_kib "$PW_PID")KiB fds=$(fd_count "$PW_PID")" >&2
	echo "threads alive now that were born after parkwatch started: $alive" >&2

	# Back to baseline, give or take threads that other programs on the
	# machine started meanwhile and still run.
	jq_check ".stats.tracked_threads <= $base_tracked + $alive + 20"
	jq_check ".stats.creator_records <= $base_creators + $alive + 20"
	jq_check '.stats.clone_events_lost == 0 and .stats.threads_map_full == 0'
	[ $(($(rss_kib "$PW_PID") - base_rss)) -le 10240 ] ||
		fail "anonymous RSS grew from ${base_rss} KiB to $(rss_kib "$PW_PID") KiB"
	assert_equal "$(fd_count "$PW_PID")" "$base_fds"

	kill -INT "$PW_PID"
	wait_exit "$PW_PID" 20
	assert_equal "$EXIT_STATUS" 0
}

@test "a thread map smaller than the live threads counts the overflow" {
	start_parkwatch -t 1h -i 1s --json --max-threads 64
	wait_for_line "$PW_ERR" '^parkwatch: watching' 20
	start_fixture many_parked 200
	local n
	n=$(json_docs "$PW_OUT" | wc -l)
	wait_for_reports "$PW_OUT" $((n + 2)) 20
	REPORT=$BATS_TEST_TMPDIR/after.json
	last_report "$PW_OUT" "$REPORT"
	jq_check '.stats.threads_map_full > 0'
	jq_check '.stats.tracked_threads <= 64'
}
