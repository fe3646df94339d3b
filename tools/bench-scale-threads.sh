#!/usr/bin/env bash
# Thread sweeps at scale (issue #13): parkwatch next to eu-stack (elfutils,
# which ptrace-stops the process) on the same parked threads, and parkwatch's
# own latency. `make bench` runs it after tools/bench-futex.sh as:
#   tools/bench-scale-threads.sh build
#
#   tools/bench-scale-threads.sh [OUT]   OUT: build directory (default: build)
#
# Environment:
#   ROUNDS=3            rounds; every variant runs once per round (order
#                       rotated), the median is kept
#   CASES="one many firstbyte machine"   which cases to run
#   ONE_THREADS=10000   case one: threads of one process
#   MANY_PROCS=1000 MANY_THREADS=100     case many: processes x threads each
#   MACHINE_PROCS=50 MACHINE_THREADS=1000  case machine: processes x threads
#   BASE=PATH           also time another parkwatch binary (e.g. the main
#                       branch's build) as variant "pw base"
#   EU_STACK=eu-stack   elfutils' eu-stack; the case's eu-stack variant is
#                       n/a without it (Debian package elfutils)
#   EU_PROCS=0          cases many and machine: run eu-stack on only the
#                       first EU_PROCS processes and scale its time to all
#                       of them (marked "estimate"; 0: all). eu-stack stops
#                       and resumes every thread, which on a loaded machine
#                       can take minutes per thousand threads
#
# Cases (fixture: build/fixtures/many_sites, threads parked at three sites --
# a condition variable, a mutex, a semaphore -- -O2 without frame pointers):
#   one        ONE_THREADS threads of one process:
#                pw        parkwatch --once -t 0 -p PID (full stacks, source
#                          lines, grouping; checked: all threads reported)
#                eu-stack  eu-stack -p PID (stops the process, stacks without
#                          source lines)
#   many       MANY_PROCS processes of MANY_THREADS threads (forked from one):
#                pw        parkwatch --once -t 0 (machine-wide: -p takes at
#                          most 64 processes)
#                pw-nogo   the same with --no-goroutines: the threads alone,
#                          without reading the Go processes that happen to
#                          run on the machine (on a shared machine, those
#                          can cost more than the threads)
#                eu-stack  eu-stack -p PID for each process in turn
#   firstbyte  a small process (condvar_leak, 3 parked workers):
#                pw        time from the start of parkwatch --once -p PID to
#                          the first byte of its report on stdout (BPF load,
#                          BTF, the sweep, unwinding, the first write)
#   machine    MACHINE_PROCS x MACHINE_THREADS threads, machine-wide:
#                pw        parkwatch --once -t 0 (goal: 2 s)
#                pw-nogo   the same with --no-goroutines (as in many)
#                eu-stack  eu-stack -p PID for each fixture process
# A machine-wide sweep also reads everything else running: the load average
# is printed before and after, and the thread count swept is in the table.
#
# pid_max: 100,000 threads need more PIDs than the default 32768; the script
# raises /proc/sys/kernel/pid_max when it must and puts it back at the end.
#
# Output: per variant the median wall time, the spread ((max-min)/median), the
# peak RSS (pw), and the ratio eu-stack / pw (>1: parkwatch is faster).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/common.sh
. "$ROOT/tools/bench/common.sh"
resolve_out "${1:-build}"
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-one many firstbyte machine}
ONE_THREADS=${ONE_THREADS:-10000}
MANY_PROCS=${MANY_PROCS:-1000}
MANY_THREADS=${MANY_THREADS:-100}
MACHINE_PROCS=${MACHINE_PROCS:-50}
MACHINE_THREADS=${MACHINE_THREADS:-1000}
EU_STACK=${EU_STACK:-eu-stack}
PW=$OUT/parkwatch
FX=$OUT/fixtures
LIFETIME=7200 # the fixtures' alarm: gone within two hours whatever happens

[ "$(id -u)" = 0 ] || { echo "run as root (BPF, /proc/PID/mem)" >&2; exit 2; }
for f in "$PW" "$FX/many_sites" "$FX/condvar_leak"; do
	[ -x "$f" ] || { echo "missing $f: run make first" >&2; exit 2; }
done
have_eu=1
command -v "$EU_STACK" >/dev/null || have_eu=0

TMP=$(mktemp -d /tmp/bench-scale-threads.XXXXXX)
FIXTURE_PIDS=()
OLD_PID_MAX=$(cat /proc/sys/kernel/pid_max)
cleanup() {
	local p
	for p in "${FIXTURE_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true # its children die with it (PDEATHSIG)
	done
	wait 2>/dev/null || true
	[ "$(cat /proc/sys/kernel/pid_max)" = "$OLD_PID_MAX" ] ||
		echo "$OLD_PID_MAX" >/proc/sys/kernel/pid_max
	rm -rf "$TMP"
}
trap cleanup EXIT

