# test_14_lost_conn.sh: libvirtd goes away in the middle of an apply
# (issue 20, point 3). On a private libvirt host (private_host.sh: the
# test's own namespaces and daemons; the machine's libvirtd is never
# touched), a running guest with no OS ignores the ACPI shutdown apply
# asks for, so apply waits out shutdownTimeout. While it waits, libvirtd
# is SIGKILLed. apply must not die of SIGPIPE (exit 141, no message): it
# exits 1 naming the lost connection, the step and the object. libvirtd
# is started again (the guest kept running), and the next apply, with the
# same manifests, converges: the guest is shut off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/private_host.sh"
vf_private_host "$@"
vf_private_host_start
vf_setup

APPLY_PID=""
vf_on_exit 'for p in $APPLY_PID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done'
VFIT_BOUND=120 # a virtform run that hangs fails the test instead

dom=${P}deaf
vf_manifest deaf.yaml "$(yaml_domain "$dom" - 'state: running' 'shutdownTimeout: 15')"
vf_run apply "$MAN"
assert_rc 0 "apply starts the guest"
assert_domain_state "$dom" running

# Stop it: apply asks, the guest does not answer, apply waits up to 15 s.
vf_manifest deaf.yaml "$(yaml_domain "$dom" - 'state: shutoff' 'shutdownTimeout: 15')"
log=$(vf_mktemp)/apply.log
t0=$SECONDS
timeout -k 5 "$VFIT_BOUND" "$VF_BIN" apply -c "$VFIT_URI" --state-dir "$STATE" "$MAN" >"$log" 2>&1 &
APPLY_PID=$!
wait_for "grep -q 'Domain/$dom: updating...' '$log'" 60 || vf_fail "the shutdown step did not start: $(cat "$log")"
sleep 2 # well inside the 15 s wait
kill -KILL "$VFIT_PRIV_LIBVIRTD"
vf_log "libvirtd (pid $VFIT_PRIV_LIBVIRTD) SIGKILLed $((SECONDS - t0)) s into the apply"
RC=0
wait "$APPLY_PID" || RC=$?
APPLY_PID=""
OUT=$(cat "$log")
printf '$ virtform apply (libvirtd killed mid-run)\n%s\n  (exit %s)\n' "$(printf '%s\n' "$OUT" | sed 's/^/  | /')" "$RC"
[ "$RC" != 141 ] || vf_fail "apply died of SIGPIPE (exit 141) when libvirtd went away"
assert_rc 1 "apply with libvirtd gone"
assert_out_contains "virtform: lost the connection to qemu:///system while updating Domain/$dom: " \
	"the lost connection, the step and the object are named"
assert_out_contains "run apply again once libvirtd answers" "what to do is said"
assert_out_not_contains "Apply complete" "a run that lost its host does not claim success"
[ $((SECONDS - t0)) -lt 14 ] ||
	vf_fail "apply went on waiting for the guest after libvirtd was gone ($((SECONDS - t0)) s)"

# libvirtd back (qemu kept running without it); the same manifests converge.
vf_private_libvirtd_restart
assert_domain_state "$dom" running
vf_run apply "$MAN"
assert_rc 0 "the next apply converges"
assert_out_contains "Apply complete" "the next apply converges"
assert_domain_state "$dom" "shut off"
vf_run plan "$MAN"
assert_rc 0 "nothing left to do"
assert_ledger_parses
vf_pass
