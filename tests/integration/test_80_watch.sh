# test_80_watch.sh: `virtform watch` against a real libvirtd: a manifest
# dropped in is defined and started; an edit is applied; `virsh destroy` of
# an owned domain is undone by the libvirt event, not by the (hour-long)
# resync; an invalid file leaves the last good set enforced and shows in
# `virtform status` with its file:line; a removed manifest removes the owned
# domain; SIGTERM exits 0. Every wait has a generous upper bound.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_trap
watch_require

web=${P}web
RC=0
OUT=$(watch_status 2>&1) || RC=$?
assert_rc 1 "status with no daemon running"
assert_out_contains "no virtform watch daemon is running" "status with no daemon running"

watch_start

# Dropped in: defined and started.
vf_manifest web.yaml "$(yaml_domain "$web" - 'state: running')"
wait_for "[ \"\$(domstate $web)\" = running ]" 120 || watch_fail "$web was not started after its manifest appeared"
assert_ledger_parses

# A second daemon on the same state directory refuses, naming the holder.
RC=0
OUT=$("$VF_BIN" watch -c "$VFIT_URI" --state-dir "$STATE" --runtime-dir "$RUNTIME" --config /dev/null "$MAN" 2>&1) || RC=$?
assert_rc 1 "a second watch on the same state directory"
assert_out_contains "pid $WATCH_PID" "the refusal names the holder"

# Edited: the change is applied (memory, a next-boot change, in the inactive XML).
vf_manifest web.yaml "$(yaml_domain "$web" - 'state: running' | sed 's/memory: 128MiB/memory: 192MiB/')"
wait_for "vsh dumpxml --inactive $web | vf_grep -q \"<memory unit='KiB'>196608<\"" 120 ||
	watch_fail "the memory edit was not applied"

# Destroyed out of band: running again long before the 3600 s resync.
vsh destroy "$web" >/dev/null || vf_fail "virsh destroy $web"
wait_for "[ \"\$(domstate $web)\" = running ]" 60 || watch_fail "$web was not restarted after virsh destroy"
# the pass logs its result after observing again, a moment after the start
wait_for "grep -q 'reconcile (libvirt event)' '$WATCH_LOG'" 60 ||
	watch_fail "the restart did not come from a libvirt event"

# Invalid: reported with file:line, the last good set still enforced.
printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %sbad\nspec:\n  vcpus: many\n' "$P" >"$MAN/bad.yaml"
wait_for 'watch_status_json | vf_grep -q "\"manifests_state\":\"invalid\""' 60 ||
	watch_fail "status did not report the invalid manifest"
RC=0
OUT=$(watch_status 2>&1) || RC=$?
assert_rc 0 "status while the daemon runs"
assert_out_matches "$MAN/bad.yaml:[0-9]+:[0-9]+: error: " "status shows the error at file:line:col"
assert_out_contains "still enforcing the last good set" "status says the last good set is enforced"
assert_out_contains "Domain/$web" "status lists the owned domain"
vsh destroy "$web" >/dev/null || vf_fail "virsh destroy $web"
wait_for "[ \"\$(domstate $web)\" = running ]" 60 || watch_fail "the last good set was not enforced"
assert_domain_absent "${P}bad"

# Fixed: picked up on the next change.
rm -f "$MAN/bad.yaml"
wait_for 'watch_status_json | vf_grep -q "\"manifests_state\":\"valid\""' 60 || watch_fail "the fix was not picked up"

# Removed: the owned domain goes (another manifest keeps the set from
# being empty, which would remove nothing: test_13_empty.sh).
vf_manifest keep.yaml "$(yaml_domain "${P}keep" - 'state: shutoff')"
rm -f "$MAN/web.yaml"
wait_for "! vsh dominfo $web" 120 || watch_fail "$web was not removed after its manifest was"

watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status of watch after SIGTERM"
[ ! -e "$RUNTIME/watch.sock" ] || vf_fail "watch.sock left behind"
vf_pass