now_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }

# need_pids N: make room for N more tasks (pid_max), or say it cannot.
need_pids() {
	local want=$(($(ls /proc | grep -c '^[0-9]') + $1 * 2 + 4096))
	local tmax
	tmax=$(cat /proc/sys/kernel/threads-max)
	if [ "$1" -gt "$tmax" ]; then
		echo "threads-max is $tmax: cannot make $1 threads" >&2
		return 1
	fi
	if [ "$(cat /proc/sys/kernel/pid_max)" -lt "$want" ]; then
		echo "raising pid_max from $(cat /proc/sys/kernel/pid_max) to $want (put back at the end)" >&2
		echo "$want" >/proc/sys/kernel/pid_max
	fi
}

# start_sites THREADS PROCS: many_sites in the background; waits for READY
# and sets SITES_PID (the parent) and SITES_PIDS (all its processes).
start_sites() {
	local out=$TMP/sites.$RANDOM.out i
	"$FX/many_sites" "$1" "$2" "$LIFETIME" >"$out" 2>"$out.err" </dev/null &
	FIXTURE_PIDS+=($!)
	SITES_PID=$!
	for ((i = 0; i < 6000; i++)); do # 10 minutes
		grep -q "^READY $SITES_PID\$" "$out" && break
		kill -0 "$SITES_PID" 2>/dev/null || { cat "$out.err" >&2; return 1; }
		sleep 0.1
	done
	grep -q "^READY" "$out" || { echo "many_sites $1 $2 never got ready" >&2; return 1; }
	SITES_PIDS="$SITES_PID $( (pgrep -P "$SITES_PID" || true) | tr "\n" " ")"
}

stop_sites() {
	kill -KILL "$SITES_PID" 2>/dev/null || true
	wait "$SITES_PID" 2>/dev/null || true
	# PDEATHSIG takes the children; wait until their threads are gone.
	while pgrep -f "^$FX/many_sites " >/dev/null; do sleep 0.2; done
}

# timed NAME CMD...: run CMD with stdout to $TMP/NAME.out; appends the wall
# time (s) and peak RSS (KiB) to $TMP/NAME.times.
timed() {
	local name=$1 s e
	shift
	s=$(now_ns)
	/usr/bin/time -f "%M" -o "$TMP/$name.rss" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || true
	e=$(now_ns)
	echo "$(awk -v d=$((e - s)) 'BEGIN { printf "%.4f", d / 1e9 }') $(cat "$TMP/$name.rss" | tail -n1)" \
		>>"$TMP/$name.times"
}

# eu-stack for every PID given, one after the other (a file, so that
# /usr/bin/time can run it).
cat >"$TMP/eu_each" <<EOF
#!/usr/bin/env bash
for p in "\$@"; do "$EU_STACK" -p "\$p" || true; done
EOF
chmod +x "$TMP/eu_each"

# check_pw NAME N: parkwatch's last report listed at least N parked threads.
check_pw() {
	local got
	got=$(head -n1 "$TMP/$1.out" | sed -n 's/.*: \([0-9]*\) threads parked.*/\1/p')
	if [ -z "$got" ] || [ "$got" -lt "$2" ]; then
		echo "WARNING: $1 reported ${got:-no} threads, expected $2 or more" >&2
		NOTE[$1]="reported ${got:-no} threads (expected >= $2)"
	fi
}

declare -A NOTE SCALE
ROWS=()

