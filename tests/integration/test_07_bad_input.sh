# test_07_bad_input.sh: invalid manifests (an unknown field, a bad size unit,
# broken YAML) make validate, plan and apply exit 1 with a compiler-style
# `file:line:col: error:` line, and nothing is created on the host, not even
# the valid objects declared next to them.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
check_rejected() { # dir expected-location-regex what
	local dir=$1 re=$2 what=$3 cmd
	printf '%s\n' "$(yaml_pool "$pool" "$POOLS/pool")" >"$dir/good.yaml"
	for cmd in validate plan apply; do
		vf_run "$cmd" "$dir"
		assert_rc 1 "$cmd of $what"
		assert_out_matches "$re: error: " "$cmd of $what points at the offending node"
	done
	assert_pool_absent "$pool"
	[ -e "$POOLS/pool" ] && vf_fail "$what: $POOLS/pool was created"
	if [ -e "$STATE/ledger.json" ] && grep -F "$pool" "$STATE/ledger.json" >/dev/null; then
		vf_fail "$what: the ledger records $pool: $(cat "$STATE/ledger.json")"
	fi
	assert_eq "" "$(vf_prefixed_domains)" "$what: domains with the prefix"
}

d=$(vf_mktemp)
cat >"$d/bad.yaml" <<EOF2
apiVersion: virtform/v1
kind: Domain
metadata:
  name: ${P}bad
spec:
  type: $DTYPE
  vcpus: 1
  memroy: 128MiB
EOF2
check_rejected "$d" 'bad\.yaml:8:3' "an unknown field"
assert_out_contains "memroy" "the error names the unknown field"

d=$(vf_mktemp)
cat >"$d/units.yaml" <<EOF2
apiVersion: virtform/v1
kind: Volume
metadata:
  name: v.qcow2
spec:
  pool: $pool
  capacity: 12XB
EOF2
check_rejected "$d" 'units\.yaml:7:13' "a bad size unit"

d=$(vf_mktemp)
cat >"$d/syntax.yaml" <<EOF2
apiVersion: virtform/v1
kind: StoragePool
metadata: {name: ${P}other}
spec: {type: dir, target: {path: $POOLS/other}
EOF2
check_rejected "$d" 'syntax\.yaml:[0-9]+:[0-9]+' "broken YAML"
assert_pool_absent "${P}other"

# A path with no manifest (a typo, or files named *.yaml.txt) validates
# nothing: validate says so and exits 1, unless an empty set is meant.
d=$(vf_mktemp)
echo "kind: StoragePool" >"$d/pool.yaml.txt"
vf_run validate "$d"
assert_rc 1 "validate of a directory with no manifest"
assert_out_contains "no manifest found under $d" "validate names the empty path"
vf_run validate --allow-empty "$d"
assert_rc 0 "validate --allow-empty of a directory with no manifest"

# --help names every KIND --replace takes, as virtform(1) does.
for cmd in plan apply; do
	vf_run "$cmd" --help
	assert_rc 0 "$cmd --help"
	for k in StoragePool/NAME Network/NAME Volume/POOL/NAME Domain/NAME; do
		assert_out_contains "$k" "$cmd --help lists $k for --replace"
	done
done
# `version --help` is help, not the version; another argument is a usage error.
vf_run version --help
assert_rc 0 "version --help"
assert_out_contains "Usage: virtform version" "version --help prints its usage"
vf_run version --bogus
assert_rc 2 "version --bogus"
assert_out_contains "'version' takes no argument, not '--bogus'" "version names the stray argument"
vf_pass
