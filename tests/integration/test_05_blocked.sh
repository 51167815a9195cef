# test_05_blocked.sh: shrinking a volume would destroy data, so it is
# blocked: plan shows a `!` line and exits 2, apply exits 1 and leaves the
# volume as it was; with --replace Volume/POOL/NAME it is recreated with the
# new capacity.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
write_set() { # capacity
	vf_manifest all.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" data.qcow2 "$1")"
}
write_set 128MiB
vf_run apply "$MAN"
assert_rc 0 "initial apply"
assert_eq $((128 * 1024 * 1024)) "$(vol_capacity "$pool" data.qcow2)" "capacity after create"
file=$POOLS/pool/data.qcow2
sum_before=$(sha256sum <"$file")

write_set 64MiB
vf_run plan "$MAN"
assert_rc 2 "plan shrinking a volume"
assert_out_matches '^! Volume/.*data\.qcow2' "plan shows the shrink as blocked"
assert_out_matches 'spec\.capacity: 128 ?MiB → 64 ?MiB' "plan shows the capacity change"
assert_out_contains "Plan: 0 to create, 0 to update, 0 to remove, 1 blocked." "plan summary"

vf_run apply "$MAN"
assert_rc 1 "apply with a blocked step"
assert_out_matches 'data\.qcow2' "apply names the blocked volume"
assert_eq $((128 * 1024 * 1024)) "$(vol_capacity "$pool" data.qcow2)" "capacity after the refused apply"
assert_eq "$sum_before" "$(sha256sum <"$file")" "the volume file's content after the refused apply"

vf_run apply --replace "Volume/$pool/data.qcow2" "$MAN"
assert_rc 0 "apply --replace Volume/$pool/data.qcow2"
vsh pool-refresh "$pool" >/dev/null
assert_eq $((64 * 1024 * 1024)) "$(vol_capacity "$pool" data.qcow2)" "capacity after the replace"
vf_run plan "$MAN"
assert_rc 0 "plan after the replace"
vf_pass
