#!/usr/bin/python3
"""fence_sampler.py PID QEMU ETCD KEY DOM: SIGKILL virtform PID, then sample
every 10 ms, on CLOCK_BOOTTIME, until both its QEMU is dead and etcd no
longer holds the lock KEY (a path, not base64), or 8 s have passed.

Prints one line "DEAD FREED MOST T0 OVERLAP": the milliseconds from the
kill to the first sample where the QEMU was gone or a zombie (a zombie runs
no guest code), and to the first where etcd had no key (an etcd that does
not answer counts as still locked); the most processes running guest DOM
(the argument -name, then guest=DOM or guest=DOM,...) seen in one sample;
the kill's own time, in ms of CLOCK_BOOTTIME; and 1 if the QEMU was seen
running after etcd was seen without the key (a double run was possible),
else 0. "-": it did not happen within 8 s.

Each sample asks etcd first and looks at the QEMU after the answer, so a
slow answer can only hide an overlap's start, never invent one: OVERLAP is
1 only when the QEMU demonstrably outlived the lock. One process and one
clock, so no sample waits for a program to start.
"""
import base64
import json
import os
import signal
import sys
import time
import urllib.request


def now():
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000)


def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def guests(dom):
    name, prefix = f"guest={dom}".encode(), f"guest={dom},".encode()
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if any(args[i - 1] == b"-name" and (args[i] == name or args[i].startswith(prefix))
               for i in range(1, len(args))):
            n += running(pid)
    return n


def locked(etcd, key):
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    req = urllib.request.Request(f"{etcd}/v3/kv/range", data=body)
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return "kvs" in json.load(r)
    except (OSError, ValueError):
        return True


def main():
    pid, qemu, etcd, key, dom = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:6]
    os.kill(pid, signal.SIGKILL)
    t0 = now()
    dead = freed = None
    most = 0
    overlap = 0
    while now() - t0 < 8000 and (dead is None or freed is None):
        most = max(most, guests(dom))
        if freed is None and not locked(etcd, key):
            freed = now() - t0
        if running(qemu):
            overlap |= freed is not None
        elif dead is None:
            dead = now() - t0
        time.sleep(0.01)
    print("-" if dead is None else dead, "-" if freed is None else freed, most, t0, overlap)

if __name__ == "__main__":
    main()
