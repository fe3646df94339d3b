#!/usr/bin/env bats
# Healthy real servers report nothing: a JVM (the JDK's HttpServer on a
# fixed pool), Node (http + the libuv pool), CPython (ThreadingHTTPServer +
# a ThreadPoolExecutor) and redis-server, exercised then swept, flag no
# thread: their service threads, pool workers and event loops are idle, and
# said so per process. The same servers with a handler that strands one
# thread per request are flagged, exactly the stranded threads.

load helpers

SERVERS=$PW_REPO/tests/fixtures/servers

setup() {
	require_root
	require_parkwatch
}

# start_server KIND [leak]: start one server, wait (60 s: a JVM is slow to
# start on a loaded machine) for "READY <pid> <port>", set SERVER_PID/PORT.
start_server() {
	local kind=$1 mode=${2:-} cmd
	case $kind in
	java) cmd=(java -Xss512k -cp "$FIXTURES/servers" HttpPool $mode) ;;
	node) cmd=(node "$SERVERS/http_pool.js" $mode) ;;
	python) cmd=(python3 "$SERVERS/http_pool.py" $mode) ;;
	redis)
		command -v redis-server >/dev/null || skip_or_fail "redis-server is not installed"
		cmd=(bash -c 'echo "READY $$ 0"; exec redis-server --port 0 --save "" --appendonly no \
			--unixsocket "$1" --daemonize no' _ "$BATS_TEST_TMPDIR/redis.sock") ;;
	esac
	[ "$kind" != java ] || [ -f "$FIXTURES/servers/HttpPool.class" ] ||
		skip_or_fail "the JVM fixture is not built (make fixtures)"
	command -v "${cmd[0]}" >/dev/null || skip_or_fail "${cmd[0]} is not installed"
	SERVER_OUT=$BATS_TEST_TMPDIR/$kind.out
	start_bg "$SERVER_OUT" "$BATS_TEST_TMPDIR/$kind.err" "${cmd[@]}"
	wait_for_line "$SERVER_OUT" "^READY $BG_PID " 60 || fail "$kind did not become READY"
	SERVER_PID=$BG_PID
	SERVER_PORT=$(awk '{ print $3 }' "$SERVER_OUT")
	export FIXTURE_PID=$SERVER_PID
}

# exercise KIND N [PATH]: N requests, as a light real load would.
exercise() {
	local kind=$1 n=$2 path=${3:-/} i
	for ((i = 0; i < n; i++)); do
		if [ "$kind" = redis ]; then
			wait_for_socket
			redis-cli -s "$BATS_TEST_TMPDIR/redis.sock" set "k$i" "v$i" >/dev/null
			redis-cli -s "$BATS_TEST_TMPDIR/redis.sock" get "k$i" >/dev/null
		else
			curl -fsS --max-time 20 "http://127.0.0.1:$SERVER_PORT$path" >/dev/null
		fi
	done
}

wait_for_socket() {
	local deadline=$(($(now_ms) + 20000))
	until redis-cli -s "$BATS_TEST_TMPDIR/redis.sock" ping >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$deadline" ] || fail "redis did not answer on its socket"
		sleep 0.1
	done
}

# sweep_until FILTER: sweep the server (--once -t 0) until FILTER holds, 30 s
# at most: a thread started by the last request may still be on its way to
# its wait.
sweep_until() {
	local filter=$1 deadline=$(($(now_ms) + 30000))
	while :; do
		run_parkwatch --once -t 0 -p "$SERVER_PID" --json "${@:2}"
		[ "$status" -le 1 ] || fail "parkwatch failed: $stderr"
		jq -e --argjson pid "$SERVER_PID" "$JQ_DEFS $filter" "$REPORT" >/dev/null && return 0
		[ "$(now_ms)" -lt "$deadline" ] || { jq_check "$filter"; return 1; }
		sleep 0.2
	done
}

