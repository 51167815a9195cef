#!/bin/sh
# run.sh: run every tests/integration/test_*.sh against a real libvirtd
# (qemu:///system), each in its own bash process under a timeout, and end with
# "integration: N passed, N failed". Starts libvirtd by hand when none answers
# (and stops only what it started). Usage: sh tests/integration/run.sh VIRTFORM
# [TEST_NAME...]   (names like test_converge, to run a subset)
set -u
vf=${1:?usage: run.sh PATH/TO/virtform [TEST...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
case "$vf" in /*) ;; *) vf=$(pwd)/$vf ;; esac
VF_BIN=$vf
export VF_BIN
per_test_timeout=${VFIT_TIMEOUT:-600}

work=$(mktemp -d "${TMPDIR:-/tmp}/vfit-run.XXXXXX")
started=$work/started-pids
: >"$started"

stop_started() {
	# Reverse order of starting: libvirtd before virtlogd.
	pids=$(sed '1!G;h;$!d' "$started" 2>/dev/null | tr '\n' ' ')
	[ -n "$pids" ] || return 0
	# Another run sharing this daemon (its own vfit- prefix) still has
	# objects: leave the daemon to it rather than pull it away mid-test.
	others=$( (virsh -q -c qemu:///system list --all --name; virsh -q -c qemu:///system pool-list --all --name) 2>/dev/null | grep -c '^vfit-')
	if [ "${others:-0}" -gt 0 ]; then
		echo "# leaving the daemons this run started ($pids) running: another test run has $others vfit- objects"
		return 0
	fi
	if [ -n "$pids" ]; then
		echo "# stopping the daemons this run started: $pids"
		# shellcheck disable=SC2086
		VFIT_PREFIX=vfit-$$- bash -c '. "$1/lib.sh"; shift; vf_stop_daemons "$@"' _ "$here" $pids
	fi
}
cleanup() {
	stop_started
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

if [ $# -gt 0 ]; then
	tests=""
	for n in "$@"; do tests="$tests $here/${n%.sh}.sh"; done
else
	tests=$(ls "$here"/test_*.sh 2>/dev/null | LC_ALL=C sort)
fi
pass=0
fail=0

if [ ! -x "$vf" ]; then
	echo "integration: $vf is not an executable virtform binary"
	daemon_ok=0
	why="no virtform binary"
elif ! why=$(VFIT_PREFIX=vfit-$$- VFIT_STARTED_FILE=$started bash -c '. "$1/lib.sh"; vf_ensure_libvirtd' _ "$here" 2>&1); then
	daemon_ok=0
	echo "integration: cannot reach or start libvirtd on qemu:///system:"
	printf '%s\n' "$why" | sed 's/^/    /'
else
	daemon_ok=1
	[ -s "$started" ] && echo "# started virtlogd/libvirtd by hand (pids $(tr '\n' ' ' <"$started"))"
fi

i=0
for t in $tests; do
	i=$((i + 1))
	name=$(basename "$t" .sh)
	if [ "$daemon_ok" != 1 ]; then
		echo "FAIL $name (not run: $(printf '%s\n' "$why" | head -n 1))"
		fail=$((fail + 1))
		continue
	fi
	prefix=vfit-$$-$i-
	log=$work/$name.log
	rc=0
	VFIT_PREFIX=$prefix timeout -k 30 "$per_test_timeout" bash "$t" </dev/null >"$log" 2>&1 || rc=$?
	# Whatever happened (even a timeout), leave nothing with the prefix behind.
	VFIT_PREFIX=$prefix bash -c '. "$1/lib.sh"; vf_sweep_prefix "$VFIT_PREFIX" --all' _ "$here" >>"$log" 2>&1
	if [ "$rc" -eq 0 ]; then
		echo "ok $name"
		pass=$((pass + 1))
	else
		[ "$rc" -eq 124 ] && echo "(timed out after ${per_test_timeout}s)" >>"$log"
		echo "FAIL $name (exit $rc)"
		sed 's/^/    /' "$log"
		fail=$((fail + 1))
	fi
done

echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
