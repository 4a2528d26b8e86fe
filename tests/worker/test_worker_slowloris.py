#!/usr/bin/python3
"""A bounded slowloris against `modq-worker --demo` over loopback (issue 12, defect 3).

Half-open connections that trickle a header byte at a time used to hold the API's connections
for ever (each byte resets libmicrohttpd's idle timeout), so the API and /healthz went offline.
The demo runs here with a small API budget (64 connections, 16 per address) and a 4 s request
deadline, and this test, only towards 127.0.0.1 and for a few seconds:
  1. trickles 40 connections from 127.0.0.1: 16 are held, the rest are closed at once, unanswered;
     a well-behaved API client from 127.0.0.1 is refused the same clear way (not left hanging),
     while one from 127.0.0.2 is served;
  2. trickles 16 more from each of 127.0.0.3 .. 127.0.0.5, so the API's 64 connections are all
     taken (a client from 127.0.0.7 is not served), and checks that /healthz, /readyz and
     /metrics on the probe listener still answer at once;
  3. checks that every held connection was closed by the request deadline (4 s after it opened,
     while it was still trickling: the 30 s idle timeout never came into it), that the client
     from 127.0.0.1 is served again, and that /metrics counted the timeouts.

Usage: test_worker_slowloris.py MODQ_WORKER SOURCE_DIR
"""
import http.client
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

MAX_CONNECTIONS = 64
PER_IP = 16
DEADLINE_S = 4  # long enough that the set-up ends well before it on a loaded machine
TRICKLE_S = 0.2  # one byte this often: far inside any idle timeout
PROBE_BUDGET_S = 1.0  # a probe slower than this fails (the chart allows 2 s)
HEAD = b"GET /v1/next HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: "


class Failed(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


class Trickler:
    """A half-open request from source address src, one more header byte at each tick."""

    def __init__(self, port, src):
        self.src = src
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((src, 0))
        self.sock.settimeout(2)
        self.sock.connect(("127.0.0.1", port))
        self.opened = time.monotonic()
        self.sock.setblocking(False)
        self.closed = None  # when the server was seen closing it
        self.answered = b""
        self.sent = False
        self.tick()

    def tick(self):
        """Sends one more byte unless closed; notes the server's close."""
        if self.closed is not None:
            return
        try:
            data = self.sock.recv(4096)
            if not data:
                self.closed = time.monotonic()
                return
            self.answered += data  # a server must never answer a head it has not had
        except BlockingIOError:
            pass
        except OSError:
            self.closed = time.monotonic()
            return
        try:
            self.sock.send(b"a" if self.sent else HEAD)
            self.sent = True
        except BlockingIOError:
            pass
        except OSError:
            self.closed = time.monotonic()

    def close(self):
        self.sock.close()


def tick_all(conns, seconds):
    end = time.monotonic() + seconds
    while True:
        for c in conns:
            c.tick()
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(TRICKLE_S, left))


