# test_50_locks.sh: virtform's locks against a real libvirtd and real
# processes (docs/locking.md):
#  1. metadata lock: while another process holds libvirt's metadata lock
#     (byte 1) on a volume's file, growing that volume waits; with
#     --lock-wait 2 apply fails naming the file and the holder's pid and
#     leaves the volume alone; with the default wait it goes through once
#     the holder lets go.
#  2. reconcile lock: while `virtform watch` holds the state directory,
#     apply fails at once naming the watch's pid; with --lock-timeout it
#     waits for the watch to stop; a SIGKILLed holder blocks nobody.
#  3. content lease: a lock on byte 0 of a volume's file is listed in the
#     plan's leases and blocks deleting that volume until it is released.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_require

HOLDER_PID=""
APPLY_PID=""
# Stop what this test started (by pid) before lib.sh's cleanup sweeps.
trap 'rc=$?
for p in $HOLDER_PID $APPLY_PID $WATCH_PID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
(exit $rc); vf_cleanup' EXIT

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

hold_stop() {
	[ -n "$HOLDER_PID" ] || return 0
	kill -TERM "$HOLDER_PID"
	wait "$HOLDER_PID" 2>/dev/null
	vf_log "lock holder $HOLDER_PID stopped"
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
hold_stop
apply_wait
assert_rc 0 "apply with the default --lock-wait, holder released after ~2 s"
vsh pool-refresh "$pool" >/dev/null
assert_eq $((128 * MiB)) "$(vsh vol-info --bytes --pool "$pool" "$vol" | awk '$1 == "Capacity:" {print $2}')" \
	"capacity (virsh vol-info --bytes) after the holder let go"

# ---- 2. reconcile lock (the state directory) -------------------------------

WATCH_LOG=$(vf_mktemp)/watch.log
watch_start
"$VF_BIN" status --state-dir "$STATE" >/dev/null || watch_fail "virtform status did not answer"
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

# ---- 3. content lease (byte 0) ---------------------------------------------
# This SIMULATES virtlockd's lease in its direct lockspace (an exclusive
# fcntl lock on byte 0 of the disk file, what virtlockd holds for a running
# domain's disk) with a python3 process. It does not run virtlockd: making
# the system libvirtd use it (lock_manager = "lockd" in qemu.conf) would
# mean reconfiguring and restarting the system libvirtd, which these tests
# must never do.

vf_manifest 20-gone.yaml "$(yaml_volume "$pool" "$gone" 32MiB 'deletionPolicy: Delete')"
vf_run apply "$MAN"
assert_rc 0 "apply creating $gone (deletionPolicy: Delete)"
assert_vol_exists "$pool" "$gone"

hold_start "$gone_file" 0
rm "$MAN/20-gone.yaml"
vf_run plan --json "$MAN"
assert_rc 2 "plan --json with the lease held"
printf '%s\n' "$OUT" | python3 -c '
import json, sys
path, pid = sys.argv[1], int(sys.argv[2])
plan = json.load(sys.stdin)
ok = [l for l in plan["leases"] if l["path"] == path and l["pid"] == pid]
sys.exit(0 if ok else 1)
' "$gone_file" "$HOLDER_PID" || vf_fail "plan --json: expected a lease on $gone_file held by pid $HOLDER_PID"

vf_run plan "$MAN"
assert_rc 2 "plan with the lease held"
assert_out_matches "^! Volume/$pool/$gone" "the deletion is a blocked step"
assert_out_contains "pid $HOLDER_PID" "the blocked step names the holder's pid"

vf_run_bounded apply "$MAN"
assert_rc 1 "apply with the deletion blocked by the lease"
assert_vol_exists "$pool" "$gone"
[ -f "$gone_file" ] || vf_fail "expected $gone_file to remain on disk"

hold_stop
vf_run plan --json "$MAN"
assert_rc 2 "plan --json after the holder exited"
printf '%s\n' "$OUT" | python3 -c 'import json, sys; sys.exit(1 if json.load(sys.stdin)["leases"] else 0)' ||
	vf_fail "plan --json: expected no leases after the holder exited"
vf_run apply "$MAN"
assert_rc 0 "apply after the holder exited"
assert_vol_absent "$pool" "$gone"
[ -e "$gone_file" ] && vf_fail "expected $gone_file to be gone from disk"
assert_vol_exists "$pool" "$vol"
vf_run plan "$MAN"
assert_rc 0 "plan at the end"
vf_pass
