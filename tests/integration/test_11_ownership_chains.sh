# test_11_ownership_chains.sh: rule 4 of docs/concepts.md ("What virtform
# never does") on a real libvirtd. A volume that a real overlay made behind
# virtform's back (qemu-img create -b) is backed by is not deleted; a
# volume with a cloud-init seed's name that virtform did not write is a
# conflict and stays as it was; an adopted domain's own seed CD-ROM volume
# is not deleted with the domain; --replace Volume is blocked while a
# running guest uses the volume. Foreign files are checked byte for byte.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}p
other=${P}q
run=${P}run
ci=${P}ci
ad=${P}ad
vf_manifest 10-pools.yaml "$(yaml_pool "$pool" "$POOLS/p")
---
$(yaml_pool "$other" "$POOLS/q")"
vf_manifest 20-base.yaml "$(yaml_volume "$pool" base.qcow2 32MiB 'deletionPolicy: Delete')"
vf_manifest 21-run.yaml "$(yaml_volume "$pool" run.qcow2 64MiB 'deletionPolicy: Delete')
---
$(yaml_domain "$run" "$pool/run.qcow2" 'state: running')"
vf_manifest 22-ci-root.yaml "$(yaml_volume "$pool" ci.qcow2 16MiB)"
own=${P}own
vf_manifest 25-own.yaml "$(yaml_volume "$pool" own.qcow2 16MiB)
---
$(yaml_domain "$own" "$pool/own.qcow2" 'state: shutoff' 'cloudInit:' '  userData: {packages: [nginx]}')"
vf_run apply "$MAN"
assert_rc 0 "initial apply"
assert_domain_state "$run" running
# the seed virtform wrote is recorded as that domain's
python3 - "$STATE/ledger.json" "$pool" "${own}-cidata.iso" "$own" <<'PY' || vf_fail "the seed is not in the ledger as $own's: $(cat "$STATE/ledger.json")"
import json, sys
path, pool, name, dom = sys.argv[1:]
es = json.load(open(path))["entries"]
sys.exit(0 if any(e["kind"] == "Volume" and e["pool"] == pool and e["name"] == name and e.get("seedOf") == dom for e in es) else 1)
PY

# Behind virtform's back: an overlay on base.qcow2 in the other pool, a
# volume with the seed name of a domain about to be declared, and an
# adopted domain's own cidata CD-ROM.
qemu-img create -q -f qcow2 -b "$POOLS/p/base.qcow2" -F qcow2 "$POOLS/q/overlay.qcow2" ||
	vf_fail "qemu-img create -b failed"
printf 'not a seed virtform wrote\n' >"$POOLS/p/${ci}-cidata.iso"
printf 'the adopted domain'"'"'s own seed\n' >"$POOLS/p/${ad}-cidata.iso"
vsh pool-refresh "$pool" >/dev/null
cat >"$STATE/ad.xml" <<XML
<domain type='$DTYPE'>
  <name>$ad</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='volume' device='cdrom'>
      <source pool='$pool' volume='${ad}-cidata.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
  </devices>
</domain>
XML
vsh define "$STATE/ad.xml" >/dev/null || vf_fail "virsh define failed"
sums=$(vf_mktemp)/sums
(cd "$POOLS" && sha256sum p/base.qcow2 q/overlay.qcow2 "p/${ci}-cidata.iso" "p/${ad}-cidata.iso") >"$sums"
check_sums() {
	(cd "$POOLS" && sha256sum -c --quiet "$sums") || vf_fail "$1: a file changed or vanished"
}

# The overlay's base is not deleted from under it.
rm "$MAN/20-base.yaml"
vf_run plan "$MAN"
assert_rc 2 "plan after removing the base's manifest"
assert_out_contains "! Volume/$pool/base.qcow2: no longer declared (deletionPolicy Delete), but Volume $other/overlay.qcow2 ($POOLS/q/overlay.qcow2) is an overlay backed by base.qcow2; deleting base.qcow2 would break it" \
	"the plan names the overlay"
vf_run apply "$MAN"
assert_rc 1 "apply with the base blocked"
assert_vol_exists "$pool" base.qcow2
qemu-img info --backing-chain "$POOLS/q/overlay.qcow2" >/dev/null || vf_fail "the overlay's chain is broken"
check_sums "after removing the base's manifest"

# --replace under a running guest: blocked, the disk untouched.
vf_manifest 21-run.yaml "$(yaml_volume "$pool" run.qcow2 32MiB 'deletionPolicy: Delete')
---
$(yaml_domain "$run" "$pool/run.qcow2" 'state: running')"
before=$(sha256sum <"$POOLS/p/run.qcow2")
vf_run apply --replace "Volume/$pool/run.qcow2" "$MAN"
assert_rc 1 "apply --replace with the guest running"
assert_out_contains "! Volume/$pool/run.qcow2: replace (--replace Volume/$pool/run.qcow2) blocked: Domain \"$run\" is running and uses it; stop it first" \
	"replacing a running guest's disk is blocked"
assert_domain_state "$run" running
assert_eq "$before" "$(sha256sum <"$POOLS/p/run.qcow2")" "the running guest's disk"
vf_manifest 21-run.yaml "$(yaml_volume "$pool" run.qcow2 64MiB 'deletionPolicy: Delete')
---
$(yaml_domain "$run" "$pool/run.qcow2" 'state: running')"

# A seed name taken by someone's volume: a conflict, nothing written.
vf_manifest 23-ci.yaml "$(yaml_domain "$ci" "$pool/ci.qcow2" 'state: shutoff' 'cloudInit:' '  userData: {packages: [nginx]}')"
vf_run apply "$MAN"
assert_rc 1 "apply with the seed's name taken"
assert_out_contains "Domain \"$ci\": the volume \"${ci}-cidata.iso\" in pool \"$pool\" on the host has the name of its cloud-init seed, but virtform did not write it" \
	"the plan says the seed volume is not virtform's"
assert_domain_absent "$ci"
check_sums "after the seed conflict"
rm "$MAN/23-ci.yaml"

# An adopted domain goes; its own seed volume stays.
vf_manifest 24-ad.yaml "$(printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n  adopt: true\n  uuid: %s\n  type: %s\n  memory: 64MiB\n  state: shutoff\n  graphics: {type: none}\n' "$ad" "$(vsh domuuid "$ad")" "$DTYPE")"
vf_run apply "$MAN"
assert_rc 1 "apply adopting the domain (the base is still blocked)"
assert_out_contains "spec.cloudInit: removed (seed detached; its volume is not virtform's and stays; next-boot)" \
	"the plan says the foreign seed stays"
rm "$MAN/24-ad.yaml"
vf_run apply "$MAN"
assert_rc 1 "apply removing the adopted domain (the base is still blocked)"
assert_out_contains "- Domain/$ad: no longer declared; undefine" "the adopted domain is removed"
assert_domain_absent "$ad"
assert_vol_exists "$pool" "${ad}-cidata.iso"

# The seed virtform wrote goes with its domain, and is forgotten.
rm "$MAN/25-own.yaml"
vf_run apply "$MAN"
assert_rc 1 "apply removing the domain with its own seed (the base is still blocked)"
assert_domain_absent "$own"
assert_vol_absent "$pool" "${own}-cidata.iso"
if grep -q "${own}-cidata.iso" "$STATE/ledger.json"; then
	vf_fail "the deleted seed is still in the ledger: $(cat "$STATE/ledger.json")"
fi
check_sums "at the end"
vf_pass
