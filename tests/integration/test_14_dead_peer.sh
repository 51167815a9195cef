# test_14_dead_peer.sh: a libvirtd that stops answering never hangs plan
# (issue 20, point 2). Two dead peers, neither of them a real daemon
# stopped (the machine's libvirtd is shared and is never touched):
#  1. a TCP listener on 127.0.0.1 that accepts and never answers: plan
#     -c qemu+tcp://127.0.0.1:PORT/system gives up after --connect-timeout
#     (and after the default 15 s without it), naming the URI and the wait;
#  2. a unix-socket relay to qemu:///system's socket that goes silent once
#     the connection is open, at the first capabilities request (the first
#     call plan makes): libvirt's keepalive (5 s x 3, kept running by the
#     event loop every command now runs) closes the connection and plan
#     reports it lost, in about 20 s.
# Without the fix each plan hangs until VFIT_BOUND kills it (exit 124).
. "$(dirname "$0")/lib.sh"
vf_setup

PEERS=""
vf_on_exit 'for p in $PEERS; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done'
VFIT_BOUND=60 # vf_run kills a plan that hangs (exit 124)
dir=$(vf_mktemp)

# timed_plan ARGS...: vf_run plan (its -c is overridden by one in ARGS);
# seconds taken in $took.
timed_plan() {
	local t0=$SECONDS
	vf_run plan "$@"
	took=$((SECONDS - t0))
	vf_log "took $took s"
}
vf_manifest dom.yaml "$(yaml_domain "${P}never" - 'state: shutoff')"

# ---- 1. accepts, never answers ----------------------------------------------
python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])
' "$dir/port" &
PEERS="$PEERS $!"
wait_for "[ -s '$dir/port' ]" 10 || vf_fail "the silent listener did not start"
uri=qemu+tcp://127.0.0.1:$(cat "$dir/port")/system

timed_plan -c "$uri" --connect-timeout 3 "$MAN"
assert_rc 1 "plan against a peer that never answers"
assert_out_contains "virtform: cannot reach $uri: no answer from libvirtd within 3 s while opening the connection" \
	"the URI and the wait are named"
[ "$took" -le 6 ] || vf_fail "plan took $took s with --connect-timeout 3"

timed_plan -c "$uri" "$MAN"
assert_rc 1 "plan with the default connect timeout"
assert_out_contains "no answer from libvirtd within 15 s while opening the connection" "the default is 15 s"
[ "$took" -ge 14 ] && [ "$took" -le 20 ] || vf_fail "plan took $took s with the default timeout (15 s)"

# ---- 2. answers the handshake, then goes silent -------------------------------
sock=/run/libvirt/libvirt-sock
[ -S "$sock" ] || vf_fail "$sock: qemu:///system's socket is not there"
python3 -c '
import os, socket, struct, sys, threading, time
listen, target = sys.argv[1], sys.argv[2]
REMOTE, GET_CAPABILITIES = 0x20008086, 7
s = socket.socket(socket.AF_UNIX)
s.bind(listen)
s.listen(16)
def up(c, u, silent):
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            return
        buf += d
        while len(buf) >= 4 and len(buf) >= struct.unpack(">I", buf[:4])[0]:
            n = struct.unpack(">I", buf[:4])[0]
            msg, buf = buf[:n], buf[n:]
            if struct.unpack(">III", msg[4:16]) [0::2] == (REMOTE, GET_CAPABILITIES):
                silent.set()  # from here on, nothing passes either way
            if not silent.is_set():
                u.sendall(msg)
def down(u, c, silent):
    while True:
        d = u.recv(65536)
        if not d:
            return
        if not silent.is_set():
            c.sendall(d)
while True:
    c = s.accept()[0]
    u = socket.socket(socket.AF_UNIX)
    u.connect(target)
    silent = threading.Event()
    threading.Thread(target=up, args=(c, u, silent), daemon=True).start()
    threading.Thread(target=down, args=(u, c, silent), daemon=True).start()
' "$dir/relay.sock" "$sock" &
PEERS="$PEERS $!"
wait_for "[ -S '$dir/relay.sock' ]" 10 || vf_fail "the relay did not start"
uri="qemu+unix:///system?socket=$dir/relay.sock"

timed_plan -c "$uri" "$MAN"
assert_rc 1 "plan against a peer gone silent mid-run"
assert_out_contains "virtform: lost the connection to $uri while reading who the host is: cannot read the host's capabilities: " \
	"the lost connection and what plan was doing are named"
assert_out_contains "keepalive" "libvirt's reason (the keepalive gave up) is kept"
[ "$took" -ge 15 ] && [ "$took" -le 30 ] || vf_fail "plan took $took s; the keepalive (5 s x 3) bounds it at about 20 s"
vf_pass
