#!/usr/bin/env bats
# Example: a program's own bats suite failing when the program leaves threads
# parked forever, with tools/parkwatch.bash. Run as root:
#
#   bats tests/example/leak.bats                    the fixed program: passes
#   EXAMPLE=leak bats tests/example/leak.bats       the leaky one: fails, and
#                                                   the log shows the report
#
# The program: N workers wait on a condition variable for the signal to
# finish. condvar_leak never gives it (3 workers parked forever);
# condvar_fixed signals and joins them. Both print "READY <pid>" once their
# scenario is in place. (In tests/bats_helper.bats, parkwatch's own suite
# runs this file both ways.)

# In your suite: load /path/to/parkwatch.bash (or /usr/local/share/...).
load ../../tools/parkwatch

setup() {
	# Where this repository's build put parkwatch and the example programs.
	BUILD=${PARKWATCH_BUILD:-$BATS_TEST_DIRNAME/../../build}
	PARKWATCH=${PARKWATCH:-$BUILD/parkwatch}
	if [ "${EXAMPLE:-fixed}" = leak ]; then
		SERVER=("$BUILD/fixtures/condvar_leak" 3)             # never exits
		TOOL=("$BUILD/fixtures/condvar_fixed" 3 exit leak)    # exits, leaking 3
	else
		SERVER=("$BUILD/fixtures/condvar_fixed" 3)            # sleeps, timed
		TOOL=("$BUILD/fixtures/condvar_fixed" 3 exit)         # exits cleanly
	fi
}

teardown() {
	parkwatch_stop                                 # safe when nothing runs
	[ -z "${server_pid:-}" ] || kill "$server_pid" 2>/dev/null || true
}

@test "a running server keeps no worker parked" {
	"${SERVER[@]}" >"$BATS_TEST_TMPDIR/server.out" 3>&- &   # fd 3 closed, or bats waits for it
	server_pid=$!
	parkwatch_wait_for "$BATS_TEST_TMPDIR/server.out" "^READY $server_pid\$" 20 "$server_pid"

	parkwatch_watch_pid "$server_pid"              # parkwatch -p PID in the background
	# ... exercise the server here ...
	parkwatch_assert_no_parked                     # [--threshold DUR] [--ignore-top F] ...
}

@test "a program run to completion leaves no thread behind at exit" {
	parkwatch_run -- "${TOOL[@]}"                  # command mode, in the foreground
	[ "$PARKWATCH_STATUS" -eq 0 ]
	parkwatch_assert_no_parked
}
