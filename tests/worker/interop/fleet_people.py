"""fleet_people.py: the people and the checker of the fleet test (tests/worker/test_worker_fleet.sh).

  fleet_people.py people STATS STOPFILE SEED DESKS SPEC [SPEC ...]
      One thread per person. DESKS is the desk pods' base URLs, comma-separated; SPEC is
      ROLE=TOKEN with ROLE associate or lead. A person behaves as a browser behind the chart's
      Service would: it talks to one desk, and when that desk cannot be reached or answers 503
      "standby" or "unconfirmed" (a desk Kafka no longer confirms) it tries the next one (a
      Service routes only to the ready, active desk).
      Associates: /v1/next, the item's media, a short look, then a decision (a few escalate with
      a note instead). Leads: the escalation queue, deciding what they take. Every Status the
      desk returns is checked: no cap's used minutes above its limit (a cap is never exceeded,
      whichever desk the person reached). Runs until STOPFILE exists and a round of everyone
      found nothing waiting; writes STATS (JSON) every few seconds and at the end, including
      the longest time any person went without being served after their desk went away.
  fleet_people.py check BOOTSTRAP PB_DIR KILLS.tsv STATS
      Reads the audit and decisions topics (python3-kafka, a client we did not write) and
      proves: no ticket was leased to two people at overlapping times (a lease ends with its
      DECIDED, RELEASED, LEASE_EXPIRED or ESCALATED event, or when the desk that held it was
      killed: KILLS.tsv has WORKER_ID<TAB>UNIX_MS lines); every escalation was decided by a lead
      (a Decision with escalated true), except one made at most IN_FLIGHT_MS before its desk was
      killed, which is counted apart (the desk answers before Kafka has it); every ticket has at
      most one person's Decision. Prints a summary;
      exit 1 on any violation.
Run with /usr/bin/python3.
"""
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import review_client  # noqa: E402

VERDICTS = ("no_violation", "restrict", "remove")
IN_FLIGHT_MS = 5000  # an escalation this close before its desk's kill may not have reached Kafka


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {"decided": 0, "escalated": 0, "lead_decided": 0, "empty": 0, "denied": 0,
                  "standby": 0, "down": 0, "gone": 0, "switched": 0, "paused": 0,
                  "unexpected": 0, "cap_violations": 0}
        self.max_unserved_s = 0.0
        self.bad = []

    def add(self, key, what=None):
        with self.lock:
            self.c[key] += 1
            if what and len(self.bad) < 20:
                self.bad.append(what)

    def unserved(self, seconds):
        with self.lock:
            self.max_unserved_s = max(self.max_unserved_s, seconds)

    def dump(self, path):
        with self.lock:
            out = dict(self.c, max_unserved_s=round(self.max_unserved_s, 2), first_bad=self.bad)
        with open(path + ".tmp", "w") as f:
            json.dump(out, f)
        os.replace(path + ".tmp", path)


def call(url, token, method="GET", body=None):
    """(status, parsed JSON or {}); status 0 when the desk cannot be reached."""
    try:
        st, _, raw = review_client.call(url, method, token, body, timeout=15)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, {}
    try:
        return st, json.loads(raw) if raw[:1] == b"{" else {}
    except ValueError:
        return st, {}


