# lib.sh: shared helpers for virtform's integration tests (bash), sourced by
# every tests/integration/test_*.sh and by run.sh's per-test sweep. Starts a
# libvirtd when none answers, names everything a test creates with a per-run
# prefix, and removes exactly those objects (and its temp dirs) on exit.
# Not for assertions about virtform's internals: tests assert what a user sees.
#
# A test does:   . "$(dirname "$0")/lib.sh"; vf_setup; ...; vf_pass
# Environment:   VF_BIN (the virtform binary, required), VFIT_PREFIX (set by
#                run.sh so it can sweep after a killed test; default vfit-$$-),
#                VFIT_CONNECT (the URI vf_run gives virtform; default
#                qemu:///system; see vf_rerun_over).

set -u
set -o pipefail

VFIT_URI=qemu:///system
VFIT_PREFIX=${VFIT_PREFIX:-vfit-$$-}
VFIT_IMAGES=/var/lib/libvirt/images
VFIT_STARTED_FILE=${VFIT_STARTED_FILE:-}   # run.sh: where to record daemons it started
VFIT_TMPDIRS=()
VFIT_ON_EXIT=() # commands vf_cleanup runs first; see vf_on_exit
VFIT_STARTED_PIDS=()

vsh() { virsh -q -c "$VFIT_URI" "$@"; }

vf_log() { printf '# %s\n' "$*"; }

vf_fail() {
	printf 'FAIL: %s\n' "$*"
	exit 1
}

# ---- the daemon ---------------------------------------------------------

# Start virtlogd + libvirtd by hand unless a libvirtd already answers. Records
# the pids of the daemons this call started (never of ones it found running)
# in VFIT_STARTED_PIDS and, when set, in $VFIT_STARTED_FILE.
vf_ensure_libvirtd() {
	if virsh -c "$VFIT_URI" version >/dev/null 2>&1; then
		return 0
	fi
	for cmd in libvirtd virtlogd virsh; do
		if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
			echo "vf_ensure_libvirtd: $cmd not installed (make deps installs libvirt-daemon-system)"
			return 1
		fi
	done
	mkdir -p /var/log/libvirt /run/libvirt /var/lib/libvirt/images
	local path=$PATH:/usr/sbin:/sbin
	# -r: a zombie left by an earlier daemon does not count as running.
	# --ns: nor does a daemon of a private host (private_host.sh), whose
	# mount namespace has a /run/libvirt of its own.
	if ! PATH=$path pgrep -x -r R,S,D --ns $$ --nslist mnt virtlogd >/dev/null 2>&1; then
		PATH=$path virtlogd -d -p /run/virtlogd.pid || { echo "vf_ensure_libvirtd: virtlogd -d failed"; return 1; }
		vf__record_started /run/virtlogd.pid
	fi
	if ! PATH=$path pgrep -x -r R,S,D --ns $$ --nslist mnt libvirtd >/dev/null 2>&1; then
		PATH=$path libvirtd -d -p /run/libvirtd.pid || { echo "vf_ensure_libvirtd: libvirtd -d failed"; return 1; }
		vf__record_started /run/libvirtd.pid
	fi
	local i
	for i in $(seq 60); do
		if virsh -c "$VFIT_URI" version >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	echo "vf_ensure_libvirtd: libvirtd did not answer on $VFIT_URI within 30 s:"
	virsh -c "$VFIT_URI" version 2>&1 | sed 's/^/    /'
	tail -n 20 /var/log/libvirt/libvirtd.log 2>/dev/null | sed 's/^/    /'
	return 1
}

vf__record_started() {
	local pidfile=$1 i pid=""
	for i in $(seq 50); do
		pid=$(cat "$pidfile" 2>/dev/null || true)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	[ -n "$pid" ] || return 0
	VFIT_STARTED_PIDS+=("$pid")
	if [ -n "$VFIT_STARTED_FILE" ]; then
		echo "$pid" >>"$VFIT_STARTED_FILE"
	fi
}

# Stop, by pid, only the daemons listed (libvirtd first, then virtlogd).
vf_stop_daemons() {
	local pid i
	for pid in "$@"; do
		kill "$pid" 2>/dev/null || continue
		for i in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	done
}

