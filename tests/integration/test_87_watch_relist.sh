# test_87_watch_relist.sh: events lost mid-stream mean a full relist before
# anything is planned (docs/watch.md, "The cache"). A private libvirtd
# (user nobody, libvirt's test driver over its own socket, as test_82 case
# 1: no shared daemon is killed) is killed while domains are being defined
# on it out of band; its test driver's state dies with it. After the
# restart the daemon must relist (log line, status counters) and so see
# that its owned domain is gone and define it again: planning from the
# cache it had before would think the domain still runs and do nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_require

if ! priv_can; then
	echo "SKIP: needs root, setpriv and a 'nobody' user to run a private libvirtd"
	vf_pass
fi
priv_setup
FLOOD_PID=""
flood_stop() {
	[ -n "$FLOOD_PID" ] || return 0
	kill "$FLOOD_PID" 2>/dev/null
	wait "$FLOOD_PID" 2>/dev/null
	FLOOD_PID=""
}
watch_trap
vf_on_exit priv_stop
vf_on_exit flood_stop
pv() { virsh -q -c "$PRIV_URI" "$@"; }
pstate() { pv domstate "$1" 2>/dev/null | head -n 1; }

priv_start
dom=${P}rl
printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n  memory: 64MiB\n  state: running\n' "$dom" >"$MAN/rl.yaml"
WATCH_URI=$PRIV_URI watch_start
wait_for "[ \"\$(pstate $dom)\" = running ]" 60 || watch_fail "$dom did not start on the private libvirtd"
assert_eq 1 "$(watch_status_json | json_get cache.relists)" "full listings before the kill (the start's)"

# Events stream in: domains defined and undefined in a loop.
(
	i=0
	while :; do
		i=$((i + 1))
		printf '<domain type="test"><name>%sfl%d</name><memory>65536</memory><os><type>hvm</type></os></domain>\n' "$P" "$i" >"$PRIV_DIR/fl.xml"
		pv define "$PRIV_DIR/fl.xml" >/dev/null 2>&1
		pv undefine "${P}fl$i" >/dev/null 2>&1
	done
) &
FLOOD_PID=$!
wait_for "[ \"\$(watch_status_json | json_get cache.events)\" -ge 20 ]" 60 || watch_fail "no events from the flood"

# Mid-stream: libvirtd dies, and the test driver's state with it.
priv_stop
wait_for "grep -q 'lost the connection' '$WATCH_LOG'" 60 || watch_fail "the daemon did not notice libvirtd going away"
flood_stop
priv_start
# The relist comes before any plan: the owned domain is seen to be gone
# and is defined and started again.
wait_for "grep -q 'cache: full relist (lost the connection' '$WATCH_LOG'" 60 || watch_fail "no relist after the reconnect"
wait_for "[ \"\$(pstate $dom)\" = running ]" 60 || watch_fail "$dom was not restored: was the pass planned from the old cache?"
S=$(watch_status_json)
assert_eq 2 "$(echo "$S" | json_get cache.relists)" "full listings (start, reconnect)"
echo "$S" | json_get cache.last_relist_reason | grep -q '^lost the connection' ||
	watch_fail "last relist reason: $(echo "$S" | json_get cache.last_relist_reason)"
# relist line comes before the reconnect pass's first plan
awk '/cache: full relist \(lost the connection/ { r = NR } /reconcile \(reconnected\)|plan: / { if (NR > s && r == 0 && seen_lost) bad = 1 } /lost the connection/ && !/full relist/ { seen_lost = 1; s = NR } END { exit bad }' "$WATCH_LOG" ||
	watch_fail "a plan came before the relist"
watch_resync
assert_eq 0 "$(echo "$ANS" | json_get cache.last_resync_disagreements)" "objects the cache had wrong after the relist"
watch_status | grep -q '2 relists (last: lost the connection' || watch_fail "status text: $(watch_status)"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
priv_stop
vf_pass
