#!/bin/bash
# informer.sh VIRTFORM: the watch daemon's cache (docs/watch.md, "The
# cache") against the size of the host. Called at the end of
# tests/bench/run.sh (`make bench`), or by hand:
#     bash tests/bench/informer.sh build/bench/virtform
# For each N (10, 1000, and 5000 unless BENCH_SKIP_5000=1) it defines N
# other domains (shut off, never declared), starts `virtform watch
# --resync 3600` on one manifest (a running domain, the victim) and times:
#   destroy -> running again: `virsh destroy` of the victim, timed from its
#     return until `virsh domstate` says running (INFORMER_TRIALS, 7);
#   a bare `virsh start` of the same domain, the daemon paused (SIGSTOP):
#     `virsh destroy`, then timed the same way from just before `virsh
#     start`; one after each daemon trial, so both see the same load;
#   libvirt calls per event and per trial (the daemon's own counters in
#     `status`: every call observation makes is counted in the driver);
#   CPU of the idle daemon: its utime+stime over INFORMER_IDLE_S (60) s,
#     as CPU seconds per minute. The libvirtd is shared: other people's
#     objects raise events the daemon reads too.
# Prints a table and rewrites the part of docs/benchmarks.md between
# <!-- informer:begin and <!-- informer:end (BENCH_NO_DOCS=1: print only).
# Everything it makes on libvirtd is named vfib-<pid>- and removed on exit.
set -eu
set -o pipefail

