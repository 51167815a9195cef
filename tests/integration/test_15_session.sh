# test_15_session.sh: issue 20 point 4. An unprivileged user converges a
# small tree (a dir pool, a volume, a tiny running domain) on
# qemu:///session with no flags beyond -c: the state directory defaults to
# ~/.local/state/virtform ($XDG_STATE_HOME unset), not /var/lib/virtform
# (before: "cannot create state directory /var/lib/virtform: Permission
# denied"); a re-plan says no changes; removing the domain's and the
# volume's manifests removes them. The session libvirtd is libvirt's own,
# spawned on first use in the user's $XDG_RUNTIME_DIR; the user (vfit-...)
# and every process it ran are gone when the test ends.
. "$(dirname "$0")/lib.sh"
vf_setup
# run by other users: a copy they can reach
VF_BIN=$(vf_bin_for_others)

usr=${P}s
BASE=$(vf_mktemp)
chmod 0755 "$BASE"
UHOME=$BASE/home
URUN=$BASE/run
SMAN=$BASE/manifests
# Its processes (the session libvirtd, its virtlogd, QEMU) go before the
# user does; they are this throwaway user's, so all of them are the test's.
vf_on_exit "vf_session_user_gone '$usr'"
vf_session_user_gone() {
	local u=$1 pid i
	id "$u" >/dev/null 2>&1 || return 0
	for pid in $(pgrep -u "$u"); do kill "$pid" 2>/dev/null; done
	for i in $(seq 50); do
		pgrep -u "$u" >/dev/null || break
		sleep 0.1
	done
	for pid in $(pgrep -u "$u"); do kill -KILL "$pid" 2>/dev/null; done
	userdel "$u" 2>/dev/null
}
useradd -M -N -d "$UHOME" -s /bin/sh "$usr" || vf_fail "useradd $usr"
mkdir -m 0700 "$UHOME" "$URUN"
mkdir -m 0755 "$SMAN"
chown "$usr": "$UHOME" "$URUN"

# as CMD...: run CMD as the user in a login-like environment (HOME and
# XDG_RUNTIME_DIR only, as a desktop session or pam_systemd would set);
# output in $OUT, status in $RC, echoed as vf_run does.
as() {
	RC=0
	OUT=$(cd "$UHOME" && runuser -u "$usr" -- env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin \
		HOME="$UHOME" XDG_RUNTIME_DIR="$URUN" "$@" 2>&1) || RC=$?
	printf '$ (as %s) %s\n' "$usr" "$*"
	printf '%s\n' "$OUT" | sed 's/^/  | /'
	printf '  (exit %s)\n' "$RC"
}
usess() { as virsh -q -c qemu:///session "$@"; }

if [ -n "${VFIT_DOMAIN_TYPE:-}" ]; then
	DTYPE=$VFIT_DOMAIN_TYPE
elif runuser -u "$usr" -- sh -c 'test -r /dev/kvm && test -w /dev/kvm' 2>/dev/null; then
	DTYPE=kvm
else
	DTYPE=qemu
fi
pool=${P}spool
dom=${P}sdom
printf '%s\n' "$(yaml_pool "$pool" "$UHOME/pool")" >"$SMAN/10-pool.yaml"
printf '%s\n' "$(yaml_volume "$pool" disk.qcow2 16MiB 'deletionPolicy: Delete')" >"$SMAN/20-disk.yaml"
printf '%s\n' "$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: running' 'shutdownTimeout: 3s')" >"$SMAN/30-dom.yaml"
chmod 0644 "$SMAN"/*.yaml

t0=$SECONDS
as "$VF_BIN" plan -c qemu:///session "$SMAN"
assert_rc 2 "plan as an unprivileged user"
assert_out_contains "Plan: 3 to create, 0 to update, 0 to remove, 0 blocked." "plan as the user"

as "$VF_BIN" apply -c qemu:///session "$SMAN"
assert_rc 0 "apply as an unprivileged user with no flags beyond -c"
assert_out_contains "Apply complete: 3 created" "apply as the user"
[ -f "$UHOME/.local/state/virtform/ledger.json" ] ||
	vf_fail "the ledger is not in ~/.local/state/virtform: $(find "$UHOME" -name ledger.json)"
assert_eq "700 $usr" "$(stat -c '%a %U' "$UHOME/.local/state/virtform")" "the state directory's mode and owner"
[ ! -e /var/lib/virtform/ledger.json ] || ! grep -q "$dom" /var/lib/virtform/ledger.json ||
	vf_fail "the user's objects landed in /var/lib/virtform"
grep -q '"uri": *"qemu:///session"' "$UHOME/.local/state/virtform/ledger.json" ||
	vf_fail "the ledger is not bound to qemu:///session: $(cat "$UHOME/.local/state/virtform/ledger.json")"

usess domstate "$dom"
assert_eq running "$OUT" "the domain runs in the user's session"
qpid=$(cat "$URUN/libvirt/qemu/run/$dom.pid" 2>/dev/null)
assert_eq "$usr" "$(ps -o user= -p "${qpid:-0}" 2>/dev/null)" "QEMU runs as the user"
usess vol-info --pool "$pool" disk.qcow2
assert_rc 0 "the volume exists in the user's pool"
[ -f "$UHOME/pool/disk.qcow2" ] || vf_fail "expected $UHOME/pool/disk.qcow2"
# Nothing on the system daemon.
if vsh dominfo "$dom" >/dev/null 2>&1 || vsh pool-info "$pool" >/dev/null 2>&1; then
	vf_fail "the session's objects showed up on qemu:///system"
fi

as "$VF_BIN" plan -c qemu:///session "$SMAN"
assert_rc 0 "re-plan as the user"
assert_out_contains "No changes. The host matches the manifests." "re-plan as the user"

rm "$SMAN/30-dom.yaml" "$SMAN/20-disk.yaml"
as "$VF_BIN" apply -c qemu:///session "$SMAN"
assert_rc 0 "apply removing the domain and the volume"
assert_out_contains "- Domain/$dom" "the domain is removed"
assert_out_matches '^- Volume/.*disk\.qcow2' "the volume is removed"
usess dominfo "$dom"
[ "$RC" != 0 ] || vf_fail "the domain is still defined in the session"
[ ! -e "$UHOME/pool/disk.qcow2" ] || vf_fail "the volume's file is still there"
as "$VF_BIN" plan -c qemu:///session "$SMAN"
assert_rc 0 "plan after the removal"
vf_log "session converge, re-plan and removal took $((SECONDS - t0)) s"
vf_pass
