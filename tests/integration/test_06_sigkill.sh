# test_06_sigkill.sh: `kill -9` of apply at many points of a 3-domain,
# 2-volume converge; each time the ledger still parses, and the next apply
# exits 0 leaving exactly the declared objects (no duplicates, no orphans).
# Every point starts from an empty host and an empty state dir.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"
vf_manifest 20-volumes.yaml "$(yaml_volume "$pool" a.qcow2 64MiB)
---
$(yaml_volume "$pool" b.qcow2 64MiB)"
vf_manifest 30-domains.yaml "$(yaml_domain "${P}d1" "$pool/a.qcow2" 'state: running')
---
$(yaml_domain "${P}d2" "$pool/b.qcow2" 'state: running')
---
$(yaml_domain "${P}d3" - 'state: running')"

kill_point() {
	local t=$1 pid what d
	vf_sweep_prefix "$P" >/dev/null
	rm -rf "${STATE:?}"/* "${STATE:?}"/.[!.]* 2>/dev/null
	mkdir -p "$POOLS"

	"$VF_BIN" apply -c "$VFIT_URI" --state-dir "$STATE" "$MAN" >"$STATE.killed.log" 2>&1 &
	pid=$!
	sleep "$t"
	if kill -9 "$pid" 2>/dev/null; then
		what="killed after ${t}s"
	else
		what="finished before ${t}s"
	fi
	wait "$pid" 2>/dev/null
	rm -f "$STATE.killed.log"
	vf_log "kill point $t: $what; host then has domains [$(vf_prefixed_domains | tr '\n' ' ')] pools [$(vf_prefixed_pools | tr '\n' ' ')]"
	if [ -e "$STATE/ledger.json" ]; then
		python3 -m json.tool "$STATE/ledger.json" >/dev/null 2>&1 ||
			vf_fail "kill point $t: ledger.json does not parse after kill -9: $(head -c 400 "$STATE/ledger.json")"
	fi

	vf_run apply "$MAN"
	assert_rc 0 "kill point $t: apply after kill -9"
	assert_ledger_parses
	assert_eq "$want_domains" "$(vf_prefixed_domains)" "kill point $t: domains with the prefix"
	assert_eq "$pool" "$(vf_prefixed_pools)" "kill point $t: pools with the prefix"
	vsh pool-refresh "$pool" >/dev/null 2>&1
	assert_eq "a.qcow2 b.qcow2" "$(vsh vol-list "$pool" | awk '{print $1}' | sort | tr '\n' ' ' | sed 's/ $//')" "kill point $t: volumes in $pool"
	for d in $want_domains; do
		assert_domain_state "$d" running
	done
	vf_run plan "$MAN"
	assert_rc 0 "kill point $t: plan after recovering"
}

want_domains=$(printf '%s\n' "${P}d1" "${P}d2" "${P}d3" | sort)
points="0.05 0.1 0.15 0.2 0.25 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1 1.2 1.5 2 3"
failed=""
for t in $points; do
	# Each point in a subshell, so one failure still lets the others run
	# and the summary names every failing point.
	( kill_point "$t" ) || failed="$failed $t"
done
[ -z "$failed" ] || vf_fail "recovery failed after kill -9 at:$failed (of $points); see above"
vf_pass
