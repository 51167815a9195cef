# private_host.sh: runs the sourcing test on a libvirt host of its own, so
# it can configure libvirt as it needs (qemu.conf, qemu-lockd.conf) and
# restart daemons without touching the machine's libvirt.
#
# The test re-executes itself in new mount and pid namespaces. There,
# /etc/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt
# are bind mounts of the test's own temp directories and /run/libvirt is a
# fresh tmpfs; virtlogd, virtlockd and libvirtd are started on them. Inside,
# qemu:///system is that private libvirtd, and /etc/libvirt/qemu-lockd.conf
# is the file virtform reads, as on a real host. The host's daemons, config
# and objects are never read or changed. When the test ends, however it
# ends, the kernel kills whatever is left in the pid namespace (daemons,
# qemu) and the mounts go with it; run.sh's prefix sweep removes the temp
# directories of a test that was killed.
#
# A test does, before vf_setup:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/private_host.sh"
#   vf_private_host "$@"          # re-execs; returns inside the namespaces
#   vf_private_host_start         # config (see below) + daemons
#   vf_setup
# Config: $VFIT_QEMU_CONF and $VFIT_LOCKD_CONF are written to qemu.conf and
# qemu-lockd.conf before the daemons start (default: lockd on, direct
# lockspace). vf_private_libvirtd_restart re-reads them.

VFIT_QEMU_CONF=${VFIT_QEMU_CONF:-'lock_manager = "lockd"'}
VFIT_LOCKD_CONF=${VFIT_LOCKD_CONF:-'auto_disk_leases = 1'}
VFIT_PRIV_BASE=""
VFIT_PRIV_LIBVIRTD=""

# vf_private_host ARGS...: re-execute the calling test, with ARGS, inside
# its own namespaces; returns (inside them) to the caller on the second
# pass. Needs root; util-linux's unshare.
vf_private_host() {
	if [ -n "${VFIT_IN_PRIVATE_HOST:-}" ]; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || vf_fail "a private libvirt host needs root (mount and pid namespaces)"
	command -v unshare >/dev/null 2>&1 || vf_fail "a private libvirt host needs unshare (util-linux)"
	# --kill-child=TERM: when this process dies (run.sh's timeout), the
	# test inside gets SIGTERM and cleans up; when the test (pid 1 of the
	# namespace) exits, the kernel kills everything else in it.
	# VFIT_STARTED_FILE is run.sh's list of host pids: not ours to append to.
	VFIT_IN_PRIVATE_HOST=1 VFIT_STARTED_FILE='' exec unshare --mount --propagation private \
		--pid --fork --kill-child=TERM --mount-proc bash "$0" "$@"
}

vf__priv_daemon() { # name args...: start /usr/sbin/NAME -d, record its pid
	local name=$1 pidfile=$VFIT_PRIV_BASE/$1.pid
	shift
	rm -f "$pidfile"
	"/usr/sbin/$name" -d -p "$pidfile" "$@" || vf_fail "$name -d failed (log: $VFIT_PRIV_BASE/log/$name.log)"
	wait_for "[ -s '$pidfile' ]" 30 || vf_fail "$name wrote no pid file"
	VFIT_STARTED_PIDS+=("$(cat "$pidfile")")
}

vf__priv_libvirtd_wait() {
	local i
	for i in $(seq 120); do
		virsh -c "$VFIT_URI" version >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	tail -n 20 "$VFIT_PRIV_BASE/log/libvirtd.log" 2>/dev/null | sed 's/^/    /'
	vf_fail "the private libvirtd did not answer on $VFIT_URI within 60 s"
}

vf__priv_write_conf() {
	printf '%s\n' "$VFIT_QEMU_CONF" >/etc/libvirt/qemu.conf
	printf '%s\n' "$VFIT_LOCKD_CONF" >/etc/libvirt/qemu-lockd.conf
}

# vf_private_host_start: the private directories, config and daemons.
# vf_cleanup (lib.sh) stops the daemons; call after vf_private_host.
vf_private_host_start() {
	[ -n "${VFIT_IN_PRIVATE_HOST:-}" ] || vf_fail "vf_private_host_start outside vf_private_host"
	trap vf_cleanup EXIT
	trap 'exit 143' INT TERM HUP
	VFIT_PRIV_BASE=$(vf_mktemp)
	VFIT_TMPDIRS+=("$VFIT_PRIV_BASE")
	vf_private_host_mount "$VFIT_PRIV_BASE"
	vf_private_host_daemons
	vf_log "private libvirt host in $VFIT_PRIV_BASE: virtlogd, virtlockd, libvirtd (pid $VFIT_PRIV_LIBVIRTD)"
	vf_log "qemu.conf: $VFIT_QEMU_CONF; qemu-lockd.conf: $VFIT_LOCKD_CONF"
}

