# test_13_empty.sh: rule 5, an empty manifest set removes nothing. A small
# tree (a pool, a volume and a domain, all deletionPolicy Delete) is
# applied; its files are removed. `plan` shows every removal blocked and
# exits 1; `apply` exits 1 saying how many owned objects it would have
# removed, and everything is still there, the ledger byte for byte. `watch`
# keeps the objects with the tree emptied and with it moved away, and its
# status says why. Only `apply --allow-empty` removes them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_require
watch_trap

pool=${P}pool
dom=${P}dom
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool" 'deletionPolicy: Delete')"
vf_manifest 20-disk.yaml "$(yaml_volume "$pool" disk.qcow2 16MiB 'deletionPolicy: Delete')"
vf_manifest 30-dom.yaml "$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: shutoff')"
vf_run apply "$MAN"
assert_rc 0 "initial apply"

assert_all_there() { # what
	assert_pool_exists "$pool"
	assert_vol_exists "$pool" disk.qcow2
	assert_domain_exists "$dom"
	[ -f "$POOLS/pool/disk.qcow2" ] || vf_fail "$1: $POOLS/pool/disk.qcow2 is gone from disk"
}

KEEP=$(vf_mktemp)
mv "$MAN"/*.yaml "$KEEP"/
cp "$STATE/ledger.json" "$KEEP/ledger.before"

# plan: the removals are shown, each blocked, and plan exits 1 (not 2).
vf_run plan "$MAN"
assert_rc 1 "plan of an empty manifest set"
assert_out_contains "! Domain/$dom: not removed: the manifest set is empty" "plan blocks the domain removal"
assert_out_contains "! StoragePool/$pool: not removed" "plan blocks the pool removal"
assert_out_contains "Plan: 0 to create, 0 to update, 0 to remove, 3 blocked." "plan summary"
assert_out_contains "the manifest set is empty: apply would remove 3 owned objects" "plan says why"

# apply: removes nothing, exits 1, says how many, ledger untouched.
vf_run apply "$MAN"
assert_rc 1 "apply of an empty manifest set"
assert_out_contains "would remove 3 owned objects" "apply counts what it would have removed"
assert_out_contains "--allow-empty" "apply says how to mean it"
assert_all_there "apply of an empty set"
cmp -s "$STATE/ledger.json" "$KEEP/ledger.before" || vf_fail "apply of an empty set changed the ledger"

# watch: emptied, then moved away; the objects stay and status says why.
st_has() { watch_status_json | tr -d ' \n\t' | vf_grep -qF "$1"; }
mv "$KEEP"/*.yaml "$MAN"/
watch_start
wait_for 'st_has "\"result\":\"converged\""' 60 ||
	watch_fail "the daemon did not converge on the full tree"
mv "$MAN"/*.yaml "$KEEP"/
wait_for 'st_has "\"manifests_state\":\"empty\""' 60 ||
	watch_fail "status does not report the empty tree"
st_has '"enforcing":"last-good"' || watch_fail "status does not say the last set is enforced"
grep -q 'manifests in .* are empty (1 problem); still enforcing the last good set' "$WATCH_LOG" ||
	watch_fail "no log line for the empty tree"
passes() { grep -c 'reconcile (reload)' "$WATCH_LOG"; }
n=$(passes)
kill -HUP "$WATCH_PID"
wait_for "[ \$(passes) -gt $n ]" 60 || watch_fail "SIGHUP ran no pass"
assert_all_there "watch with the tree emptied"

mv "$MAN" "$MAN.moved"
VFIT_TMPDIRS+=("$MAN.moved")
wait_for 'st_has "\"manifests_state\":\"unreadable\""' 60 ||
	watch_fail "status does not report the vanished tree"
grep -q 'manifests in .* are unreadable (1 problem); still enforcing the last good set' "$WATCH_LOG" ||
	watch_fail "no log line for the vanished tree"
n=$(passes)
kill -HUP "$WATCH_PID"
wait_for "[ \$(passes) -gt $n ]" 60 || watch_fail "SIGHUP ran no pass"
assert_all_there "watch with the tree moved away"
watch_stop TERM
mv "$MAN.moved" "$MAN"

# --allow-empty: the user means it; everything owned is removed.
vf_run plan --allow-empty "$MAN"
assert_rc 2 "plan --allow-empty"
assert_out_contains "Plan: 0 to create, 0 to update, 3 to remove, 0 blocked." "plan --allow-empty shows the removals"
vf_run apply --allow-empty "$MAN"
assert_rc 0 "apply --allow-empty"
assert_domain_absent "$dom"
assert_pool_absent "$pool"
[ -e "$POOLS/pool/disk.qcow2" ] && vf_fail "apply --allow-empty left $POOLS/pool/disk.qcow2"
vf_pass
