# test_00_host.sh: the host can run what the other tests need, without
# virtform: a qcow2-backed domain of vf_domain_type really starts under
# qemu:///system, and the prefix sweep removes exactly the prefixed objects
# (an object one character off the prefix survives it).
. "$(dirname "$0")/lib.sh"
vf_setup

img=$POOLS/disk.qcow2
qemu-img create -q -f qcow2 "$img" 64M || vf_fail "qemu-img create failed"
xml=$(vf_mktemp)/dom.xml
xml_domain "${P}probe" "$img" 64 >"$xml"
vsh define "$xml" >/dev/null || vf_fail "virsh define of a $DTYPE domain failed"
vsh start "${P}probe" || vf_fail "virsh start of a $DTYPE domain with a qcow2 disk failed"
wait_for "[ \"\$(vsh domstate ${P}probe)\" = running ]" 30 || vf_fail "probe domain never reached running"
sleep 1
assert_domain_state "${P}probe" running

# A sibling whose name only resembles the prefix must survive the sweep.
keep=${P%-}x-keep
sed "s/${P}probe/$keep/" "$xml" | grep -v '<disk\|</disk\|<driver\|<source\|<target' >"$xml.keep"
vsh define "$xml.keep" >/dev/null || vf_fail "virsh define of $keep failed"
vsh pool-define-as "${P}pool" dir --target "$POOLS/p" >/dev/null || vf_fail "pool-define-as failed"
vsh pool-build "${P}pool" >/dev/null && vsh pool-start "${P}pool" >/dev/null || vf_fail "pool build/start failed"
vsh vol-create-as "${P}pool" v.qcow2 16M --format qcow2 >/dev/null || vf_fail "vol-create-as failed"

vf_sweep_prefix "$P"
assert_domain_absent "${P}probe"
assert_pool_absent "${P}pool"
[ -e "$POOLS/p/v.qcow2" ] && vf_fail "sweep left $POOLS/p/v.qcow2 behind"
assert_domain_exists "$keep"
vsh undefine "$keep" >/dev/null
vf_pass
