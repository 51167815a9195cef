# test_85_watchdog.sh: under systemd's watchdog, `virtform watch` pings
# during long steps, not only between them. The daemon runs with
# NOTIFY_SOCKET pointing at a datagram socket this test reads and
# WATCHDOG_USEC=6 s, so pings must never be more than 3 s apart (systemd
# kills at 6 s), while each step below lasts about 8 s:
#  - during a download that lasts ~8 s (a local HTTP server dribbling the
#    image at 256 KiB/s);
#  - during a guest's shutdown wait (a guest with no OS ignores ACPI, so
#    the step waits out shutdownTimeout: 8 s), with SIGTERM arriving
#    mid-wait: the step finishes, the stop timeout is extended meanwhile
#    (EXTEND_TIMEOUT_USEC), and the daemon exits 0.
# (Before: one ping as each step started, then silence for the whole step.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/watch_lib.sh"
vf_setup
watch_trap
watch_require

WORK=$(vf_mktemp)
NOTES=$WORK/notify.log
mono() { python3 -c 'import time; print("%.3f" % time.monotonic())'; }

# systemd's side: every datagram, one line each, with its arrival time.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        m = s.recv(65536).decode()
        t = time.monotonic()
        for line in m.split("\n"):
            if line:
                f.write("%.3f %s\n" % (t, line))
' "$WORK/notify" "$NOTES" &
NOTIFY_PID=$!
vf_on_exit 'kill "$NOTIFY_PID" 2>/dev/null'

# An image server that dribbles: 2 MiB at 32 KiB every 125 ms.
head -c 2097152 /dev/urandom >"$WORK/img.raw"
sum=$(sha256sum "$WORK/img.raw" | cut -d' ' -f1)
python3 -c '
import http.server, os, sys, time
data = open(sys.argv[1], "rb").read()
times = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def head(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
    def do_HEAD(self): self.head()
    def do_GET(self):
        self.head()
        with open(times, "a") as f: f.write("start %.3f\n" % time.monotonic())
        for i in range(0, len(data), 32768):
            self.wfile.write(data[i:i + 32768]); self.wfile.flush(); time.sleep(0.125)
        with open(times, "a") as f: f.write("end %.3f\n" % time.monotonic())
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$WORK/img.raw" "$WORK/times" >"$WORK/port" &
HTTPD_PID=$!
vf_on_exit 'kill "$HTTPD_PID" 2>/dev/null'
wait_for "[ -s '$WORK/port' ] && [ -S '$WORK/notify' ]" 10 || vf_fail "the helpers did not start"

# gaps FROM TO: fail unless WATCHDOG=1 came at least every 3 s (WATCHDOG_USEC/2) in [FROM, TO].
gaps() {
	python3 -c '
import sys
lo, hi, notes = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
pings = [float(l.split()[0]) for l in open(notes) if l.split()[1:] == ["WATCHDOG=1"]]
ts = [lo] + [t for t in pings if lo < t < hi] + [hi]
worst = max(b - a for a, b in zip(ts, ts[1:]))
print("%d pings in %.1f s, longest gap %.2f s" % (len(ts) - 2, hi - lo, worst))
if worst > 3.0:
    print("pings at: " + " ".join("%.2f" % (t - lo) for t in ts))
sys.exit(0 if worst <= 3.0 else 1)
' "$1" "$2" "$NOTES"
}

pool=${P}pool
vf_manifest 10-pool.yaml "$(yaml_pool "$pool" "$POOLS/pool")"
export NOTIFY_SOCKET=$WORK/notify WATCHDOG_USEC=6000000
watch_start
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_for "grep -q ' READY=1' '$NOTES'" 30 || watch_fail "no READY=1"

# 1. A download of ~8 s.
vf_manifest 20-vol.yaml "apiVersion: virtform/v1
kind: Volume
metadata:
  name: img.raw
spec:
  pool: $pool
  capacity: 4MiB
  format: raw
  source: {url: 'http://127.0.0.1:$(cat "$WORK/port")/img.raw', sha256: $sum}"
wait_for "grep -q '^end ' '$WORK/times'" 60 || watch_fail "the download did not finish"
wait_for "grep -q 'Volume/$pool/img.raw: create: done' '$WATCH_LOG'" 30 || watch_fail "the volume was not created"
from=$(awk '$1 == "start" {print $2}' "$WORK/times")
to=$(awk '$1 == "end" {print $2}' "$WORK/times")
OUT=$(gaps "$from" "$to") || watch_fail "watchdog pings during the download: $OUT"
vf_log "during the download: $OUT"

# 2. A shutdown wait, with SIGTERM in the middle of it.
dom=${P}deaf
vf_manifest 30-dom.yaml "$(yaml_domain "$dom" - 'state: running' 'shutdownTimeout: 8')"
wait_for "[ \"\$(domstate $dom)\" = running ]" 120 || watch_fail "$dom did not start"
sleep 1 # let the pass for the start end
vf_manifest 30-dom.yaml "$(yaml_domain "$dom" - 'state: shutoff' 'shutdownTimeout: 8')"
wait_for "grep -q 'Domain/$dom: update: starting' '$WATCH_LOG'" 60 || watch_fail "the shutdown step did not start"
from=$(mono)
sleep 3
term=$(mono)
watch_stop TERM # signals, then waits for the exit
to=$(mono)
assert_eq 0 "$WATCH_RC" "exit status after SIGTERM during the shutdown wait"
assert_eq "shut off" "$(domstate "$dom")" "the step under way at SIGTERM was finished"
python3 -c "import sys; sys.exit(0 if $to - $from >= 6 else 1)" ||
	watch_fail "the shutdown wait ended after $(python3 -c "print('%.1f' % ($to - $from))") s, not after shutdownTimeout"
OUT=$(gaps "$(python3 -c "print($from + 0.2)")" "$(python3 -c "print($to - 0.3)")") ||
	{ awk -v f="$from" '{ printf "%.2f %s\n", $1 - f, $2 }' "$NOTES" | tail -8; watch_fail "watchdog pings during the shutdown wait: $OUT"; }
vf_log "during the shutdown wait: $OUT; the last notifications, seconds after SIGTERM:"
awk -v t="$term" '$1 > t { printf "#   %+.2f %s\n", $1 - t, substr($0, index($0, " ") + 1) }' "$NOTES" | awk '/EXTEND/ || ++n <= 2 { print; next } { last[NR] = $0 } END { for (i = NR - 2; i <= NR; i++) if (i in last) print last[i] }'
awk -v t="$term" '$1 > t && $2 ~ /^EXTEND_TIMEOUT_USEC=/' "$NOTES" | vf_grep -q . ||
	watch_fail "no EXTEND_TIMEOUT_USEC after SIGTERM, while the step finished"
grep -q ' STOPPING=1' "$NOTES" || watch_fail "no STOPPING=1"
vf_pass