# kvm when the host offers it and QEMU's user can open /dev/kvm, else qemu
# (TCG). libvirt reports kvm from root's view of the device; QEMU runs as
# libvirt-qemu, which cannot open a root:root 0600 /dev/kvm (a machine
# without udev: make deps fixes that, tests/tools/kvm-access.sh), so the
# domain would fail to start. VFIT_DOMAIN_TYPE=qemu forces TCG on a KVM
# host (to exercise what CI without /dev/kvm runs).
vf_domain_type() {
	if [ -n "${VFIT_DOMAIN_TYPE:-}" ]; then
		echo "$VFIT_DOMAIN_TYPE"
	elif virsh -c "$VFIT_URI" domcapabilities --virttype kvm >/dev/null 2>&1 &&
		vf_qemu_user_can_kvm; then
		echo kvm
	else
		echo qemu
	fi
}

vf_qemu_user_can_kvm() {
	local user
	user=$(sed -n 's/^[[:space:]]*user[[:space:]]*=[[:space:]]*"\(.*\)".*/\1/p' /etc/libvirt/qemu.conf 2>/dev/null | tail -n 1)
	user=${user:-libvirt-qemu}
	id "$user" >/dev/null 2>&1 || user=root
	runuser -u "$user" -- sh -c 'test -r /dev/kvm && test -w /dev/kvm' 2>/dev/null
}

# ---- per-test setup and prefix cleanup ----------------------------------

# A temp dir named with the prefix; vf_sweep_prefix removes it (called in a
# command substitution, so it cannot record itself in VFIT_TMPDIRS).
vf_mktemp() {
	mktemp -d "${TMPDIR:-/tmp}/${VFIT_PREFIX}XXXXXX"
}

# vf_bin_for_others: a copy of $VF_BIN that other users can run (the clone
# under test may sit in a directory only root can enter, as mktemp -d
# makes); prints its path. Removed with the test's temp dirs by the sweep.
vf_bin_for_others() {
	local d
	d=$(vf_mktemp) || vf_fail "cannot make a temp dir"
	chmod 0755 "$d"
	install -m 0755 "$VF_BIN" "$d/virtform" || vf_fail "cannot copy $VF_BIN"
	printf '%s\n' "$d/virtform"
}

# Remove every libvirt object whose name starts with $1 (domains, then
# volumes in such pools, then the pools and their directories); with --all,
# also the temp and image dirs named with it. Touches nothing else: the
# prefix must be non-trivial.
vf_sweep_prefix() {
	local p=$1 all=${2:-} d pool vol path
	case "$p" in vfit-?*-) ;; *) echo "vf_sweep_prefix: refusing prefix '$p'"; return 1 ;; esac
	for d in $(vsh list --all --name 2>/dev/null); do
		case "$d" in "$p"*)
			vsh destroy "$d" >/dev/null 2>&1
			vsh undefine "$d" --nvram >/dev/null 2>&1 || vsh undefine "$d" >/dev/null 2>&1
			;;
		esac
	done
	for pool in $(vsh pool-list --all --name 2>/dev/null); do
		case "$pool" in "$p"*) ;; *) continue ;; esac
		vsh pool-start "$pool" >/dev/null 2>&1
		path=$(vsh pool-dumpxml "$pool" 2>/dev/null | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)
		for vol in $(vsh vol-list "$pool" 2>/dev/null | awk '{print $1}'); do
			vsh vol-delete --pool "$pool" "$vol" >/dev/null 2>&1
		done
		vsh pool-destroy "$pool" >/dev/null 2>&1
		vsh pool-delete "$pool" >/dev/null 2>&1
		vsh pool-undefine "$pool" >/dev/null 2>&1
		# A leftover directory is removed only when its name carries the prefix.
		case "$(basename "${path:-/}")" in "$p"*) rm -rf "$path" ;; esac
	done
	# Networks after the domains on them.
	for d in $(vsh net-list --all --name 2>/dev/null); do
		case "$d" in "$p"*)
			vsh net-destroy "$d" >/dev/null 2>&1
			vsh net-undefine "$d" >/dev/null 2>&1
			;;
		esac
	done
	[ "$all" = --all ] || return 0
	# Temp dirs are named with the prefix too (vf_mktemp); a killed test's
	# are removed by run.sh's sweep.
	for d in "$VFIT_IMAGES/$p"* "${TMPDIR:-/tmp}/$p"*; do
		[ -e "$d" ] && rm -rf "$d"
	done
	return 0
}

