#!/bin/sh
# run.sh: `make fuzz`. Replays every regression input (tests/fuzz/regressions/,
# each a crash the fuzzer once found) and the seeds, then fuzzes for
# FUZZ_SECONDS with a corpus seeded from tests/fixtures/ (valid and invalid
# manifests). New crashes land in OUT/fuzz/crashes/: copy each into
# tests/fuzz/regressions/ and report it to the loader's owner.
set -eu
FUZZER=${1:?usage: run.sh FUZZER OUT_DIR SECONDS}
OUT=$2
SECONDS_=${3:-60}
CORPUS=$OUT/fuzz/corpus
CRASHES=$OUT/fuzz/crashes
mkdir -p "$CORPUS" "$CRASHES"
# Seeds: every fixture manifest (file names made unique by their path).
find tests/fixtures/valid tests/fixtures/invalid examples -type f \( -name '*.yaml' -o -name '*.yml' \) |
while read -r f; do
	cp "$f" "$CORPUS/seed-$(echo "$f" | tr '/' '_')"
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
regs=$(find tests/fuzz/regressions -type f ! -name README.md | sort)
if [ -n "$regs" ]; then
	echo "fuzz: replaying $(echo "$regs" | wc -l) regression input(s)"
	# shellcheck disable=SC2086
	"$FUZZER" -runs=1 $regs
fi
echo "fuzz: fuzzing for ${SECONDS_}s (log: $OUT/fuzz/last.log)"
rc=0
"$FUZZER" -max_total_time="$SECONDS_" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$CRASHES/" "$CORPUS" >"$OUT/fuzz/last.log" 2>&1 || rc=$?
grep -E '^#[0-9]+ +(INITED|DONE)|^stat::|ERROR|SUMMARY|^artifact_prefix|Test unit written' "$OUT/fuzz/last.log" || true
if [ "$rc" -ne 0 ]; then
	echo "fuzz: FAILED (exit $rc); the crashing input is in $CRASHES/" >&2
	exit 1
fi
echo "fuzz: no crashes"
