#!/bin/bash
# peers.sh: `make bench-peers`. Ansible's community.libvirt collection
# (Debian's ansible package; virt + virt_pool modules, local connection)
# against virtform, converging the same pool and 50 shut-off domains on
# qemu:///system, then again as a no-op; each figure the median of
# PEER_REPS (5) runs, interleaved. Objects are named vfbench-<pid>- and
# removed on exit. Not for virtform's own figures: run.sh.
set -euo pipefail
OUT=${1:?usage: peers.sh BUILD_OUT_DIR}
VF=$OUT/virtform
FLOOR=$OUT/bench/floor
URI=qemu:///system
REPS=${PEER_REPS:-5}
N=50
P=vfbench-$$-
W=$(mktemp -d /tmp/vfbench-peers-$$-XXXXXX)
cleanup() { "$FLOOR" clean "$URI" "$P" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! dpkg-query -W -f='${Status}' ansible 2>/dev/null | grep -q 'ok installed'; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ansible python3-libvirt python3-lxml >/dev/null
fi
for p in python3-libvirt python3-lxml; do
	dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'ok installed' ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $p >/dev/null
done
coll=$(ansible-galaxy collection list 2>/dev/null | awk '$1 == "community.libvirt" {print $2}' | head -n 1)
if [ -z "$coll" ]; then
	echo "bench-peers: Debian's ansible package has no community.libvirt collection" >&2
	exit 1
fi
virsh -c "$URI" version >/dev/null 2>&1 || bash -c '. tests/integration/lib.sh && vf_ensure_libvirtd'

# The same objects for both: manifests for virtform, their XML for Ansible.
mkdir -p "$W/m" "$W/xml"
printf 'apiVersion: virtform/v1\nkind: StoragePool\nmetadata:\n  name: %spool\nspec:\n  type: dir\n  target:\n    path: /var/lib/libvirt/images/%spool\n' "$P" "$P" >"$W/m/pool.yaml"
for i in $(seq -w 1 $N); do
	printf 'apiVersion: virtform/v1\nkind: Domain\nmetadata:\n  name: %sd%s\nspec:\n  vcpus: 1\n  memory: 64MiB\n  graphics: {type: none}\n  state: shutoff\n' "$P" "$i" >"$W/m/d$i.yaml"
done
"$FLOOR" prep "$URI" "$W/m" "$W/payload"
python3 - "$W/payload" "$W/xml" <<'PY'
import sys
f = open(sys.argv[1], 'rb'); out = sys.argv[2]
while True:
    hdr = f.readline()
    if not hdr: break
    kind, pool, name, n = hdr.split()
    open(f"{out}/{'pool' if kind == b'0' else 'dom'}-{name.decode()}.xml", 'wb').write(f.read(int(n)))
PY
cat >"$W/play.yml" <<YML
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - community.libvirt.virt_pool: {command: define, name: ${P}pool, xml: "{{ lookup('file', '$W/xml/pool-${P}pool.xml') }}", uri: "$URI"}
    - community.libvirt.virt_pool: {command: status, name: ${P}pool, uri: "$URI"}
      register: st
    - community.libvirt.virt_pool: {command: build, name: ${P}pool, uri: "$URI"}
      when: st.status != 'active'  # building an active pool is an error
    - community.libvirt.virt_pool: {state: active, name: ${P}pool, uri: "$URI"}
    - community.libvirt.virt_pool: {autostart: true, name: ${P}pool, uri: "$URI"}
    - community.libvirt.virt: {command: define, xml: "{{ lookup('file', item) }}", uri: "$URI"}
      loop: "{{ query('fileglob', '$W/xml/dom-*.xml') }}"
YML
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false ANSIBLE_NOCOLOR=1

t() { local s e; s=$(date +%s.%N); "$@" >"$W/last.log" 2>&1 || { echo "bench-peers: failed: $*" >&2; tail -n 20 "$W/last.log" >&2; exit 1; }; e=$(date +%s.%N); echo "$e - $s" | bc; }
# virtform failing is reported, not fatal, so Ansible's figures still print.
tv() { local s e; s=$(date +%s.%N); if "$@" >"$W/last.log" 2>&1; then e=$(date +%s.%N); echo "$e - $s" | bc; else echo "bench-peers: virtform failed: $(grep -m1 'virtform:' "$W/last.log")" >&2; echo nan; fi; }
declare -a A_CONV A_NOOP V_CONV V_NOOP
for r in $(seq "$REPS"); do
	"$FLOOR" clean "$URI" "$P"
	A_CONV+=("$(t ansible-playbook -i localhost, "$W/play.yml")")
	grep -q 'changed=[1-9]' "$W/last.log" || { echo "bench-peers: ansible changed nothing on an empty host" >&2; exit 1; }
	A_NOOP+=("$(t ansible-playbook -i localhost, "$W/play.yml")")
	"$FLOOR" clean "$URI" "$P"
	S=$(mktemp -d "$W/state-XXXXXX")
	V_CONV+=("$(tv "$VF" apply -c "$URI" --state-dir "$S" "$W/m")")
	V_NOOP+=("$(tv "$VF" apply -c "$URI" --state-dir "$S" "$W/m")")
	echo "bench-peers: repetition $r of $REPS: ansible ${A_CONV[-1]}s / ${A_NOOP[-1]}s (no-op), virtform ${V_CONV[-1]}s / ${V_NOOP[-1]}s (no-op)" >&2
done
stats() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.3f %.3f %.3f", m, v[1], v[NR]}'; }
read -r acm acn acx <<<"$(stats "${A_CONV[@]}")"
read -r anm ann anx <<<"$(stats "${A_NOOP[@]}")"
read -r vcm vcn vcx <<<"$(stats "${V_CONV[@]}")"
read -r vnm vnn vnx <<<"$(stats "${V_NOOP[@]}")"
echo "Peer: Ansible $(ansible --version | head -1 | sed 's/.*core //; s/]//'), community.libvirt $coll; 1 pool + $N domains on $URI; $REPS runs each (median, min, max in s)"
echo "| run | Ansible | virtform | Ansible / virtform |"
echo "|---|---|---|---|"
printf '| converge from empty | %s (%s–%s) | %s (%s–%s) | %.0fx |\n' "$acm" "$acn" "$acx" "$vcm" "$vcn" "$vcx" "$(echo "$acm / $vcm" | bc -l)"
printf '| no-op | %s (%s–%s) | %s (%s–%s) | %.0fx |\n' "$anm" "$ann" "$anx" "$vnm" "$vnn" "$vnx" "$(echo "$anm / $vnm" | bc -l)"
