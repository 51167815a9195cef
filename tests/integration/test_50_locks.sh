# test_50_locks.sh: virtform's locks against a real libvirtd started with
# lock_manager = "lockd" and a real virtlockd, on a private libvirt host
# (private_host.sh: the test's own mount and pid namespaces, config and
# daemons; the machine's libvirtd is never touched), and real processes
# (docs/locking.md):
#  1. metadata lock: while another process holds libvirt's metadata lock
#     (byte 1) on a volume's file, growing that volume waits; with
#     --lock-wait 2 apply fails naming the file and the holder's pid and
#     leaves the volume alone; with the default wait it goes through once
#     the holder is SIGKILLed. Meanwhile a second apply is refused, naming
#     the first, and a third with --lock-timeout waits its turn.
#  2. reconcile lock: while `virtform watch` holds the state directory,
#     apply fails at once naming the watch's pid; with --lock-timeout it
#     waits for the watch to stop; a SIGKILLed holder blocks nobody.
#  3. content leases taken by virtlockd for running domains, in its direct
#     lockspace (byte 0 of the disk file): a running domain's disk is listed
#     as leased by virtlockd in `plan` and `plan --json`; a domain defined
#     out of band that reaches a virtform volume through a symlink (so no
#     path comparison can see it) blocks deleting that volume and starting
#     a declared domain on it, until it stops.
#  4. the indirect lockspace (file_lockspace_dir in qemu-lockd.conf): after
#     libvirtd restarts with it, the lease is read from the file named by
#     the SHA-256 of the disk's path.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
. "$(dirname "$0")/private_host.sh"
vf_private_host "$@"
vf_private_host_start
vf_setup
watch_require

HOLDER_PID=""
APPLY_PID=""
# Stop what this test started (by pid) before lib.sh's cleanup sweeps.
vf_on_exit 'for p in $HOLDER_PID $APPLY_PID $WATCH_PID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done'

MiB=$((1024 * 1024))
pool=${P}pool
vol=data.qcow2
file=$POOLS/pool/$vol
gone=gone.qcow2
gone_file=$POOLS/pool/$gone
BOUND=120 # generous bound for a virtform run that must not hang

