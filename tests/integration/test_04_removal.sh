# test_04_removal.sh: deleting manifests removes what virtform owns: a
# domain is stopped and undefined; a volume with the default deletionPolicy
# is retained (still on disk, plan says "retained"); a volume with
# `deletionPolicy: Delete` is deleted. Over ssh and libssh too:
# test_15_ssh_removal.sh re-runs it with VFIT_CONNECT set.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
dom=${P}rm
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"
vf_manifest 20-disk.yaml "$(yaml_volume "$pool" disk.qcow2 64MiB)"
vf_manifest 21-keep.yaml "$(yaml_volume "$pool" keep.qcow2 32MiB)"
vf_manifest 22-gone.yaml "$(yaml_volume "$pool" gone.qcow2 32MiB 'deletionPolicy: Delete')"
# A guest without an OS never answers ACPI: 3 s, not the 60 s default, before it is forced off.
vf_manifest 30-dom.yaml "$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: running' 'shutdownTimeout: 3s')"

vf_run apply "$MAN"
assert_rc 0 "initial apply"
assert_domain_state "$dom" running
assert_vol_exists "$pool" keep.qcow2
assert_vol_exists "$pool" gone.qcow2

# A removed domain manifest: stopped and undefined.
rm "$MAN/30-dom.yaml"
vf_run plan "$MAN"
assert_rc 2 "plan after deleting the domain manifest"
assert_out_contains "- Domain/$dom" "plan shows the domain removal"
assert_out_contains "Plan: 0 to create, 0 to update, 1 to remove, 0 blocked." "plan summary"
vf_run apply "$MAN"
assert_rc 0 "apply removing the domain"
assert_domain_absent "$dom"
assert_vol_exists "$pool" disk.qcow2
vf_run plan "$MAN"
assert_rc 0 "plan after removing the domain"

# Default deletionPolicy (Retain): kept on disk, forgotten by virtform.
rm "$MAN/21-keep.yaml"
vf_run plan "$MAN"
assert_rc 2 "plan after deleting a Retain volume's manifest"
assert_out_matches 'keep\.qcow2' "plan names the retained volume"
assert_out_contains "retained" "plan says the volume is retained"
assert_out_not_contains "- Volume/$pool/keep.qcow2" "a retained volume is not shown as removed"
vf_run apply "$MAN"
assert_rc 0 "apply retaining the volume"
assert_vol_exists "$pool" keep.qcow2
[ -f "$POOLS/pool/keep.qcow2" ] || vf_fail "expected $POOLS/pool/keep.qcow2 to remain on disk"
vf_run plan "$MAN"
assert_rc 0 "plan after retaining (virtform no longer owns it)"

# deletionPolicy: Delete: deleted.
rm "$MAN/22-gone.yaml"
vf_run plan "$MAN"
assert_rc 2 "plan after deleting a Delete volume's manifest"
assert_out_matches '^- Volume/.*gone\.qcow2' "plan shows the volume removal"
vf_run apply "$MAN"
assert_rc 0 "apply deleting the volume"
assert_vol_absent "$pool" gone.qcow2
[ -e "$POOLS/pool/gone.qcow2" ] && vf_fail "expected $POOLS/pool/gone.qcow2 to be gone from disk"
assert_vol_exists "$pool" keep.qcow2
vf_run plan "$MAN"
assert_rc 0 "plan at the end"
vf_pass
