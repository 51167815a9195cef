# test_16_lxc.sh: issue 20 point 6, containers. On a private libvirtd with
# the LXC driver (lxc:///system): a VM of spec.type qemu is a plan error
# before its pool and volume are created (the host offers lxc only);
# spec.type auto with VM-only fields is refused at file:line:col; a container
# with an init (a shell script of the host's, with args and env), a
# host-directory filesystem and a tmpfs converges, and its init runs (it
# writes a file into the mounted directory); memory changed behind
# virtform's back (virsh setmaxmem --config) is found and corrected; and
# removing it converges (libvirt's LXC driver accepts no undefine flags:
# the undefine falls back to none).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/private_host.sh"
vf_private_host "$@"
vf_private_host_lxc_cgroups
vf_private_host_start
VFIT_URI=lxc:///system
vf_setup

ct=${P}ct
pool=${P}pool
DATA=$(vf_mktemp)
BIN=$(vf_mktemp)
chmod 0755 "$BIN" "$DATA"
cat >"$BIN/init" <<'INIT'
#!/bin/sh
# pid 1 of the container: leave proof of its args and env in /data
echo "init ran: args=$* mark=$VF_MARK" >/data/proof.tmp && mv /data/proof.tmp /data/proof
trap 'exit 0' TERM
while :; do sleep 1; done
INIT
chmod 0755 "$BIN/init"

container() { # memory [extra spec lines]
	printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n' "$ct"
	printf '  memory: %s\n  shutdownTimeout: 30s\n' "$1"
	printf '  init:\n    path: %s\n    args: [hello, world]\n    env: {VF_MARK: m-42}\n' "$BIN/init"
	printf '  filesystems:\n    - {source: %s, target: /data}\n    - {type: ram, target: /scratch, usage: 16MiB}\n' "$DATA"
	shift
	local l
	for l in "$@"; do printf '  %s\n' "$l"; done
}

# 1. The issue's VM (a pool, a volume, a domain on it) on an LXC host: an
# explicit type the host does not offer is a plan error, and nothing is
# created (before, apply made the pool and volume, then failed to define).
vm() { # type
	yaml_pool "$pool" "$POOLS/pool"
	echo ---
	yaml_volume "$pool" disk.qcow2 16MiB
	echo ---
	DTYPE=$1 yaml_domain "${P}vm" "$pool/disk.qcow2"
}
vf_manifest 10-vm.yaml "$(vm qemu)"
vf_run apply "$MAN"
assert_rc 1 "apply of a qemu domain on an LXC host"
assert_out_contains "error: Domain \"${P}vm\": spec.type qemu is not offered by this host: its hypervisor (LXC) offers lxc" "the type error"
assert_out_matches "10-vm.yaml:24:9: " "the type error's position (spec.type)"
assert_pool_absent "$pool"
assert_domain_absent "${P}vm"

# 2. type auto resolves to lxc here: the VM's fields are refused at their
# position, still before anything is created.
vf_manifest 10-vm.yaml "$(vm auto)"
vf_run apply "$MAN"
assert_rc 1 "apply of an auto VM on an LXC host"
assert_out_contains "10-vm.yaml:27:3: error: Domain \"${P}vm\": spec.graphics is for virtual machines, and spec.type auto makes this domain a container on this host" "VM fields refused on an auto container"
assert_pool_absent "$pool"
rm -f "$MAN/10-vm.yaml"

# 3. Converge: the container runs its init, which writes into /data.
vf_manifest 20-ct.yaml "$(container 64MiB)"
t0=$(date +%s)
vf_run apply "$MAN"
assert_rc 0 "apply of the container"
assert_domain_state "$ct" running
assert_eq lxc "$(vsh dumpxml "$ct" | sed -n "s/^<domain type='\([a-z]*\)'.*/\1/p")" "the domain type auto resolved to"
wait_for "[ -s '$DATA/proof' ]" 20 || vf_fail "the container's init wrote no $DATA/proof"
assert_eq "init ran: args=hello world mark=m-42" "$(cat "$DATA/proof")" "what init wrote"
vf_run plan "$MAN"
assert_rc 0 "plan right after apply"

# 4. Drift: memory changed behind virtform's back, found and corrected.
vsh setmaxmem "$ct" 96M --config >/dev/null || vf_fail "virsh setmaxmem --config failed"
vf_run plan "$MAN"
assert_rc 2 "plan after setmaxmem"
assert_out_contains "spec.memory: 96MiB → 64MiB" "memory drift"
vf_run apply "$MAN"
assert_rc 0 "apply corrects the drift"
assert_eq 65536 "$(vsh dumpxml --inactive "$ct" | sed -n 's/.*<memory unit=.KiB.>\([0-9]*\)<.*/\1/p')" "memory after the correction"
vf_run plan "$MAN"
assert_rc 0 "plan after the correction"

# 5. Removal converges: shut down, undefined without flags LXC rejects.
# The init traps SIGTERM; libvirt 9.0's shutdown never sends it (it reports
# success for an initctl pipe the container lacks), so virtform sends it
# (VIR_DOMAIN_SHUTDOWN_SIGNAL) after 3 s instead of waiting out the 30 s
# shutdownTimeout and forcing it off.
rm -f "$MAN/20-ct.yaml"
r0=$(date +%s)
vf_run apply --allow-empty "$MAN"
assert_rc 0 "apply removing the container"
took=$(( $(date +%s) - r0 ))
[ "$took" -lt 15 ] || vf_fail "the removal took $took s: the container's init never got SIGTERM (it waited out its 30 s shutdownTimeout)"
vf_log "removal took $took s (shutdownTimeout 30 s)"
assert_out_not_contains "unsupported flags" "the undefine fallback"
assert_domain_absent "$ct"
vf_run plan --allow-empty "$MAN"
assert_rc 0 "plan after the removal"
vf_log "converge, drift and removal in $(( $(date +%s) - t0 )) s"
vf_pass
