# test_11_ownership_pools.sh: rules 1 and 2 of docs/concepts.md ("What
# virtform never does") on a real libvirtd. Removing a pool with
# deletionPolicy Delete is blocked while its directory holds a Retain
# volume or files virtform never made, an active pool's and an inactive
# one's; an inactive pool a shut-off domain's disk lives in is not
# deleted. A qcow2 file made behind libvirt's back with a declared
# volume's name is a conflict, in an active pool and an inactive one, and
# is never claimed. Every foreign file is checked byte for byte at the end.
. "$(dirname "$0")/lib.sh"
vf_setup

del=${P}del   # deletionPolicy Delete, active
cold=${P}cold # deletionPolicy Delete, inactive
img=${P}img   # stays declared
vf_manifest 10-img.yaml "$(yaml_pool "$img" "$POOLS/img")"
vf_manifest 11-del.yaml "$(yaml_pool "$del" "$POOLS/del" 'deletionPolicy: Delete')"
vf_manifest 12-cold.yaml "$(yaml_pool "$cold" "$POOLS/cold" 'deletionPolicy: Delete' 'state: inactive')"
vf_manifest 20-owned.yaml "$(yaml_volume "$del" owned.qcow2 16MiB 'deletionPolicy: Delete')"
vf_manifest 21-keep.yaml "$(yaml_volume "$del" keep.qcow2 16MiB)"
vf_run apply "$MAN"
assert_rc 0 "initial apply"

# Behind virtform's back: files in the pools' directories, libvirt not told.
head -c 1048576 /dev/urandom >"$POOLS/del/photos.tar"
echo "someone's notes" >"$POOLS/del/notes.txt"
head -c 65536 /dev/urandom >"$POOLS/cold/backup.img"
sums=$(vf_mktemp)/sums
(cd "$POOLS" && sha256sum del/photos.tar del/notes.txt del/keep.qcow2 cold/backup.img) >"$sums"
check_sums() {
	(cd "$POOLS" && sha256sum -c --quiet "$sums") || vf_fail "$1: a foreign file changed or vanished"
}

# Rule 1: the pools' manifests go; their contents keep them.
rm "$MAN/11-del.yaml" "$MAN/12-cold.yaml" "$MAN/20-owned.yaml" "$MAN/21-keep.yaml"
vf_run plan "$MAN"
assert_rc 2 "plan after removing the pools' manifests"
assert_out_contains "- Volume/$del/owned.qcow2: no longer declared; delete it" "the owned Delete volume goes"
assert_out_contains "= Volume/$del/keep.qcow2: no longer declared, retained (deletionPolicy Retain)" "the Retain volume stays"
assert_out_contains "! StoragePool/$del: no longer declared (deletionPolicy Delete), but it holds 3 files or volumes this plan does not delete: \"keep.qcow2\" (deletionPolicy Retain), \"notes.txt\", \"photos.tar\"; move them out first" \
	"the active pool's deletion is blocked, naming what it holds"
assert_out_contains "! StoragePool/$cold: no longer declared (deletionPolicy Delete), but it holds 1 file or volume this plan does not delete: \"backup.img\"" \
	"the inactive pool's directory is read too"
vf_run apply "$MAN"
assert_rc 1 "apply with blocked pool deletions"
assert_pool_exists "$del"
assert_pool_exists "$cold"
assert_vol_absent "$del" owned.qcow2
check_sums "after apply"

# An inactive pool lists no volumes; a shut-off domain's disk in its
# directory still blocks it (checked before the files it holds).
qemu-img create -q -f qcow2 "$POOLS/cold/disk.qcow2" 16M || vf_fail "qemu-img create failed"
xml_domain "${P}stranger" "$POOLS/cold/disk.qcow2" 64 >"$STATE/stranger.xml"
vsh define "$STATE/stranger.xml" >/dev/null || vf_fail "virsh define failed"
vf_run plan "$MAN"
assert_rc 2 "plan with a domain using a file in the inactive pool"
assert_out_contains "! StoragePool/$cold: no longer declared (deletionPolicy Delete), but its volume \"disk.qcow2\" is still used by Domain \"${P}stranger\"" \
	"a disk of a shut-off domain in an inactive pool blocks its deletion"