vf_cleanup() {
	local rc=$? c
	trap - EXIT INT TERM
	for c in "${VFIT_ON_EXIT[@]}"; do
		eval "$c" || true
	done
	vf_sweep_prefix "$VFIT_PREFIX" --all
	if [ "${#VFIT_STARTED_PIDS[@]}" -gt 0 ]; then
		# Reverse order: libvirtd before virtlogd.
		local rev=() i
		for ((i = ${#VFIT_STARTED_PIDS[@]} - 1; i >= 0; i--)); do rev+=("${VFIT_STARTED_PIDS[i]}"); done
		vf_stop_daemons "${rev[@]}"
	fi
	# After the daemons: a private host's config and state live in these.
	local d
	for d in "${VFIT_TMPDIRS[@]}"; do
		rm -rf "$d"
	done
	exit "$rc"
}

# vf_on_exit CMD: run CMD (a shell string) when the test exits, before the
# sweep. A test's own trap would have to preserve $? itself; a failing CMD
# (say, killing a helper that already exited) never changes the result.
vf_on_exit() {
	VFIT_ON_EXIT+=("$1")
}

# Common start of a test: daemon, trap, a state dir ($STATE), a manifest dir
# ($MAN), a directory for pool targets ($POOLS), the domain type ($DTYPE).
vf_setup() {
	[ -n "${VF_BIN:-}" ] && [ -x "$VF_BIN" ] || vf_fail "VF_BIN is not an executable virtform binary: '${VF_BIN:-}'"
	trap vf_cleanup EXIT
	trap 'exit 143' INT TERM HUP
	vf_ensure_libvirtd || vf_fail "libvirtd is not available"
	STATE=$(vf_mktemp)
	MAN=$(vf_mktemp)
	# Pool targets live under libvirt's image dir: qemu runs as libvirt-qemu
	# and could not traverse a 0700 mktemp dir under /tmp.
	POOLS=$(mktemp -d "$VFIT_IMAGES/${VFIT_PREFIX}XXXXXX")
	chmod 0755 "$POOLS"
	VFIT_TMPDIRS+=("$POOLS")
	DTYPE=$(vf_domain_type)
	P=$VFIT_PREFIX
	vf_log "prefix $P, domain type $DTYPE, state $STATE, manifests $MAN"
}

vf_pass() {
	echo "PASS"
	exit 0
}

# ---- running virtform ---------------------------------------------------

# vf_run CMD ARGS... : run virtform against qemu:///system (or
# $VFIT_CONNECT, the same host over another transport) with $STATE;
# output in $OUT, exit status in $RC. Echoes the command and its output.
# With VFIT_BOUND=SECONDS set, a run that hangs is killed after that long
# (exit 124) instead of hanging the test.
vf_run() {
	local cmd=$1
	shift
	local args=() bound=()
	case "$cmd" in
	plan | apply) args=(-c "${VFIT_CONNECT:-$VFIT_URI}" --state-dir "$STATE") ;;
	esac
	[ -n "${VFIT_BOUND:-}" ] && bound=(timeout -k 5 "$VFIT_BOUND")
	RC=0
	OUT=$("${bound[@]}" "$VF_BIN" "$cmd" "${args[@]}" "$@" 2>&1) || RC=$?
	printf '$ virtform %s %s\n' "$cmd" "$*"
	printf '%s\n' "$OUT" | sed 's/^/  | /'
	printf '  (exit %s)\n' "$RC"
}

# ---- manifests -----------------------------------------------------------

# Write $2 (a YAML text) to $MAN/$1.
vf_manifest() {
	printf '%s\n' "$2" >"$MAN/$1"
}

# ---- assertions ----------------------------------------------------------

assert_rc() { # expected-rc what
	[ "$RC" = "$1" ] || vf_fail "$2: expected exit $1, got exit $RC; output was:
$OUT"
}

assert_out_contains() { # fixed-string what
	printf '%s\n' "$OUT" | grep -F -- "$1" >/dev/null || vf_fail "$2: expected output to contain '$1'; output was:
$OUT"
}

assert_out_not_contains() {
	if printf '%s\n' "$OUT" | grep -F -- "$1" >/dev/null; then
		vf_fail "$2: expected output NOT to contain '$1'; output was:
$OUT"
	fi
}

assert_out_matches() { # extended-regex what
	printf '%s\n' "$OUT" | grep -E -- "$1" >/dev/null || vf_fail "$2: expected a line matching /$1/; output was:
$OUT"
}

assert_eq() { # expected seen what
	[ "$1" = "$2" ] || vf_fail "$3: expected '$1', saw '$2'"
}

assert_domain_exists() {
	vsh dominfo "$1" >/dev/null 2>&1 || vf_fail "domain $1: expected to exist; virsh list --all shows: $(vsh list --all --name | tr '\n' ' ')"
}

assert_domain_absent() {
	if vsh dominfo "$1" >/dev/null 2>&1; then
		vf_fail "domain $1: expected to be absent, but it exists (state $(vsh domstate "$1" 2>&1))"
	fi
}

assert_domain_state() { # name state
	local s
	s=$(vsh domstate "$1" 2>&1 | head -n 1)
	[ "$s" = "$2" ] || vf_fail "domain $1: expected state '$2', saw '$s'"
}

assert_pool_exists() {
	vsh pool-info "$1" >/dev/null 2>&1 || vf_fail "pool $1: expected to exist; pools: $(vsh pool-list --all --name | tr '\n' ' ')"
}

assert_pool_absent() {
	if vsh pool-info "$1" >/dev/null 2>&1; then
		vf_fail "pool $1: expected to be absent, but it exists"
	fi
}

assert_vol_exists() { # pool name
	vsh vol-info --pool "$1" "$2" >/dev/null 2>&1 || vf_fail "volume $1/$2: expected to exist; volumes in $1: $(vsh vol-list "$1" 2>&1 | awk '{print $1}' | tr '\n' ' ')"
}

assert_vol_absent() {
	vsh pool-refresh "$1" >/dev/null 2>&1
	if vsh vol-info --pool "$1" "$2" >/dev/null 2>&1; then
		vf_fail "volume $1/$2: expected to be absent, but it exists"
	fi
}

# Capacity of a volume in bytes.
vol_capacity() { # pool name
	vsh vol-dumpxml --pool "$1" "$2" 2>/dev/null | sed -n "s:.*<capacity unit='bytes'>\([0-9]*\)</capacity>.*:\1:p" | head -n 1
}

# vf_grep ARGS...: grep that reads its whole input first. Under pipefail,
# `cmd | grep -q X` fails when grep exits at the first match and cmd dies
# of SIGPIPE writing the rest: a match would read as a miss. Use
# `cmd | vf_grep -q X` instead.
vf_grep() {
	local in
	in=$(cat)
	grep "$@" <<<"$in"
}

# wait_for 'shell command' TIMEOUT_SECONDS: poll until it succeeds.
wait_for() {
	local cmd=$1 timeout=${2:-60} end
	end=$((SECONDS + timeout))
	# pipefail off: `... | grep -q` must not fail because grep closed early.
	while ! (set +o pipefail; eval "$cmd") >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "wait_for: '$cmd' still failing after ${timeout}s"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

# Names of live objects carrying the prefix, one per line, sorted.
vf_prefixed_domains() { vsh list --all --name 2>/dev/null | awk '{print $1}' | grep "^$VFIT_PREFIX" | sort; }
vf_prefixed_networks() { vsh net-list --all --name 2>/dev/null | awk '{print $1}' | grep "^$VFIT_PREFIX" | sort; }
vf_prefixed_pools() { vsh pool-list --all --name 2>/dev/null | awk '{print $1}' | grep "^$VFIT_PREFIX" | sort; }

# ---- manifest builders (print YAML; extra args are spec lines) ------------

# yaml_pool NAME TARGET_PATH [SPEC_LINE...]
yaml_pool() {
	local name=$1 path=$2 l
	shift 2
	printf 'apiVersion: virtform/v1\nkind: StoragePool\nmetadata:\n  name: %s\nspec:\n  type: dir\n  target:\n    path: %s\n' "$name" "$path"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# yaml_volume POOL NAME CAPACITY [SPEC_LINE...]   (format qcow2)
yaml_volume() {
	local pool=$1 name=$2 cap=$3 l
	shift 3
	printf 'apiVersion: virtform/v1\nkind: Volume\nmetadata:\n  name: %s\nspec:\n  pool: %s\n  capacity: %s\n  format: qcow2\n' "$name" "$pool" "$cap"
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# yaml_domain NAME POOL/VOL|- [SPEC_LINE...]: a tiny domain of $DTYPE, 1
# vcpu, 128MiB, no graphics, no interfaces, state running; "-" = no disk.
yaml_domain() {
	local name=$1 disk=$2 l
	shift 2
	printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n  type: %s\n  vcpus: 1\n  memory: 128MiB\n  graphics: {type: none}\n' "$name" "$DTYPE"
	if [ "$disk" != - ]; then
		printf '  disks:\n    - volume: {pool: %s, name: %s}\n' "${disk%%/*}" "${disk#*/}"
	fi
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# xml_domain NAME DISK_FILE MEMORY_MIB: libvirt XML (not a manifest) of a
# $DTYPE domain with one qcow2 virtio disk, for domains a test defines with
# virsh behind virtform's back.
xml_domain() {
	cat <<EOF
<domain type='$DTYPE'>
  <name>$1</name>
  <memory unit='MiB'>$3</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
EOF
}

# Assert the ledger parses as JSON (it is written atomically).
assert_ledger_parses() {
	[ -f "$STATE/ledger.json" ] || vf_fail "$STATE/ledger.json: expected to exist"
	python3 -m json.tool "$STATE/ledger.json" >/dev/null 2>&1 ||
		vf_fail "$STATE/ledger.json does not parse as JSON: $(head -c 400 "$STATE/ledger.json")"
}

# ---- remote URIs: a second sshd on 127.0.0.1 --------------------------------

# vf_start_sshd: start an sshd of the test's own on 127.0.0.1 and a free
# port (its own config, host key and log in a temp dir; a client key for
# root generated there; the machine's own sshd, if any, is not touched),
# stopped when the test exits. Sets:
#   VFIT_SSHD_PID    the sshd listening (SIGSTOP it to play a dead peer)
#   VFIT_SSH_PORT, VFIT_SSH_DIR (id_ed25519, known_hosts, sshd.log)
#   VFIT_SSH_URI     qemu+ssh://root@127.0.0.1:PORT/system?keyfile=...&command=...
#                    (command: ssh with the test's known_hosts and no user
#                    config, so root's ~/.ssh is neither read nor written)
#   VFIT_LIBSSH_URI  qemu+libssh://root@127.0.0.1:PORT/system?keyfile=...
#                    &known_hosts=...&sshauth=privkey
# Both verify the host key against VFIT_SSH_DIR/known_hosts.
vf_start_sshd() {
	local sshd=/usr/sbin/sshd d port try
	[ -x "$sshd" ] || vf_fail "$sshd not installed (make deps installs openssh-server)"
	d=$(vf_mktemp)
	ssh-keygen -q -t ed25519 -N '' -C vfit-host -f "$d/host_ed25519" || vf_fail "ssh-keygen (host key)"
	ssh-keygen -q -t ed25519 -N '' -C vfit-client -f "$d/id_ed25519" || vf_fail "ssh-keygen (client key)"
	cp "$d/id_ed25519.pub" "$d/authorized_keys"
	# sshd's privilege separation directory (the init script makes it).
	[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
	# sshd runs every command through root's login shell, and Debian's bash
	# reads ~/.bashrc for commands over ssh. Whatever the machine put there
	# (a pyenv rehash, say, which waits for ever on the lock a killed
	# session left) is not the test's: in a mount namespace of the sshd's
	# own (sessions inherit it), root's shell start-up files are empty.
	local home
	home=$(getent passwd root | cut -d: -f6)
	: >"$d/empty"
	cat >"$d/launch" <<SH
#!/bin/sh
for f in $home/.bashrc $home/.bash_profile $home/.bash_login $home/.profile $home/.bash_logout; do
	[ -f "\$f" ] && mount --bind $d/empty "\$f"
done
exec "\$@"
SH
	chmod 0755 "$d/launch"
	vf_on_exit 'vf__stop_sshd "${VFIT_SSHD_PID:-}"'
	for try in 1 2 3; do
		port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		cat >"$d/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
# The key file sits in a 0700 temp dir under /tmp, which StrictModes
# refuses for being world-writable (sticky or not).
StrictModes no
AllowUsers root
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
LogLevel VERBOSE
CONF
		: >"$d/sshd.log"
		# unshare execs the launcher, which execs sshd: one pid throughout.
		unshare --mount --propagation private "$d/launch" "$sshd" -D -f "$d/sshd_config" -E "$d/sshd.log" &
		VFIT_SSHD_PID=$!
		if wait_for "grep -q 'Server listening' '$d/sshd.log' || ! kill -0 $VFIT_SSHD_PID" 10 &&
			kill -0 "$VFIT_SSHD_PID" 2>/dev/null; then
			break
		fi
		vf__stop_sshd "$VFIT_SSHD_PID"
		VFIT_SSHD_PID=
	done
	[ -n "$VFIT_SSHD_PID" ] || vf_fail "sshd did not start: $(tail -n 5 "$d/sshd.log")"
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$d/host_ed25519.pub")" >"$d/known_hosts"
	cat >"$d/ssh" <<SH
#!/bin/sh
exec ssh -F none -o UserKnownHostsFile=$d/known_hosts -o GlobalKnownHostsFile=/dev/null \
	-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes "\$@"
SH
	chmod 0755 "$d/ssh"
	VFIT_SSH_PORT=$port
	VFIT_SSH_DIR=$d
	VFIT_SSH_URI="qemu+ssh://root@127.0.0.1:$port/system?keyfile=$d/id_ed25519&command=$d/ssh"
	VFIT_LIBSSH_URI="qemu+libssh://root@127.0.0.1:$port/system?keyfile=$d/id_ed25519&known_hosts=$d/known_hosts&sshauth=privkey"
	vf_log "sshd (pid $VFIT_SSHD_PID) on 127.0.0.1:$port"
}

# Stop an sshd vf_start_sshd started (and its sessions: they are its
# children); a SIGSTOPped one is continued so it can act on SIGTERM.
vf__stop_sshd() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	kill -CONT "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}

# How many logins the test's sshd accepted so far.
vf_sshd_logins() { grep -c 'Accepted publickey for root' "$VFIT_SSH_DIR/sshd.log"; }

# vf_rerun_over TRANSPORT URI TEST: run tests/integration/TEST.sh again as
# a child, its virtform commands given -c URI (VFIT_CONNECT; its virsh
# checks stay on qemu:///system), under a prefix of its own inside this
# test's; fails unless it passes and every virtform command went through
# the test's sshd.
vf_rerun_over() {
	local tag=$1 uri=$2 t=$3 here before after rc=0 out runs
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	before=$(vf_sshd_logins)
	vf_log "re-running $t over $tag: $uri"
	out=$(VFIT_CONNECT=$uri VFIT_PREFIX=${VFIT_PREFIX}$tag- bash "$here/$t.sh" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed "s/^/  [$tag] /"
	[ "$rc" = 0 ] || vf_fail "$t over $tag ($uri) failed (exit $rc)"
	after=$(vf_sshd_logins)
	runs=$(printf '%s\n' "$out" | grep -cE '^\$ virtform (plan|apply) ')
	[ $((after - before)) -ge "$runs" ] ||
		vf_fail "$t over $tag: $runs plan/apply runs, but only $((after - before)) ssh logins"
	vf_log "$t over $tag: passed, $runs runs, $((after - before)) ssh logins"
}
