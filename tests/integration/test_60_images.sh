# test_60_images.sh: volumes from images on a real libvirtd. A qcow2 made with
# qemu-img (with data written into it) and a gzip'd raw image, served by
# tests/tools/httpd.py on 127.0.0.1, become volumes whose content matches
# (qemu-img compare); a volume backed by the downloaded one and a domain on
# it start; a second apply downloads nothing (server log); a changed
# checksum is a blocked replacement, never a re-download.
. "$(dirname "$0")/lib.sh"
vf_setup

WWW=$(vf_mktemp)
HTTPLOG=$WWW/requests.log
qemu-img create -q -f qcow2 "$WWW/base.qcow2" 64M || vf_fail "qemu-img create"
qemu-io -f qcow2 -c 'write -P 0xab 0 1M' -c 'write -P 0x5c 10M 512k' "$WWW/base.qcow2" >/dev/null ||
	vf_fail "qemu-io write"
head -c 3145728 /dev/urandom >"$WWW/data.raw"
gzip -k "$WWW/data.raw"
sum_qcow2=$(sha256sum "$WWW/base.qcow2" | cut -d' ' -f1)
sum_gz=$(sha256sum "$WWW/data.raw.gz" | cut -d' ' -f1)

python3 "$(dirname "$0")/../tools/httpd.py" --root "$WWW" --log "$HTTPLOG" >"$WWW/port" &
HTTPD_PID=$!
vf_on_exit 'kill "$HTTPD_PID" 2>/dev/null'
wait_for "[ -s '$WWW/port' ]" 10 || vf_fail "httpd.py did not start"
PORT=$(cat "$WWW/port")
BASE_URL=http://127.0.0.1:$PORT/files
gets() { grep -c "^GET $1 " "$HTTPLOG"; }

pool=${P}pool
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"
vf_manifest 20-volumes.yaml "$(yaml_volume "$pool" base.qcow2 128MiB \
	"source: {url: '$BASE_URL/base.qcow2', sha256: $sum_qcow2}")
---
$(yaml_volume "$pool" disk.qcow2 128MiB "backingVolume: {pool: $pool, name: base.qcow2}")
---
apiVersion: virtform/v1
kind: Volume
metadata:
  name: data.raw
spec:
  pool: $pool
  capacity: 4MiB
  format: raw
  source:
    url: $BASE_URL/data.raw.gz
    sha256: $sum_gz"
vf_manifest 30-vm.yaml "$(yaml_domain "${P}vm" "$pool/disk.qcow2" 'state: running')"

vf_run plan "$MAN"
assert_rc 2 "plan before anything exists"
assert_out_contains "$BASE_URL/base.qcow2" "the plan says what would be fetched"
assert_out_contains "sha256" "the plan says how it is verified"
assert_eq 0 "$(gets /files/base.qcow2)" "plan never downloads (GETs of base.qcow2)"

vf_run apply "$MAN"
assert_rc 0 "first apply"
assert_eq 1 "$(gets /files/base.qcow2)" "base.qcow2 downloaded once"
assert_eq 1 "$(gets /files/data.raw.gz)" "data.raw.gz downloaded once"
assert_vol_exists "$pool" base.qcow2
assert_eq $((128 * 1024 * 1024)) "$(vol_capacity "$pool" base.qcow2)" "base.qcow2 grown to spec.capacity"
qemu-img compare -q "$WWW/base.qcow2" "$POOLS/pool/base.qcow2" ||
	vf_fail "content of volume base.qcow2 differs from the served image"
cmp -n 3145728 "$WWW/data.raw" "$POOLS/pool/data.raw" ||
	vf_fail "content of volume data.raw differs from the decompressed image"
assert_eq $((4 * 1024 * 1024)) "$(vol_capacity "$pool" data.raw)" "data.raw grown to 4MiB"
vsh vol-dumpxml --pool "$pool" base.qcow2 | vf_grep -q "<format type='qcow2'/>" ||
	vf_fail "base.qcow2 is not seen as qcow2 by libvirt"
assert_domain_state "${P}vm" running
[ -f "$STATE/ledger.json" ] && grep -q "\"sha256:$sum_qcow2\"" "$STATE/ledger.json" ||
	vf_fail "ledger does not record the source checksum: $(cat "$STATE/ledger.json")"

vf_run apply "$MAN"
assert_rc 0 "second apply"
assert_out_contains "No changes" "second apply has nothing to do"
assert_eq 1 "$(gets /files/base.qcow2)" "second apply downloads nothing (base.qcow2)"
assert_eq 1 "$(gets /files/data.raw.gz)" "second apply downloads nothing (data.raw.gz)"

# A different checksum for an existing volume: a replacement, blocked.
other=$(printf '%064d' 0)
sed -i "s/sha256: $sum_qcow2/sha256: $other/" "$MAN/20-volumes.yaml"
vf_run plan "$MAN"
assert_rc 2 "plan with a changed source"
assert_out_contains "spec.source" "the plan shows the source change"
assert_out_contains "--replace Volume/$pool/base.qcow2" "the change needs --replace"
vf_run apply "$MAN"
assert_rc 1 "apply with a blocked replacement"
assert_eq 1 "$(gets /files/base.qcow2)" "a changed source never downloads by itself"
kill "$HTTPD_PID" 2>/dev/null
vf_pass