vf_run apply "$MAN"
assert_rc 1 "apply with the inactive pool in use"
[ -f "$POOLS/cold/disk.qcow2" ] || vf_fail "the domain's disk was deleted"
vsh undefine "${P}stranger" >/dev/null

# Rule 2: a qcow2 file with a declared volume's name, made behind libvirt's
# back (no refresh), in the active pool and in an inactive one.
qemu-img create -q -f qcow2 "$POOLS/img/root.qcow2" 32M || vf_fail "qemu-img create failed"
qemu-img create -q -f qcow2 "$POOLS/cold/data.qcow2" 32M || vf_fail "qemu-img create failed"
(cd "$POOLS" && sha256sum img/root.qcow2 cold/data.qcow2) >>"$sums"
vf_manifest 12-cold.yaml "$(yaml_pool "$cold" "$POOLS/cold" 'deletionPolicy: Delete' 'state: inactive')"
vf_manifest 30-root.yaml "$(yaml_volume "$img" root.qcow2 64MiB 'deletionPolicy: Delete')"
vf_manifest 31-data.yaml "$(yaml_volume "$cold" data.qcow2 64MiB 'deletionPolicy: Delete')"
vf_run plan "$MAN"
assert_rc 1 "plan with declared names taken by files"
assert_out_contains "Volume \"root.qcow2\": the live volume \"root.qcow2\" in pool \"$img\" on the host is not owned by virtform; add \"adopt: true\"" \
	"observing refreshed the active pool: the file is an unowned volume"
assert_out_contains "Volume \"data.qcow2\": the file \"data.qcow2\" in the directory $POOLS/cold of pool \"$cold\" exists and is not owned by virtform (libvirt does not list it yet)" \
	"an inactive pool's file is seen too"
vf_run apply "$MAN"
assert_rc 1 "apply with the conflicts"
if grep -q 'root.qcow2\|data.qcow2' "$STATE/ledger.json"; then
	vf_fail "a file virtform did not create was claimed: $(cat "$STATE/ledger.json")"
fi
assert_eq "33554432" "$(qemu-img info --output=json "$POOLS/img/root.qcow2" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
	"root.qcow2 was not resized"
check_sums "after the conflicts"

# --replace StoragePool deletes the volumes it owns one by one (the driver
# never empties a pool wholesale: tests/test_libvirt.c), then the pool,
# and recreates both; nothing foreign is lost.
rep=${P}rep
vf_manifest 40-rep.yaml "$(yaml_pool "$rep" "$POOLS/rep" 'deletionPolicy: Delete')"
vf_manifest 41-repvol.yaml "$(yaml_volume "$rep" a.qcow2 16MiB 'deletionPolicy: Delete')"
rm "$MAN/30-root.yaml" "$MAN/31-data.yaml"
vf_run apply "$MAN"
assert_rc 1 "apply of the pool to replace (the rest is still blocked)"
assert_vol_exists "$rep" a.qcow2
vf_manifest 40-rep.yaml "$(yaml_pool "$rep" "$POOLS/rep2" 'deletionPolicy: Delete')"
vf_run apply --replace "StoragePool/$rep" "$MAN"
assert_out_contains "StoragePool/$rep: replace (--replace StoragePool/$rep)" "the pool is replaced"
assert_vol_exists "$rep" a.qcow2
[ "$(vsh pool-dumpxml "$rep" | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -n 1)" = "$POOLS/rep2" ] ||
	vf_fail "the replaced pool is not at its new path"
[ -e "$POOLS/rep/a.qcow2" ] && vf_fail "the old pool's owned volume was left behind"
check_sums "at the end"
vf_pass