# hold_start PATH BYTE: another process takes an exclusive classic fcntl
# lock (F_WRLCK) on byte BYTE, length 1, of PATH and keeps it until it is
# killed; its pid (from the process itself) is in $HOLDER_PID.
hold_start() {
	local ready
	ready=$(vf_mktemp)/ready
	python3 -c '
import fcntl, os, sys, time
path, start, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open(path, os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, start)  # len 1 at byte start
with open(ready + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(ready + ".tmp", ready)
while True:
    time.sleep(3600)
' "$1" "$2" "$ready" &
	local bg=$!
	wait_for "[ -s '$ready' ]" 30 || vf_fail "the lock holder did not take byte $2 of $1"
	HOLDER_PID=$(cat "$ready")
	assert_eq "$bg" "$HOLDER_PID" "the lock holder's pid"
	vf_log "pid $HOLDER_PID holds byte $2 of $1"
}

hold_stop() { # [SIGNAL]
	[ -n "$HOLDER_PID" ] || return 0
	kill -"${1:-TERM}" "$HOLDER_PID"
	wait "$HOLDER_PID" 2>/dev/null
	vf_log "lock holder $HOLDER_PID stopped with SIG${1:-TERM}"
	HOLDER_PID=""
}

# vf_run_bounded CMD ARGS...: vf_run, but a run that hangs is killed
# after $BOUND s (exit 124) instead of hanging the test.
vf_run_bounded() {
	VFIT_BOUND=$BOUND vf_run "$@"
}

# apply_bg ARGS...: start `virtform apply ARGS... $MAN` in the background;
# apply_wait: wait for it, exit status in $RC and output in $OUT.
apply_bg() {
	APPLY_LOG=$(vf_mktemp)/apply.log
	"$VF_BIN" apply -c "$VFIT_URI" --state-dir "$STATE" "$@" "$MAN" >"$APPLY_LOG" 2>&1 &
	APPLY_PID=$!
	vf_log "virtform apply $* started in the background (pid $APPLY_PID)"
}
apply_wait() {
	local i
	for i in $(seq $((BOUND * 5))); do
		kill -0 "$APPLY_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$APPLY_PID" 2>/dev/null && kill -KILL "$APPLY_PID"
	RC=0
	wait "$APPLY_PID" || RC=$?
	APPLY_PID=""
	OUT=$(cat "$APPLY_LOG")
	printf '$ virtform apply (background)\n'
	printf '%s\n' "$OUT" | sed 's/^/  | /'
	printf '  (exit %s)\n' "$RC"
}

write_set() { # capacity
	vf_manifest 10-all.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" "$vol" "$1")"
}

# ---- 1. metadata lock (byte 1) ---------------------------------------------

write_set 64MiB
vf_run apply "$MAN"
assert_rc 0 "initial apply"
assert_eq $((64 * MiB)) "$(vol_capacity "$pool" "$vol")" "capacity after create"
[ -f "$file" ] || vf_fail "expected the volume's file at $file"

hold_start "$file" 1
write_set 128MiB
vf_run_bounded apply --lock-wait 2 "$MAN"
[ "$RC" = 124 ] && vf_fail "apply --lock-wait 2 did not finish within ${BOUND}s"
assert_rc 1 "apply --lock-wait 2 while byte 1 of the volume is held"
assert_out_contains "$file" "the failure names the locked file"
assert_out_contains "pid $HOLDER_PID" "the failure names the holder's pid"
vsh pool-refresh "$pool" >/dev/null
assert_eq $((64 * MiB)) "$(vsh vol-info --bytes --pool "$pool" "$vol" | awk '$1 == "Capacity:" {print $2}')" \
	"capacity (virsh vol-info --bytes) after the timed-out apply"

# Default wait (60 s): the apply waits for the holder and then grows it.
apply_bg
sleep 2
assert_eq $((64 * MiB)) "$(vol_capacity "$pool" "$vol")" "capacity while the holder still holds byte 1"
kill -0 "$APPLY_PID" 2>/dev/null || { apply_wait; vf_fail "apply with the default --lock-wait did not wait for the holder"; }

# Two applies at once: while the first waits (holding the state
# directory), a second is refused at once, naming it; with --lock-timeout
# a third waits its turn and then finds nothing left to do.
vf_run_bounded apply "$MAN"
assert_rc 1 "a second apply while the first holds the state directory"
assert_out_contains "pid $APPLY_PID" "the refusal names the first apply's pid"
THIRD_LOG=$(vf_mktemp)/third.log
"$VF_BIN" apply -c "$VFIT_URI" --state-dir "$STATE" --lock-timeout 60 "$MAN" >"$THIRD_LOG" 2>&1 &
THIRD_PID=$!
vf_on_exit 'kill -TERM $THIRD_PID 2>/dev/null'
sleep 1
kill -0 "$THIRD_PID" 2>/dev/null || vf_fail "apply --lock-timeout 60 did not wait for the first apply: $(cat "$THIRD_LOG")"

hold_stop KILL
apply_wait
assert_rc 0 "apply with the default --lock-wait, holder SIGKILLed after ~3 s"
RC=0
wait "$THIRD_PID" || RC=$?
OUT=$(cat "$THIRD_LOG")
printf '$ virtform apply --lock-timeout 60 (background)\n%s\n  (exit %s)\n' "$(printf '%s\n' "$OUT" | sed 's/^/  | /')" "$RC"
assert_rc 0 "the waiting apply, once the first finished"
assert_out_contains "No changes" "the waiting apply found the first one's work done"
vsh pool-refresh "$pool" >/dev/null
assert_eq $((128 * MiB)) "$(vsh vol-info --bytes --pool "$pool" "$vol" | awk '$1 == "Capacity:" {print $2}')" \
	"capacity (virsh vol-info --bytes) after the holder let go"

# ---- 2. reconcile lock (the state directory) -------------------------------

WATCH_LOG=$(vf_mktemp)/watch.log
watch_start
watch_status >/dev/null || watch_fail "virtform status did not answer"
vf_run_bounded apply "$MAN"
[ "$RC" = 124 ] && vf_fail "apply against a held state directory did not finish within ${BOUND}s"
assert_rc 1 "apply while watch holds the state directory"
assert_out_contains "pid $WATCH_PID" "the failure names the watch's pid"
assert_out_contains "$STATE" "the failure names the state directory"
kill -0 "$WATCH_PID" 2>/dev/null || watch_fail "the watch died"

# --lock-timeout 30: waits for the watch, stopped with SIGTERM after ~2 s.
apply_bg --lock-timeout 30
sleep 2
kill -0 "$APPLY_PID" 2>/dev/null || { apply_wait; vf_fail "apply --lock-timeout 30 did not wait for the watch"; }
watch_stop TERM
assert_eq 0 "$WATCH_RC" "the watch's exit status after SIGTERM"
apply_wait
assert_rc 0 "apply --lock-timeout 30 once the watch stopped"

# A SIGKILLed holder blocks nobody: the kernel drops its lock.
watch_start
killed=$WATCH_PID
watch_stop KILL
vf_log "watch $killed killed with SIGKILL (exit $WATCH_RC)"
vf_run_bounded apply "$MAN"
assert_rc 0 "apply (no --lock-timeout) after the holder was SIGKILLed"
assert_out_not_contains "pid $killed" "the dead holder is not named"
assert_ledger_parses


# ---- 3. content leases: virtlockd, direct lockspace ------------------------

LOCKD=$(vf_private_virtlockd_pid)

# assert_lease PATH PID LOCKSPACE LOCK_FILE: `plan --json` (in $OUT) lists
# a lease on PATH held by PID, in LOCKSPACE, on LOCK_FILE.
assert_lease() {
	printf '%s\n' "$OUT" | python3 -c '
import json, sys
path, pid, space, lock_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
leases = json.load(sys.stdin)["leases"]
ok = [l for l in leases if l["path"] == path and l["pid"] == pid and l["lockspace"] == space
      and l["lockFile"] == lock_file and not l["shared"] and "virtlockd" in (l["command"] or "")]
sys.exit(0 if ok else 1)
' "$1" "$2" "$3" "$4" || vf_fail "plan --json: expected a lease on $1 held by pid $2 (virtlockd) in lockspace $3 on $4"
}
# leased_json PATH: does `plan --json` list a lease on PATH now?
leased_json() {
	"$VF_BIN" plan --json -c "$VFIT_URI" --state-dir "$STATE" "$MAN" 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if [l for l in json.load(sys.stdin)["leases"] if l["path"] == sys.argv[1]] else 1)
' "$1"
}