VF=${1:?usage: informer.sh VIRTFORM}
case "$VF" in /*) ;; *) VF=$PWD/$VF ;; esac
[ -x "$VF" ] || { echo "informer bench: $VF is not executable" >&2; exit 1; }
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
set -e
URI=${BENCH_URI:-qemu:///system}
VFIT_URI=$URI
TRIALS=${INFORMER_TRIALS:-7}
IDLE_S=${INFORMER_IDLE_S:-60}
SIZES="10 1000"
[ "${BENCH_SKIP_5000:-0}" = 1 ] || SIZES="$SIZES 5000"
[ -n "${INFORMER_SIZES:-}" ] && SIZES=$INFORMER_SIZES
CAP_S=30
PREFIX=vfib-$$-
WORK=$(mktemp -d "/tmp/${PREFIX}XXXXXX")
DPID=

v() { virsh -q -c "$URI" "$@"; }
now_ns() { date +%s%N; }

stop_daemon() {
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null || true
	wait "$DPID" 2>/dev/null || true
	DPID=
}
undefine_prefixed() {
	v list --all --name 2>/dev/null | awk -v p="$PREFIX" 'index($1, p) == 1 { print "destroy " $1; print "undefine " $1 }' |
		virsh -q -c "$URI" >/dev/null 2>&1 || true
}
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	set +e
	stop_daemon
	undefine_prefixed
	case "$WORK" in /tmp/vfib-*) rm -rf "$WORK" ;; esac
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
v version >/dev/null 2>&1 || { echo "informer bench: no libvirtd on $URI" >&2; exit 1; }
DTYPE=$(vf_domain_type)

poll_until() { # CMD...: ms*1000 since $T0 once CMD succeeds
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
is_running() { [ "$(v domstate "$1" 2>/dev/null | head -n 1)" = running ]; }
status_json() { "$VF" status --json --runtime-dir "$WORK/run" --config /dev/null; }
jget() { python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print(0 if v is None else v)' "$1"; }
median() { sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.0f", m / 1000 }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
wait_idle() { # the daemon not in a pass and nothing left to read
	local i s
	for i in $(seq 300); do
		s=$(status_json 2>/dev/null) || { sleep 0.1; continue; }
		[ "$(echo "$s" | jget reconciling)" = 0 ] && [ "$(echo "$s" | jget cache.pending)" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

TABLE=$WORK/table.md
{
	echo "| N other domains | destroy -> running (median) | bare \`virsh start\` (median) | ratio | libvirt calls per event | per trial | objects read per trial | idle CPU (s per min) | relist at start |"
	echo "|---|---|---|---|---|---|---|---|---|"
} >"$TABLE"
START=$(date +%s)
for N in $SIZES; do
	echo "informer bench: N=$N: defining $N domains" >&2
	for i in $(seq "$N"); do
		printf "<domain type='%s'><name>%so%d</name><memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>\n" "$DTYPE" "$PREFIX" "$i" >"$WORK/o.xml"
		cp "$WORK/o.xml" "$WORK/o$i.xml"
		echo "define $WORK/o$i.xml"
	done | virsh -q -c "$URI" >/dev/null 2>"$WORK/define.err" || true
	rm -f "$WORK"/o*.xml
	MAN=$WORK/man-$N
	STATE=$WORK/state-$N
	mkdir -p "$MAN" "$STATE"
	victim=${PREFIX}victim
	printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %s\nspec:\n  type: %s\n  vcpus: 1\n  memory: 64MiB\n  graphics: {type: none}\n  state: running\n' "$victim" "$DTYPE" >"$MAN/victim.yaml"
	LOG=$WORK/watch-$N.log
	"$VF" watch -c "$URI" --state-dir "$STATE" --runtime-dir "$WORK/run" --config /dev/null --resync 3600 --log-level info "$MAN" 2>"$LOG" &
	DPID=$!
	T0=$(now_ns)
	poll_until is_running "$victim" >/dev/null || { echo "informer bench: $victim did not start" >&2; cat "$LOG" >&2; exit 1; }
	wait_idle || true
	relist_ms=$(status_json | jget cache.last_relist_ms)
	s0=$(status_json)
	: >"$WORK/restart.us"
	: >"$WORK/start.us"
	# Interleaved, so both figures see the same load on a shared machine:
	# a daemon trial, then a bare start with the daemon paused (SIGSTOP;
	# what it misses meanwhile arrives as events when it goes on).
	for t in $(seq "$TRIALS"); do
		wait_idle || true
		v destroy "$victim" >/dev/null
		T0=$(now_ns)
		us=$(poll_until is_running "$victim") || { echo "informer bench: not running again" >&2; tail -20 "$LOG" >&2; exit 1; }
		echo "$us" >>"$WORK/restart.us"
		sleep 1
		wait_idle || true
		kill -STOP "$DPID"
		v destroy "$victim" >/dev/null 2>&1 || true
		T0=$(now_ns)
		v start "$victim" >/dev/null
		bus=$(poll_until is_running "$victim") || { kill -CONT "$DPID"; exit 1; }
		kill -CONT "$DPID"
		echo "$bus" >>"$WORK/start.us"
		echo "informer bench: N=$N trial $t: restart $((us / 1000)) ms, bare start $((bus / 1000)) ms" >&2
		sleep 1
	done
	wait_idle || true
	s1=$(status_json)
	ev=$(( $(echo "$s1" | jget cache.events) - $(echo "$s0" | jget cache.events) ))
	calls=$(( $(echo "$s1" | jget cache.libvirt_calls) - $(echo "$s0" | jget cache.libvirt_calls) ))
	reads=$(( $(echo "$s1" | jget cache.event_reads) + $(echo "$s1" | jget cache.step_reads) - $(echo "$s0" | jget cache.event_reads) - $(echo "$s0" | jget cache.step_reads) ))
	# idle CPU
	c0=$(cpu_ticks "$DPID")
	sleep "$IDLE_S"
	c1=$(cpu_ticks "$DPID")
	hz=$(getconf CLK_TCK)
	idle=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$IDLE_S" 'BEGIN { printf "%.3f", d / hz * 60 / s }')
	s2=$(status_json)
	echo "informer bench: N=$N: idle ${IDLE_S}s: $((c1 - c0)) ticks, $(( $(echo "$s2" | jget cache.events) - $(echo "$s1" | jget cache.events) )) events meanwhile (other users of this libvirtd)" >&2
	stop_daemon
	mr=$(median <"$WORK/restart.us")
	ms=$(median <"$WORK/start.us")
	ratio=$(awk -v a="$mr" -v b="$ms" 'BEGIN { printf "%.2fx", a / b }')
	per_ev=$(awk -v c="$calls" -v e="$ev" 'BEGIN { printf "%.1f", e ? c / e : 0 }')
	per_tr=$(awk -v c="$calls" -v t="$TRIALS" 'BEGIN { printf "%.1f", c / t }')
	per_rd=$(awk -v c="$reads" -v t="$TRIALS" 'BEGIN { printf "%.1f", c / t }')
	echo "| $N | $mr ms | $ms ms | $ratio | $per_ev ($calls calls, $ev events) | $per_tr | $per_rd | $idle | $relist_ms ms |" >>"$TABLE"
	grep -E '^<[34]>' "$LOG" | sed 's/^/    /' >&2 || true
	undefine_prefixed
done
took=$(($(date +%s) - START))
cat "$TABLE"

[ "${BENCH_NO_DOCS:-0}" = 1 ] && exit 0
kvm=no
[ -w /dev/kvm ] && kvm=yes
machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), KVM: $kvm (domain type $DTYPE), \
$(virsh -c "$URI" version 2>/dev/null | grep -E 'Using library|Running hypervisor' | sed 's/^ *//' | paste -sd ',' | sed 's/,/, /')"
gen=$WORK/generated.md
{
	echo "<!-- informer:begin (generated by tests/bench/informer.sh; do not edit by hand) -->"
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on: $machine; the libvirtd is shared with other users."
	echo "Reproduce: \`bash tests/bench/informer.sh build/bench/virtform\` (env INFORMER_TRIALS=$TRIALS,"
	echo "INFORMER_IDLE_S=$IDLE_S, BENCH_SKIP_5000; took ${took}s)."
	echo
	cat "$TABLE"
	echo "<!-- informer:end -->"
} >"$gen"
doc=docs/benchmarks.md
. tests/bench/docsection.sh
vf_doc_section "$doc" informer "$gen"
echo "informer bench: wrote $doc" >&2
