#!/bin/bash
# host.sh: one host of the chaos harness (tests/chaos/chaos.py boots it). It
# runs as pid 1 of a fresh pid and mount namespace, inside the host's own
# network namespace, and does what a hypervisor's init would: libvirt's
# directories and daemons (private_host.sh's mechanics, on BASE, which
# survives a reset as a disk does), the shared storage directory at
# /var/lib/libvirt/images, then it supervises libvirtd and the virtform
# command (restarting either when it dies, as systemd's Restart=always).
# Not a test by itself: the harness injects the faults and judges.
#
# Usage: host.sh BASE SHARED VIRTFORM ARGS...   (output: BASE/host.log)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/lib.sh"
. "$here/../integration/private_host.sh"
set +o pipefail

base=$1 shared=$2
shift 2
exec >>"$base/host.log" 2>&1
now() { printf '%(%T)T.%.3s' "${EPOCHREALTIME%.*}" "${EPOCHREALTIME#*.}"; }
stamp() { printf '%s host.sh: %s\n' "$(now)" "$*"; }
stamp_lines() { # each line of stdin, after the time it was read (virtform's log has none)
	local l
	while IFS= read -r l; do printf '%s %s\n' "$(now)" "$l"; done
}

stamp "boot (pid $$ in its namespace)"
vf_private_host_mount "$base"
mkdir -p "$base/lib/images"
mount --bind "$shared" /var/lib/libvirt/images || vf_fail "cannot bind the shared storage $shared"
vf_private_host_daemons
stamp "libvirtd up (pid $VFIT_PRIV_LIBVIRTD)"
: >"$base/up"

vf_pid=""
while :; do
	if ! kill -0 "$VFIT_PRIV_LIBVIRTD" 2>/dev/null; then
		stamp "libvirtd (pid $VFIT_PRIV_LIBVIRTD) gone: restarting it"
		PATH=$PATH:/usr/sbin:/sbin vf__priv_daemon libvirtd
		VFIT_PRIV_LIBVIRTD=${VFIT_STARTED_PIDS[-1]}
		vf__priv_libvirtd_wait
		stamp "libvirtd up (pid $VFIT_PRIV_LIBVIRTD)"
	fi
	if [ -n "$vf_pid" ] && ! kill -0 "$vf_pid" 2>/dev/null; then
		rc=0
		wait "$vf_pid" || rc=$?
		stamp "virtform (pid $vf_pid) exited $rc: restarting it"
		vf_pid=""
		sleep 0.3
	fi
	if [ -z "$vf_pid" ] && [ $# -gt 0 ]; then
		"$@" > >(stamp_lines >>"$base/virtform.log") 2>&1 &
		vf_pid=$!
		stamp "virtform started (pid $vf_pid)"
	fi
	sleep 0.1
done
