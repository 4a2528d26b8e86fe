"""soak.py: the Python half of scripts/soak (run with /usr/bin/python3).

  soak.py associates STATS STOPFILE SEED URL=TOKEN [URL=TOKEN ...]
      one thread per associate, each at a person's pace: /v1/next, the item's media at its
      opening level, 1 to 3 s of looking, a decision. A worker that is down (killed by the soak)
      is retried every second and counted apart from real errors. Runs until STOPFILE exists and
      no associate holds an item, then writes the final counts. Every 10 s, and at the end,
      STATS holds one JSON object of counts.
  soak.py report SAMPLES.tsv WARMUP_MIN
      reads the per-minute samples and prints the memory slope (least squares over the minutes
      after WARMUP_MIN) and the spread of open fds, each with PASS or MISS.
"""
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request

VERDICTS = ("no_violation", "remove", "restrict")


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {"decided": 0, "empty": 0, "denied": 0, "paused": 0, "down": 0, "gone": 0,
                  "http_5xx": 0, "http_other": 0}
        self.bad = []  # the first few unexpected answers, for the report

    def add(self, key, n=1, what=None):
        with self.lock:
            self.c[key] += n
            if what and len(self.bad) < 20:
                self.bad.append(what)

    def dump(self, path):
        with self.lock:
            out = dict(self.c, first_unexpected=self.bad)
        with open(path + ".tmp", "w") as f:
            json.dump(out, f)
        os.replace(path + ".tmp", path)


def call(url, token, method="GET", body=None):
    """(status, bytes); status 0 when the worker cannot be reached."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


def associate(base, token, counts, stopfile, rng):
    while True:
        stopping = os.path.exists(stopfile)
        st, raw = call(base + "/v1/next", token)
        if st == 0:
            counts.add("down")
            if stopping:
                return
            time.sleep(1)
            continue
        if st == 503:
            counts.add("paused")
            time.sleep(1)
            continue
        if st == 423:
            counts.add("denied")
            time.sleep(5)
            continue
        if st != 200:
            counts.add("http_5xx" if st >= 500 else "http_other", what="next %d %r" % (st, raw[:200]))
            time.sleep(1)
            continue
        item = json.loads(raw).get("item")
        if not item:
            counts.add("empty")
            if stopping:
                return
            time.sleep(1)
            continue
        tid = urllib.request.quote(item["id"], safe="")
        st, _ = call("%s/v1/items/%s/media" % (base, tid), token)
        time.sleep(rng.uniform(1.0, 3.0))
        st, raw = call("%s/v1/items/%s/decision" % (base, tid), token, "POST",
                       {"verdict": rng.choice(VERDICTS), "labels": ["soak"]})
        if st == 200:
            counts.add("decided")
        elif st == 0:
            counts.add("down")
        elif st == 404:
            counts.add("gone")  # the lease went with a killed worker; the item comes back
        else:
            counts.add("http_5xx" if st >= 500 else "http_other",
                       what="decision %d %r" % (st, raw[:200]))


def cmd_associates(argv):
    stats, stopfile, seed = argv[0], argv[1], int(argv[2])
    counts = Counts()
    threads = []
    for i, spec in enumerate(argv[3:]):
        url, token = spec.split("=", 1)
        t = threading.Thread(target=associate, daemon=True,
                             args=(url, token, counts, stopfile, random.Random(seed * 1000 + i)))
        t.start()
        threads.append(t)
    while any(t.is_alive() for t in threads):
        counts.dump(stats)
        for t in threads:
            t.join(timeout=10 / len(threads))
    counts.dump(stats)


def slope_per_hour(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx * 60 if sxx else 0.0


def cmd_report(argv):
    path, warmup = argv[0], int(argv[1])
    rows = []
    with open(path) as f:
        head = f.readline().split()
        for line in f:
            rows.append(dict(zip(head, line.split())))
    steady = [r for r in rows if int(r["minute"]) > warmup]
    ok = True
    if len(steady) < 3:
        print("soak: fewer than 3 minutes after the warm-up: no slope (run longer)")
        return 1
    xs = [int(r["minute"]) for r in steady]
    # The verdict is on a's anonymous memory (heap, stacks), which a leak grows; its RSS also
    # counts the shared libraries' file pages it has touched so far, and the broker's holds the
    # mock cluster's recent messages: both printed for the record.
    for who, col, judged, note in (("a", "a_anon_kb", True, " (anonymous: heap, stacks)"),
                                   ("a", "a_heap_kb", False, " (heap in use, modq_heap_inuse_bytes)"),
                                   ("a", "a_rss_kb", False, " (RSS: with shared file pages)"),
                                   ("broker", "broker_rss_kb", False,
                                    " (the mock cluster keeps recent messages)")):
        if col not in steady[0]:
            continue
        ys = [int(r[col]) / 1024 for r in steady]
        s = slope_per_hour(xs, ys)
        verdict = ""
        if judged:
            verdict = "PASS" if abs(s) < 1.0 else "MISS"
            ok &= verdict == "PASS"
        print("memory %-7s %6.1f MB -> %6.1f MB, slope %+7.2f MB/h over minutes %d-%d %s%s" % (
            who, ys[0], ys[-1], s, xs[0], xs[-1], verdict, note))
    fds = [int(r["a_fds"]) for r in steady]
    grew = max(fds[len(fds) // 2:]) - max(fds[:len(fds) // 2])
    fd_ok = grew <= 2
    ok &= fd_ok
    print("open fds a      %d..%d, second half's max %+d against the first's %s" % (
        min(fds), max(fds), grew, "PASS" if fd_ok else "MISS"))
    return 0 if ok else 1


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("associates", "report"):
        sys.exit(__doc__)
    return {"associates": cmd_associates, "report": cmd_report}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main() or 0)
