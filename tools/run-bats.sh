#!/usr/bin/env bash
# Runs the bats suite and closes with one "N passed, M failed, K skipped" line
# (CI reads it), keeping bats' own exit status.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bats --tap --print-output-on-failure "$@" | tee "$log"
rc=${PIPESTATUS[0]}
skipped=$(grep -Ec '^ok .* # skip' "$log")
passed=$(($(grep -Ec '^ok ' "$log") - skipped))
failed=$(grep -Ec '^not ok ' "$log")
echo "bats: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
