#!/bin/sh
# valgrind.sh: `make valgrind`. Every unit test binary under memcheck with
# full leak checking; definite and indirect leaks and any memory error fail
# the run. tests/valgrind.supp holds the few suppressions for libraries'
# one-time allocations (each justified there). Prints the time taken.
set -u
SUPP=tests/valgrind.supp
start=$(date +%s)
pass=0
fail=0
for t in "$@"; do
	if valgrind -q --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=1 --suppressions="$SUPP" --gen-suppressions=all "$t" >"$t.valgrind.log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAILED under valgrind: $t (log: $t.valgrind.log)" >&2
		grep -E '==[0-9]+== (Invalid|Conditional|Syscall|Mismatched|[0-9,]+ .*(definitely|indirectly) lost)' "$t.valgrind.log" | head -n 5 >&2
	fi
done
echo "valgrind: $pass passed, $fail failed in $(( $(date +%s) - start ))s"
[ "$fail" -eq 0 ]
