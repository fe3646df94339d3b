#!/usr/bin/env bash
# run-fuzz.sh BUILD RUNS SECONDS TARGET...: run each libFuzzer target of
# tests/fuzz (built as BUILD/fuzz/fuzz_TARGET) for RUNS executions (0: no
# limit) or SECONDS (0: no limit), whichever comes first, starting from the
# seeds (BUILD/fuzz/seeds/TARGET), the committed regression inputs
# (tests/fuzz/regressions/TARGET) and the corpus grown by earlier runs
# (BUILD/fuzz/corpus/TARGET). Prints executions, time and crashes per target;
# a crashing input is saved in BUILD/fuzz/crashes/ and the script fails.
set -uo pipefail

build=$1 runs=$2 secs=$3
shift 3
here=$(cd "$(dirname "$0")/.." && pwd)
status=0

printf '%-12s %12s %8s %9s %8s\n' target executions seconds exec/s crashes
for t in "$@"; do
	bin=$build/fuzz/fuzz_$t
	corpus=$build/fuzz/corpus/$t
	crashes=$build/fuzz/crashes/$t
	log=$build/fuzz/$t.$( [ "$runs" = 0 ] && echo "${secs}s" || echo "$runs").log
	mkdir -p "$corpus" "$crashes"
	dirs=("$corpus" "$build/fuzz/seeds/$t")
	[ -d "$here/tests/fuzz/regressions/$t" ] && dirs+=("$here/tests/fuzz/regressions/$t")
	start=$(date +%s.%N)
	# One process, one job; leaks are findings too (ASan's LeakSanitizer).
	"$bin" -runs="$( [ "$runs" = 0 ] && echo -1 || echo "$runs")" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$crashes/" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	n=$(find "$crashes" -type f | wc -l)
	awk -v t="$t" -v e="${execs:-0}" -v s="$start" -v f="$end" -v c="$n" 'BEGIN {
		d = f - s; printf "%-12s %12d %8.1f %9d %8d\n", t, e, d, (d > 0 ? e / d : 0), c }'
	if [ "$rc" -ne 0 ] || [ "$n" -ne 0 ]; then
		echo "run-fuzz: $t failed (exit $rc), see $log; inputs in $crashes" >&2
		grep -m5 -E 'ERROR|SUMMARY|check failed' "$log" >&2
		status=1
	fi
done
exit $status
