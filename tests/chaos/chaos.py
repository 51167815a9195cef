#!/usr/bin/python3
"""chaos.py: the three-host chaos harness of the fleet (issue 18, docs/fleet.md).

Boots three hosts (tests/chaos/host.sh: each its own mount, pid and network
namespace, its own libvirtd, state dir and `virtform watch --host-id hN
--etcd ...`, one shared storage directory), a three-member etcd cluster on
the root namespace's side of a bridge, a simulated watchdog per host (the
fence helper's FIFO, softdog's rules) and a sampler that looks every 50 ms at
which hosts run each placed domain: from the QEMU processes themselves
(/proc, mapped to a host by pid namespace; a stopped QEMU still counts) and,
once a second, from each libvirtd. Then it injects faults one after another
at random (seeded) moments, waits after each until every placed domain runs
on exactly one host again, and prints as its last line

    chaos: F faults, D double-runs, failover p50 X s p99 Y s

It exits non-zero when D > 0 or a domain did not come back in time. It does
not judge how virtform decides; it only watches what runs where.
--self-test proves the watchers themselves can fail: a domain started by hand
on two hosts is a double run, a stopped QEMU still counts, and a host whose
watchdog stops being petted is reset.
"""

import argparse
import base64
import collections
import ctypes
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "..", "integration", "lib.sh")
HOSTS = ("h1", "h2", "h3")
KINDS = ("kill-virtform", "stop-virtform", "stop-virtform-and-helper", "freeze-host",
         "cut-link", "kill-etcd-leader", "restart-libvirtd")
LIBC = ctypes.CDLL("libc.so.6", use_errno=True)


def now():
    return time.monotonic()


def log(msg):
    t = time.time()
    print(f"# {time.strftime('%H:%M:%S', time.localtime(t))}.{int(t * 1000) % 1000:03d} {msg}", flush=True)


def die_with_parent():
    LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: nothing outlives the harness


def sh(*cmd, check=True, timeout=30):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stdout.strip()}")
    return r.stdout


