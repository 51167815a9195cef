# test_13_local.sh: issue 20 point 5, "is this host local?" is decided by
# the host's identity, not by how the URI spells the host. The local
# libvirtd is reached through a URI naming another machine
# (qemu+ext://elsewhere.invalid/system, its `command` a bridge to the local
# socket, as ssh would be): its host UUID and name are this machine's, so
# virtform treats its files as local and takes libvirt's metadata lock
# before growing a volume. With another process holding that lock, apply
# waits (--lock-wait 1) and fails naming the holder; it does not grow the
# file behind the holder's back. The same ledger is accepted over this URI
# (rule 10: the host UUID decides).
. "$(dirname "$0")/lib.sh"
vf_setup

MiB=$((1024 * 1024))
pool=${P}pool
vol=disk.qcow2
file=$POOLS/pool/$vol
write_set() { # capacity
	vf_manifest 10-all.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" "$vol" "$1")"
}
write_set 16MiB
vf_run apply "$MAN"
assert_rc 0 "initial apply"

BIN=$(vf_mktemp)
cat >"$BIN/bridge" <<'EOF'
#!/usr/bin/python3
# stdin/stdout <-> the local libvirtd's socket, as ssh would carry them
import os, socket, threading
s = socket.socket(socket.AF_UNIX)
s.connect("/run/libvirt/libvirt-sock")
def up():
    while True:
        b = os.read(0, 65536)
        if not b:
            s.shutdown(socket.SHUT_WR)
            return
        s.sendall(b)
threading.Thread(target=up, daemon=True).start()
while True:
    b = s.recv(65536)
    if not b:
        break
    os.write(1, b)
EOF
chmod 0755 "$BIN" "$BIN/bridge"
FAR="qemu+ext://elsewhere.invalid/system?command=$BIN/bridge"
virsh -q -c "$FAR" uri >/dev/null 2>&1 || vf_fail "cannot reach the local libvirtd through $FAR"

# Another process holds libvirt's metadata lock (byte 1) on the file.
python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 1)
open(sys.argv[2], "w").write(str(os.getpid()))
time.sleep(3600)
' "$file" "$BIN/held" &
holder=$!
vf_on_exit "kill $holder 2>/dev/null"
wait_for "[ -s '$BIN/held' ]" 30 || vf_fail "the lock holder did not take byte 1 of $file"

write_set 32MiB
RC=0
OUT=$(timeout -k 5 120 "$VF_BIN" apply -c "$FAR" --state-dir "$STATE" --lock-wait 1 "$MAN" 2>&1) || RC=$?
printf '$ virtform apply -c %s --lock-wait 1\n%s\n  (exit %s)\n' "$FAR" "$OUT" "$RC"
assert_out_not_contains "belongs to another host" "the same host under another URI is accepted"
assert_rc 1 "apply over a URI naming another machine, while byte 1 is held"
assert_out_contains "$file" "the failure names the locked file"
assert_out_contains "pid $holder" "the failure names the holder"
vsh pool-refresh "$pool" >/dev/null
assert_eq $((16 * MiB)) "$(vol_capacity "$pool" "$vol")" "capacity after the refused resize"

# Without the holder, the same URI grows it.
kill "$holder"
wait "$holder" 2>/dev/null
RC=0
OUT=$("$VF_BIN" apply -c "$FAR" --state-dir "$STATE" "$MAN" 2>&1) || RC=$?
printf '$ virtform apply -c %s\n%s\n  (exit %s)\n' "$FAR" "$OUT" "$RC"
assert_rc 0 "apply over the far URI without a holder"
assert_eq $((32 * MiB)) "$(vol_capacity "$pool" "$vol")" "capacity after the resize"
vf_pass
