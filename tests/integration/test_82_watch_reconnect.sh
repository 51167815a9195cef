# test_82_watch_reconnect.sh: libvirtd killed and restarted under a running
# `virtform watch`: the daemon notices (close callback), reconnects with
# backoff, re-registers its events and converges again, without exiting.
#
# Case 1 always runs, on a libvirtd this test starts itself: an unprivileged
# one (user nobody, its own XDG runtime dir) serving libvirt's test driver
# over its own socket, so no shared daemon is ever killed.
# Case 2 kills and restarts the qemu:///system libvirtd, only when lib.sh
# started that libvirtd itself in this test; otherwise it is skipped with
# the reason printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_require

watch_trap
vf_on_exit priv_stop

# ---- case 1: a private libvirtd with the test driver ----------------------
if ! priv_can; then
	echo "SKIP case 1: needs root, setpriv and a 'nobody' user to run a private libvirtd"
else
	priv_setup
	priv_start
	dom=${P}rc
	printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n  memory: 64MiB\n  state: running\n' "$dom" >"$MAN/rc.yaml"
	WATCH_URI=$PRIV_URI watch_start
	pstate() { virsh -q -c "$PRIV_URI" domstate "$1" 2>/dev/null | head -n 1; }
	wait_for "[ \"\$(pstate $dom)\" = running ]" 60 || watch_fail "$dom did not start on the private libvirtd"

	# libvirtd dies: the test driver's state goes with it.
	priv_stop
	wait_for "grep -q 'lost the connection' '$WATCH_LOG'" 60 || watch_fail "the daemon did not notice libvirtd going away"
	kill -0 "$WATCH_PID" || watch_fail "the daemon exited when libvirtd went away"
	RC=0
	OUT=$(watch_status 2>&1) || RC=$?
	assert_rc 0 "status while disconnected"
	sleep 2 # let a reconnect attempt or two fail
	priv_start
	wait_for "[ \"\$(pstate $dom)\" = running ]" 120 || watch_fail "$dom was not restored after libvirtd came back"
	# the pass logs its result after observing again, a moment after the
	# domain runs (longer under ASan): wait for the line, do not race it
	wait_for "grep -q 'reconcile (reconnected)' '$WATCH_LOG'" 60 || watch_fail "no reconcile after the reconnect"
	# Events were registered again: an out-of-band destroy is undone.
	virsh -q -c "$PRIV_URI" destroy "$dom" >/dev/null || vf_fail "virsh destroy $dom"
	wait_for "[ \"\$(pstate $dom)\" = running ]" 60 || watch_fail "events were not re-registered after the reconnect"
	watch_stop TERM
	assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
	priv_stop
	rm -f "$MAN/rc.yaml"
	rm -rf "$STATE"/*
fi

# ---- case 2: the system libvirtd, when this test started it ---------------
sys_pid=""
for pid in "${VFIT_STARTED_PIDS[@]}"; do
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = libvirtd ] && sys_pid=$pid
done
if [ -z "$sys_pid" ]; then
	echo "SKIP case 2: the qemu:///system libvirtd was already running, not started by lib.sh in this test; not killing a daemon others may use"
	vf_pass
fi
web=${P}web
vf_manifest web.yaml "$(yaml_domain "$web" - 'state: running')"
WATCH_LOG=$(vf_mktemp)/watch.log
watch_start
wait_for "[ \"\$(domstate $web)\" = running ]" 120 || watch_fail "$web did not start"
kill "$sys_pid"
wait_for "! kill -0 $sys_pid" 60 || vf_fail "libvirtd $sys_pid did not stop"
wait_for "grep -q 'lost the connection' '$WATCH_LOG'" 60 || watch_fail "the daemon did not notice libvirtd going away"
PATH=$PATH:/usr/sbin:/sbin libvirtd -d -p /run/libvirtd.pid || vf_fail "cannot restart libvirtd"
vf__record_started /run/libvirtd.pid
wait_for "grep -q 'reconcile (reconnected)' '$WATCH_LOG'" 120 || watch_fail "the daemon did not reconnect"
vsh destroy "$web" >/dev/null 2>&1
wait_for "[ \"\$(domstate $web)\" = running ]" 120 || watch_fail "$web not converged after the reconnect"
watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
vf_pass