class Person:
    def __init__(self, name, role, token, desks, stats, rng):
        self.name, self.role, self.token = name, role, token
        self.desks, self.stats, self.rng = desks, stats, rng
        self.at = rng.randrange(len(desks))
        self.unserved_since = None

    def base(self):
        return self.desks[self.at]

    def request(self, path, method="GET", body=None):
        """One call to the current desk; a desk that is gone or on standby sends the person to
        the next one (what the Service does for a browser). (status, js); status None when the
        person must try again elsewhere."""
        st, js = call(self.base() + path, self.token, method, body)
        if st == 0 or (st == 503 and js.get("error") in ("standby", "unconfirmed")):
            self.stats.add("down" if st == 0 else "standby")
            if self.unserved_since is None:
                self.unserved_since = time.monotonic()
            self.at = (self.at + 1) % len(self.desks)
            self.stats.add("switched")
            time.sleep(0.2)
            return None, js
        if self.unserved_since is not None and st == 200:
            self.stats.unserved(time.monotonic() - self.unserved_since)
            self.unserved_since = None
        self.check_caps(js.get("status"))
        return st, js

    def check_caps(self, status):
        for cap in (status or {}).get("caps", []):
            if cap.get("used_minutes", 0) > cap.get("limit_minutes", 0) + 1e-6:
                self.stats.add("cap_violations", "%s %r" % (self.name, cap))

    def next_item(self, queue=None):
        st, js = self.request("/v1/next" + ("?queue=" + queue if queue else ""))
        if st is None:
            return None, False
        if st == 423:
            self.stats.add("denied")
            time.sleep(1)
            return None, False
        if st == 503 and js.get("error") == "paused":
            self.stats.add("paused")
            time.sleep(0.5)
            return None, False
        if st != 200:
            self.stats.add("unexpected", "%s next %d %r" % (self.name, st, js))
            time.sleep(0.5)
            return None, False
        return js.get("item"), True

    def finish(self, item, lead):
        tid = urllib.request.quote(item["id"], safe="")
        self.request("/v1/items/%s/media" % tid)
        time.sleep(self.rng.uniform(0.5, 1.5))
        if not lead and self.rng.random() < 0.05:
            st, js = self.request("/v1/items/%s/escalate" % tid, "POST",
                                  {"note": "fleet test: please look"})
            key = "escalated"
        else:
            st, js = self.request("/v1/items/%s/decision" % tid, "POST",
                                  {"verdict": self.rng.choice(VERDICTS), "labels": ["fleet"]})
            key = "lead_decided" if lead else "decided"
        if st == 200:
            self.stats.add(key)
        elif st == 404 or st is None:
            self.stats.add("gone")  # the desk went away with the lease; the item comes back
        else:
            self.stats.add("unexpected", "%s %s %d %r" % (self.name, key, st, js))

    def run(self, stopfile, quiet_rounds):
        lead = self.role == "lead"
        while True:
            item, answered = self.next_item("escalations" if lead else None)
            if item:
                self.finish(item, lead)
                quiet_rounds[self.name] = 0
                continue
            if answered:
                self.stats.add("empty")
                quiet_rounds[self.name] = quiet_rounds.get(self.name, 0) + 1
                if os.path.exists(stopfile) and min(quiet_rounds.values()) >= 3:
                    return
            time.sleep(0.3)


def cmd_people(argv):
    stats_path, stopfile, seed, desks = argv[0], argv[1], int(argv[2]), argv[3].split(",")
    stats = Stats()
    quiet = {}
    threads = []
    for i, spec in enumerate(argv[4:]):
        role, token = spec.split("=", 1)
        p = Person("%s-%d" % (role, i), role, token, desks, stats, random.Random(seed * 1000 + i))
        quiet[p.name] = 0
        t = threading.Thread(target=p.run, args=(stopfile, quiet), daemon=True)
        t.start()
        threads.append(t)
    while any(t.is_alive() for t in threads):
        stats.dump(stats_path)
        for t in threads:
            t.join(timeout=2 / len(threads))
    stats.dump(stats_path)


END_ACTIONS = ("AUDIT_ACTION_DECIDED", "AUDIT_ACTION_RELEASED", "AUDIT_ACTION_LEASE_EXPIRED",
               "AUDIT_ACTION_ESCALATED")


