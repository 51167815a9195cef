#!/bin/bash
# watch.sh VIRTFORM: how fast `virtform watch` reacts, on a real libvirtd.
# Called at the end of tests/bench/run.sh (`make bench`), or by hand:
#     bash tests/bench/watch.sh build/bench/virtform
# Starts the daemon on an empty manifest dir, then times WATCH_TRIALS (20)
# trials of each:
#   manifest write -> defined: a new Domain manifest is moved into the dir
#     (written as a dot-file first, then mv, so it appears atomically);
#     timed from just before the mv until `virsh domstate NAME` answers.
#   destroy -> running again: `virsh destroy` on an owned running domain;
#     timed from the moment virsh destroy returns until domstate says
#     running.
# Polls every 10 ms (each poll is one virsh process, so the resolution is
# one virsh round trip, ~tens of ms). Prints a table (median, worst, min)
# and rewrites the part of docs/benchmarks.md between <!-- watch:begin and
# <!-- watch:end --> (appended when missing). Speed is measured, never
# asserted: only a failure to start or a trial that times out is an error.
# Everything it makes on libvirtd is named vfwb-<pid>- and removed on exit,
# however it exits; the daemon is stopped (SIGTERM) first.
# Environment: BENCH_URI (default qemu:///system), WATCH_TRIALS (20),
# BENCH_NO_DOCS=1 (print only), WATCH_LOG_LEVEL (warning; the daemon log is
# shown at the end).
set -eu
set -o pipefail

