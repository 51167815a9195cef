# test_15_ssh_dead_peer.sh: issue 20, remote URIs. A plan over ssh to a
# peer that accepts the TCP connection and never answers (the test's sshd,
# SIGSTOPped: the kernel still completes the handshake, nothing sends the
# ssh banner) ends within its --connect-timeout, over qemu+ssh:// and
# qemu+libssh:// alike: exit 1, the URI and the wait named, code
# "connection" in --json. Without the bound each would hang until
# VFIT_BOUND kills it (exit 124).
. "$(dirname "$0")/lib.sh"
vf_setup
vf_start_sshd
VFIT_BOUND=40
vf_manifest dom.yaml "$(yaml_domain "${P}never" - 'state: shutoff')"

# Alive first: the same URIs work.
vf_run plan -c "$VFIT_SSH_URI" "$MAN"
assert_rc 2 "plan over qemu+ssh:// to a live sshd"

kill -STOP "$VFIT_SSHD_PID"
for uri in "$VFIT_SSH_URI" "$VFIT_LIBSSH_URI"; do
	t0=$SECONDS
	vf_run plan -c "$uri" --connect-timeout 3 "$MAN"
	took=$((SECONDS - t0))
	vf_log "took $took s"
	assert_rc 1 "plan over ssh to a stopped sshd"
	assert_out_contains "virtform: cannot reach $uri: no answer from libvirtd within 3 s while opening the connection" \
		"the URI and the wait are named"
	[ "$took" -le 8 ] || vf_fail "plan took $took s with --connect-timeout 3"

	vf_run plan -c "$uri" --connect-timeout 3 --json "$MAN"
	assert_rc 1 "plan --json over ssh to a stopped sshd"
	code=$(printf '%s\n' "$OUT" | python3 -c 'import json, sys; print(json.load(sys.stdin)["code"])' 2>&1)
	assert_eq connection "$code" "the --json document's code"
done
kill -CONT "$VFIT_SSHD_PID"
vf_pass
