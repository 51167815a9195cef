# test_86_watch_cache.sh: the daemon's cache (docs/watch.md, "The cache")
# under a flood of events. 50 tiny domains are defined, described, undefined
# out of band (5 of them also started and destroyed), in one virsh session, while an owned domain is destroyed too: the
# daemon converges (the owned domain runs again), its cache agrees with a
# fresh listing (the `resync` command finds 0 disagreements), and the
# events were paid for by re-reading the objects they named, never by
# listing the host again (one relist: the start's).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_require
watch_trap

web=${P}web
vf_manifest web.yaml "$(yaml_domain "$web" - 'state: running')"
watch_start
wait_for "[ \"\$(domstate $web)\" = running ]" 60 || watch_fail "$web did not start"
wait_for 'watch_status_json | json_get last_reconcile.result | grep -qx converged' 30 ||
	watch_fail "no converged pass after the start"

# ---- the flood ----------------------------------------------------------------
N=50
TMP=$(vf_mktemp)
for i in $(seq $N); do
	cat >"$TMP/f$i.xml" <<XML
<domain type='$DTYPE'><name>${P}f$i</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os></domain>
XML
	echo "define $TMP/f$i.xml"
	echo "desc ${P}f$i --config --new-desc flood-$i" # a metadata change event
	# a guest start is seconds here: a few of them, not 50
	[ $((i % 12)) = 1 ] && echo "start ${P}f$i" && echo "destroy ${P}f$i"
done >"$TMP/flood.virsh"
vsh destroy "$web" >/dev/null || vf_fail "virsh destroy $web"
t0=$(date +%s)
virsh -q -c "$VFIT_URI" <"$TMP/flood.virsh" >"$TMP/flood.out" 2>&1
grep -q error "$TMP/flood.out" && { cat "$TMP/flood.out"; vf_fail "the flood's virsh failed"; }
for i in $(seq $N); do echo "undefine ${P}f$i"; done | virsh -q -c "$VFIT_URI" >/dev/null 2>&1 ||
	vf_fail "undefining the flood's domains failed"
vf_log "flood of $N domains (define, describe, undefine; 5 started and destroyed) took $(( $(date +%s) - t0 ))s"

# ---- converged, and the cache is right ------------------------------------------
wait_for "[ \"\$(domstate $web)\" = running ]" 60 || watch_fail "$web not running again after the flood"
# Idle: no pass running, nothing waiting to be read.
wait_for 'S=$(watch_status_json) && [ "$(echo "$S" | json_get reconciling)" = "" ] && [ "$(echo "$S" | json_get cache.pending)" = 0 ] && [ "$(echo "$S" | json_get last_reconcile.result)" = converged ]' 60 ||
	watch_fail "the daemon did not settle after the flood: $(watch_status_json)"
watch_resync
vf_log "resync: $ANS"
assert_eq 0 "$(echo "$ANS" | json_get cache.last_resync_disagreements)" "objects the cache had wrong after the flood"
assert_eq 0 "$(echo "$ANS" | json_get cache.disagreements)" "disagreements since the start"
assert_eq 1 "$(echo "$ANS" | json_get cache.relists)" "full listings (only the start's)"
events=$(echo "$ANS" | json_get cache.events)
reads=$(echo "$ANS" | json_get cache.event_reads)
[ "$events" -ge $((N * 3)) ] || watch_fail "only $events events counted for $N domains defined, described, undefined"
[ "$reads" -ge "$N" ] || watch_fail "only $reads objects read for $events events"
# The flood's domains are gone from the cache as from the host.
vsh list --all --name | grep -q "^${P}f" && vf_fail "flood domains still defined"
echo "$ANS" | json_get cache.domains
grep -q 'disagrees with the host' "$WATCH_LOG" && watch_fail "the log names a disagreement"
vf_log "cache after the flood: $(watch_status | grep '^Cache:')"
# status shows the counters in its text form too
watch_status | grep -q '^Cache: valid; .* 1 relists (last: start); 1 resyncs, 0 disagreements' ||
	watch_fail "status does not show the cache line: $(watch_status)"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
vf_pass
