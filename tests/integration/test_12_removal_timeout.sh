# test_12_removal_timeout.sh: a running domain whose manifest is removed is
# shut down with the shutdownTimeout it was applied with, not 60 s. The
# guest has no OS, so it never answers the ACPI request: removal waits the
# whole timeout (3 s here), then forces it off. Before the fix it waited
# 60 s whatever the manifest said (the apply is bounded at 30 s, so that
# shows as a failure, not a slow pass). The ledger records the timeout.
. "$(dirname "$0")/lib.sh"
vf_setup

dom=${P}slow
vf_manifest 10-vm.yaml "$(yaml_domain "$dom" - 'state: running' 'shutdownTimeout: 3s')"
vf_run apply "$MAN"
assert_rc 0 "apply of a running domain with shutdownTimeout 3s"
assert_domain_state "$dom" running
grep -q '"shutdownTimeout": *3\b' "$STATE/ledger.json" ||
	vf_fail "the ledger does not record shutdownTimeout 3: $(cat "$STATE/ledger.json")"

rm "$MAN/10-vm.yaml"
vf_manifest 00-keep.yaml "$(yaml_domain "${P}keep" - 'state: shutoff')" # not an empty set
vf_run plan "$MAN"
assert_rc 2 "plan of the removal"
assert_out_contains "- Domain/$dom: no longer declared; shut down (waiting up to 3 s, its shutdownTimeout) and undefine" \
	"the plan says how long removal waits"

t0=$SECONDS
VFIT_BOUND=30 vf_run apply "$MAN"
took=$((SECONDS - t0))
assert_rc 0 "apply of the removal"
assert_domain_absent "$dom"
vf_log "removal took ${took}s"
[ "$took" -ge 3 ] || vf_fail "removal took ${took}s: it did not wait the 3 s shutdownTimeout before forcing the domain off"
[ "$took" -lt 25 ] || vf_fail "removal took ${took}s: it did not honour the 3 s shutdownTimeout"
vf_pass