# A declared domain runs on $vol: virtlockd leases its file.
dom_a=${P}a
vf_manifest 30-a.yaml "$(yaml_domain "$dom_a" "$pool/$vol" 'state: running')"
vf_run apply "$MAN"
assert_rc 0 "apply starting $dom_a"
assert_domain_state "$dom_a" running
vf_run plan --json "$MAN"
assert_rc 0 "plan --json with $dom_a running"
assert_lease "$file" "$LOCKD" direct "$file"
vf_run plan "$MAN"
assert_rc 0 "plan with $dom_a running"
assert_out_contains "Leases held (1):" "the plan lists the held lease"
assert_out_contains "Volume/$pool/$vol: $file by pid $LOCKD (/usr/sbin/virtlockd" "the lease names the volume, file and virtlockd"

# An out-of-band domain (not in any manifest) reaches a virtform volume
# through a symlink: no disk path matches, but the lease is on the file.
vf_manifest 20-gone.yaml "$(yaml_volume "$pool" "$gone" 32MiB 'deletionPolicy: Delete')"
vf_run apply "$MAN"
assert_rc 0 "apply creating $gone (deletionPolicy: Delete)"
assert_vol_exists "$pool" "$gone"
link=$POOLS/${P}link.qcow2
ln -s "$gone_file" "$link"
dom_x=${P}x
xml=$(vf_mktemp)/x.xml
xml_domain "$dom_x" "$link" 128 >"$xml"
vsh define "$xml" >/dev/null || vf_fail "virsh define $dom_x"
vsh start "$dom_x" >/dev/null || vf_fail "virsh start $dom_x"
vf_run plan --json "$MAN"
assert_rc 0 "plan --json with $dom_x running out of band"
assert_lease "$gone_file" "$LOCKD" direct "$gone_file"

