# test_85_fleet_two_hosts.sh: the fleet, end to end, on a private libvirt
# host with a real etcd and a real QEMU (docs/fleet.md). A placed diskless
# guest is started by the daemon of host h1 (lease TTL 2 s), with h1 and
# its fencing token in the domain's metadata and its QEMU guarded by
# virtform-fence. Then h1's virtform is SIGKILLed: the helper kills the
# QEMU at the deadline, before etcd frees the lock; a second daemon, h2
# (the same libvirtd: one daemon at a time, so this shows the lease and
# the fence, not two hosts' libvirtds), takes the lock only after that and
# starts the guest under a larger token. A sampler checks every 10 ms that
# never two QEMUs run the guest. Last, h2's virtform is SIGSTOPped past the
# TTL: its QEMU is fenced meanwhile, and once continued it re-joins with a
# new lease and starts the guest again, under a larger token still. (The
# many-host, many-fault side is tests/chaos.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/private_host.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_private_host "$@"
vf_private_host_start
vf_setup
watch_require
command -v etcd >/dev/null 2>&1 || vf_fail "no etcd (Debian's etcd-server)"

WORK=$(vf_mktemp)
now_ms() { python3 -c 'import time; print(int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000))'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---- one etcd member on 127.0.0.1, its data in the test's temp dir --------
CPORT=$(free_port)
PPORT=$(free_port)
ETCD=http://127.0.0.1:$CPORT
etcd --name m1 --data-dir "$WORK/etcd" --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
	--listen-peer-urls "http://127.0.0.1:$PPORT" --initial-advertise-peer-urls "http://127.0.0.1:$PPORT" \
	--initial-cluster "m1=http://127.0.0.1:$PPORT" --heartbeat-interval 50 --election-timeout 500 \
	>"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
vf_on_exit "kill -9 $ETCD_PID"
PFX=/${P}fleet
b64() { printf '%s' "$1" | base64 -w0; }
# etcd_get KEY: the key's JSON range answer (etcd's gRPC gateway)
etcd_get() { curl -s -m 2 -X POST "$ETCD/v3/kv/range" -d "{\"key\": \"$(b64 "$1")\"}"; }
wait_for "etcd_get /x | vf_grep -q header" 30 || vf_fail "etcd did not come up (log: $WORK/etcd.log)"

DOM=${P}web
vf_manifest web.yaml "$(yaml_domain "$DOM" - "placement: {hosts: [h1, h2]}")"
LOCK=$PFX/lock/domain/$DOM

fence_meta() { vsh metadata "$DOM" https://virtform.dev/xmlns/fence/1 2>/dev/null; }
fence_token() { fence_meta | sed -n 's/.*token="\([0-9]*\)".*/\1/p'; }
fence_host() { fence_meta | sed -n 's/.*host="\([^"]*\)".*/\1/p'; }
# QEMU's pids for $DOM (its -name argument as libvirt passes it)
qemu_pids() { pgrep -f -- "-name guest=$DOM," || true; }

start_host() { # ID
	WATCH_LOG=$WORK/$1.log
	watch_start --host-id "$1" --etcd "$ETCD" --etcd-prefix "$PFX" --lease-ttl 2s --host-label "name=$1"
	vf_on_exit "kill -9 $WATCH_PID"
}

# ---- h1 places and starts it ------------------------------------------------
T0=$(now_ms)
start_host h1
wait_for '[ "$(domstate "$DOM")" = running ]' 60 || watch_fail "h1 did not start $DOM"
vf_log "h1 started $DOM $(( $(now_ms) - T0 )) ms after its daemon started"
assert_eq h1 "$(fence_host)" "the fencing record's host"
TOKEN1=$(fence_token)
[ -n "$TOKEN1" ] && [ "$TOKEN1" -gt 0 ] || vf_fail "no fencing token in $DOM's metadata: $(fence_meta)"
etcd_get "$LOCK" | vf_grep -q '"kvs"' || watch_fail "no lock key $LOCK in etcd"
wait_for 'watch_status | vf_grep -q "Domain/$DOM.*held by h1 (token $TOKEN1), here"' 10 ||
	watch_fail "status does not show h1 holding $DOM: $(watch_status)"
watch_status | sed 's/^/  | /'
QEMU1=$(qemu_pids)
[ "$(echo "$QEMU1" | wc -w)" = 1 ] || vf_fail "expected one QEMU for $DOM, found: $QEMU1"
wait_for 'watch_status_json | json_get fleet.guarded | vf_grep -qx 1' 10 ||
	watch_fail "the fence helper does not guard $DOM's QEMU"

# ---- h1's virtform is SIGKILLed: the helper fences before the lock moves ----
# The sampler kills it and watches the QEMU and the lock on one clock.
H1_PID=$WATCH_PID
read -r DEAD FREED MAX KILLED OVERLAP <<EOF
$(python3 "$(dirname "$0")/../tools/fence_sampler.py" "$H1_PID" "$QEMU1" "$ETCD" "$LOCK" "$DOM")
EOF
wait "$H1_PID" 2>/dev/null
WATCH_PID=""
[ "$DEAD" != - ] || vf_fail "h1's QEMU $QEMU1 still runs 8 s after its virtform was killed: not fenced"
[ "$FREED" != - ] || vf_fail "etcd did not free $LOCK within 8 s"
vf_log "virtform h1 SIGKILLed: QEMU killed after $DEAD ms, lock freed after $FREED ms"
[ "$OVERLAP" = 0 ] || vf_fail "the QEMU still ran after etcd had freed the lock: a double run was possible"
# The deadline is at most TTL - margin (1.5 s) after the kill, plus the
# sampler's own latency.
[ "$DEAD" -le 2000 ] || vf_fail "fenced $DEAD ms after the kill, later than TTL - margin"

# ---- h2 takes it over, under a larger token ---------------------------------
start_host h2
wait_for '[ "$(domstate "$DOM")" = running ] && [ "$(fence_host)" = h2 ]' 60 ||
	watch_fail "h2 did not start $DOM: $(fence_meta)"
UP=$(now_ms)
TOKEN2=$(fence_token)
vf_log "h2 runs $DOM $((UP - KILLED)) ms after h1 was killed; token $TOKEN1 -> $TOKEN2"
[ "$TOKEN2" -gt "$TOKEN1" ] || vf_fail "the fencing token did not grow: $TOKEN1 -> $TOKEN2"
for i in $(seq 25); do
	n=$(qemu_pids | wc -w)
	[ "$n" -gt "$MAX" ] && MAX=$n
	sleep 0.02
done
[ "$MAX" -le 1 ] || vf_fail "$MAX QEMUs ran $DOM at once"

# ---- h2's virtform SIGSTOPped past the TTL, then continued ------------------
# The helper fences at the deadline; the continued daemon finds its lease
# gone (CLOCK_BOOTTIME counted on), drops the lock, re-joins with a new
# lease and starts the guest again under a larger token.
QEMU2=$(qemu_pids)
kill -STOP "$WATCH_PID"
STOPPED=$(now_ms)
wait_for '! kill -0 "$QEMU2" 2>/dev/null' 5 || { kill -CONT "$WATCH_PID"; watch_fail "h2's QEMU still runs while its virtform is stopped past the TTL"; }
vf_log "virtform h2 SIGSTOPped: QEMU killed after $(( $(now_ms) - STOPPED )) ms"
sleep 1.5
kill -CONT "$WATCH_PID"
wait_for '[ "$(domstate "$DOM")" = running ] && [ "$(fence_token)" -gt "$TOKEN2" ]' 60 ||
	watch_fail "h2 did not start $DOM again after SIGCONT: $(fence_meta)"
TOKEN3=$(fence_token)
vf_log "h2 continued: lease lost and re-joined, $DOM running again $(( $(now_ms) - STOPPED )) ms after the stop; token $TOKEN2 -> $TOKEN3"
vf_grep -q "fleet: host h2 lost its etcd lease" "$WATCH_LOG" || watch_fail "h2 did not log the lost lease"
[ "$(qemu_pids | wc -w)" = 1 ] || vf_fail "expected one QEMU for $DOM after the re-join: $(qemu_pids)"
watch_status | sed 's/^/  | /'
watch_stop TERM
vf_pass