def leases(events, pb, kills):
    """Per ticket: [(actor, start_ms, end_ms, worker)] from the audit events."""
    out, open_ = {}, {}
    for e in sorted(events, key=lambda e: e.at_ms):
        name = pb.AuditAction.Name(e.action)
        key = (e.ticket_id, e.actor)
        if name == "AUDIT_ACTION_LEASED":
            if key not in open_:
                open_[key] = (e.at_ms, e.worker_id)
        elif name in END_ACTIONS and key in open_:
            start, worker = open_.pop(key)
            out.setdefault(e.ticket_id, []).append((e.actor, start, e.at_ms, worker))
    for (tid, actor), (start, worker) in open_.items():
        # Never ended: its desk was killed (the lease went with it), else it is still open.
        ends = [t for w, t in kills if w == worker and t >= start]
        out.setdefault(tid, []).append((actor, start, min(ends) if ends else 2**62, worker))
    return out


def cmd_check(argv):
    bootstrap, pb_dir, kills_path, stats_path = argv
    pb = review_client.decode_pb(pb_dir)
    kills = []
    for line in open(kills_path):
        if line.strip():
            w, t = line.split("\t")
            kills.append((w, int(t)))
    events = []
    for _, value, _ in review_client.read_topic(bootstrap, "modq.audit", timeout=120):
        e = pb.AuditEvent()
        e.ParseFromString(value)
        events.append(e)
    problems = []
    overlaps = 0
    per_ticket = leases(events, pb, kills)
    for tid, ls in per_ticket.items():
        ls.sort(key=lambda x: x[1])
        for a, b in zip(ls, ls[1:]):
            if b[1] < a[2] and a[0] != b[0]:
                overlaps += 1
                if len(problems) < 10:
                    problems.append("ticket %s leased to %s (%s) until %d and to %s (%s) from %d"
                                    % (tid, a[0], a[3], a[2], b[0], b[3], b[1]))
    decisions = review_client.decisions(bootstrap, pb)
    by_ticket = {}
    for d in decisions:
        by_ticket.setdefault(d.ticket_id, []).append(d)
    # A person's decision comes once; an automatic one may come again as a copy when a prepare
    # pod died between publishing it and committing the ticket (e2e_check checks copies).
    twice = [t for t, ds in by_ticket.items() if sum(not d.auto_decided for d in ds) > 1]
    for t in twice[:10]:
        problems.append("ticket %s decided %d times" % (t, len(by_ticket[t])))
    escalations = [e for e in events if pb.AuditAction.Name(e.action) == "AUDIT_ACTION_ESCALATED"]
    escalated = {e.ticket_id for e in escalations}
    by_lead = {t for t, ds in by_ticket.items() if any(d.escalated for d in ds)}
    missed, in_flight = [], []
    for t in sorted(escalated - by_lead):
        # The desk answers an escalation before Kafka has its record (as it does a decision):
        # one made in the last moments before its desk was killed can go with the desk, and the
        # item then comes back to the queue as it was. Counted and printed, not hidden.
        e = max((e for e in escalations if e.ticket_id == t), key=lambda e: e.at_ms)
        if any(w == e.worker_id and 0 <= k - e.at_ms <= IN_FLIGHT_MS for w, k in kills):
            in_flight.append(t)
        else:
            missed.append(t)
    for t in missed[:10]:
        problems.append("escalation of %s never decided by a lead" % t)
    stats = json.load(open(stats_path))
    if stats.get("cap_violations"):
        problems.append("%d statuses showed a cap exceeded: %r" % (stats["cap_violations"],
                                                                  stats.get("first_bad")))
    print("fleet check: %d audit events, %d tickets leased, %d lease overlaps between people, "
          "%d decisions (%d tickets decided more than once), %d escalations (%d not decided by "
          "a lead; %d more lost with their desk, made within %d ms before it was killed), "
          "%d cap violations seen"
          % (len(events), len(per_ticket), overlaps, len(decisions), len(twice), len(escalated),
             len(missed), len(in_flight), IN_FLIGHT_MS, stats.get("cap_violations", 0)))
    if problems:
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "people":
        cmd_people(sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "check":
        cmd_check(sys.argv[2:])
    else:
        raise SystemExit("usage: fleet_people.py people|check ... (see the docstring)")


if __name__ == "__main__":
    main()
