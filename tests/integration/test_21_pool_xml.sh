# test_21_pool_xml.sh: a dir pool given as spec.xml (issue 12, pools):
# apply converges and the re-plan says no changes although libvirt rewrites
# what was sent (the target path's trailing slash, an empty <source>,
# capacity figures); the record's digests are in the pool's ledger entry and
# its texts in records/. A change made behind virtform's back (virsh
# pool-define of an edited dump) is drift on that pool alone, next to a
# structured pool that stays quiet, and apply undoes it; a manifest change
# is the manifest's diff; a structured field next to spec.xml is refused at
# file:line:col.
. "$(dirname "$0")/lib.sh"
vf_setup

raw=${P}raw
plain=${P}plain
rawdir=$POOLS/${P}raw
raw_pool() { # mode
	cat <<EOF
apiVersion: virtform/v1
kind: StoragePool
metadata:
  name: $raw
spec:
  deletionPolicy: Delete
  xml: |
    <pool type='dir'>
      <name>$raw</name>
      <target>
        <path>$rawdir/</path>
        <permissions><mode>$1</mode></permissions>
      </target>
    </pool>
EOF
}
mode_of() { vsh pool-dumpxml --inactive "$raw" | sed -n 's:.*<mode>\(.*\)</mode>.*:\1:p'; }

# ---- 1. first apply converges, no false drift --------------------------------
vf_manifest raw.yaml "$(raw_pool 0755)"
vf_manifest plain.yaml "$(yaml_pool "$plain" "$POOLS/${P}plain")"
vf_run plan "$MAN"
assert_rc 2 "first plan"
assert_out_contains "+ StoragePool/$raw: create dir pool at $rawdir/" "the raw pool is created"
vf_run apply "$MAN"
assert_rc 0 "first apply"
assert_pool_exists "$raw"
[ -d "$rawdir" ] || vf_fail "the pool's directory $rawdir was not built"
vsh pool-dumpxml --inactive "$raw" | vf_grep -q "<path>$rawdir</path>" || vf_fail "libvirt did not normalise the target path (the test relies on it)"
vf_run plan "$MAN"
assert_rc 0 "re-plan after the first apply"
assert_out_contains "No changes." "libvirt's normal form is no drift"
python3 - "$STATE" "$raw" <<'EOF' || vf_fail "the ledger entry of $raw holds no record whose texts are in records/"
import json, os, sys
state, name = sys.argv[1:]
e = [e for e in json.load(open(state + "/ledger.json"))["entries"] if e["name"] == name][0]
for k in ("sha256", "normalised"):
    assert os.path.isfile(os.path.join(state, "records", e["xml"][k])), k
EOF

# ---- 2. changed behind virtform's back: drift on that pool alone, undone -----
edited=$(vf_mktemp)/pool.xml
vsh pool-dumpxml --inactive "$raw" | sed 's:<mode>0755</mode>:<mode>0711</mode>:' >"$edited"
vsh pool-define "$edited" >/dev/null || vf_fail "virsh pool-define of the edited XML failed"
assert_eq 0711 "$(mode_of)" "the out-of-band change"
vf_run plan "$MAN"
assert_rc 2 "plan after the out-of-band change"
assert_out_contains "~ StoragePool/$raw: 1 field changed outside virtform since the last apply" "the change is drift"
assert_out_contains "xml:/pool/target/permissions/mode: 0711 → 0755 (next-boot)" "the field, exactly"
assert_out_not_contains "StoragePool/$plain" "the other pool has no drift"
vf_run apply "$MAN"
assert_rc 0 "apply undoes the out-of-band change"
assert_eq 0755 "$(mode_of)" "the mode after apply"
vf_run plan "$MAN"
assert_rc 0 "re-plan after undoing"

# ---- 3. the manifest changes: its own diff -----------------------------------
vf_manifest raw.yaml "$(raw_pool 0750)"
vf_run plan "$MAN"
assert_rc 2 "plan after the manifest change"
assert_out_contains "~ StoragePool/$raw: 1 field differs from the manifest" "a manifest change"
assert_out_contains "xml:/pool/target/permissions/mode: 0755 → 0750 (next-boot)" "the manifest's diff"
vf_run apply "$MAN"
assert_rc 0 "apply the manifest change"
assert_eq 0750 "$(mode_of)" "the mode after the manifest change"
vf_run plan "$MAN"
assert_rc 0 "re-plan after the manifest change"

# ---- 4. structured fields next to spec.xml are refused where they are --------
bad=$(vf_mktemp)
printf '%s\n' "$(raw_pool 0750)" | sed 's/^spec:$/spec:\n  type: dir/' >"$bad/raw.yaml"
vf_run validate "$bad"
assert_rc 1 "validate with spec.type next to spec.xml"
assert_out_contains "raw.yaml:6:3: error: spec.type cannot be combined with spec.xml; the XML describes the whole pool" "the error names file:line:col"
vf_pass
