# test_02_drift.sh: out-of-band changes to an owned domain (memory lowered
# with virsh setmaxmem --config, destroyed, autostart disabled) show as drift
# in plan (exit 2, one line per field) and apply puts them back.
# Over ssh and libssh too: test_15_ssh_drift.sh re-runs it with VFIT_CONNECT set.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
dom=${P}drift
vf_manifest all.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" disk.qcow2 64MiB)
---
$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: running' 'autostart: true')"

vf_run apply "$MAN"
assert_rc 0 "initial apply"
assert_domain_state "$dom" running
vsh dominfo "$dom" | grep -E '^Autostart: +enable' >/dev/null || vf_fail "expected autostart enabled after apply; dominfo: $(vsh dominfo "$dom")"

# Drift, done behind virtform's back.
vsh destroy "$dom" >/dev/null || vf_fail "virsh destroy failed"
vsh setmaxmem "$dom" 96M --config >/dev/null || vf_fail "virsh setmaxmem --config failed"
vsh autostart --disable "$dom" >/dev/null || vf_fail "virsh autostart --disable failed"
assert_domain_state "$dom" "shut off"
assert_eq 98304 "$(vsh dumpxml --inactive "$dom" | sed -n "s:.*<memory unit='KiB'>\([0-9]*\)</memory>.*:\1:p")" "memory after setmaxmem (precondition)"

vf_run plan "$MAN"
assert_rc 2 "plan with drift"
assert_out_contains "~ Domain/$dom" "plan shows the domain as an update"
assert_out_matches 'spec\.memory: 96 ?MiB → 128 ?MiB' "plan shows the memory drift"
assert_out_matches 'spec\.state: shut ?off → running' "plan shows the state drift"
assert_out_matches 'spec\.autostart: false → true' "plan shows the autostart drift"
assert_out_contains "Plan: 0 to create, 1 to update, 0 to remove, 0 blocked." "plan summary"

vf_run apply "$MAN"
assert_rc 0 "apply undoing the drift"
assert_domain_state "$dom" running
assert_eq 131072 "$(vsh dumpxml --inactive "$dom" | sed -n "s:.*<memory unit='KiB'>\([0-9]*\)</memory>.*:\1:p")" "memory after apply (KiB)"
vsh dominfo "$dom" | grep -E '^Autostart: +enable' >/dev/null || vf_fail "expected autostart enabled again; dominfo: $(vsh dominfo "$dom")"

vf_run plan "$MAN"
assert_rc 0 "plan after undoing the drift"
assert_out_contains "No changes. The host matches the manifests." "plan after undoing the drift"
vf_pass