# healthy KIND MIN_IDLE REASON...: exercised, swept: nothing flagged, at
# least MIN_IDLE idle threads in the process, each REASON among them.
healthy() {
	local kind=$1 min=$2 reason
	shift 2
	start_server "$kind"
	exercise "$kind" 5
	sweep_until "(.idle_summary | map(select(.pid == \$pid)) | .[0].count // 0) >= $min"
	run_parkwatch --once -t 0 -p "$SERVER_PID" --json --fail
	assert_success
	jq_check 'mine == []'
	jq_check '.stats.flagged == 0'
	for reason in "$@"; do
		jq_check "any(.idle_summary[] | select(.pid == \$pid) | .reasons[]; .reason == \"$reason\")"
	done
	# the text report says it in one line per process
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -p "$SERVER_PID" --fail
	assert_success
	assert_output --regexp "PID $SERVER_PID: [0-9]+ idle: "
}

# leaky KIND: three requests to /leak strand three threads: exactly those
# are flagged (verdict parked), the server's own threads still idle.
leaky() {
	local kind=$1
	start_server "$kind" leak
	exercise "$kind" 2
	exercise "$kind" 3 /leak
	sweep_until 'mine | length >= 3'
	jq_check 'mine | length == 3'
	jq_check 'mine | all(.verdict == "parked" and .idle == false)'
	jq_check '.idle_summary | any(.pid == $pid and .count > 0)'
	run --separate-stderr timeout 60 "$PARKWATCH" --once -t 0 -p "$SERVER_PID" --fail
	assert_failure 1
}

@test "JVM HttpServer on a fixed pool: nothing flagged, GC/compiler/pool threads idle" {
	healthy java 15 "JVM service thread" "JVM pool worker"
}

@test "Node http with the libuv pool: nothing flagged, pool and platform workers idle" {
	healthy node 5 "libuv/V8 worker"
}

@test "CPython ThreadingHTTPServer with a ThreadPoolExecutor: nothing flagged, pool idle" {
	healthy python 4 "CPython pool worker"
}

@test "redis-server: nothing flagged, background threads idle" {
	healthy redis 3 "redis background thread"
}

@test "JVM with a handler that strands a thread per request: exactly those flagged" {
	leaky java
	jq_check 'mine | all(.comm == "stranded" and has_fn("^JVM_MonitorWait$"))'
}

@test "Node with a handler that strands a worker thread per request: exactly those flagged" {
	leaky node
	jq_check 'mine | all(has_fn("FutexEmulation"))'
}

@test "CPython with a handler that strands a thread per request: exactly those flagged" {
	leaky python
	jq_check 'mine | all(has_fn("^lock_PyThread_acquire_lock$"))'
}

@test "--show-idle lists the idle threads with their reason" {
	start_server python
	exercise python 3
	sweep_until 'mine | length >= 4' --show-idle
	jq_check 'mine | all(.verdict == "idle" and .idle == true and (.idle_reason | type == "string"))'
	jq_check '.idle_summary == []'
}

@test "C++ names are demangled (the JVM's Parker::park, not _ZN6Parker4parkEbl)" {
	start_server java
	exercise java 3
	sweep_until 'any(.threads[]; has_fn("^Parker::park$"))' --show-idle
	jq_check 'all(.threads[]; all(fns[]; startswith("_Z") | not))'
}

# growing KIND: watch the leaky server (-d 8s, a look each second) while a
# client strands one thread per request every ~0.3 s (Node answers once
# its worker runs): the stranded threads' site rises at every look, so they
# are growing; nothing else is flagged.
growing() {
	local kind=$1 n=0
	start_server "$kind" leak
	exercise "$kind" 2
	start_parkwatch -t 0 -d 8s -p "$SERVER_PID" --json
	# The load runs for as long as the watch (its pace is the test's
	# load, not a wait for a state).
	while kill -0 "$PW_PID" 2>/dev/null; do
		curl -fsS --max-time 20 "http://127.0.0.1:$SERVER_PORT/leak" >/dev/null
		n=$((n + 1))
		sleep 0.3
	done
	wait_exit "$PW_PID" 30
	[ "$EXIT_STATUS" -eq 0 ] || fail "parkwatch exited $EXIT_STATUS: $(cat "$PW_ERR")"
	REPORT=$PW_OUT
	jq_check 'mine | length >= 4'
	jq_check '(mine | length) as $n | mine | all(.verdict == "growing" and .site_count == $n)'
	jq_check "mine | length <= $n" # only stranded threads, never the server's own
	jq_check '.idle_summary | any(.pid == $pid and .count > 0)'
}

