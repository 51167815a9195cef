# test_13_host.sh: rule 10, a state directory belongs to one host. A tree
# applied on qemu:///system binds its ledger to that host (URI, libvirt's
# host UUID, host name). `plan`, `apply` and `watch` with that state
# directory against another host (test:///default) are refused, naming both
# hosts, and the ledger stays byte for byte the same; nothing is forgotten.
# Another spelling of the same host (qemu+unix:///system) is the same host.
# An old ledger without a host is bound by the next apply.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_require
watch_trap

dom=${P}dom
vf_manifest 10-dom.yaml "$(yaml_domain "$dom" - 'state: shutoff')"
vf_run apply "$MAN"
assert_rc 0 "initial apply"
python3 - "$STATE/ledger.json" <<'EOF' || vf_fail "the ledger does not record its host"
import json, sys
h = json.load(open(sys.argv[1]))["host"]
assert h["uri"] == "qemu:///system", h
assert h["uuid"] and h["hostname"], h
EOF
uuid=$(vsh capabilities | sed -n 's:.*<uuid>\(.*\)</uuid>.*:\1:p' | head -n 1)
[ -n "$uuid" ] || vf_fail "qemu:///system reports no host UUID"
EMPTY=$(vf_mktemp)
cp "$STATE/ledger.json" "$EMPTY.ledger"
VFIT_TMPDIRS+=("$EMPTY.ledger")
ledger_same() { # what
	cmp -s "$STATE/ledger.json" "$EMPTY.ledger" || vf_fail "$1 changed the ledger"
}

# Another host: refused before anything is planned, both named.
other() { # CMD ARGS...: virtform against test:///default with this state dir
	local cmd=$1
	shift
	RC=0
	OUT=$("$VF_BIN" "$cmd" -c test:///default --state-dir "$STATE" "$@" 2>&1) || RC=$?
	printf '$ virtform %s -c test:///default %s\n%s\n  (exit %s)\n' "$cmd" "$*" "$OUT" "$RC"
}
for flags in "" "--allow-empty"; do
	# shellcheck disable=SC2086
	other plan $flags "$EMPTY"
	assert_rc 1 "plan $flags against another host"
	assert_out_contains "state directory $STATE belongs to another host" "the refusal says what"
	assert_out_contains "bound to qemu:///system (host UUID $uuid" "the refusal names the ledger's host"
	assert_out_contains "this connection is to test:///default" "the refusal names this host"
	assert_out_contains "Nothing was changed or forgotten" "the refusal says nothing changed"
	assert_out_contains "(-c qemu:///system)" "the refusal says what to do"
	assert_out_not_contains "to forget" "no plan is shown"
	ledger_same "plan $flags against another host"
	# shellcheck disable=SC2086
	other apply $flags "$EMPTY"
	assert_rc 1 "apply $flags against another host"
	assert_out_contains "belongs to another host" "apply is refused"
	ledger_same "apply $flags against another host"
done
assert_domain_exists "$dom"

# watch against another host: every pass refused, the ledger untouched.
WATCH_URI=test:///default
MAN_SAVED=$MAN
MAN=$EMPTY
watch_start
watch_status_json | vf_grep -q 'belongs to another host' || watch_fail "status does not show the refusal"
grep -q 'belongs to another host' "$WATCH_LOG" || watch_fail "the log does not show the refusal"
watch_stop TERM
MAN=$MAN_SAVED
unset WATCH_URI
ledger_same "watch against another host"

# The same host under another spelling of its URI: allowed.
RC=0
OUT=$("$VF_BIN" plan -c qemu+unix:///system --state-dir "$STATE" "$MAN" 2>&1) || RC=$?
assert_rc 0 "plan over qemu+unix:///system (the same host UUID)"

# An old ledger without "host": the next apply binds it, and then another
# host is refused.
python3 - "$STATE/ledger.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
del d["host"]
json.dump(d, open(sys.argv[1], "w"))
EOF
vf_run apply "$MAN"
assert_rc 0 "apply with an old, unbound ledger"
grep -q '"uuid":"'"$uuid"'"' "$STATE/ledger.json" || vf_fail "apply did not bind the old ledger"
other plan --allow-empty "$EMPTY"
assert_rc 1 "plan against another host after binding"
assert_out_contains "belongs to another host" "the bound ledger is refused to another host"
vf_pass
