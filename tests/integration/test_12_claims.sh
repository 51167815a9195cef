# test_12_claims.sh: a volume is owned only when virtform's own create
# succeeded. While apply waits for the image of a new volume (a server that
# stalls), someone else writes a qcow2 of that name into the pool's
# directory. The create then finds the name taken: apply fails as a
# conflict naming the volume, the ledger keeps no claim, the file is
# untouched; the next plan calls it the unowned conflict it is (no resize),
# and removing the manifest (deletionPolicy: Delete) deletes nothing.
# Before the fix the claim stayed, the next run grew the file as its own
# and the removal deleted it.
. "$(dirname "$0")/lib.sh"
vf_setup

WWW=$(vf_mktemp)
qemu-img create -q -f qcow2 "$WWW/img.qcow2" 16M || vf_fail "qemu-img create"
sum=$(sha256sum "$WWW/img.qcow2" | cut -d' ' -f1)
python3 "$(dirname "$0")/../tools/httpd.py" --root "$WWW" --log "$WWW/requests.log" --slow 2 >"$WWW/port" &
HTTPD_PID=$!
vf_on_exit 'kill "$HTTPD_PID" 2>/dev/null'
wait_for "[ -s '$WWW/port' ]" 10 || vf_fail "httpd.py did not start"
URL=http://127.0.0.1:$(cat "$WWW/port")/slow/img.qcow2

pool=${P}pool
dir=$POOLS/pool
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$dir")"
vf_run apply "$MAN"
assert_rc 0 "apply of the pool"

vf_manifest 20-vol.yaml "$(yaml_volume "$pool" theirs.qcow2 128MiB "source: {url: '$URL', sha256: $sum}" \
	'deletionPolicy: Delete')"
"$VF_BIN" apply -c "$VFIT_URI" --state-dir "$STATE" "$MAN" >"$WWW/apply.log" 2>&1 &
pid=$!
wait_for "grep -q '^GET /slow/img.qcow2' '$WWW/requests.log'" 20 || vf_fail "apply never asked for the image"
# Someone else's disk, made behind libvirt's back while virtform downloads.
qemu-img create -q -f qcow2 "$dir/theirs.qcow2" 64M || vf_fail "qemu-img create of the foreign file"
qemu-io -f qcow2 -c 'write -P 0x7e 0 1M' "$dir/theirs.qcow2" >/dev/null || vf_fail "qemu-io write"
theirs=$(sha256sum "$dir/theirs.qcow2" | cut -d' ' -f1)
RC=0
wait "$pid" || RC=$?
OUT=$(cat "$WWW/apply.log")
printf '$ virtform apply (the file appeared meanwhile)\n%s\n  (exit %s)\n' "$(sed 's/^/  | /' "$WWW/apply.log")" "$RC"
assert_rc 1 "apply whose create finds the name taken"
assert_out_contains "Volume/$pool/theirs.qcow2: exists and is not owned by virtform" "the error names the volume"
assert_out_contains 'adopt: true' "the error says how to take it over"
if grep -q theirs.qcow2 "$STATE/ledger.json"; then
	vf_fail "the ledger claims the volume virtform did not create: $(cat "$STATE/ledger.json")"
fi
assert_eq "$theirs" "$(sha256sum "$dir/theirs.qcow2" | cut -d' ' -f1)" "the foreign file after the failed create"

vf_run apply "$MAN"
assert_rc 1 "the next apply: a conflict, nothing changed"
assert_out_contains "not owned by virtform" "the next plan calls the volume unowned"
assert_eq $((64 * 1024 * 1024)) "$(vol_capacity "$pool" theirs.qcow2)" "the foreign volume's capacity (never grown)"

rm "$MAN/20-vol.yaml"
vf_run apply "$MAN"
assert_rc 0 "apply after removing the manifest"
assert_vol_exists "$pool" theirs.qcow2
assert_eq "$theirs" "$(sha256sum "$dir/theirs.qcow2" | cut -d' ' -f1)" "the foreign file after its manifest was removed"
vf_pass
