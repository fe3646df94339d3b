#!/usr/bin/env bash
# Runs the bats suite and closes with every failed test again (its "not ok"
# line and the first lines of its diagnostics: a CI log cut in the middle
# still shows them) and one "N passed, M failed, K skipped" line (CI reads
# it), keeping bats' own exit status.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bats --tap --print-output-on-failure "$@" | tee "$log"
rc=${PIPESTATUS[0]}
skipped=$(grep -Ec '^ok .* # skip' "$log")
passed=$(($(grep -Ec '^ok ' "$log") - skipped))
failed=$(grep -Ec '^not ok ' "$log")
if [ "$failed" -gt 0 ]; then
	echo "bats: the failed tests again:"
	awk '/^not ok /{keep = 1; n = 0} /^ok /{keep = 0}
	     keep && n++ < 30' "$log"
fi
echo "bats: $passed passed, $failed failed, $skipped skipped"
exit "$rc"