# eu_pids CASE: EU_PIDS, the processes eu-stack looks at (all, or EU_PROCS
# of them: then its times are scaled to all, and the row says so).
eu_pids() {
	local all=($SITES_PIDS) k=${EU_PROCS:-0}
	if [ "$k" -gt 0 ] && [ "$k" -lt ${#all[@]} ]; then
		SCALE[$1.eu-stack]=$(awk -v a=${#all[@]} -v k="$k" 'BEGIN { print a / k }')
		NOTE[$1.eu-stack]="estimate: $k of ${#all[@]} processes, time x${SCALE[$1.eu-stack]}"
		EU_PIDS="${all[*]:0:$k}"
	else
		EU_PIDS="${all[*]}"
	fi
}

# med CASE VARIANT: the median time, scaled when only a sample was run.
med() {
	awk -v m="$(median "$TMP/$1.$2.times")" -v s="${SCALE[$1.$2]:-1}" 'BEGIN { printf "%.4f", m * s }'
}

# row CASE VARIANT [REF]: one line of the table from $TMP/CASE.VARIANT.times
row() {
	local c=$1 v=$2 ref=${3:-} f m sp rss ratio=""
	f=$TMP/$c.$v.times
	[ -s "$f" ] || { ROWS+=("$(printf '%-10s %-9s %10s' "$c" "$v" "n/a")"); return; }
	sp=$(spread "$f" "$(median "$f")")
	m=$(med "$c" "$v")
	rss=$(median "$f" 2)
	if [ -n "$ref" ] && [ -s "$TMP/$c.$ref.times" ]; then
		ratio=$(awk -v a="$(med "$c" "$ref")" -v b="$m" 'BEGIN { printf "%.1fx", a / b }')
	fi
	ROWS+=("$(printf '%-10s %-9s %9.3fs %6s %9s KiB %8s  %s' "$c" "$v" "$m" "$sp" "$rss" \
		"$ratio" "${NOTE[$c.$v]:-}")")
}

# rounds CASE "VARIANT CMD" ...: every variant once per round, rotated.
rounds() {
	local c=$1 r i n k
	shift
	local vs=("$@")
	n=${#vs[@]}
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < n; i++)); do
			k=$(((i + r) % n))
			local v=${vs[$k]%% *} cmd=${vs[$k]#* }
			echo "  round $((r + 1))/$ROUNDS: $c $v" >&2
			# shellcheck disable=SC2086
			timed "$c.$v" $cmd
		done
	done
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# sites_case NAME PROCS THREADS: PROCS processes of THREADS parked threads,
# swept machine-wide by each variant (eu-stack process by process).
sites_case() {
	local name=$1 procs=$2 threads=$3 vs
	if ! need_pids $((procs * (threads + 1))) || ! start_sites "$threads" "$procs"; then
		NOTE[$name.pw]="could not start $procs x $threads threads"
		return
	fi
	vs=("pw $PW --once -t 0" "pw-nogo $PW --once -t 0 --no-goroutines")
	[ -z "${BASE:-}" ] || vs+=("base $BASE --once -t 0")
	eu_pids "$name"
	[ $have_eu = 0 ] || vs+=("eu-stack $TMP/eu_each $EU_PIDS")
	rounds "$name" "${vs[@]}"
	check_pw "$name.pw" $((procs * threads))
	check_pw "$name.pw-nogo" $((procs * threads))
	stop_sites
}

for c in $CASES; do
	case $c in
	one)
		echo "case one: $ONE_THREADS threads in one process" >&2
		need_pids "$ONE_THREADS"
		start_sites "$ONE_THREADS" 1
		vs=("pw $PW --once -t 0 -p $SITES_PID")
		[ -z "${BASE:-}" ] || vs+=("base $BASE --once -t 0 -p $SITES_PID")
		[ $have_eu = 0 ] || vs+=("eu-stack $EU_STACK -p $SITES_PID")
		rounds one "${vs[@]}"
		check_pw one.pw "$ONE_THREADS"
		stop_sites
		;;
	many)
		echo "case many: $MANY_PROCS processes x $MANY_THREADS threads" >&2
		sites_case many "$MANY_PROCS" "$MANY_THREADS"
		;;
	firstbyte)
		echo "case firstbyte: --once -p PID on a small process" >&2
		out=$TMP/cl.out
		"$FX/condvar_leak" 3 >"$out" 2>/dev/null </dev/null &
		FIXTURE_PIDS+=($!)
		cl=$!
		for ((i = 0; i < 200; i++)); do grep -q READY "$out" && break; sleep 0.05; done
		for ((r = 0; r < ROUNDS * 3; r++)); do
			s=$(now_ns)
			"$PW" --once -p "$cl" | {
				head -c1 >/dev/null
				e=$(now_ns)
				cat >/dev/null
				awk -v d=$((e - s)) 'BEGIN { printf "%.4f 0\n", d / 1e9 }' \
					>>"$TMP/firstbyte.pw.times"
			}
			timed firstbyte.total "$PW" --once -p "$cl"
		done
		kill -KILL "$cl" 2>/dev/null || true
		;;
	machine)
		echo "case machine: $MACHINE_PROCS processes x $MACHINE_THREADS threads, machine-wide" >&2
		sites_case machine "$MACHINE_PROCS" "$MACHINE_THREADS"
		;;
	*) echo "unknown case $c" >&2; exit 2 ;;
	esac
done

for c in $CASES; do
	case $c in
	firstbyte)
		row firstbyte pw
		row firstbyte total
		;;
	*)
		row "$c" pw eu-stack
		[ "$c" = one ] || row "$c" pw-nogo eu-stack
		[ -z "${BASE:-}" ] || row "$c" base
		[ $have_eu = 0 ] && NOTE[$c.eu-stack]="n/a: no $EU_STACK (Debian: elfutils)"
		row "$c" eu-stack
		;;
	esac
done

echo
echo "Thread sweeps at scale: median of $ROUNDS rounds, variants interleaved"
echo "(ratio: eu-stack time / pw time; >1: parkwatch is faster)"
echo "load average before: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
printf '%-10s %-9s %10s %6s %13s %8s\n' case variant median spread "peak RSS" ratio
printf '%s\n' "${ROWS[@]}"