VF=${1:?usage: watch.sh VIRTFORM}
case "$VF" in /*) ;; *) VF=$PWD/$VF ;; esac
[ -x "$VF" ] || { echo "watch bench: $VF is not executable" >&2; exit 1; }
cd "$(dirname "$0")/../.."

. tests/integration/lib.sh
set -e
URI=${BENCH_URI:-qemu:///system}
VFIT_URI=$URI
TRIALS=${WATCH_TRIALS:-20}
CAP_S=30 # per-trial cap
PREFIX=vfwb-$$-
WORK=$(mktemp -d "/tmp/${PREFIX}XXXXXX")
MAN=$WORK/manifests
STATE=$WORK/state
LOG=$WORK/watch.log
mkdir -p "$MAN" "$STATE"
DPID=
DAEMON_RC=

v() { virsh -q -c "$URI" "$@"; }

stop_daemon() {
	[ -n "$DPID" ] || return 0
	local i
	kill -TERM "$DPID" 2>/dev/null || true
	for i in $(seq 150); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DPID" 2>/dev/null; then
		echo "watch bench: daemon $DPID still running 15 s after SIGTERM, killing it" >&2
		kill -KILL "$DPID" 2>/dev/null || true
	fi
	DAEMON_RC=0
	wait "$DPID" 2>/dev/null || DAEMON_RC=$?
	DPID=
}

cleanup() {
	local rc=$? d
	trap - EXIT INT TERM HUP
	set +e
	stop_daemon # first: it would bring the domains back
	for d in $(v list --all --name 2>/dev/null); do
		case "$d" in "$PREFIX"?*)
			v destroy "$d" >/dev/null 2>&1
			v undefine "$d" --nvram >/dev/null 2>&1 || v undefine "$d" >/dev/null 2>&1
			;;
		esac
	done
	case "$WORK" in /tmp/vfwb-*) rm -rf "$WORK" ;; esac
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

if ! virsh -c "$URI" version >/dev/null 2>&1; then
	vf_ensure_libvirtd || { echo "watch bench: no libvirtd on $URI" >&2; exit 1; }
fi
DTYPE=$(vf_domain_type)

now_ns() { date +%s%N; }

# poll_until CMD...: run CMD every 10 ms until it succeeds; prints the
# elapsed ms since $T0 (ns), or returns 1 after CAP_S seconds.
poll_until() {
	local t end=$((T0 + CAP_S * 1000000000))
	while :; do
		if "$@"; then
			t=$(now_ns)
			echo $(((t - T0) / 1000))
			return 0
		fi
		t=$(now_ns)
		[ "$t" -lt "$end" ] || return 1
		sleep 0.01
	done
}
is_defined() { v domstate "$1" >/dev/null 2>&1; }
is_running() { [ "$(v domstate "$1" 2>/dev/null | head -n 1)" = running ]; }

domain_yaml() {
	printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n  type: %s\n  vcpus: 1\n  memory: 64MiB\n  graphics: {type: none}\n  state: running\n' "$1" "$DTYPE"
}

# ---- the daemon -----------------------------------------------------------

"$VF" watch -c "$URI" --state-dir "$STATE" --runtime-dir "$STATE.run" --resync 3600 --log-level "${WATCH_LOG_LEVEL:-warning}" "$MAN" 2>"$LOG" &
DPID=$!
T0=$(now_ns)
for i in $(seq 300); do
	"$VF" status --runtime-dir "$STATE.run" --config /dev/null >/dev/null 2>&1 && break
	if ! kill -0 "$DPID" 2>/dev/null; then
		echo "watch bench: virtform watch exited at start:" >&2
		sed 's/^/    /' "$LOG" >&2
		DPID=
		exit 1
	fi
	sleep 0.1
done
"$VF" status --runtime-dir "$STATE.run" --config /dev/null >/dev/null 2>&1 || { echo "watch bench: virtform status got no answer in 30 s" >&2; exit 1; }
up_ms=$((($(now_ns) - T0) / 1000000))
echo "watch bench: daemon pid $DPID answered after ${up_ms} ms; $URI, domain type $DTYPE, $TRIALS trials each" >&2

# ---- manifest write -> domain defined -------------------------------------

: >"$WORK/define.us"
START=$(date +%s)
for i in $(seq "$TRIALS"); do
	name=${PREFIX}d$i
	domain_yaml "$name" >"$MAN/.$name.yaml.tmp"
	T0=$(now_ns)
	mv "$MAN/.$name.yaml.tmp" "$MAN/$name.yaml"
	us=$(poll_until is_defined "$name") || { echo "watch bench: $name not defined within ${CAP_S}s" >&2; sed 's/^/    /' "$LOG" >&2; exit 1; }
	echo "$us" >>"$WORK/define.us"
	echo "watch bench: define $i: $((us / 1000)) ms" >&2
	# Let it start and the daemon's own follow-up pass finish, so every
	# trial begins on a quiet daemon.
	T0=$(now_ns)
	poll_until is_running "$name" >/dev/null || { echo "watch bench: $name not running within ${CAP_S}s" >&2; exit 1; }
	if [ "$i" -gt 1 ]; then
		# Keep one guest (d1, the destroy victim) running, not i: 20 idle
		# guests on a small host slow every later trial. Manifest first,
		# then the domain itself (the daemon would shut it down gracefully,
		# which a guest with no OS never finishes); its pass then finds it
		# gone and drops the ledger entry.
		rm -f "$MAN/$name.yaml"
		v destroy "$name" >/dev/null 2>&1 || true
		v undefine "$name" >/dev/null 2>&1 || true
	fi
	sleep 1
done

# ---- out-of-band destroy -> running again ---------------------------------

: >"$WORK/restart.us"
victim=${PREFIX}d1
for i in $(seq "$TRIALS"); do
	v destroy "$victim" >/dev/null
	T0=$(now_ns)
	us=$(poll_until is_running "$victim") || { echo "watch bench: $victim not running again within ${CAP_S}s" >&2; sed 's/^/    /' "$LOG" >&2; exit 1; }
	echo "$us" >>"$WORK/restart.us"
	echo "watch bench: restart $i: $((us / 1000)) ms" >&2
	sleep 1
done

took=$(($(date +%s) - START))
stop_daemon
[ "$DAEMON_RC" = 0 ] || echo "watch bench: daemon exited $DAEMON_RC after SIGTERM (expected 0)" >&2
if [ -s "$LOG" ]; then
	echo "watch bench: daemon log (warnings and worse):" >&2
	sed 's/^/    /' "$LOG" >&2
fi

# ---- table ------------------------------------------------------------------

# row FIGURE FILE: median (mean of the middle two for an even count), worst, min.
row() {
	sort -n "$2" | awk -v fig="$1" '
		{ a[NR] = $1 }
		END {
			m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			printf "| %s | %d | %.0f ms | %.0f ms | %.0f ms |\n", fig, NR, m / 1000, a[NR] / 1000, a[1] / 1000
		}'
}
TABLE=$WORK/table.md
{
	echo "| figure | trials | median | worst | min |"
	echo "|---|---|---|---|---|"
	row "manifest write (mv into the dir) -> domain defined" "$WORK/define.us"
	row "out-of-band \`virsh destroy\` -> domain running again" "$WORK/restart.us"
} >"$TABLE"
cat "$TABLE"

[ "${BENCH_NO_DOCS:-0}" = 1 ] && exit 0
kvm=no
[ -w /dev/kvm ] && kvm=yes
machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), KVM: $kvm (domain type $DTYPE), \
$(virsh -c "$URI" version 2>/dev/null | grep -E 'Using library|Running hypervisor' | sed 's/^ *//' | paste -sd ',' | sed 's/,/, /')"
gen=$WORK/generated.md
{
	echo "<!-- watch:begin (generated by tests/bench/watch.sh; do not edit by hand) -->"
	echo "## virtform watch: reaction time"
	echo
	echo "How long the daemon takes to act, seen from outside: \`virtform watch -c $URI"
	echo "--resync 3600 --log-level warning\` (default debounce, 250 ms, for manifest changes;"
	echo "libvirt events start a pass at once), on a fresh state directory and an empty manifest directory."
	echo "Manifest write: a new Domain manifest (1 vCPU, 64 MiB, no disks, no graphics,"
	echo "\`state: running\`) written as a dot-file and moved into the directory; timed from"
	echo "just before the \`mv\` until \`virsh domstate\` answers. After each trial the script"
	echo "waits for the domain to run, then (but for the first) removes its manifest and the"
	echo "domain, and waits 1 s: one guest runs at every trial. Destroy: \`virsh destroy\`"
	echo "on one owned running domain, timed from its return until \`virsh domstate\` says"
	echo "running, 1 s between trials. Polled every 10 ms; one poll is a \`virsh\` process,"
	echo "so figures include up to one virsh round trip."
	echo
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on: $machine."
	echo "Reproduce: \`make bench BUILD=build/bench\`, or"
	echo "\`bash tests/bench/watch.sh build/bench/virtform\` (env WATCH_TRIALS=$TRIALS; took ${took}s)."
	echo
	cat "$TABLE"
	echo "<!-- watch:end -->"
} >"$gen"
doc=docs/benchmarks.md
. tests/bench/docsection.sh
vf_doc_section "$doc" watch "$gen"
echo "watch bench: wrote $doc" >&2
