# test_40_snapshot.sh: `plan --snapshot` prints exactly what `plan` prints
# on the same host at the same moment (text and JSON, exit codes too), and
# needs nothing of the host to do it: LIBVIRT_DEFAULT_URI pointing nowhere,
# libvirtd's sockets hidden in a private mount namespace, no state
# directory, and (strace) not one connect() or open of a lock file.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
dom=${P}snap
vf_manifest all.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" disk.qcow2 64MiB)
---
$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: running')"
vf_run apply "$MAN"
assert_rc 0 "initial apply"

# Pending changes of several kinds: drift (memory, live and next boot), a
# new volume, and a hand-made domain virtform must leave alone.
vf_manifest all.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" disk.qcow2 64MiB)
---
$(yaml_volume "$pool" extra.qcow2 32MiB)
---
$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: running' 'autostart: true' | sed 's/memory: 128MiB/memory: 160MiB/')"
qemu-img create -q -f qcow2 "$POOLS/pool/hand.qcow2" 16M
hand=$(vf_mktemp)/hand.xml
xml_domain "${P}hand" "$POOLS/pool/hand.qcow2" 64 >"$hand"
vsh define "$hand" >/dev/null || vf_fail "virsh define of the hand-made domain failed"

snap=$(vf_mktemp)/host.json
# the same moment: snapshot, then both plans, with nothing in between
vf_run snapshot -c "$VFIT_URI" --state-dir "$STATE" --out "$snap"
assert_rc 0 "snapshot"
vf_run plan "$MAN"
live_rc=$RC live_text=$OUT
vf_run plan --json "$MAN"
live_json=$OUT
assert_rc 2 "plan with changes pending"
assert_out_contains '"changes":true' "plan --json shows changes"

python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$snap" || vf_fail "snapshot is not JSON"
python3 - "$snap" "$(dirname "$0")/../../specs/snapshot.schema.json" <<'EOF' || vf_fail "snapshot does not match specs/snapshot.schema.json"
import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[2]))).validate(json.load(open(sys.argv[1])))
EOF

nowhere="qemu+unix:///system?socket=/nonexistent/vf-nowhere.sock"
# offline: no -c, no --state-dir; the default URI points nowhere
RC=0
off_text=$(cd / && LIBVIRT_DEFAULT_URI=$nowhere "$VF_BIN" plan --snapshot "$snap" "$MAN" 2>&1) || RC=$?
assert_eq "$live_rc" "$RC" "plan --snapshot exit code"
[ "$off_text" = "$live_text" ] || vf_fail "plan --snapshot text differs from plan:
--- plan
$live_text
--- plan --snapshot
$off_text"
RC=0
off_json=$(cd / && LIBVIRT_DEFAULT_URI=$nowhere "$VF_BIN" plan --json --snapshot "$snap" "$MAN" 2>&1) || RC=$?
assert_eq 2 "$RC" "plan --json --snapshot exit code"
[ "$off_json" = "$live_json" ] || vf_fail "plan --snapshot --json differs from plan --json:
$(diff <(printf '%s\n' "$live_json") <(printf '%s\n' "$off_json"))"
vf_log "text and JSON identical ($(printf '%s\n' "$live_text" | wc -l) lines of plan)"

# A flag that would choose a host or a state directory is refused with
# --snapshot, naming it, as -c is: not silently ignored.
for flag in "-c $VFIT_URI" "--state-dir $STATE" "--connect-timeout 3"; do
	RC=0
	# shellcheck disable=SC2086 # the flag and its value are two words
	OUT=$("$VF_BIN" plan --snapshot "$snap" $flag "$MAN" 2>&1) || RC=$?
	assert_rc 1 "plan --snapshot $flag"
	assert_out_contains "it takes no ${flag%% *}" "plan --snapshot $flag names the flag"
	assert_out_contains "Try 'virtform plan --help'." "plan --snapshot $flag is a usage error"
	assert_out_not_contains "Plan:" "plan --snapshot $flag plans nothing"
done

# libvirtd unreachable: its sockets hidden by an empty tmpfs in a private
# mount namespace, traced for any connect() and any open under a state dir
trace=$(vf_mktemp)/trace
RC=0
# (LeakSanitizer cannot run under ptrace: an ASan build checks leaks in the runs above)
OUT=$(LIBVIRT_DEFAULT_URI=$nowhere ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 unshare -m --propagation private sh -c '
	mount -t tmpfs none /run/libvirt || exit 98
	[ -e /run/libvirt/libvirt-sock ] && { echo "socket still visible"; exit 99; }
	exec strace -f -qq -o "$1" -e trace=connect,socket,openat,open,flock,fcntl "$2" plan --snapshot "$3" "$4"' _ \
	"$trace" "$VF_BIN" "$snap" "$MAN" 2>&1) || RC=$?
assert_eq "$live_rc" "$RC" "plan --snapshot with libvirtd unreachable: exit code (output: $OUT)"
[ "$OUT" = "$live_text" ] || vf_fail "plan --snapshot with libvirtd unreachable differs: $OUT"
if grep -E 'connect\(|socket\(' "$trace" >/dev/null; then
	vf_fail "plan --snapshot connected somewhere: $(grep -E 'connect\(|socket\(' "$trace" | head -5)"
fi
if grep -E 'F_SETLK|F_OFD_SETLK|flock\(|\.lock"|ledger\.json|/var/lib/virtform' "$trace" >/dev/null; then
	vf_fail "plan --snapshot touched a lock or the state directory: $(grep -E 'F_SETLK|F_OFD_SETLK|flock\(|\.lock"|ledger\.json|/var/lib/virtform' "$trace" | head -5)"
fi
vf_log "no socket, no connect, no lock, no state directory: $(grep -c . "$trace") traced calls"

# bad input: a truncated and a hand-edited snapshot are refused at their line:col
bad=$(vf_mktemp)
head -c 2000 "$snap" >"$bad/cut.json"
RC=0
OUT=$("$VF_BIN" plan --snapshot "$bad/cut.json" "$MAN" 2>&1) || RC=$?
assert_rc 1 "truncated snapshot"
assert_out_matches "cut\.json:[0-9]+:[0-9]+: error: snapshot ends before its JSON does" "truncated snapshot refused at its position"
sed 's/"live_memory": [0-9]*/"live_memory": 1/' "$snap" >"$bad/edited.json"
RC=0
OUT=$("$VF_BIN" plan --snapshot "$bad/edited.json" "$MAN" 2>&1) || RC=$?
assert_rc 1 "edited snapshot"
assert_out_matches "edited\.json:[0-9]+:[0-9]+: error: snapshot digest: does not match the content" "edited snapshot refused"
assert_out_not_contains "Plan:" "nothing of an edited snapshot is used"

vsh undefine "${P}hand" >/dev/null 2>&1
vf_pass
