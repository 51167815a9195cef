# test_85_state_dir.sh: a state directory others could change is refused
# with the path, its owner and mode and the fix (as sshd's StrictModes),
# by apply, plan and watch alike; a missing one is created 0700; what a
# killed run left (temp files, a stale .unpack) is swept by the next run
# while a download's .part (its resume point) stays.
. "$(dirname "$0")/lib.sh"
vf_setup

pool=${P}pool
vf_manifest pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"

# Group-writable: refused before anything is touched.
chmod 0770 "$STATE"
vf_run apply "$MAN"
assert_rc 1 "apply with a group-writable state directory"
assert_out_contains "state directory $STATE (owner root) has mode 0770" "the refusal names path, owner and mode"
assert_out_contains "chmod go-w $STATE" "the refusal says what to do"
assert_pool_absent "$pool"
vf_run plan "$MAN"
assert_rc 1 "plan with a group-writable state directory"
RC=0
OUT=$("$VF_BIN" watch -c "$VFIT_URI" --state-dir "$STATE" --runtime-dir "$(vf_mktemp)/run" --config /dev/null "$MAN" 2>&1) || RC=$?
assert_rc 1 "watch with a group-writable state directory"
assert_out_contains "has mode 0770" "watch's refusal"
chmod 0700 "$STATE"

# Owned by someone else.
chown nobody "$STATE"
vf_run apply "$MAN"
assert_rc 1 "apply with a state directory owned by nobody"
assert_out_contains "state directory $STATE is owned by nobody (mode 0700), not by root who runs virtform" "the refusal names the owner"
assert_out_contains "chown root $STATE" "the refusal says what to do"
chown root "$STATE"

# A symlink to a good directory.
LINK=$(vf_mktemp)/state-link
ln -s "$STATE" "$LINK"
RC=0
OUT=$("$VF_BIN" apply -c "$VFIT_URI" --state-dir "$LINK" "$MAN" 2>&1) || RC=$?
assert_rc 1 "apply with a symlinked state directory"
assert_out_contains "state directory $LINK is a symbolic link (to $STATE" "the refusal names the link and its target"
assert_pool_absent "$pool"

# A killed run's leftovers, then a good run.
mkdir -m 0700 "$STATE/cache"
touch "$STATE/ledger.json.tmp.999999999.0badc0de" "$STATE/cache/sha256-aa.unpack" "$STATE/cache/sha256-aa.part"
vf_run apply "$MAN"
assert_rc 0 "apply with a good state directory"
assert_pool_exists "$pool"
[ ! -e "$STATE/ledger.json.tmp.999999999.0badc0de" ] || vf_fail "the dead run's ledger temp file was left"
[ ! -e "$STATE/cache/sha256-aa.unpack" ] || vf_fail "the stale .unpack was left"
[ -e "$STATE/cache/sha256-aa.part" ] || vf_fail "the .part (a resume point) was removed"
assert_eq "600" "$(stat -c %a "$STATE/ledger.json")" "the ledger's mode"
assert_eq "600" "$(stat -c %a "$STATE/lock")" "the lock file's mode"

# Missing: created 0700 (under a parent that exists).
NEW=$(vf_mktemp)/a/state
MAN2=$(vf_mktemp)
yaml_pool "${P}pool2" "$POOLS/pool2" >"$MAN2/pool.yaml"
RC=0
OUT=$("$VF_BIN" apply -c "$VFIT_URI" --state-dir "$NEW" "$MAN2" 2>&1) || RC=$?
assert_rc 0 "apply with a missing state directory"
assert_eq "700" "$(stat -c %a "$NEW")" "a new state directory's mode"
vf_pass
