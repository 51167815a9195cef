#!/bin/bash
# test_90_chaos.sh: the part of the fleet's chaos harness (tests/chaos/,
# docs/fleet.md "Chaos harness") that runs in make check: first the
# watchers' self-test (a double run, a frozen QEMU and an unpetted watchdog
# are each seen), a negative control (a fence helper that fences nothing
# must give double runs), then 50 faults (VFIT_CHAOS_FAULTS) on three namespaced
# hosts running `virtform watch` against a three-member etcd. Passes only
# with no double run and every placed domain back on one host after each
# fault. `make chaos` runs the same harness with 1,000 faults.
. "$(dirname "$0")/lib.sh"
[ -n "${VF_BIN:-}" ] && [ -x "$VF_BIN" ] || vf_fail "VF_BIN is not an executable virtform binary: '${VF_BIN:-}'"
[ -x "$(dirname "$VF_BIN")/virtform-fence" ] || vf_fail "no virtform-fence next to $VF_BIN (make all builds it)"
"$VF_BIN" watch --help 2>&1 | grep -q -- --host-id ||
	vf_fail "$VF_BIN has no fleet daemon (watch --host-id/--etcd): the chaos harness drives it"
trap vf_cleanup EXIT
trap 'exit 143' INT TERM HUP
chaos=$(cd "$(dirname "$0")/../chaos" && pwd)/chaos.py

out=$(/usr/bin/python3 "$chaos" --self-test 2>&1)
rc=$?
printf '%s\n' "$out"
[ "$rc" = 0 ] || vf_fail "the chaos harness's own watchers failed their self-test"

# The negative control: with a fence helper that fences nothing, a stopped
# virtform's QEMU keeps running while another host starts the domain, and
# the same harness must count double runs and fail. Its faults hit only
# hosts running a placed domain: a stopped idle host moves nothing (a
# control whose two faults both hit the idle h1 once counted none).
rc=0
out=$(/usr/bin/python3 "$chaos" --virtform "$VF_BIN" --faults 2 --kinds stop-virtform --at-holders --bound 20 \
	--fence-helper "$(dirname "$chaos")/no-fence.sh" 2>&1) || rc=$?
printf '%s\n' "$out" | sed 's/^/  control| /'
last=$(printf '%s\n' "$out" | tail -n 1)
[ "$rc" != 0 ] || vf_fail "the harness passed a fleet whose fence helper fences nothing"
printf '%s\n' "$last" | grep -Eq '^chaos: [0-9]+ faults, [1-9][0-9]* double-runs' ||
	vf_fail "the negative control ended without counting a double run: $last"
vf_log "negative control: $last"

log=$(vf_mktemp)/chaos.log
VFIT_TMPDIRS+=("$(dirname "$log")")
rc=0
/usr/bin/python3 "$chaos" --virtform "$VF_BIN" --faults "${VFIT_CHAOS_FAULTS:-50}" >"$log" 2>&1 || rc=$?
cat "$log"
last=$(tail -n 1 "$log")
case "$last" in
"chaos: "*" faults, 0 double-runs, failover p50 "*) ;;
*) vf_fail "the chaos run did not end with a clean summary line: $last" ;;
esac
[ "$rc" = 0 ] || vf_fail "the chaos run failed (exit $rc): $last"
done=$(printf '%s\n' "$last" | sed -n 's/^chaos: \([0-9]*\) faults.*/\1/p')
[ "$done" -ge "${VFIT_CHAOS_FAULTS:-50}" ] || vf_fail "only $done faults ran"
vf_pass
