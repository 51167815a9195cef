# test_84_watch_busy_status.sh: `virtform status` answers while the daemon
# is in the middle of a long pass. A running guest with no OS ignores the
# ACPI shutdown virtform asks for, so the pass that stops it waits out
# shutdownTimeout (15 s) before forcing it off. Meanwhile status answers at
# once and names the step under way, and a `reconcile` sent to watch.sock
# is queued and runs right after the pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_trap
watch_require

dom=${P}slow
vf_manifest slow.yaml "$(yaml_domain "$dom" - 'state: running' 'shutdownTimeout: 15')"
WATCH_LOG=$(vf_mktemp)/watch.log
watch_start
wait_for "[ \"\$(domstate $dom)\" = running ]" 120 || watch_fail "$dom did not start"

vf_manifest slow.yaml "$(yaml_domain "$dom" - 'state: shutoff' 'shutdownTimeout: 15')"
wait_for "grep -q 'Domain/$dom: update: starting' '$WATCH_LOG'" 60 || watch_fail "the shutdown step did not start"
started=$SECONDS

RC=0
OUT=$(timeout 5 "$VF_BIN" status --runtime-dir "$RUNTIME" --config /dev/null 2>&1) || RC=$?
printf '$ virtform status (during the pass)\n%s\n  (exit %s)\n' "$(printf '%s\n' "$OUT" | sed 's/^/  | /')" "$RC"
assert_rc 0 "status while the daemon waits for the guest"
assert_out_contains "Reconciling now: since" "status says a pass is running"
assert_out_contains "), at Domain/$dom: update" "status names the step under way"
OUT=$(watch_status_json)
printf '%s\n' "$OUT" | python3 -c '
import json, sys
r = json.load(sys.stdin)["reconciling"]
sys.exit(0 if r and r["step"] == sys.argv[1] and r["trigger"] and r["seconds"] >= 0 else 1)
 ' "Domain/$dom: update" || watch_fail "status --json: expected reconciling.step 'Domain/$dom: update'; got: $OUT"

# A reconcile asked for now is queued, not lost.
python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"{\"command\": \"reconcile\"}\n")
r = json.loads(s.makefile().readline())
sys.exit(0 if r.get("ok") and r.get("queued") else 1)
' "$RUNTIME/watch.sock" || watch_fail "reconcile through watch.sock during the pass was not queued"
[ $((SECONDS - started)) -lt 12 ] || vf_log "(the host is slow: the checks above took $((SECONDS - started)) s)"

wait_for "[ \"\$(domstate $dom)\" = 'shut off' ]" 120 || watch_fail "$dom was not stopped"
wait_for "grep -q 'reconcile (requested)' '$WATCH_LOG'" 60 || watch_fail "the queued reconcile did not run after the pass"
# Once the daemon is idle again (a last pass for the shutdown's own event
# may still run), the loop answers itself: reconciling is null.
wait_for "watch_status_json | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)[\"reconciling\"] is None else 1)'" 60 ||
	watch_fail "status after the pass: expected reconciling null"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
vf_pass
