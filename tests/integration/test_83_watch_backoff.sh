# test_83_watch_backoff.sh: an object that keeps failing is retried with
# exponential backoff (1 s, 2 s, 4 s, ... capped by --max-backoff) while the
# other objects converge; `virtform status` shows what is retried and when;
# once the cause is fixed, a retry converges it and clears the entry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_trap
watch_require

good=${P}good
bad=${P}bad
# A domain whose disk file does not exist: defining works, starting fails.
vf_manifest bad.yaml "$(yaml_domain "$bad" - 'state: running' 'disks:' "  - path: $POOLS/missing-disk.img")"
vf_manifest good.yaml "$(yaml_domain "$good" - 'state: running')"
vf_run validate "$MAN"
assert_rc 0 "the manifests are valid (the failure comes only when starting)"

watch_start --max-backoff 4
wait_for "[ \"\$(domstate $good)\" = running ]" 120 || watch_fail "$good did not converge next to a failing object"
wait_for 'watch_status_json | vf_grep -q "\"failures\":3"' 120 || watch_fail "$bad was not retried three times"
RC=0
OUT=$(watch_status 2>&1) || RC=$?
assert_rc 0 "status"
assert_out_matches "Domain/$bad +failed [0-9]+ times, next attempt in [0-9]+s" "status lists the retry"
grep -q "Domain/$bad: [a-z]*: failed (attempt 1, next in 1s)" "$WATCH_LOG" || watch_fail "first retry delay is not 1 s"
grep -q "Domain/$bad: [a-z]*: failed (attempt 2, next in 2s)" "$WATCH_LOG" || watch_fail "second retry delay is not 2 s"
# The cap: never more than 4 s between attempts.
if grep -E "Domain/$bad: [a-z]*: failed \(attempt [0-9]+, next in ([5-9]|[1-9][0-9]+)s\)" "$WATCH_LOG"; then
	watch_fail "a retry delay exceeded --max-backoff 4"
fi
# Meanwhile the good domain stays enforced.
vsh destroy "$good" >/dev/null || vf_fail "virsh destroy $good"
wait_for "[ \"\$(domstate $good)\" = running ]" 60 || watch_fail "$good not restored while $bad backs off"

# Fixed outside the manifests (the disk appears): the next retry, at most
# 4 s away, converges it, and the retry is forgotten.
truncate -s 1M "$POOLS/missing-disk.img" || vf_fail "cannot create the disk file"
wait_for "[ \"\$(domstate $bad)\" = running ]" 120 || watch_fail "$bad did not converge once fixed"
# logged when the pass ends, after observing again: wait, do not race it
wait_for "grep -q 'reconcile (retry)' '$WATCH_LOG'" 60 || watch_fail "no pass was started by a retry coming due"
wait_for 'watch_status_json | python3 -c "import json, sys; sys.exit(json.load(sys.stdin)[\"retrying\"] != [])"' 60 ||
	watch_fail "the retry was not cleared"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
vf_pass
