#!/usr/bin/env bash
# Test-suite benchmark: `go test ./...` on a generated suite of a few hundred
# tests, with and without `parkwatch -- go test`, wall time; the ratio is what
# a CI job pays for running its tests under parkwatch.  `make bench-suites`
# runs it as:
#   tools/bench-suites.sh build
#
#   tools/bench-suites.sh [OUT]   OUT: build directory (default: build)
#
# Environment:
#   ROUNDS=5     rounds; every variant runs once per round (rotated order),
#                the median is kept
#   PKGS=8       packages in the suite
#   TESTS=40     tests per package (each: 2 subtests, one of them parallel,
#                and 50 goroutines started and joined)
#   GO=/usr/local/go/bin/go
#   KEEP=1       keep the generated suite and the logs
#   VARIANTS="untraced parkwatch"   run only these (default: all below)
#   PW_BEFORE=/path/to/parkwatch   another build (e.g. the previous
#                commit's) run as one more variant, "before", in the same
#                rounds: a change measured side by side
#
# Variants:
#   untraced        go test -count=1 ./...
#   ancestors       the same with GODEBUG=tracebackancestors=64, what
#                   command mode sets for the command: the Go runtime's own
#                   cost of keeping creation chains (every go statement
#                   saves its creator's chain and stack)
#   parkwatch       parkwatch -t 1h -- go test -count=1 ./...  (the linker
#                   stopped at its end while its output is read and probed,
#                   end-of-run snapshot of every test binary, tRunner probes)
#   parkwatch, own GODEBUG   the same with GODEBUG=madvdontneed=1 set by the
#                   user: parkwatch's cost without the ancestors'
# The build cache is warmed first (one untraced run), so every variant
# compiles nothing and links and runs every test binary.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/bench/common.sh
source "$here/bench/common.sh"
resolve_out "${1:-build}"
PW=$OUT/parkwatch
GO=${GO:-/usr/local/go/bin/go}
ROUNDS=${ROUNDS:-5}
PKGS=${PKGS:-8}
TESTS=${TESTS:-40}
[ -x "$PW" ] || { echo "bench-suites: $PW not built" >&2; exit 3; }
[ "$(id -u)" -eq 0 ] || { echo "bench-suites: needs root (BPF)" >&2; exit 3; }
TMP=$(mktemp -d /tmp/parkwatch-bench-suites.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT

# --- the suite -------------------------------------------------------------
suite=$TMP/suite
mkdir -p "$suite"
printf 'module example.com/benchsuite\n\ngo 1.19\n' >"$suite/go.mod"
for ((p = 0; p < PKGS; p++)); do
	mkdir -p "$suite/p$p"
	{
		printf 'package p%d\n\nimport (\n\t"sort"\n\t"sync"\n\t"testing"\n)\n\n' "$p"
		cat <<'EOF'
// work: a little of what tests do: goroutines, channels, a sort.
func work(t *testing.T) {
	var wg sync.WaitGroup
	ch := make(chan int, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); ch <- i * i }(i)
	}
	wg.Wait()
	close(ch)
	var v []int
	for x := range ch {
		v = append(v, x)
	}
	sort.Ints(v)
	if len(v) != 50 {
		t.Fatal("lost a value")
	}
}
EOF
		for ((i = 0; i < TESTS; i++)); do
			cat <<EOF

func Test$i(t *testing.T) {
	t.Run("serial", work)
	t.Run("parallel", func(t *testing.T) { t.Parallel(); work(t) })
}
EOF
		done
	} >"$suite/p$p/p_test.go"
done
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off GOTELEMETRY=off
export GOCACHE=$OUT/gocache/bench GOPATH=$OUT/gopath
unset GODEBUG

# One run: wall seconds on stdout; the suite must pass (and parkwatch find
# nothing: the suite does not leak).
run_variant() {
	local v=$1 log=$TMP/$1.$2.log start end rc=0
	start=$EPOCHREALTIME
	case $v in
	untraced) (cd "$suite" && "$GO" test -count=1 ./...) >"$log" 2>&1 || rc=$? ;;
	ancestors) (cd "$suite" && GODEBUG=tracebackancestors=64 "$GO" test -count=1 ./...) \
		>"$log" 2>&1 || rc=$? ;;
	parkwatch) (cd "$suite" && "$PW" --fail -t 1h -- "$GO" test -count=1 ./...) \
		>"$log" 2>&1 || rc=$? ;;
	own-godebug) (cd "$suite" && GODEBUG=madvdontneed=1 "$PW" --fail -t 1h -- \
		"$GO" test -count=1 ./...) >"$log" 2>&1 || rc=$? ;;
	before) (cd "$suite" && "$PW_BEFORE" --fail -t 1h -- "$GO" test -count=1 ./...) \
		>"$log" 2>&1 || rc=$? ;;
	esac
	end=$EPOCHREALTIME
	if [ "$rc" -ne 0 ]; then
		echo "bench-suites: variant $v failed (status $rc):" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}

read -r -a variants <<<"${VARIANTS:-untraced ancestors parkwatch own-godebug}"
if [ -n "${PW_BEFORE:-}" ]; then
	[ -x "$PW_BEFORE" ] || { echo "bench-suites: PW_BEFORE=$PW_BEFORE not executable" >&2; exit 3; }
	[[ " ${variants[*]} " == *" before "* ]] || variants+=(before)
fi
echo "bench-suites: $PKGS packages x $TESTS tests (x2 subtests) = $((PKGS * TESTS)) tests," \
	"$ROUNDS rounds, $("$GO" version | cut -d' ' -f3)"
run_variant untraced warm >/dev/null
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < ${#variants[@]}; k++)); do
		v=${variants[$(((k + r) % ${#variants[@]}))]}
		run_variant "$v" "$r" >>"$TMP/$v.times"
	done
done
base=$(median "$TMP/untraced.times")
printf '%-14s %10s %8s %8s\n' variant "median s" ratio spread
for v in "${variants[@]}"; do
	m=$(median "$TMP/$v.times")
	printf '%-14s %10.2f %7.3fx %8s\n' "$v" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')" \
		"$(spread "$TMP/$v.times" "$m")"
done
[ -z "${KEEP:-}" ] || echo "logs and suite kept in $TMP"