def get(port, path, src="127.0.0.1", timeout=2.0):
    """(status, body, seconds) of GET path; raises OSError (incl. http.client's) on failure."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(src, 0))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        return r.status, body, time.monotonic() - t0
    finally:
        conn.close()


def refused(port, src, timeout=2.0):
    """How the API treats a request from src: ('served', status) or ('refused', seconds)."""
    t0 = time.monotonic()
    try:
        status, _, _ = get(port, "/healthz", src, timeout)
        return "served", status
    except socket.timeout:
        return "hung", time.monotonic() - t0
    except (http.client.HTTPException, ConnectionError) as e:
        return "refused", f"{time.monotonic() - t0:.3f}s ({type(e).__name__})"


def start_demo(worker, source, tmp):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODQ_")}
    env.update({"MODQ_HTTP_LISTEN": "127.0.0.1:0", "MODQ_HTTP_PROBE_LISTEN": "127.0.0.1:0",
                "MODQ_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
                "MODQ_HTTP_PER_IP_CONNECTIONS": str(PER_IP),
                "MODQ_HTTP_REQUEST_TIMEOUT_SECONDS": str(DEADLINE_S),
                "MODQ_HTTP_THREADS": "2"})
    out = open(os.path.join(tmp, "out"), "w+")
    err = open(os.path.join(tmp, "err"), "w+")
    p = subprocess.Popen([worker, "--demo"], cwd=source, env=env, stdout=out, stderr=err,
                         stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out.seek(0)
        text = out.read()
        page = re.search(r"^modq demo: review page http://127\.0\.0\.1:(\d+)/$", text, re.M)
        probes = re.search(r"^modq demo: probes http://127\.0\.0\.1:(\d+)/healthz", text, re.M)
        if page and probes:
            return p, int(page.group(1)), int(probes.group(1))
        if p.poll() is not None:
            err.seek(0)
            raise Failed(f"the demo exited {p.returncode}: {err.read().strip()[-600:]}")
        time.sleep(0.1)
    raise Failed("the demo printed no review page and probes lines in 60 s")


def attack(api, probe):
    conns = []
    try:
        # 1. One address: the per-address limit holds PER_IP, the rest are closed at once.
        conns += [Trickler(api, "127.0.0.1") for _ in range(40)]
        tick_all(conns, 0.6)
        held = [c for c in conns if c.closed is None]
        print(f"127.0.0.1: {len(held)} of 40 trickling connections held, "
              f"{40 - len(held)} closed at once")
        check(len(held) == PER_IP, f"{len(held)} held from one address, want {PER_IP}")
        same = refused(api, "127.0.0.1")
        other = refused(api, "127.0.0.2")
        print(f"a well-behaved client from 127.0.0.1: {same}; from 127.0.0.2: {other}")
        check(same[0] == "refused", f"the client from the trickling address: {same}")
        check(other == ("served", 200), f"the client from another address: {other}")

        # 2. Three more addresses fill the API's whole budget; the probes do not notice.
        for n in range(3, 3 + (MAX_CONNECTIONS - PER_IP) // PER_IP):
            conns += [Trickler(api, f"127.0.0.{n}") for _ in range(PER_IP)]
        tick_all(conns, 0.3)
        held = [c for c in conns if c.closed is None]
        print(f"{len(held)} trickling connections held of the API's {MAX_CONNECTIONS}")
        check(len(held) == MAX_CONNECTIONS, f"{len(held)} held: the budget is not just full")
        full = refused(api, "127.0.0.7", timeout=1.0)
        print(f"the API full, a client from 127.0.0.7: {full}")
        if full[0] == "served":
            # Only once the deadline has freed a place (a machine slow enough to reach it).
            tick_all(conns, 0)
            check(any(c.closed is not None for c in held),
                  f"the API served 127.0.0.7 with its budget full: {full}")
        for path in ("/healthz", "/readyz", "/healthz", "/readyz", "/metrics"):
            status, _, took = get(probe, path, timeout=PROBE_BUDGET_S * 4)
            print(f"probe listener {path}: {status} in {took * 1000:.1f} ms")
            check(status in (200, 503), f"{path} answered {status}")
            check(took < PROBE_BUDGET_S, f"{path} took {took:.3f} s during the attack")

        # 3. The request deadline closes every held connection, still trickling.
        tick_all(conns, DEADLINE_S + 1.5)
        late = [c for c in held if c.closed is None]
        check(not late, f"{len(late)} of {len(held)} trickling connections still open "
              f"{time.monotonic() - held[0].opened:.1f} s after the first opened (no request "
              f"deadline)")
        lived = sorted(c.closed - c.opened for c in held)
        print(f"held connections closed {lived[0]:.2f} .. {lived[-1]:.2f} s after opening "
              f"(deadline {DEADLINE_S} s)")
        check(lived[0] >= DEADLINE_S - 0.1, f"one closed after {lived[0]:.2f} s, before the "
              f"{DEADLINE_S} s deadline")
        check(lived[-1] <= DEADLINE_S + 1.5, f"one closed only after {lived[-1]:.2f} s")
        check(all(not c.answered for c in conns), "a trickling connection got an answer")
        again = refused(api, "127.0.0.1")
        print(f"after the deadline, the client from 127.0.0.1: {again}")
        check(again == ("served", 200), f"the client from 127.0.0.1 after the deadline: {again}")
        status, body, _ = get(probe, "/metrics")
        m = re.search(rb"^modq_http_request_timeouts_total (\d+)", body, re.M)
        print(f"modq_http_request_timeouts_total {m.group(1).decode() if m else None}")
        check(m and int(m.group(1)) >= len(held), "the timeouts were not counted")
    finally:
        for c in conns:
            c.close()


def main():
    worker, source = sys.argv[1:3]
    with tempfile.TemporaryDirectory() as tmp:
        p = None
        try:
            p, api, probe = start_demo(worker, source, tmp)
            print(f"demo: API port {api}, probe port {probe}")
            attack(api, probe)
            p.send_signal(2)
            rc = p.wait(timeout=30)
            check(rc == 0, f"the demo exited {rc} after SIGINT")
        except Failed as e:
            print(f"FAIL: {e}")
            with open(os.path.join(tmp, "err")) as f:
                for line in f.read().splitlines()[-15:]:
                    print(f"worker: {line[:300]}")
            return 1
        finally:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    print("ok: slowloris bounded; probes answered throughout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