# Starting a declared domain on the leased volume is blocked, not attempted.
dom_b=${P}b
vf_manifest 40-b.yaml "$(yaml_domain "$dom_b" "$pool/$gone" 'state: running')"
vf_run plan "$MAN"
assert_rc 2 "plan declaring $dom_b on the leased volume"
assert_out_matches "^! Domain/$dom_b: cannot start: disk $gone_file is leased by pid $LOCKD " \
	"starting $dom_b is a blocked step naming virtlockd"
vf_run_bounded apply "$MAN"
assert_rc 1 "apply with starting $dom_b blocked"
[ "$(domstate "$dom_b")" = running ] && vf_fail "$dom_b was started on a leased disk"
rm "$MAN/40-b.yaml"

# Deleting the leased volume is blocked; nothing is removed.
rm "$MAN/20-gone.yaml"
vf_run plan "$MAN"
assert_rc 2 "plan removing the leased volume"
assert_out_matches "^! Volume/$pool/$gone: cannot delete: $gone_file is leased by pid $LOCKD " \
	"the deletion is a blocked step naming virtlockd"
vf_run_bounded apply "$MAN"
assert_rc 1 "apply with the deletion blocked by the lease"
assert_vol_exists "$pool" "$gone"
[ -f "$gone_file" ] || vf_fail "expected $gone_file to remain on disk"

# The domain stops: virtlockd releases the lease, and the deletion goes on.
vsh destroy "$dom_x" >/dev/null || vf_fail "virsh destroy $dom_x"
wait_for "! leased_json '$gone_file'" 30 || vf_fail "the lease on $gone_file outlived $dom_x"
vf_run apply "$MAN"
assert_rc 0 "apply once $dom_x stopped"
assert_vol_absent "$pool" "$gone"
[ -e "$gone_file" ] && vf_fail "expected $gone_file to be gone from disk"
assert_domain_state "$dom_a" running

# ---- 4. the indirect lockspace ---------------------------------------------

space=/var/lib/libvirt/lockd/files
vsh destroy "$dom_a" >/dev/null || vf_fail "virsh destroy $dom_a"
wait_for "! leased_json '$file'" 30 || vf_fail "the lease on $file outlived $dom_a"
mkdir -p "$space"
VFIT_LOCKD_CONF="auto_disk_leases = 1
file_lockspace_dir = \"$space\""
vf_private_libvirtd_restart
vf_run apply "$MAN"
assert_rc 0 "apply restarting $dom_a with an indirect lockspace"
assert_domain_state "$dom_a" running
hash=$(printf '%s' "$file" | sha256sum | cut -d' ' -f1)
[ -e "$space/$hash" ] || vf_fail "virtlockd did not create $space/$hash; $space has: $(ls "$space")"
vf_run plan --json "$MAN"
assert_rc 0 "plan --json with an indirect lease"
assert_lease "$file" "$LOCKD" "$space" "$space/$hash"
vf_run plan "$MAN"
assert_rc 0 "plan at the end"
assert_out_contains "lockspace $space" "the plan names the indirect lockspace"
vf_pass
