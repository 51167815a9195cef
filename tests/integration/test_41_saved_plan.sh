# test_41_saved_plan.sh: `plan --out` then `apply --plan` on an unchanged
# host applies exactly the steps plan printed; after an out-of-band change
# to one object the saved plan is refused as stale, naming the object and
# what changed, and nothing at all is changed; a plan for other manifests
# or another state directory is refused too.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
dom=${P}saved
base() { # extra spec lines for the domain
	vf_manifest all.yaml "$(yaml_pool "$pool" "$POOLS/pool")
---
$(yaml_volume "$pool" disk.qcow2 64MiB)
---
$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: running' "$@")"
}
base
vf_run apply "$MAN"
assert_rc 0 "initial apply"

# 1. unchanged host: exactly the printed steps
base 'autostart: true'
printf '%s\n' "$(yaml_volume "$pool" extra.qcow2 32MiB)" >"$MAN/extra.yaml"
saved=$(vf_mktemp)
vf_run plan --out "$saved/p1.json" "$MAN"
assert_rc 2 "plan --out with changes"
printed=$OUT
python3 - "$saved/p1.json" "$(dirname "$0")/../../specs" <<'EOF' 2>&1 || vf_fail "saved plan does not match specs/saved-plan.schema.json"
import json, os, sys, warnings
import jsonschema
warnings.simplefilter("ignore")
store = {}
for n in os.listdir(sys.argv[2]):
    if n.endswith(".schema.json"):
        s = json.load(open(os.path.join(sys.argv[2], n)))
        store[s["$id"]] = s
schema = store["https://virtform.dev/schemas/v1/saved-plan.schema.json"]
resolver = jsonschema.RefResolver(schema["$id"], schema, store=store)
jsonschema.Draft202012Validator(schema, resolver=resolver).validate(json.load(open(sys.argv[1])))
EOF
vf_run apply --plan "$saved/p1.json" "$MAN"
assert_rc 0 "apply --plan on an unchanged host"
shown=$(printf '%s\n' "$OUT" | sed -n '1,/^Plan: /p')
[ "$shown" = "$printed" ] || vf_fail "apply --plan showed another plan than plan --out printed:
--- plan --out
$printed
--- apply --plan
$shown"
assert_out_contains "Volume/$pool/extra.qcow2: created" "the saved create ran"
assert_out_contains "Domain/$dom: updated" "the saved update ran"
assert_eq 2 "$(printf '%s\n' "$OUT" | grep -cE ': (created|updated|removed)$')" "exactly the two saved steps ran"
assert_out_contains "Apply complete: 1 created, 1 updated, 0 removed." "apply --plan summary"
vsh dominfo "$dom" | grep -E '^Autostart: +enable' >/dev/null || vf_fail "autostart not applied"

# 2. an out-of-band change to one object: stale, nothing changed
sed -i 's/memory: 128MiB/memory: 160MiB/' "$MAN/all.yaml"
vf_run plan --out "$saved/p2.json" "$MAN"
assert_rc 2 "second plan --out"
vsh autostart --disable "$dom" >/dev/null || vf_fail "virsh autostart --disable failed"
before_xml=$(vsh dumpxml --inactive "$dom")
before_ledger=$(sha256sum <"$STATE/ledger.json")
vf_run apply --plan "$saved/p2.json" "$MAN"
assert_rc 1 "apply --plan after an out-of-band change"
assert_out_contains "saved plan is stale: Domain/$dom: autostart changed since the plan was made" "the changed object is named"
assert_out_not_contains "Volume/$pool" "unchanged objects are not named"
assert_out_not_contains "updated" "nothing was applied"
assert_out_not_contains "Re-plan" "no re-plan was shown"
assert_eq "$before_xml" "$(vsh dumpxml --inactive "$dom")" "domain untouched by a stale plan"
assert_eq "$before_ledger" "$(sha256sum <"$STATE/ledger.json")" "ledger untouched by a stale plan"
vsh dominfo "$dom" | grep -E '^Autostart: +disable' >/dev/null || vf_fail "a stale plan re-enabled autostart"
# --json: the apply document (plan, steps, converged), not a plan document.
# assert_apply_failed_json CODE WHAT: $JSON is apply's document of a run
# that stopped before changing anything, with CODE.
assert_apply_failed_json() {
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["converged"] is False, "converged"
assert d["steps"] == [], "steps"
assert isinstance(d["plan"], dict) and "steps" in d["plan"], "plan member"
assert "replan" not in d, "replan"
assert d["code"] == sys.argv[2], "code " + d["code"]
assert d["error"], "error"
' "$JSON" "$1" 2>&1 || vf_fail "apply --json, $2: not a failed apply document: $JSON"
}
RC=0
JSON=$("$VF_BIN" apply --json -c "$VFIT_URI" --state-dir "$STATE" --plan "$saved/p2.json" "$MAN" 2>/dev/null) || RC=$?
assert_rc 1 "apply --json --plan, stale"
assert_apply_failed_json stale "a stale object"

# 3. other manifests, another state directory: refused
vf_run plan --out "$saved/p3.json" "$MAN"
printf '# a comment\n' >>"$MAN/extra.yaml"
vf_run apply --plan "$saved/p3.json" "$MAN"
assert_rc 1 "apply --plan after a manifest changed"
assert_out_contains "the manifest set changed since the plan was made" "changed manifests refused"
RC=0
JSON=$("$VF_BIN" apply --json -c "$VFIT_URI" --state-dir "$STATE" --plan "$saved/p3.json" "$MAN" 2>/dev/null) || RC=$?
assert_rc 1 "apply --json --plan, changed manifests"
assert_apply_failed_json stale "changed manifests"
other=$(vf_mktemp)
RC=0
OUT=$("$VF_BIN" apply -c "$VFIT_URI" --state-dir "$other" --plan "$saved/p3.json" "$MAN" 2>&1) || RC=$?
assert_rc 1 "apply --plan with another state directory"
assert_out_contains "made with another state directory" "another state directory refused"
assert_eq "$before_xml" "$(vsh dumpxml --inactive "$dom")" "domain untouched by refused plans"
vf_pass
