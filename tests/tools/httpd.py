#!/usr/bin/env python3
"""httpd.py: a small HTTP server for virtform's image download tests.

Listens on 127.0.0.1 (or --bind) on an ephemeral port, prints the port on
stdout, and logs one line per request ("METHOD PATH RANGE") to --log.
Not a general web server: the first path segment picks a behaviour and the
rest names a file under --root:

  /files/NAME          the file, with HEAD and Range (206) support
  /norange/NAME        the file, ignoring Range (always 200, whole file)
  /wrong/NAME          the same length, different bytes (a checksum mismatch)
  /truncate/NAME       Content-Length of the whole file, half of it, then close
  /truncate-once/NAME  like /truncate the first time, then like /files
  /slow/NAME           headers, then silence for --slow seconds, then the file
  /dribble/NAME        the file (Range too) in 64 KiB pieces, --dribble seconds apart
  /redirect/NAME       302 to /files/NAME
  /loop/N              302 to /loop/N+1, forever
  /away/NAME           302 to --redirect-base + /files/NAME (another server)
  /endless/LABEL       200 without Content-Length, zeros until the client
                       hangs up (at most --endless-cap bytes), then logs
                       "SENT /endless/LABEL BYTES"
  anything else        404

With --cert and --key it serves https instead (for caFile and redirect
tests; the test generates a self-signed certificate with openssl).
"""
import argparse
import http.server
import os
import re
import socketserver
import ssl
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    truncated = set()
    lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet on stderr
        pass

    def _log(self):
        with self.lock, open(self.server.logfile, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))

    def _file(self, name):
        path = os.path.join(self.server.root, os.path.basename(name))
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def _send(self, code, headers, body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _not_found(self):
        self._send(404, [("Content-Length", "9"), ("Content-Type", "text/plain")], b"not found")

    def _serve(self, data, ranges=True):
        rng = self.headers.get("Range")
        m = re.match(r"bytes=(\d+)-$", rng or "")
        if ranges and m:
            start = int(m.group(1))
            if start >= len(data):
                self._send(416, [("Content-Range", "bytes */%d" % len(data)), ("Content-Length", "0")])
                return
            part = data[start:]
            self._send(206, [("Content-Length", str(len(part))),
                             ("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))),
                             ("Accept-Ranges", "bytes")], part)
            return
        hdrs = [("Content-Length", str(len(data))), ("Content-Type", "application/octet-stream")]
        if ranges:
            hdrs.append(("Accept-Ranges", "bytes"))
        self._send(200, hdrs, data)

    def _truncate(self, data):
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
        self.close_connection = True

    def _endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        chunk, sent = bytes(64 * 1024), 0
        try:
            while sent < self.server.endless_cap:
                self.wfile.write(chunk)
                sent += len(chunk)
            self.wfile.flush()
        except OSError:
            pass
        with self.lock, open(self.server.logfile, "a") as f:
            f.write("SENT %s %d\n" % (self.path, sent))

    def _dribble(self, data):
        m = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
        start = int(m.group(1)) if m and int(m.group(1)) < len(data) else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            for off in range(start, len(data), 65536):
                self.wfile.write(data[off:off + 65536])
                self.wfile.flush()
                time.sleep(self.server.dribble)
        except OSError:
            pass  # the client was killed mid-body: what the test wants

    def do_GET(self):
        self._log()
        parts = self.path.split("?")[0].split("/", 2)
        mode = parts[1] if len(parts) > 1 else ""
        name = parts[2] if len(parts) > 2 else ""
        if mode == "loop":
            n = int(name) if name.isdigit() else 0
            self._send(302, [("Location", "/loop/%d" % (n + 1)), ("Content-Length", "0")])
            return
        if mode == "redirect":
            self._send(302, [("Location", "/files/" + name), ("Content-Length", "0")])
            return
        if mode == "away":
            self._send(302, [("Location", self.server.redirect_base + "/files/" + name),
                             ("Content-Length", "0")])
            return
        if mode == "endless":
            self._endless()
            return
        data = self._file(name)
        if data is None or mode not in ("files", "norange", "wrong", "truncate",
                                        "truncate-once", "slow", "dribble"):
            self._not_found()
            return
        if mode == "files":
            self._serve(data)
        elif mode == "dribble":
            self._dribble(data)
        elif mode == "norange":
            self._serve(data, ranges=False)
        elif mode == "wrong":
            self._serve(bytes(b ^ 0x5A for b in data))
        elif mode == "truncate":
            self._truncate(data)
        elif mode == "truncate-once":
            with self.lock:
                first = name not in self.truncated
                self.truncated.add(name)
            if first and self.command == "GET":
                self._truncate(data)
            else:
                self._serve(data)
        elif mode == "slow":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            self.wfile.flush()
            time.sleep(self.server.slow)
            try:
                self.wfile.write(data)
            except OSError:
                pass

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that give up early (timeouts, truncation) are expected


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--slow", type=float, default=30.0)
    ap.add_argument("--redirect-base", default="")
    ap.add_argument("--endless-cap", type=int, default=1 << 30)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--dribble", type=float, default=0.002)
    a = ap.parse_args()
    srv = Server((a.bind, a.port), Handler)
    srv.root, srv.logfile, srv.slow, srv.dribble = a.root, a.log, a.slow, a.dribble
    srv.redirect_base, srv.endless_cap = a.redirect_base, a.endless_cap
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    open(a.log, "a").close()
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