# vf_private_host_mount BASE: make BASE/{etc,lib,log,cache} libvirt's
# /etc/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt
# in this mount namespace, a fresh tmpfs its /run/libvirt, and write the
# config. BASE survives the namespace (the chaos harness boots a host on
# the same BASE again after a reset, as a rebooted host keeps its disk).
vf_private_host_mount() {
	VFIT_PRIV_BASE=$1
	chmod 0755 "$VFIT_PRIV_BASE" # qemu (libvirt-qemu) traverses it to its images
	local d
	for d in etc lib log cache; do mkdir -p "$VFIT_PRIV_BASE/$d"; done
	mkdir -p "$VFIT_PRIV_BASE/lib/images" /etc/libvirt /var/lib/libvirt /var/log/libvirt \
		/var/cache/libvirt /run/libvirt
	mount --bind "$VFIT_PRIV_BASE/etc" /etc/libvirt &&
		mount --bind "$VFIT_PRIV_BASE/lib" /var/lib/libvirt &&
		mount --bind "$VFIT_PRIV_BASE/log" /var/log/libvirt &&
		mount --bind "$VFIT_PRIV_BASE/cache" /var/cache/libvirt &&
		mount -t tmpfs -o mode=0755 vfit-run /run/libvirt ||
		vf_fail "cannot mount the private libvirt directories"
	# Empty files: libvirt's compiled-in defaults, logging to the private
	# /var/log/libvirt; no definitions are copied from the host.
	printf 'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n' >/etc/libvirt/libvirtd.conf
	printf 'log_outputs = "3:file:/var/log/libvirt/virtlogd.log"\n' >/etc/libvirt/virtlogd.conf
	printf 'log_outputs = "3:file:/var/log/libvirt/virtlockd.log"\n' >/etc/libvirt/virtlockd.conf
	vf__priv_write_conf
}

# vf_private_host_daemons: start virtlogd, virtlockd and libvirtd on the
# mounts vf_private_host_mount made; wait until libvirtd answers.
vf_private_host_daemons() {
	local path=$PATH:/usr/sbin:/sbin
	PATH=$path vf__priv_daemon virtlogd
	PATH=$path vf__priv_daemon virtlockd
	PATH=$path vf__priv_daemon libvirtd
	VFIT_PRIV_LIBVIRTD=${VFIT_STARTED_PIDS[-1]}
	vf__priv_libvirtd_wait
}

# vf_private_libvirtd_restart: rewrite qemu.conf and qemu-lockd.conf from
# the variables and restart libvirtd (virtlockd keeps the leases it holds).
vf_private_libvirtd_restart() {
	local old=$VFIT_PRIV_LIBVIRTD
	vf__priv_write_conf
	vf_stop_daemons "$old"
	kill -0 "$old" 2>/dev/null && vf_fail "the private libvirtd (pid $old) did not stop"
	local kept=() p
	for p in "${VFIT_STARTED_PIDS[@]}"; do [ "$p" = "$old" ] || kept+=("$p"); done
	VFIT_STARTED_PIDS=("${kept[@]}")
	PATH=$PATH:/usr/sbin:/sbin vf__priv_daemon libvirtd
	VFIT_PRIV_LIBVIRTD=${VFIT_STARTED_PIDS[-1]}
	vf__priv_libvirtd_wait
	vf_log "private libvirtd restarted (pid $VFIT_PRIV_LIBVIRTD); qemu-lockd.conf: $VFIT_LOCKD_CONF"
}

# The private virtlockd's pid.
vf_private_virtlockd_pid() {
	cat "$VFIT_PRIV_BASE/virtlockd.pid"
}

# vf_private_host_lxc_cgroups: let libvirt_lxc start on a host that mixes
# cgroup v1 and v2 ("hybrid": every controller on a v1 hierarchy, and an
# empty cgroup2 at /sys/fs/cgroup/unified). libvirt 9.0's LXC driver binds
# both into the container and fails on the v2 one ("Unable to create
# directory /sys/fs/cgroup/unified"). libvirt limits a container through
# the v1 controllers (memory, cpu, devices...), so hiding the v2 mount
# loses at most a controller no v1 hierarchy has (hugetlb here): unmount
# it in this test's own mount namespace (the host's mount stays). A real host needs one layout or the other:
# all v1, or all v2 (systemd.unified_cgroup_hierarchy=1, Debian's default).
# Call after vf_private_host, before vf_private_host_start.
vf_private_host_lxc_cgroups() {
	[ -n "${VFIT_IN_PRIVATE_HOST:-}" ] || vf_fail "vf_private_host_lxc_cgroups outside vf_private_host"
	local u=/sys/fs/cgroup/unified
	if mountpoint -q "$u" && [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
		local ctl
		ctl=$(cat "$u/cgroup.controllers" 2>/dev/null)
		umount "$u" || vf_fail "cannot unmount $u in the private mount namespace"
		vf_log "hid the cgroup2 at $u (controllers: ${ctl:-none}) from libvirt_lxc (hybrid cgroup host)"
	fi
}
