# test_01_converge.sh: a dir pool, a qcow2 base volume, a qcow2 volume backed
# by it and a running domain on the latter converge on a real libvirtd; a
# second apply and a plan then report no changes.
# Over ssh and libssh too: test_15_ssh_converge.sh re-runs it with VFIT_CONNECT set.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"
vf_manifest 20-volumes.yaml "$(yaml_volume "$pool" base.qcow2 64MiB)
---
$(yaml_volume "$pool" disk.qcow2 64MiB "backingVolume: {pool: $pool, name: base.qcow2}")"
vf_manifest 30-web.yaml "$(yaml_domain "${P}web" "$pool/disk.qcow2" 'state: running')"

vf_run validate "$MAN"
assert_rc 0 "validate of a correct manifest dir"

vf_run plan "$MAN"
assert_rc 2 "plan before anything exists"
assert_out_contains "+ StoragePool/$pool" "plan lists the pool"
assert_out_matches '^\+ Volume/.*base\.qcow2' "plan lists the base volume"
assert_out_matches '^\+ Volume/.*disk\.qcow2' "plan lists the backed volume"
assert_out_contains "+ Domain/${P}web" "plan lists the domain"
assert_out_contains "Plan: 4 to create, 0 to update, 0 to remove, 0 blocked." "plan summary"
assert_pool_absent "$pool"

vf_run apply "$MAN"
assert_rc 0 "first apply"

assert_pool_exists "$pool"
assert_eq yes "$(vsh pool-info "$pool" | awk '/^State:/ {print ($2 == "running") ? "yes" : "no"}')" "pool $pool is active"
assert_vol_exists "$pool" base.qcow2
assert_vol_exists "$pool" disk.qcow2
[ -f "$POOLS/pool/disk.qcow2" ] || vf_fail "expected $POOLS/pool/disk.qcow2 on disk"
volxml=$(vsh vol-dumpxml --pool "$pool" disk.qcow2)
backing=$(printf '%s\n' "$volxml" | sed -n '/<backingStore>/,/<\/backingStore>/s:.*<path>\(.*\)</path>.*:\1:p')
assert_eq "$POOLS/pool/base.qcow2" "$backing" "backing store of disk.qcow2 (virsh vol-dumpxml)"
fmt=$(printf '%s\n' "$volxml" | sed -n "/<target>/,/<\/target>/s:.*<format type='\([a-z0-9]*\)'/>.*:\1:p")
assert_eq qcow2 "$fmt" "format of disk.qcow2"
assert_eq $((64 * 1024 * 1024)) "$(vol_capacity "$pool" disk.qcow2)" "capacity of disk.qcow2 in bytes"

assert_domain_exists "${P}web"
assert_domain_state "${P}web" running
# The disk may be declared by path (<source file=...>) or by volume
# (<source pool=... volume=...>); either way qemu must have the file open.
disk_xml=$(vsh dumpxml --inactive "${P}web" | sed -n '/<disk /,/<\/disk>/p')
printf '%s\n' "$disk_xml" | grep -E "<source (file='$POOLS/pool/disk\.qcow2'|pool='$pool' volume='disk\.qcow2')" >/dev/null ||
	vf_fail "disk of ${P}web: expected a source of $POOLS/pool/disk.qcow2 (by path or pool volume), saw:
$disk_xml"
qpid=$(cat "/run/libvirt/qemu/${P}web.pid" 2>/dev/null)
[ -n "$qpid" ] || vf_fail "no qemu pid file for ${P}web"
ls -l "/proc/$qpid/fd" 2>/dev/null | grep -F "$POOLS/pool/disk.qcow2" >/dev/null ||
	vf_fail "qemu (pid $qpid) for ${P}web does not have $POOLS/pool/disk.qcow2 open"
assert_eq 131072 "$(vsh dumpxml --inactive "${P}web" | sed -n "s:.*<memory unit='KiB'>\([0-9]*\)</memory>.*:\1:p")" "memory of ${P}web in KiB"
assert_eq "$DTYPE" "$(vsh dumpxml --inactive "${P}web" | sed -n "s:^<domain type='\([a-z]*\)'.*:\1:p")" "domain type"
assert_ledger_parses

vf_run apply "$MAN"
assert_rc 0 "second apply"
assert_out_contains "No changes" "second apply has nothing to do"
assert_domain_state "${P}web" running

vf_run plan "$MAN"
assert_rc 0 "plan after converging"
assert_out_contains "No changes. The host matches the manifests." "plan after converging"
vf_pass
