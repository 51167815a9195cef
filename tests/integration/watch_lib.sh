# watch_lib.sh: helpers the test_8*_watch*.sh scripts share on top of
# lib.sh: starting `virtform watch` in the background, asking it for its
# status, and stopping it (by its pid) before lib.sh sweeps the prefix, so
# the daemon never fights the cleanup.

WATCH_PID=""
WATCH_LOG=""
RUNTIME=${RUNTIME:-}   # the daemon's --runtime-dir (its control sockets)

# The runtime directory for this test's daemon: never the shared default
# /run/virtform, which another test's daemon may be using.
watch_runtime() {
	[ -n "$RUNTIME" ] || RUNTIME=$(vf_mktemp)/run
}

# watch_start ARGS...: start the daemon on qemu:///system with $STATE,
# $RUNTIME and $MAN, no config file, an hour-long resync (so nothing below
# passes by waiting for it) and debug logs in $WATCH_LOG; wait until it answers.
watch_start() {
	WATCH_LOG=${WATCH_LOG:-$STATE/../$(basename "$STATE").watch.log}
	watch_runtime
	"$VF_BIN" watch -c "${WATCH_URI:-$VFIT_URI}" --state-dir "$STATE" --runtime-dir "$RUNTIME" --config /dev/null \
		--resync 3600 --log-level debug "$@" "$MAN" >>"$WATCH_LOG" 2>&1 &
	WATCH_PID=$!
	vf_log "virtform watch started (pid $WATCH_PID), log $WATCH_LOG"
	wait_for 'watch_status_json | vf_grep -q "\"last_reconcile\""' 120 ||
		watch_fail "the daemon did not report a first reconcile"
}

watch_status_json() {
	watch_runtime
	"$VF_BIN" status --json --runtime-dir "$RUNTIME" --config /dev/null
}

# watch_status ARGS...: `virtform status` for this test's daemon.
watch_status() {
	watch_runtime
	"$VF_BIN" status --runtime-dir "$RUNTIME" --config /dev/null "$@"
}

# Fail, showing the daemon's log.
watch_fail() {
	echo "--- virtform watch log ---"
	tail -n 80 "$WATCH_LOG" 2>/dev/null
	vf_fail "$*"
}

# watch_stop [SIGNAL]: signal the daemon and wait for it; exit status in $WATCH_RC.
watch_stop() {
	local sig=${1:-TERM}
	WATCH_RC=""
	[ -n "$WATCH_PID" ] || return 0
	kill -"$sig" "$WATCH_PID" 2>/dev/null
	WATCH_RC=0
	wait "$WATCH_PID" || WATCH_RC=$?
	WATCH_PID=""
}

# Stop the daemon first on any exit, before lib.sh's sweep.
watch_trap() {
	vf_on_exit 'watch_stop TERM'
}

# watch_require: this virtform must have the watch command.
watch_require() {
	"$VF_BIN" watch --help >/dev/null 2>&1 || vf_fail "$VF_BIN has no 'watch' command"
}

domstate() { vsh domstate "$1" 2>/dev/null | head -n 1; }

# watch_command CMD: send {"command": CMD} on the daemon's watch.sock and
# print its one-line JSON answer.
watch_command() {
	watch_runtime
	python3 - "$RUNTIME/watch.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall((json.dumps({"command": sys.argv[2]}) + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PY
}

# json_get PATH: read JSON on stdin, print the value at PATH (a.b.c).
json_get() {
	python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list, bool)) else v))' "$1"
}

# watch_resync: ask for a resync until the daemon is between passes (other
# tests' objects raise events on a shared libvirtd, and a resync asked
# during a pass is refused); the answer in $ANS.
watch_resync() {
	local i
	ANS=
	for i in $(seq 60); do
		ANS=$(watch_command resync)
		[ "$(echo "$ANS" | json_get ok)" = true ] && return 0
		sleep 0.5
	done
	watch_fail "resync refused: $ANS"
}

# ---- a private libvirtd, to kill ------------------------------------------
# An unprivileged libvirtd (user nobody, its own XDG runtime dir) serving
# libvirt's test driver over its own socket, so no shared daemon is ever
# killed. priv_can: whether one can run here (root, setpriv, nobody);
# priv_setup: its directory, and PRIV_URI; priv_start, priv_stop.
PRIV_PID=""
PRIV_DIR=""
priv_can() {
	NOBODY=$(id -u nobody 2>/dev/null || true)
	NOGROUP=$(id -g nobody 2>/dev/null || true)
	[ -n "$NOBODY" ] && command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" = 0 ]
}
priv_setup() {
	PRIV_DIR=$(vf_mktemp)
	chmod 0755 "$PRIV_DIR"
	mkdir -p "$PRIV_DIR/home" "$PRIV_DIR/run" "$PRIV_DIR/cfg" "$PRIV_DIR/cache"
	chmod 0700 "$PRIV_DIR/run"
	chown -R "$NOBODY:$NOGROUP" "$PRIV_DIR/home" "$PRIV_DIR/run" "$PRIV_DIR/cfg" "$PRIV_DIR/cache"
	PRIV_URI="test+unix:///default?socket=$PRIV_DIR/run/libvirt/libvirt-sock"
}
priv_start() {
	(
		export HOME=$PRIV_DIR/home XDG_RUNTIME_DIR=$PRIV_DIR/run \
			XDG_CONFIG_HOME=$PRIV_DIR/cfg XDG_CACHE_HOME=$PRIV_DIR/cache
		exec setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups \
			/usr/sbin/libvirtd --timeout 0 >>"$PRIV_DIR/libvirtd.log" 2>&1
	) &
	PRIV_PID=$!
	wait_for "virsh -q -c '$PRIV_URI' list --all" 60 || vf_fail "the private libvirtd did not answer"
}
priv_stop() {
	[ -n "$PRIV_PID" ] || return 0
	kill "$PRIV_PID" 2>/dev/null
	wait "$PRIV_PID" 2>/dev/null
	PRIV_PID=""
}