def pidns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def proc_stat(pid):
    """(comm, state, starttime) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read().decode("utf-8", "replace")
    except OSError:
        return None
    lp, rp = s.index("("), s.rindex(")")
    rest = s[rp + 2:].split()
    return s[lp + 1:rp], rest[0], rest[19]


def percentile(xs, p):
    if not xs:
        return 0.0
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


# ---- etcd -------------------------------------------------------------------


class Etcd:
    """Three members on the root side of the bridge, data dirs on tmpfs."""

    def __init__(self, ips, datadir, logdir):
        self.ips, self.datadir, self.logdir = ips, datadir, logdir
        self.proc = [None] * len(ips)
        self.token = f"vf-chaos-{os.getpid()}"
        self.cluster = ",".join(f"m{i}=http://{ip}:2380" for i, ip in enumerate(ips))
        self.endpoints = ",".join(f"http://{ip}:2379" for ip in ips)

    def start(self, i):
        ip = self.ips[i]
        logf = open(os.path.join(self.logdir, f"etcd-m{i}.log"), "ab")
        self.proc[i] = subprocess.Popen(
            ["etcd", "--name", f"m{i}", "--data-dir", os.path.join(self.datadir, f"m{i}"),
             "--listen-client-urls", f"http://{ip}:2379", "--advertise-client-urls", f"http://{ip}:2379",
             "--listen-peer-urls", f"http://{ip}:2380", "--initial-advertise-peer-urls", f"http://{ip}:2380",
             "--initial-cluster", self.cluster, "--initial-cluster-state", "new",
             "--initial-cluster-token", self.token, "--heartbeat-interval", "50",
             "--election-timeout", "500"],
            stdout=logf, stderr=logf, preexec_fn=die_with_parent)
        logf.close()

    def ask(self, i, path, body=None, timeout=1.0):
        req = urllib.request.Request(f"http://{self.ips[i]}:2379{path}",
                                     data=json.dumps(body or {}).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.load(r)
        except Exception:
            return None

    def leader(self):
        for i in range(len(self.ips)):
            if self.proc[i] is None or self.proc[i].poll() is not None:
                continue
            s = self.ask(i, "/v3/maintenance/status")
            if s and s.get("header", {}).get("member_id") == s.get("leader"):
                return i
        return None

    def wait_up(self, bound=30):
        end = now() + bound
        while now() < end:
            up = all(self.ask(i, "/v3/maintenance/status") for i in range(len(self.ips)))
            if up and self.leader() is not None:
                return
            time.sleep(0.1)
        raise RuntimeError(f"etcd did not come up within {bound} s (logs in {self.logdir})")

    def count_prefix(self, prefix):
        """Keys under prefix, through any member that answers; None if none does."""
        key = prefix.encode()
        end = key[:-1] + bytes([key[-1] + 1])
        body = {"key": base64.b64encode(key).decode(), "range_end": base64.b64encode(end).decode(),
                "count_only": True}
        for i in range(len(self.ips)):
            if self.proc[i] is None or self.proc[i].poll() is not None:
                continue
            r = self.ask(i, "/v3/kv/range", body)
            if r is not None:
                return int(r.get("count", 0))
        return None

    def kill(self, i):
        if self.proc[i] is not None:
            self.proc[i].kill()
            self.proc[i].wait()
            self.proc[i] = None

    def stop(self):
        for i in range(len(self.ips)):
            self.kill(i)


# ---- the network: a bridge in the root namespace, a veth per host ----------------


class Net:
    def __init__(self, tag):
        used = sh("ip", "-4", "-o", "addr")
        n = 100 + os.getpid() % 150
        while f" 10.99.{n}." in used:
            n = 100 + (n + 1) % 150
        self.net = f"10.99.{n}"
        self.bridge = f"vfc{n}br"
        self.etcd_ips = [f"{self.net}.{i}" for i in (1, 2, 3)]
        self.holder = {}   # host -> pid of the process holding its network namespace
        self.tag = n

    def up(self):
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        for ip in self.etcd_ips:
            sh("ip", "addr", "add", f"{ip}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for k, h in enumerate(HOSTS, 1):
            holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "infinity"],
                                      preexec_fn=die_with_parent)
            self.holder[h] = holder
            end = now() + 5
            while pidns(holder.pid) is None or os.readlink(f"/proc/{holder.pid}/ns/net") == \
                    os.readlink("/proc/self/ns/net"):
                if now() > end:
                    raise RuntimeError("the network namespace holder did not start")
                time.sleep(0.01)
            outer, inner = f"vfc{self.tag}-{h}", f"vfc{self.tag}-{h}i"
            sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            sh("ip", "link", "set", inner, "netns", str(holder.pid))
            sh("ip", "link", "set", outer, "master", self.bridge, "up")
            self.inside(h, "ip", "link", "set", inner, "name", "eth0")
            self.inside(h, "ip", "addr", "add", f"{self.net}.{10 + k}/24", "dev", "eth0")
            self.inside(h, "ip", "link", "set", "eth0", "up")
            self.inside(h, "ip", "link", "set", "lo", "up")

    def netns(self, h):
        return f"/proc/{self.holder[h].pid}/ns/net"

    def inside(self, h, *cmd):
        return sh("nsenter", f"--net={self.netns(h)}", "--", *cmd)

    def link(self, h, state):
        self.inside(h, "ip", "link", "set", "eth0", state)

    def down(self):
        for p in self.holder.values():
            p.kill()
            p.wait()
        subprocess.run(["ip", "link", "del", self.bridge], stderr=subprocess.DEVNULL)


# ---- hosts -------------------------------------------------------------------------


class Host:
    def __init__(self, name, base, shared, net, cmd):
        self.name, self.base, self.shared, self.net, self.cmd = name, base, shared, net, cmd
        self.proc = None       # the unshare process (root pid namespace)
        self.init = None       # pid 1 of the host's pid namespace, as the root namespace sees it
        self.ns = None         # its pid namespace
        self.boots = 0
        self.fifo = os.path.join(base, "watchdog")
        os.makedirs(base, exist_ok=True)
        os.chmod(base, 0o755)

    def boot(self):
        try:
            os.unlink(os.path.join(self.base, "up"))
        except FileNotFoundError:
            pass
        self.boots += 1
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={self.net.netns(self.name)}", "--", "unshare", "--mount",
             "--propagation", "private", "--pid", "--fork", "--kill-child=KILL", "--mount-proc",
             "bash", os.path.join(HERE, "host.sh"), self.base, self.shared, *self.cmd],
            stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
            env=dict(os.environ, VFIT_IN_PRIVATE_HOST="1", VFIT_STARTED_FILE=""))
        end = now() + 10
        while now() < end:
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = f.read().split()
            except OSError:
                kids = []
            if kids and pidns(kids[0]) != pidns(self.proc.pid):
                self.init = int(kids[0])
                self.ns = pidns(self.init)
                return
            time.sleep(0.01)
        raise RuntimeError(f"host {self.name} did not start its namespace")

    def is_up(self):
        return self.proc is not None and self.proc.poll() is None and \
            os.path.exists(os.path.join(self.base, "up"))

    # The pid namespace's inode number is reused once the namespace is gone,
    # so "was this host reset" is a question for boots, never for ns.
    def pids(self, ns=None):
        ns = ns or self.ns
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit() and pidns(p) == ns:
                out.append(int(p))
        return out

    def find(self, comm, arg=None):
        """Pids of this host's processes named comm (with arg in their command line)."""
        out = []
        for p in self.pids():
            st = proc_stat(p)
            if not st or st[0] != comm or st[1] == "Z":
                continue
            if arg:
                try:
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        if arg.encode() not in f.read().split(b"\0"):
                            continue
                except OSError:
                    continue
            out.append(p)
        return out

    def signal_all(self, sig):
        for p in self.pids():
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass

    def kill(self):
        """SIGKILL every process of the host's pid namespace (its init first:
        the kernel then kills the rest) and wait until none is left."""
        ns = self.ns
        if self.init:
            try:
                os.kill(self.init, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        end = now() + 10
        while ns and self.pids(ns) and now() < end:
            for p in self.pids(ns):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        self.proc = None
        self.init = None

    def nsenter(self, *cmd, timeout=10):
        return subprocess.run(["nsenter", "-t", str(self.init), "-m", "--", *cmd],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)


# ---- the simulated watchdog -------------------------------------------------------------


class Watchdog:
    """softdog's rules on a FIFO: armed by a write, disarmed by the magic 'V',
    and when armed and not petted for timeout_ms, the host is reset (every
    process of its pid namespace SIGKILLed, then the host boots again). A
    close without 'V' leaves it armed, as softdog without nowayout does."""

    def __init__(self, host, timeout_ms, on_reset):
        self.host, self.timeout = host, timeout_ms / 1000.0
        self.on_reset = on_reset
        if not os.path.exists(host.fifo):
            os.mkfifo(host.fifo, 0o600)
        # Read-write: the helper's open never blocks and no writer's close is an EOF.
        self.fd = os.open(host.fifo, os.O_RDWR | os.O_NONBLOCK)
        self.armed, self.last_pet, self.pets, self.resets = False, 0.0, 0, 0
        self.events = collections.deque(maxlen=16)   # (time, byte) for the reset's log line

    def history(self, t):
        return " ".join(f"{c!r}@{(e - t) * 1000:+.0f}ms" for e, c in list(self.events)[-6:])

    def poll(self):
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            data = b""
        t = now()
        for c in data:
            self.events.append((t, chr(c)))
            if c == ord("V"):
                self.armed = False
            else:
                self.armed, self.last_pet = True, t
                self.pets += 1
        if self.armed and t - self.last_pet > self.timeout:
            self.armed = False
            self.last_reset_pets = self.pets
            self.resets += 1
            return self.last_pet + self.timeout
        return None

    def drain(self):
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass
        self.armed = False


# ---- the sampler ----------------------------------------------------------------------


class Sampler:
    """Every 50 ms: which hosts run each domain, from the QEMU processes. A
    QEMU counts as running unless it is gone or a zombie (a stopped one can
    resume and write). Once a second, also from each libvirtd."""

    def __init__(self, hosts, domains, period=0.05):
        self.hosts, self.domains, self.period = hosts, set(domains), period
        self.lock = threading.Lock()
        self.ns2host = {}
        self.cmdline = {}                   # (pid, starttime) -> guest name or ""
        self.current = {d: frozenset() for d in domains}
        self.timeline = {d: [(now(), frozenset())] for d in domains}
        self.samples = 0
        self.double_samples = 0
        self.doubles = []                   # (time, domain, hosts)
        self.lv_current = {d: frozenset() for d in domains}
        self.lv_doubles = []
        self.lv_samples = 0
        self.stop = False
        self.late = 0                       # samples more than 2 periods apart
        self.max_gap = 0.0

    def note_ns(self, ns, host):
        with self.lock:
            self.ns2host[ns] = host

    def guest_of(self, pid, start):
        key = (pid, start)
        g = self.cmdline.get(key)
        if g is None:
            g = ""
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
                for i, a in enumerate(args):
                    if a == b"-name" and i + 1 < len(args):
                        for part in args[i + 1].decode().split(","):
                            if part.startswith("guest="):
                                g = part[len("guest="):]
            except OSError:
                return ""
            # Right after exec the name is QEMU's but the command line may not
            # be set up yet (empty): ask again next time, never cache that.
            if not g and len(args) < 3:
                return ""
            if len(self.cmdline) > 10000:
                self.cmdline.clear()
            self.cmdline[key] = g
        return g

    def sample(self):
        running = collections.defaultdict(set)
        with self.lock:
            ns2host = dict(self.ns2host)
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            host = ns2host.get(pidns(p))
            if host is None:
                continue
            st = proc_stat(p)
            if not st or not st[0].startswith("qemu-system") or st[1] in ("Z", "X"):
                continue
            g = self.guest_of(int(p), st[2])
            if g in self.domains:
                running[g].add(host)
        t = now()
        with self.lock:
            self.samples += 1
            double = False
            for d in self.domains:
                s = frozenset(running.get(d, ()))
                if s != self.current[d]:
                    self.current[d] = s
                    self.timeline[d].append((t, s))
                if len(s) > 1:
                    double = True
                    self.doubles.append((t, d, sorted(s)))
            self.double_samples += double

    def run(self):
        last = now()
        while not self.stop:
            self.sample()
            t = now()
            gap = t - last
            self.max_gap = max(self.max_gap, gap)
            self.late += gap > 2 * self.period
            last = t
            time.sleep(max(0.0, self.period - (now() - t)))

    def run_libvirt(self):
        while not self.stop:
            seen = collections.defaultdict(set)
            for h in self.hosts:
                if not h.is_up():
                    continue
                try:
                    r = h.nsenter("virsh", "-q", "-c", "qemu:///system", "list", "--name", timeout=2)
                except subprocess.TimeoutExpired:
                    continue       # a frozen libvirtd says nothing; /proc still sees
                for name in r.stdout.split():
                    if name in self.domains:
                        seen[name].add(h.name)
            with self.lock:
                self.lv_samples += 1
                for d in self.domains:
                    s = frozenset(seen.get(d, ()))
                    self.lv_current[d] = s
                    if len(s) > 1:
                        self.lv_doubles.append((now(), d, sorted(s)))
            time.sleep(1.0)

    def snapshot(self):
        with self.lock:
            return dict(self.current)

    def changes_since(self, d, t0):
        with self.lock:
            return [(t, s) for t, s in self.timeline[d] if t >= t0]


# ---- the harness ------------------------------------------------------------------------


class Chaos:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.prefix = os.environ.get("VFIT_PREFIX") or f"vfit-chaos-{os.getpid()}-"
        self.tmp = tempfile.mkdtemp(prefix=self.prefix, dir=os.environ.get("TMPDIR", "/tmp"))
        os.chmod(self.tmp, 0o755)
        self.etcd_dir = tempfile.mkdtemp(prefix=self.prefix, dir="/dev/shm")
        self.shared = os.path.join(self.tmp, "shared")
        self.tree = os.path.join(self.tmp, "manifests")
        os.makedirs(self.shared)
        os.makedirs(self.tree)
        os.chmod(self.shared, 0o755)
        self.domains = [f"{self.prefix}d{i}" for i in range(1, a.domains + 1)]
        self.net = Net(self.prefix)
        self.etcd = None
        self.hosts = []
        self.dogs = {}
        self.sampler = None
        self.stats = collections.defaultdict(lambda: {"n": 0, "moved": 0, "failover": [], "downtime": []})
        self.failovers = []
        self.failures = []
        self.resets = []        # (host, time) of watchdog resets
        self.reset_lock = threading.Lock()
        self.stopping = False
        self.boot_q = queue.Queue()
        self.fault_now = None   # (kind, host) of the fault in progress
        self.fault_no = 0
        self.unexpected_resets = []
        self.interrupted = False
        self.in_faults = False

    # -- set-up --
    def vf_cmd(self, h):
        if self.a.self_test:
            return []
        base = os.path.join(self.tmp, h)
        return [self.a.virtform, "watch", "-c", "qemu:///system", "--state-dir", os.path.join(base, "state"),
                "--runtime-dir", os.path.join(base, "run"), "--host-id", h, "--etcd", self.etcd.endpoints,
                "--lease-ttl", f"{int(self.a.ttl * 1000)}ms", "--fence-watchdog", os.path.join(base, "watchdog"),
                "--fence-watchdog-ms", str(self.a.watchdog_ms),
                *(["--fence-helper", self.a.fence_helper] if self.a.fence_helper else []), self.tree]

    def setup(self):
        log(f"seed {self.a.seed}; work dir {self.tmp}; etcd data {self.etcd_dir}")
        self.net.up()
        log(f"bridge {self.net.bridge} {self.net.net}.0/24; etcd on {', '.join(self.net.etcd_ips)}; "
            f"hosts {', '.join(f'{h}={self.net.net}.{10 + k}' for k, h in enumerate(HOSTS, 1))}")
        self.etcd = Etcd(self.net.etcd_ips, self.etcd_dir, self.tmp)
        for i in range(3):
            self.etcd.start(i)
        self.etcd.wait_up()
        log(f"etcd cluster up, leader m{self.etcd.leader()}")
        self.sampler = Sampler([], self.domains, period=self.a.period)
        for h in HOSTS:
            base = os.path.join(self.tmp, h)
            os.makedirs(os.path.join(base, "state"), exist_ok=True)
            os.makedirs(os.path.join(base, "run"), exist_ok=True)
            host = Host(h, base, self.shared, self.net, self.vf_cmd(h))
            self.hosts.append(host)
            self.dogs[h] = Watchdog(host, self.a.watchdog_ms, None)
        self.sampler.hosts = self.hosts
        boot = threading.Thread(target=self.rebooter, daemon=True)
        boot.start()
        for host in self.hosts:
            self.boot_q.put((host, 0))
        self.wait(lambda: all(h.is_up() for h in self.hosts), 120, "the three hosts' libvirtds")
        log("three hosts up: " + ", ".join(f"{h.name} (pid 1 = {h.init})" for h in self.hosts))
        threading.Thread(target=self.sampler.run, daemon=True).start()
        threading.Thread(target=self.sampler.run_libvirt, daemon=True).start()
        threading.Thread(target=self.watchdogs, daemon=True).start()
        self.dtype = os.environ.get("VFIT_DOMAIN_TYPE") or self.hosts[0].nsenter(
            "bash", "-c", f". '{LIB}'; vf_domain_type").stdout.strip().splitlines()[-1]
        log(f"domain type {self.dtype}")

    def boot(self, host):
        self.dogs[host.name].drain()
        host.boot()
        self.sampler.note_ns(host.ns, host.name)

    def write_manifests(self):
        for d in self.domains:
            with open(os.path.join(self.tree, d + ".yaml"), "w") as f:
                f.write(f"""apiVersion: virtform/v1
kind: Domain
metadata:
  name: {d}
spec:
  type: {self.dtype}
  vcpus: 1
  memory: 64MiB
  graphics: {{type: none}}
  placement: {{hosts: [{', '.join(HOSTS)}]}}
""")

    # -- the watchdogs' thread --
    def watchdogs(self):
        while not self.stopping:
            for h in self.hosts:
                if h.proc is None:
                    continue
                at = self.dogs[h.name].poll()
                if at is not None:
                    late = (now() - at) * 1000
                    why = self.fault_now if self.fault_now and self.fault_now[1] is h else None
                    expected = why is not None and why[0] in ("stop-virtform-and-helper", "freeze-host")
                    if not expected:
                        self.unexpected_resets.append(
                            f"{h.name} during {why[0] if why else 'no fault of its own'}"
                            f" (fault {self.fault_no})")
                    log(f"watchdog: {h.name} not petted for {self.a.watchdog_ms} ms: reset "
                        f"({late:.0f} ms after the timeout; "
                        f"{'expected' if expected else 'NOT caused by a fault that stops its helper'}; "
                        f"last writes: {self.dogs[h.name].history(now())})")
                    self.reset(h, "watchdog")
            time.sleep(0.005)

    def reset(self, host, why):
        with self.reset_lock:
            if host.proc is None:
                return
            self.resets.append((host.name, now(), why))
            host.kill()
        self.boot_q.put((host, now() + self.a.reset_pause))

    def rebooter(self):
        """Boots reset hosts again, after the pause. One long-lived thread:
        PR_SET_PDEATHSIG follows the thread that forked, so a host started
        from a short-lived thread would die with it."""
        while not self.stopping:
            host, at = self.boot_q.get()
            time.sleep(max(0.0, at - now()))
            with self.reset_lock:
                if host.proc is None and not self.stopping:
                    self.boot(host)

    # -- waiting --
    def wait(self, cond, bound, what):
        end = now() + bound
        while now() < end:
            if cond():
                return True
            time.sleep(0.05)
        raise RuntimeError(f"{what}: not within {bound} s")

    def placed_ok(self):
        cur = self.sampler.snapshot()
        return all(len(cur[d]) == 1 for d in self.domains)

    def fleet_ok(self):
        if not all(h.is_up() for h in self.hosts):
            return False
        if not self.a.self_test:
            for h in self.hosts:
                if not h.find("virtform", "watch"):
                    return False
            n = self.etcd.count_prefix(self.a.etcd_prefix + "/hosts/")
            if n != len(self.hosts):
                return False
        return True

    def why_not(self):
        """What keeps the fleet from converged, for a failure message."""
        cur = self.sampler.snapshot()
        out = [", ".join(f"{d}@{'+'.join(sorted(cur[d])) or 'nowhere'}" for d in self.domains)]
        out += [f"{h.name} down" for h in self.hosts if not h.is_up()]
        if not self.a.self_test:
            out += [f"{h.name} runs no virtform" for h in self.hosts if h.is_up() and not h.find("virtform", "watch")]
            out.append(f"{self.etcd.count_prefix(self.a.etcd_prefix + '/hosts/')} hosts announced in etcd")
        return "; ".join(out)

    def wait_converged(self, bound):
        """Every domain on exactly one host and all hosts back, for a settle time."""
        end = now() + bound
        since = None
        while now() < end:
            if self.placed_ok() and self.fleet_ok():
                since = since or now()
                if now() - since >= self.a.settle:
                    return True
            else:
                since = None
            time.sleep(0.05)
        return False

    # -- faults --
    def host_proc(self, host, comm, arg=None):
        ps = host.find(comm, arg)
        return ps

    def sig(self, pids, s):
        for p in pids:
            try:
                os.kill(p, s)
            except ProcessLookupError:
                pass

    def past_ttl(self):
        return self.a.ttl * 1.5 + self.rng.uniform(0, self.a.ttl / 2)

    def inject(self, kind, host):
        """Returns a note on what was done."""
        if kind == "kill-virtform":
            p = host.find("virtform", "watch")
            self.sig(p, signal.SIGKILL)
            return f"SIGKILL virtform {p} on {host.name}"
        if kind == "stop-virtform":
            p = host.find("virtform", "watch")
            self.sig(p, signal.SIGSTOP)
            time.sleep(self.past_ttl())
            self.sig(p, signal.SIGCONT)
            return f"SIGSTOP virtform {p} on {host.name} past the TTL, SIGCONT"
        if kind == "stop-virtform-and-helper":
            p = host.find("virtform", "watch") + host.find("virtform-fence")
            boots = host.boots
            self.sig(p, signal.SIGSTOP)
            end = now() + self.a.ttl * 2 + self.a.watchdog_ms / 1000.0
            while now() < end and host.boots == boots and host.proc is not None:
                time.sleep(0.02)
            reset = host.boots != boots or host.proc is None
            if not reset:
                self.sig(p, signal.SIGCONT)
            return f"SIGSTOP virtform and helper {p} on {host.name}: " + \
                ("the watchdog reset it" if reset else "NO watchdog reset")
        if kind == "freeze-host":
            ns, boots = host.ns, host.boots
            host.signal_all(signal.SIGSTOP)
            time.sleep(self.past_ttl())
            reset = host.boots != boots or host.proc is None
            if not reset:
                for p in host.pids(ns):
                    self.sig([p], signal.SIGCONT)
            return f"froze {host.name} past the TTL: " + \
                ("the watchdog reset it" if reset else "no watchdog reset (nothing armed it)")
        if kind == "cut-link":
            self.net.link(host.name, "down")
            time.sleep(self.past_ttl())
            self.net.link(host.name, "up")
            return f"cut {host.name} from etcd past the TTL, restored"
        if kind == "kill-etcd-leader":
            i = self.etcd.leader()
            if i is None:
                return "no etcd leader to kill"
            self.etcd.kill(i)
            time.sleep(self.rng.uniform(0.2, 1.0))
            self.etcd.start(i)
            self.etcd.wait_up()
            return f"SIGKILL etcd leader m{i}, restarted"
        if kind == "restart-libvirtd":
            p = host.find("libvirtd")
            self.sig(p, signal.SIGTERM)
            return f"SIGTERM libvirtd {p} on {host.name} (restarted by its host)"
        raise ValueError(kind)

    def judge(self, kind, host, t0, before):
        """Per domain: did it move, how long until it ran again."""
        st = self.stats[kind]
        for d in self.domains:
            h0 = next(iter(before[d])) if len(before[d]) == 1 else None
            down_at = None
            for t, s in self.sampler.changes_since(d, t0):
                if h0 and h0 not in s and down_at is None:
                    down_at = t
                if len(s) == 1 and h0 and h0 not in s:
                    ft = t - t0
                    st["moved"] += 1
                    st["failover"].append(ft)
                    self.failovers.append(ft)
                    log(f"  {d}: {h0} -> {next(iter(s))} in {ft:.2f} s")
                    break
                if len(s) == 1 and down_at is not None and h0 in s:
                    st["downtime"].append(t - t0)
                    log(f"  {d}: back on {h0} after {t - t0:.2f} s")
                    break

    def run_faults(self):
        n = self.a.faults
        kinds = self.a.kinds.split(",") if self.a.kinds else list(KINDS)
        doubles = 0
        for i in range(1, n + 1):
            time.sleep(self.rng.uniform(0.1, self.a.max_gap))
            kind = self.rng.choice(kinds)
            before = self.sampler.snapshot()
            hosts = self.hosts
            if self.a.at_holders:  # only hosts running a placed domain
                held = {h for d in self.domains for h in before.get(d, ())}
                hosts = [h for h in self.hosts if h.name in held] or self.hosts
            host = self.rng.choice(hosts)
            where = ", ".join(f"{d[len(self.prefix):]}@{'+'.join(sorted(before[d])) or '-'}"
                              for d in self.domains)
            t0 = now()
            self.fault_now, self.fault_no = (kind, host), i
            note = self.inject(kind, host)
            self.stats[kind]["n"] += 1
            log(f"fault {i}/{n}: {kind} ({note}); before: {where}")
            ok = self.wait_converged(self.a.bound)
            self.judge(kind, host, t0, before)
            if not ok:
                self.failures.append(f"fault {i} ({kind} on {host.name}): not converged within "
                                     f"{self.a.bound} s: {self.why_not()}")
                log("FAIL " + self.failures[-1])
                return i
            self.fault_now = None
            if self.sampler.double_samples > doubles:
                doubles = self.sampler.double_samples
                t, d, hs = self.sampler.doubles[-1]
                log(f"DOUBLE RUN: {d} on {', '.join(hs)} ({doubles} double-run samples so far)")
            if self.interrupted:
                log(f"interrupted: stopping after {i} faults")
                return i
        return n

    # -- the self-test of the watchers --
    def self_test(self):
        d = self.domains[0]
        xml = f"""<domain type='{self.dtype}'><name>{d}</name><memory unit='MiB'>64</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices/></domain>"""
        path = os.path.join(self.tmp, "selftest.xml")
        with open(path, "w") as f:
            f.write(xml)
        h1, h2 = self.hosts[0], self.hosts[1]
        for h in (h1, h2):
            r = h.nsenter("virsh", "-q", "-c", "qemu:///system", "create", path, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"virsh create on {h.name}: {r.stdout}")
        self.wait(lambda: self.sampler.snapshot()[d] == {"h1", "h2"}, 30, "the sampler seeing both QEMUs")
        self.wait(lambda: self.sampler.lv_current[d] == {"h1", "h2"}, 10, "the libvirt view seeing both")
        assert self.sampler.double_samples > 0 and self.sampler.lv_doubles
        log(f"self-test: {d} started by hand on h1 and h2: {self.sampler.double_samples} "
            f"double-run samples, {len(self.sampler.lv_doubles)} in the libvirt view")
        # A stopped host's QEMU still runs.
        h2.signal_all(signal.SIGSTOP)
        time.sleep(0.5)
        assert self.sampler.snapshot()[d] == {"h1", "h2"}, self.sampler.snapshot()
        log("self-test: h2 frozen: its stopped QEMU still counts")
        # A pet, then silence: the watchdog resets h2 and its QEMU is gone.
        dog = self.dogs["h2"]
        with open(h2.fifo, "w") as w:
            w.write("1")
        t = now()
        self.wait(lambda: self.resets, 10, "the watchdog reset of h2")
        self.wait(lambda: self.sampler.snapshot()[d] == {"h1"}, 5, "h2's QEMU gone")
        log(f"self-test: watchdog reset h2 {self.resets[0][1] - t:.2f} s after its only pet "
            f"(timeout {self.a.watchdog_ms} ms); {d} runs on h1 only; resets {dog.resets}")
        self.wait(lambda: h2.is_up(), 60, "h2 back up")
        h1.nsenter("virsh", "-q", "-c", "qemu:///system", "destroy", d)
        # Each host reaches every etcd member, and a cut link cuts it off.
        for h in self.hosts:
            for ip in self.net.etcd_ips:
                if not self.reaches(h, ip):
                    raise RuntimeError(f"{h.name} cannot reach etcd at {ip}")
        self.net.link("h3", "down")
        if self.reaches(self.hosts[2], self.net.etcd_ips[0]):
            raise RuntimeError("h3 still reaches etcd with its link down")
        self.net.link("h3", "up")
        if not self.reaches(self.hosts[2], self.net.etcd_ips[0]):
            raise RuntimeError("h3 does not reach etcd again with its link up")
        log("self-test: each host reaches the three etcd members; h3 with its link down does not")
        self.wait(lambda: self.sampler.snapshot()[d] == frozenset(), 10, "the hand-made QEMU gone")

    def reaches(self, host, ip):
        probe = ("import sys, urllib.request as u; sys.stdout.write(u.urlopen(u.Request("
                 f"'http://{ip}:2379/v3/maintenance/status', data=b'{{}}'), timeout=1).read().decode())")
        r = subprocess.run(["nsenter", f"--net={self.net.netns(host.name)}", "--", sys.executable, "-c", probe],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return r.returncode == 0 and '"leader"' in r.stdout

    def double_episodes(self):
        """Consecutive double-run samples of one domain on one set of hosts,
        as (first, last, domain, hosts, samples)."""
        eps = []
        for t, d, hs in self.sampler.doubles:
            e = next((e for e in reversed(eps) if e[2] == d), None)
            if e and e[3] == hs and t - e[1] <= 2.5 * self.sampler.period:
                e[1], e[4] = t, e[4] + 1
            else:
                eps.append([t, t, d, hs, 1])
        return eps

    # -- report --
    def report(self, done):
        s = self.sampler
        p50, p99 = percentile(self.failovers, 50), percentile(self.failovers, 99)
        print("# per fault kind (faults, domains moved, failover p50/p99/max s, back in place p50 s):")
        for k in KINDS:
            st = self.stats[k]
            if not st["n"]:
                continue
            f = st["failover"]
            print(f"#   {k:26} {st['n']:5} {st['moved']:4}  "
                  f"{percentile(f, 50):5.2f} {percentile(f, 99):5.2f} {max(f or [0]):5.2f}  "
                  f"{percentile(st['downtime'], 50):5.2f}")
        print(f"# sampler: {s.samples} samples every {int(s.period * 1000)} ms (max gap {s.max_gap * 1000:.0f} ms, "
              f"{s.late} over two periods); libvirt view: {s.lv_samples} rounds, "
              f"{len(s.lv_doubles)} double-listed; watchdog resets {len(self.resets)}, "
              f"{len(self.unexpected_resets)} of them not caused by a fault that stops the helper")
        for r in self.unexpected_resets[:20]:
            print(f"#   reset of {r}")
        for t0, t1, d, hs, n in self.double_episodes()[:10]:
            print(f"# DOUBLE RUN: {d} on {', '.join(hs)} for {t1 - t0 + s.period:.2f} s ({n} samples)")
        for f in self.failures:
            print(f"# FAILURE: {f}")
        if self.failures:
            self.tail_logs()
        print(f"chaos: {done} faults, {s.double_samples} double-runs, failover p50 {p50:.2f} s p99 {p99:.2f} s",
              flush=True)
        return 1 if s.double_samples or self.failures else 0

    def tail_logs(self, n=8):
        for h in self.hosts:
            for name in ("host.log", "virtform.log"):
                try:
                    with open(os.path.join(h.base, name), errors="replace") as f:
                        lines = f.readlines()[-n:]
                except OSError:
                    continue
                print(f"# {h.name} {name}, last {len(lines)} lines:")
                for line in lines:
                    print(f"#   {line.rstrip()}")

    def cleanup(self):
        self.stopping = True
        if self.sampler:
            self.sampler.stop = True
        with self.reset_lock:
            for h in self.hosts:
                try:
                    h.kill()
                except Exception as e:
                    log(f"cleanup of {h.name}: {e}")
        if self.etcd:
            self.etcd.stop()
        self.net.down()
        if self.a.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.etcd_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--virtform", default="build/virtform")
    ap.add_argument("--faults", type=int, default=int(os.environ.get("CHAOS_FAULTS", "1000")))
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CHAOS_SEED", "0")) or None)
    ap.add_argument("--domains", type=int, default=3)
    ap.add_argument("--ttl", type=float, default=2.0)
    ap.add_argument("--watchdog-ms", type=int, default=1000)
    ap.add_argument("--etcd-prefix", default="/virtform")
    ap.add_argument("--period", type=float, default=0.05, help="sampler period, s")
    ap.add_argument("--bound", type=float, default=60.0, help="wait for convergence after a fault, s")
    ap.add_argument("--settle", type=float, default=1.0, help="converged for this long, s")
    ap.add_argument("--max-gap", type=float, default=1.5, help="random pause before a fault, up to, s")
    ap.add_argument("--reset-pause", type=float, default=0.5, help="a reset host stays down, s")
    ap.add_argument("--kinds", default=os.environ.get("CHAOS_KINDS", ""),
                    help="comma-separated fault kinds (default: all): " + ", ".join(KINDS))
    ap.add_argument("--at-holders", action="store_true",
                    help="fault only hosts that run a placed domain (the negative control: a fault on an "
                         "idle host moves nothing, so it could count no double run)")
    ap.add_argument("--fence-helper", help="virtform's --fence-helper (tests/chaos/no-fence.sh: the negative control)")
    ap.add_argument("--self-test", action="store_true", help="check the watchers, no virtform")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    a.virtform = os.path.abspath(a.virtform)
    if a.fence_helper:
        a.fence_helper = os.path.abspath(a.fence_helper)
    if os.geteuid() != 0:
        sys.exit("chaos: needs root (namespaces, a bridge)")
    c = Chaos(a)

    def interrupt(*_):
        # During the faults the first SIGINT/SIGTERM ends the run after the
        # current one, with the report; otherwise, or the second time, at
        # once. Never in the middle of the clean-up, which must finish.
        if c.stopping:
            return
        if c.in_faults and not c.interrupted:
            c.interrupted = True
            return
        sys.exit(143)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    t_start = now()
    done, rc = 0, 1
    try:
        c.setup()
        if a.self_test:
            c.self_test()
            print(f"chaos: self-test passed in {now() - t_start:.1f} s")
            rc = 0
        else:
            c.write_manifests()
            if not c.wait_converged(120):
                c.failures.append(f"the placed domains did not start on one host each within 120 s: {c.why_not()}")
            else:
                cur = c.sampler.snapshot()
                log(f"converged in {now() - t_start:.1f} s: " +
                    ", ".join(f"{d}@{next(iter(cur[d]))}" for d in c.domains))
                c.in_faults = True
                done = c.run_faults()
                c.in_faults = False
            log(f"ran {done} faults in {now() - t_start:.0f} s (seed {a.seed})")
            rc = c.report(done)
    except Exception as e:
        print(f"# FAILURE: {type(e).__name__}: {e}", flush=True)
        if not a.self_test and c.sampler:
            c.report(done)
        else:
            print("chaos: self-test failed" if a.self_test else "chaos: harness error")
        rc = 1
    finally:
        c.cleanup()
    sys.exit(rc)


if __name__ == "__main__":
    main()
