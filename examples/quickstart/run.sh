#!/bin/sh
# run.sh: what `make run` does: validate examples/quickstart, show the plan
# against libvirt's built-in test driver (test:///default: in-process, no
# daemon, nothing on this host changes), apply it, and show the converged
# re-plan. Usage: sh examples/quickstart/run.sh PATH/TO/virtform
set -eu
vf=${1:-build/virtform}
dir=$(dirname "$0")
state=$(mktemp -d "${TMPDIR:-/tmp}/virtform-quickstart.XXXXXX")
trap 'rm -rf "$state"' EXIT INT TERM

echo "\$ virtform validate $dir"
"$vf" validate "$dir"
echo
echo "\$ virtform plan -c test:///default --state-dir $state $dir"
rc=0
"$vf" plan -c test:///default --state-dir "$state" "$dir" || rc=$?
[ "$rc" -eq 2 ] || { echo "run.sh: expected plan to exit 2 (changes pending), got $rc" >&2; exit 1; }
echo "(exit status $rc: changes pending)"
echo
echo "\$ virtform apply -c test:///default --state-dir $state $dir"
"$vf" apply -c test:///default --state-dir "$state" "$dir"
echo
echo "test:///default lives inside one process, so the next command starts from"
echo "libvirt's default test host again. Point -c at qemu:///system to keep state."
