# test_70_cloudinit.sh: a domain with spec.cloudInit gets a NoCloud seed
# volume (<domain>-cidata.iso, in its first volume disk's pool) attached as
# a read-only SCSI CD-ROM on a virtio-scsi controller; the seed's content, downloaded with virsh
# vol-download and read with isoinfo, is exactly what the manifest says
# (label cidata, user-data, meta-data, network-config); changing userData
# regenerates it; a second apply does nothing. (Whether a guest reads it
# needs a bootable cloud image, which this test does not download.)
. "$(dirname "$0")/lib.sh"
vf_setup
command -v isoinfo >/dev/null 2>&1 || vf_fail "isoinfo (genisoimage) is not installed"

pool=${P}pool
dom=${P}ci
seed=${dom}-cidata.iso
mkdir -p "$MAN/cloud-init"
printf 'version: 2\nethernets:\n  eth0:\n    dhcp4: true\n' >"$MAN/cloud-init/network-config"

# The pool is made with virsh, not declared: this test is about the seed,
# and does not depend on virtform's pool building.
vsh pool-define-as "$pool" dir --target "$POOLS/pool" >/dev/null || vf_fail "virsh pool-define-as failed"
vsh pool-build "$pool" >/dev/null && vsh pool-start "$pool" >/dev/null || vf_fail "virsh pool-build/start failed"

write_manifest() { # the package list in userData
	vf_manifest all.yaml "$(yaml_volume "$pool" root.qcow2 64MiB)
---
$(yaml_domain "$dom" "$pool/root.qcow2" 'state: shutoff' 'cloudInit:' '  userData:' "    packages: [$1]" '    runcmd:' "      - [sh, -c, 'echo \"hi there\" > /tmp/x']" '  networkConfig: {file: cloud-init/network-config}')"
}

# The seed's files, as the guest would see them.
check_seed() { # expected-packages-line
	local iso
	iso=$(vf_mktemp)/seed.iso
	vsh vol-download --pool "$pool" "$seed" "$iso" || vf_fail "virsh vol-download of the seed failed"
	assert_eq cidata "$(isoinfo -d -i "$iso" | sed -n 's/^Volume id: //p')" "the seed's volume label"
	isoinfo -d -i "$iso" | vf_grep -q '^Rock Ridge signatures version' || vf_fail "the seed has no Rock Ridge"
	isoinfo -d -i "$iso" | vf_grep -q '^Joliet with UCS level' || vf_fail "the seed has no Joliet"
	assert_eq "$(printf '#cloud-config\npackages:\n- %s\nruncmd:\n- - sh\n  - -c\n  - '"'"'echo "hi there" > /tmp/x'"'"'\n' "$1")" \
		"$(isoinfo -R -i "$iso" -x /user-data)" "user-data on the seed"
	local uuid
	uuid=$(vsh domuuid "$dom")
	assert_eq "$(printf 'instance-id: %s\nlocal-hostname: %s' "$uuid" "$dom")" \
		"$(isoinfo -R -i "$iso" -x /meta-data)" "meta-data on the seed (the default)"
	assert_eq "$(cat "$MAN/cloud-init/network-config")" "$(isoinfo -R -i "$iso" -x /network-config)" \
		"network-config on the seed"
	rm -f "$iso"
}

write_manifest nginx
vf_run apply "$MAN"
assert_rc 0 "first apply"
assert_vol_exists "$pool" "$seed"
xml=$(vsh dumpxml --inactive "$dom")
printf '%s\n' "$xml" | vf_grep -q "<source pool='$pool' volume='$seed'/>" || vf_fail "the domain has no seed CD-ROM: $xml"
printf '%s\n' "$xml" | tr -d '\n' | vf_grep -qE "<disk type='volume' device='cdrom'>.*<source pool='$pool' volume='$seed'/>.*<target dev='sda' bus='scsi'/>.*<readonly/>" ||
	vf_fail "the seed is not a read-only scsi CD-ROM at sda: $xml"
printf '%s\n' "$xml" | vf_grep -q "<controller type='scsi' index='0' model='virtio-scsi'>" ||
	vf_fail "the seed's SCSI controller is not virtio-scsi: $xml"
check_seed nginx

vf_run apply "$MAN"
assert_rc 0 "second apply"
assert_out_contains "No changes" "a second apply does nothing"
vf_run plan "$MAN"
assert_rc 0 "plan after apply"

write_manifest "nginx, curl"
vf_run plan "$MAN"
assert_rc 2 "plan after changing userData"
assert_out_contains "spec.cloudInit: changed (seed regenerated; next-boot)" "plan shows the seed change"
vf_run apply "$MAN"
assert_rc 0 "apply regenerating the seed"
check_seed "nginx
- curl"
vf_run plan "$MAN"
assert_rc 0 "plan after regenerating"
vf_pass
