# test_95_ansible.sh: the Ansible module (examples/ansible/library/virtform.py)
# in a real ansible-playbook run against localhost, first on libvirt's
# test:///default (adopting its built-in pool, which survives between
# processes), then on qemu:///system with a pool, a volume and a domain:
# check mode reports changed and changes nothing, --diff shows the plan's field
# changes, a run converges, and a second run reports changed: false.
. "$(dirname "$0")/lib.sh"
vf_setup
command -v ansible-playbook >/dev/null || vf_fail "ansible-playbook is not installed (make deps installs ansible-core)"

src=$(cd "$(dirname "$0")/../.." && pwd)
A=$(vf_mktemp)
export ANSIBLE_HOME=$A/home ANSIBLE_LOCAL_TEMP=$A/tmp ANSIBLE_REMOTE_TEMP=$A/tmp
export ANSIBLE_LIBRARY=$src/examples/ansible/library ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
export ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_STDOUT_CALLBACK=default
cat >"$A/play.yml" <<'Y'
- hosts: localhost
  gather_facts: false
  tasks:
    - name: converge with virtform
      virtform:
        path: "{{ vf_path }}"
        uri: "{{ vf_uri }}"
        state_dir: "{{ vf_state }}"
        executable: "{{ vf_bin }}"
      register: r
    - name: keep the result for the test
      copy: {content: "{{ r | to_nice_json }}", dest: "{{ vf_out }}"}
      check_mode: false
      diff: false
Y
# The documentation blocks parse (ansible-doc fails on a broken one).
ansible-doc -M "$ANSIBLE_LIBRARY" virtform >"$A/doc.txt" 2>&1 || { cat "$A/doc.txt"; vf_fail "ansible-doc cannot read the module's documentation"; }
grep -q 'RETURN VALUES' "$A/doc.txt" && grep -q 'EXAMPLES' "$A/doc.txt" || vf_fail "ansible-doc shows no EXAMPLES or RETURN VALUES"
n=0
# play URI PATH STATE [ansible-playbook flags]: runs the playbook; the
# module's result is in $RES (a file), the playbook's output in $PLOG.
play() {
	local uri=$1 path=$2 state=$3
	shift 3
	n=$((n + 1))
	RES=$A/result-$n.json PLOG=$A/play-$n.log
	local t=$(date +%s%N)
	ansible-playbook -i localhost, -c local "$@" -e vf_uri="$uri" -e vf_path="$path" \
		-e vf_state="$state" -e vf_bin="$VF_BIN" -e vf_out="$RES" "$A/play.yml" >"$PLOG" 2>&1 ||
		{ cat "$PLOG"; vf_fail "ansible-playbook $* failed on $uri"; }
	vf_log "ansible-playbook $* on $uri: $(( ($(date +%s%N) - t) / 1000000 )) ms, changed=$(jq_ changed)"
}
jq_() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d = d[int(k)] if isinstance(d, list) else d.get(k)
print(json.dumps(d) if isinstance(d, (dict, list)) else d)' "$RES" "$1"; }

# ---- test:///default: adopt its built-in default-pool ---------------------
TM=$(vf_mktemp)
TS=$(vf_mktemp)/state
cat >"$TM/pool.yaml" <<'Y'
apiVersion: virtform/v1
kind: StoragePool
metadata: {name: default-pool}
spec:
  type: dir
  uuid: dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566
  target: {path: /default-pool}
  autostart: false
  adopt: true
Y
play test:///default "$TM" "$TS" --check --diff
assert_eq True "$(jq_ changed)" "check mode on test:///default reports the pending adoption"
assert_eq 1 "$(jq_ summary.update)" "the returned plan counts the update"
grep -q 'StoragePool/default-pool' "$PLOG" || { cat "$PLOG"; vf_fail "--diff shows no entry for the pool"; }
[ -e "$TS/ledger.json" ] && vf_fail "check mode wrote a ledger: $(cat "$TS/ledger.json")"
play test:///default "$TM" "$TS"
assert_eq True "$(jq_ changed)" "the first run adopts the pool"
assert_eq True "$(jq_ apply.converged)" "the first run converges"
grep -q default-pool "$TS/ledger.json" || vf_fail "the ledger does not record the adopted pool"
play test:///default "$TM" "$TS"
assert_eq False "$(jq_ changed)" "a second run on test:///default changes nothing"
assert_eq None "$(jq_ apply)" "a second run does not apply"
sed -i 's/autostart: false/autostart: true/' "$TM/pool.yaml"
play test:///default "$TM" "$TS" --check --diff
grep -q -- '-spec.autostart: false' "$PLOG" && grep -q -- '+spec.autostart: true (live)' "$PLOG" ||
	{ cat "$PLOG"; vf_fail "--diff does not show spec.autostart: false → true"; }

# ---- qemu:///system: a pool, a volume, a domain ---------------------------
pool=${P}pool dom=${P}dom
vf_manifest pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"
vf_manifest vol.yaml "$(yaml_volume "$pool" disk.qcow2 64MiB)"
vf_manifest dom.yaml "$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: shutoff')"
play "$VFIT_URI" "$MAN" "$STATE" --check --diff
assert_eq True "$(jq_ changed)" "check mode reports the three creations"
assert_eq 3 "$(jq_ summary.create)" "the returned plan has three creates"
assert_pool_absent "$pool"
assert_domain_absent "$dom"
[ -e "$POOLS/pool" ] && vf_fail "check mode created the pool's directory"
play "$VFIT_URI" "$MAN" "$STATE"
assert_eq True "$(jq_ changed)" "the first run creates"
assert_eq True "$(jq_ apply.converged)" "the first run converges"
assert_pool_exists "$pool"
assert_vol_exists "$pool" disk.qcow2
assert_domain_exists "$dom"
play "$VFIT_URI" "$MAN" "$STATE"
assert_eq False "$(jq_ changed)" "a second run on qemu:///system changes nothing"
# A field change: --check --diff shows it and leaves the domain alone.
vf_manifest dom.yaml "$(yaml_domain "$dom" "$pool/disk.qcow2" 'state: shutoff' | sed 's/vcpus: 1/vcpus: 2/')"
play "$VFIT_URI" "$MAN" "$STATE" --check --diff
assert_eq True "$(jq_ changed)" "check mode reports the vcpus change"
grep -q -- '-spec.vcpus: 1' "$PLOG" && grep -q -- '+spec.vcpus: 2' "$PLOG" ||
	{ cat "$PLOG"; vf_fail "--diff does not show spec.vcpus: 1 → 2"; }
grep -B1 -A6 -- '^--- before' "$PLOG" | sed 's/^/  | /'
assert_eq 1 "$(vsh dominfo "$dom" | awk '/^CPU\(s\)/{print $2}')" "check mode left the domain at 1 vCPU"
play "$VFIT_URI" "$MAN" "$STATE"
assert_eq True "$(jq_ changed)" "the run applies the vcpus change"
assert_eq 2 "$(vsh dominfo "$dom" | awk '/^CPU\(s\)/{print $2}')" "the domain has 2 vCPUs"
play "$VFIT_URI" "$MAN" "$STATE"
assert_eq False "$(jq_ changed)" "and the next run changes nothing"
vf_pass