@test "JVM stranding a thread per request while watched: the stranded threads are growing" {
	growing java
	jq_check 'mine | all(.comm == "stranded")'
}

@test "Node stranding a worker per request while watched: the stranded threads are growing" {
	growing node
	jq_check 'mine | all(has_fn("FutexEmulation"))'
}

@test "CPython stranding a thread per request while watched: the stranded threads are growing" {
	growing python
	jq_check 'mine | all(has_fn("^lock_PyThread_acquire_lock$"))'
}

# min_idle KIND: the idle threads each server shows once at rest (as the
# healthy tests above).
min_idle() {
	case $1 in
	java) echo 15 ;;
	node) echo 5 ;;
	python) echo 4 ;;
	redis) echo 3 ;;
	esac
}

@test "a system-wide --once with the four servers running flags none of their threads, and does flag a leak beside them" {
	local -A pid_of
	local kind leak deadline filter
	for kind in java node python redis; do
		start_server "$kind"
		exercise "$kind" 3
		pid_of[$kind]=$SERVER_PID
	done
	start_fixture condvar_leak 2
	leak=$FIXTURE_PID
	# Ready when the leak's threads are past the threshold and each
	# server's idle threads are in place (a worker may still be finishing
	# the last request): checked with -p, quick whatever else runs here.
	filter="([.threads[] | select(.pid == $leak)] | length == 2)"
	local p_args=(-p "$leak")
	for kind in "${!pid_of[@]}"; do
		filter+=" and ((.idle_summary | map(select(.pid == ${pid_of[$kind]})) | .[0].count // 0) >= $(min_idle "$kind"))"
		p_args+=(-p "${pid_of[$kind]}")
	done
	deadline=$(($(now_ms) + 60000))
	while :; do
		run_parkwatch --once -t 2s --json "${p_args[@]}"
		[ "$status" -le 1 ] || fail "parkwatch failed: $stderr"
		jq -e "$filter" "$REPORT" >/dev/null && break
		[ "$(now_ms)" -lt "$deadline" ] || { jq_check "$filter"; return 1; }
		sleep 0.2
	done
	# Then one sweep with no -p: every process of the machine, as a user
	# would sweep a host. Its time grows with the machine's parked threads
	# (other jobs' too: minutes with tens of thousands), hence its own
	# timeout rather than run_parkwatch's 60 s.
	REPORT=$BATS_TEST_TMPDIR/system.json
	run --separate-stderr timeout 900 "$PARKWATCH" --once -t 2s --json -o "$REPORT"
	[ "$status" -le 1 ] || fail "parkwatch failed ($status): $stderr"
	assert_valid_json "$REPORT"
	jq -e '.mode == "once" and .stats.tasks_seen > 0' "$REPORT" >/dev/null
	for kind in "${!pid_of[@]}"; do
		FIXTURE_PID=${pid_of[$kind]}
		jq_check 'mine == [] and ([.goroutines[] | select(.pid == $pid)] == [])' ||
			fail "$kind (PID $FIXTURE_PID) had threads flagged in a system-wide sweep"
		# and it was seen: its idle threads are counted
		jq_check 'any(.idle_summary[]; .pid == $pid and .count > 0)'
	done
	FIXTURE_PID=$leak
	jq_check 'mine | length == 2 and all(.verdict == "parked")'
}
