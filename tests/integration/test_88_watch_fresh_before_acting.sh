# test_88_watch_fresh_before_acting.sh: the daemon plans from its cache,
# but never acts on it (docs/concepts.md, rule 15). libvirt raises no event
# when a file appears in a dir pool's directory, so the cache cannot know
# of a file dropped there by hand. A manifest then declares a volume of
# that name: from the cache alone the plan would create it, and only the
# driver's own last check (the file exists) would keep qemu-img from
# writing over it. The pool a step acts on is read again (refreshed)
# before the step runs, so the file is seen and the plan changes: the set
# is rejected as a clash with an unowned volume, no step is attempted, the
# file keeps its bytes, and status says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_require
watch_trap

pool=${P}pool
dir=$POOLS/fresh
vf_manifest pool.yaml "$(yaml_pool "$pool" "$dir")"
vf_manifest a.yaml "$(yaml_volume "$pool" a.qcow2 16MiB)"
watch_start
wait_for "vsh vol-info --pool $pool a.qcow2 >/dev/null 2>&1" 60 || watch_fail "a.qcow2 was not created"
wait_for 'watch_status_json | json_get last_reconcile.result | grep -qx converged' 30 ||
	watch_fail "no converged pass after the start"

# Behind libvirt's back: no event, so the cache does not know it.
head -c 1048576 /dev/urandom >"$dir/b.qcow2"
sum=$(sha256sum <"$dir/b.qcow2")
# The cache still says the pool holds only a.qcow2 (no relist since).
assert_eq 1 "$(watch_status_json | json_get cache.relists)" "full listings before the new manifest"

vf_manifest b.yaml "$(yaml_volume "$pool" b.qcow2 16MiB)"
# Read afresh before acting, the pool shows the file: the new set is
# rejected as a clash with an unowned volume, and no step is attempted.
wait_for 'watch_status_json | json_get manifests_state | grep -qx rejected' 60 ||
	watch_fail "the new set was not rejected: $(watch_status)"
watch_status_json | grep -q 'is not owned by virtform; add \\"adopt: true\\"' ||
	watch_fail "status does not name the clash: $(watch_status)"
sleep 2 # a pass that would act on it has had its time
assert_eq "$sum" "$(sha256sum <"$dir/b.qcow2")" "the hand-made file's bytes"
grep -q 'b\.qcow2: create:' "$WATCH_LOG" &&
	watch_fail "a step was attempted on b.qcow2 from the cache (the driver refused it; the daemon must not try)"
vf_log "status: $(watch_status | head -n 12)"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
vf_pass
