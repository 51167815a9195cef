# test_85_socket_group.sh: `--socket-group` works for a real unprivileged
# user. The control sockets live in a runtime directory (--runtime-dir,
# /run/virtform by default), 0750 and of the socket group, while the state
# directory stays 0700: a member of the group runs `virtform status` and
# gets the answer; it cannot use watch.sock; a user outside the group
# cannot reach either socket. (Before: the sockets sat in the 0700 state
# directory, so the member got "Permission denied".)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
# run by other users: a copy they can reach
VF_BIN=$(vf_bin_for_others)
watch_require

grp=${P}g
usr=${P}u
watch_trap # the daemon stops before the user and group go
# The user first: a group cannot be removed while it is a user's primary group.
vf_on_exit "userdel '$usr' 2>/dev/null; groupdel '$grp' 2>/dev/null"
groupadd "$grp" || vf_fail "groupadd $grp"
useradd -M -N -g "$grp" -d /nonexistent -s /usr/sbin/nologin "$usr" || vf_fail "useradd $usr"

# A runtime directory the unprivileged users can reach (mktemp's is 0700).
RUNBASE=$(vf_mktemp)
chmod 0755 "$RUNBASE"
RUNTIME=$RUNBASE/run
as() { local who=$1; shift; RC=0; OUT=$(runuser -u "$who" -- "$@" 2>&1) || RC=$?; }

vf_manifest dom.yaml "$(yaml_domain "${P}dom" - 'state: shutoff')"
watch_start --socket-group "$grp"

assert_eq "700" "$(stat -c %a "$STATE")" "the state directory's mode"
assert_eq "750 root $grp" "$(stat -c '%a %U %G' "$RUNTIME")" "the runtime directory's mode, owner and group"
assert_eq "660 root $grp" "$(stat -c '%a %U %G' "$RUNTIME/watch-ro.sock")" "watch-ro.sock"
assert_eq "600 root" "$(stat -c '%a %U' "$RUNTIME/watch.sock")" "watch.sock"
[ ! -e "$STATE/watch.sock" ] && [ ! -e "$STATE/watch-ro.sock" ] || vf_fail "sockets left in the state directory"

as "$usr" "$VF_BIN" status --runtime-dir "$RUNTIME" --config /dev/null
printf '$ runuser -u %s -- virtform status --runtime-dir %s\n%s\n  (exit %s)\n' "$usr" "$RUNTIME" \
	"$(printf '%s\n' "$OUT" | sed 's/^/  | /')" "$RC"
assert_rc 0 "status as a member of --socket-group"
assert_out_contains "virtform watch: pid $WATCH_PID" "status as a member of --socket-group"
assert_out_contains "Domain/${P}dom" "status lists the object"

# The config file's runtime_dir is found as the daemon's is.
CONF=$RUNBASE/virtform.conf
printf 'runtime_dir = %s\n' "$RUNTIME" >"$CONF"
chmod 0644 "$CONF"
as "$usr" "$VF_BIN" status --json --config "$CONF"
assert_rc 0 "status --config with runtime_dir, as a member"
assert_out_contains "\"pid\":$WATCH_PID" "status --json from the config's runtime_dir"

# watch.sock stays root's.
as "$usr" python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(3)
sys.exit(0)
' "$RUNTIME/watch.sock"
assert_rc 3 "a group member connecting to watch.sock"

# Outside the group: refused by the runtime directory's mode.
as nobody "$VF_BIN" status --runtime-dir "$RUNTIME" --config /dev/null
assert_rc 1 "status as a user outside the group"
assert_out_contains "Permission denied" "status as a user outside the group"

watch_stop TERM
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM"
[ ! -e "$RUNTIME/watch-ro.sock" ] || vf_fail "watch-ro.sock left behind"
vf_pass
