#!/bin/sh
# run-unit.sh: run every cmocka binary, keep going after a failure, and end
# with one "N passed, N failed" line; exit non-zero if anything failed.
pass=0
fail=0
for t in "$@"; do
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t" >&2; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
