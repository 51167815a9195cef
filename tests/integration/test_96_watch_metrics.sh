# test_96_watch_metrics.sh: `virtform watch --metrics` against a real
# libvirtd, scraped as Prometheus would (curl, GET /metrics) while the run
# goes on: a first pass counts as converged with nothing managed; manifests
# dropped in raise the managed objects and the create steps; a change made
# behind virtform's back (a virsh define) counts as Domain drift and an
# update step; a manifest set that conflicts counts its conflicts; the
# histogram's count follows the passes. Then the same over 127.0.0.1:PORT.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_trap
watch_require
command -v curl >/dev/null || vf_fail "curl is not installed"

M=$(vf_mktemp)
SOCK=$M/metrics.sock
scrape() { curl -sf --max-time 10 --unix-socket "$SOCK" http://localhost/metrics; }
# metric SERIES: its value in a fresh scrape ("" when absent).
metric() { scrape | awk -v s="$1" '$1 == s { print $2 }'; }
wait_metric() { # SERIES EXPECTED SECONDS WHAT
	wait_for "[ \"\$(metric '$1')\" = '$2' ]" "$3" ||
		watch_fail "$4: $1 is '$(metric "$1")', not $2"
}

watch_start --metrics "unix:$SOCK"
scrape >"$M/first.txt" || watch_fail "GET /metrics on $SOCK failed"
vf_log "first scrape: $(grep -c '^virtform_' "$M/first.txt") samples"
grep -q '^# TYPE virtform_reconcile_time_seconds histogram$' "$M/first.txt" || vf_fail "no reconcile histogram"
wait_metric 'virtform_reconcile_total{result="converged"}' 1 30 "the first pass (empty set) converged"
assert_eq 0 "$(metric 'virtform_managed_objects{kind="Domain"}')" "nothing managed yet"
assert_eq 1 "$(metric virtform_libvirt_connected)" "connected to libvirt"

pool=${P}pool dom=${P}dom
vf_manifest pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"
vf_manifest dom.yaml "$(yaml_domain "$dom" - 'state: shutoff')"
wait_metric 'virtform_steps_total{kind="Domain",action="create",outcome="done"}' 1 120 "the domain was created"
assert_domain_exists "$dom"
wait_metric 'virtform_managed_objects{kind="Domain"}' 1 30 "one domain managed"
assert_eq 1 "$(metric 'virtform_managed_objects{kind="StoragePool"}')" "one pool managed"
assert_eq 1 "$(metric 'virtform_steps_total{kind="StoragePool",action="create",outcome="done"}')" "the pool's create step"
assert_eq 1 "$(metric 'virtform_plan_steps_total{kind="Domain",action="create"}')" "the planned create"
assert_eq 0 "$(metric 'virtform_drift_total{kind="Domain"}')" "no drift yet"
passes=$(metric virtform_reconcile_time_seconds_count)

# Drift behind virtform's back: the libvirt event brings a pass that puts it
# back. A redefine raises one ("defined, updated"); virsh setmaxmem --config
# of a shut-off domain raises none, so the daemon would see it only at its
# resync (docs/watch.md, "The cache").
vsh dumpxml --inactive "$dom" |
	sed "s|<memory unit='KiB'>131072</memory>|<memory unit='KiB'>196608</memory>|; s|<currentMemory unit='KiB'>131072</currentMemory>|<currentMemory unit='KiB'>196608</currentMemory>|" >"$M/dom.xml"
vf_grep -q "196608" "$M/dom.xml" || vf_fail "cannot make the changed definition of $dom"
vsh define "$M/dom.xml" >/dev/null || vf_fail "virsh define $dom"
wait_metric 'virtform_drift_total{kind="Domain"}' 1 60 "the out-of-band memory change counts as drift"
wait_metric 'virtform_steps_total{kind="Domain",action="update",outcome="done"}' 1 60 "the drift was undone"
vsh dumpxml --inactive "$dom" | vf_grep -q "<memory unit='KiB'>131072<" || vf_fail "memory not back at 128MiB"
[ "$(metric virtform_reconcile_time_seconds_count)" -gt "$passes" ] || vf_fail "the histogram count did not move"

# A conflicting set (a second pool on the first one's directory) is
# rejected while planning; the last good set is kept.
vf_manifest dup.yaml "$(yaml_pool "${P}pool2" "$POOLS/pool")"
wait_for "[ \"\$(metric virtform_plan_conflicts_total)\" -ge 1 ]" 60 ||
	watch_fail "the conflict was not counted: $(metric virtform_plan_conflicts_total)"
assert_eq 1 "$(metric 'virtform_managed_objects{kind="Domain"}')" "the last good set is still managed"
rm -f "$MAN/dup.yaml"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "SIGTERM exits 0"
[ -e "$SOCK" ] && vf_fail "the metrics socket is left behind after SIGTERM"

# 127.0.0.1:PORT, set in virtform.conf: a free port, then a scrape.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'metrics = 127.0.0.1:%s\n' "$port" >"$M/virtform.conf"
"$VF_BIN" watch -c test:///default --state-dir "$(vf_mktemp)" --runtime-dir "$M/run2" --config "$M/virtform.conf" \
	--resync 3600 "$(vf_mktemp)" >"$M/tcp.log" 2>&1 &
WATCH_PID=$!
wait_for "curl -sf --max-time 5 http://127.0.0.1:$port/metrics | grep -q '^virtform_reconcile_total{result=\"converged\"} [1-9]'" 30 ||
	{ cat "$M/tcp.log"; vf_fail "no metrics on 127.0.0.1:$port"; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing")
assert_eq 404 "$code" "a path other than /metrics"
watch_stop TERM
vf_pass
