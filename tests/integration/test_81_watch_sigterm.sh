# test_81_watch_sigterm.sh: SIGTERM while the daemon is applying finishes
# the step under way and exits 0; the ledger is intact and the next start
# converges everything. SIGHUP reloads without stopping; SIGINT stops too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_trap
watch_require

n=6
for i in $(seq $n); do
	vf_manifest "d$i.yaml" "$(yaml_domain "${P}d$i" - 'state: running')"
done

# Start, and stop it as soon as the first domain's step is done: the other
# steps are still to run.
WATCH_LOG=$(vf_mktemp)/watch.log
watch_runtime
"$VF_BIN" watch -c "$VFIT_URI" --state-dir "$STATE" --runtime-dir "$RUNTIME" --config /dev/null --resync 3600 \
	--log-level debug "$MAN" >>"$WATCH_LOG" 2>&1 &
WATCH_PID=$!
wait_for "grep -q ': create: done' '$WATCH_LOG'" 180 || watch_fail "no step finished"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM during an apply"
grep -q '^<6>stopping' "$WATCH_LOG" || watch_fail "the daemon did not log its stop"
assert_ledger_parses
done_n=$(grep -c ': create: done' "$WATCH_LOG")
started_n=$(grep -c ': create: starting' "$WATCH_LOG")
vf_log "$done_n of $n create steps done before the stop; $started_n started"
# Every step that started also finished: nothing is left half-done.
assert_eq "$started_n" "$done_n" "steps started vs finished at SIGTERM"
for i in $(seq $n); do
	d=${P}d$i
	if vsh dominfo "$d" >/dev/null 2>&1; then
		assert_domain_state "$d" running
	fi
done

# The next start converges everything.
watch_start
for i in $(seq $n); do
	wait_for "[ \"\$(domstate ${P}d$i)\" = running ]" 180 || watch_fail "${P}d$i did not converge after the restart"
done

# SIGHUP: reloads the configuration and manifests and reconciles; the
# daemon keeps running.
kill -HUP "$WATCH_PID"
wait_for "grep -q 'reconcile (reload)' '$WATCH_LOG'" 60 || watch_fail "SIGHUP did not reload"
kill -0 "$WATCH_PID" || watch_fail "the daemon died on SIGHUP"

watch_stop INT
assert_eq 0 "$WATCH_RC" "exit status after SIGINT"
vf_pass
