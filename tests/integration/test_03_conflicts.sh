# test_03_conflicts.sh: conflicts reject the whole plan before any change.
# A declared domain whose name a domain virtform does not own already holds
# (no adopt) fails plan and apply, creates none of the other declared
# objects and leaves the unowned domain untouched; `adopt: true` adopts it.
# Two pools on one target path are rejected naming both files and lines.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
clash=${P}clash
uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
xml=$(vf_mktemp)/clash.xml
cat >"$xml" <<EOF2
<domain type='$DTYPE'>
  <name>$clash</name>
  <uuid>$uuid</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
EOF2
vsh define "$xml" >/dev/null || vf_fail "virsh define of the unowned domain failed"
before=$(vsh dumpxml --inactive "$clash")

# Same UUID as the live domain: a pure ownership clash, not a UUID mismatch.
dom_yaml() {
	yaml_domain "$clash" "$pool/disk.qcow2" "uuid: $uuid" 'state: running' "$@"
}
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" disk.qcow2 64MiB)"
vf_manifest 20-clash.yaml "$(dom_yaml)"

vf_run plan "$MAN"
assert_rc 1 "plan declaring a domain virtform does not own"
assert_out_contains "$clash" "the conflict names the domain"
assert_out_contains "20-clash.yaml:" "the conflict points at the manifest"

vf_run apply "$MAN"
assert_rc 1 "apply declaring a domain virtform does not own"
assert_out_contains "$clash" "the conflict names the domain"
assert_pool_absent "$pool"
[ -e "$POOLS/pool" ] && vf_fail "the pool's directory $POOLS/pool was created although the plan was rejected"
after=$(vsh dumpxml --inactive "$clash")
[ "$before" = "$after" ] || vf_fail "the unowned domain's XML changed:
$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
assert_domain_state "$clash" "shut off"
# --json: apply's document, the conflict in its plan, converged false.
RC=0
JSON=$("$VF_BIN" apply --json -c "$VFIT_URI" --state-dir "$STATE" "$MAN" 2>/dev/null) || RC=$?
assert_rc 1 "apply --json declaring a domain virtform does not own"
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["converged"] is False and d["steps"] == [] and d["code"] == "conflict", d
assert [c for c in d["plan"]["conflicts"] if sys.argv[2] in c["message"]], d["plan"]
' "$JSON" "$clash" 2>&1 || vf_fail "apply --json with a conflict: not a failed apply document: $JSON"
assert_pool_absent "$pool"

# With adopt: true it becomes virtform's.
vf_manifest 20-clash.yaml "$(dom_yaml 'adopt: true')"
vf_run plan "$MAN"
assert_rc 2 "plan adopting the domain"
vf_run apply "$MAN"
assert_rc 0 "apply adopting the domain"
assert_pool_exists "$pool"
assert_domain_state "$clash" running
assert_eq "$uuid" "$(vsh domuuid "$clash")" "the adopted domain keeps its UUID"
assert_eq 131072 "$(vsh dumpxml --inactive "$clash" | sed -n "s:.*<memory unit='KiB'>\([0-9]*\)</memory>.*:\1:p")" "adopted domain's memory (KiB)"
assert_ledger_parses
grep -F "$clash" "$STATE/ledger.json" >/dev/null || vf_fail "expected the ledger to record $clash; ledger: $(cat "$STATE/ledger.json")"
vf_run plan "$MAN"
assert_rc 0 "plan after adopting"

# Two pools on one target path, in two files (a fresh state dir: this set
# is unrelated to the objects above).
MAN2=$(vf_mktemp)
STATE=$(vf_mktemp)
printf '%s\n' "$(yaml_pool "${P}a" "$POOLS/shared")" >"$MAN2/a.yaml"
printf '# the second pool\n%s\n' "$(yaml_pool "${P}b" "$POOLS/shared")" >"$MAN2/b.yaml"
vf_run plan "$MAN2"
assert_rc 1 "plan with two pools on one target path"
# target.path is on line 8 of a.yaml and line 9 of b.yaml (after a comment).
assert_out_matches 'a\.yaml:8([^0-9]|$)' "the conflict names a.yaml with the path's line"
assert_out_matches 'b\.yaml:9([^0-9]|$)' "the conflict names b.yaml with the path's line"
assert_out_contains "$POOLS/shared" "the conflict names the path"
vf_run apply "$MAN2"
assert_rc 1 "apply with two pools on one target path"
assert_pool_absent "${P}a"
assert_pool_absent "${P}b"
[ -e "$POOLS/shared" ] && vf_fail "$POOLS/shared was created although the plan was rejected"
vf_pass
