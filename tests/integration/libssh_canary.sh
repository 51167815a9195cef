# libssh_canary.sh (make libssh-canary): is the installed libvirt's
# qemu+libssh:// client fit for calls that overlap on one connection?
# Runs tests/tools/libssh_overlap through a test sshd on 127.0.0.1 to the
# local libvirtd: first over qemu+ssh:// (must pass, else the harness is
# broken), then RUNS times over qemu+libssh://, 2 threads of 20 rounds with
# a 1 s ping, each bounded to 60 s. Passes only when every libssh run
# passed. On Debian 12 (libvirt 9.0) it fails: SIGSEGV or no return in
# most runs (docs/virtform.1, CONNECTIONS). Not in make check: it tells
# when libvirt is fixed, so virtform may overlap calls over libssh again
# (vf_lv__calls_may_overlap) and test_15 may rerun over libssh always.
# Not a test of virtform: nothing of virtform runs.
. "$(dirname "$0")/lib.sh"
OVERLAP=${VF_OVERLAP_BIN:?VF_OVERLAP_BIN: the libssh_overlap binary}
RUNS=${RUNS:-10}
vf_setup
vf_start_sshd

timeout -k 5 60 "$OVERLAP" "$VFIT_SSH_URI" 2 20 5 >/dev/null ||
	vf_fail "the control run over qemu+ssh:// failed (exit $?): the harness, not libssh"
vf_log "control: 2 threads of 20 rounds over qemu+ssh:// passed"

ok=0 crashed=0 stuck=0 failed=0
for i in $(seq "$RUNS"); do
	rc=0
	timeout -k 5 60 "$OVERLAP" "$VFIT_LIBSSH_URI" 2 20 1 >/dev/null 2>&1 || rc=$?
	case $rc in
	0) ok=$((ok + 1)) ;;
	124 | 137) stuck=$((stuck + 1)) ;;
	139 | 134) crashed=$((crashed + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
vf_log "qemu+libssh://, $RUNS runs: $ok passed, $crashed crashed (SIGSEGV/SIGABRT), $stuck did not return within 60 s, $failed failed a call"
[ "$ok" = "$RUNS" ] ||
	vf_fail "libvirt $(virsh version 2>/dev/null | sed -n 's/^Using library: libvirt //p') cannot take overlapping calls over qemu+libssh://"
vf_pass
