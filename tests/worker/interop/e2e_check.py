"""e2e_check.py: the checker role of the worker's end-to-end tests (tests/worker/test_worker_e2e*.sh).

Reads the whole decisions and dead-letter topics with a client we did not write (Debian's
python3-kafka, no consumer group: every partition from the beginning) and compares what the
worker published with what e2e_produce.py said must happen, ticket by ticket. Decisions are
decoded with protoc-generated classes; a decision's ticket is its ticket_id (and header
modq-ticket, which must agree), a dead letter's ticket is its Kafka key (the original key, which
the worker must keep, like the original bytes).

Usage (run with /usr/bin/python3):
  e2e_check.py BOOTSTRAP PB_DIR EXPECT.json [--decisions T] [--dead-letter T] [--timeout S]
               [--quiet S] [--strict | --strict-decisions] [--retry-copies] [--progress]
               [--committed GROUP:TOPIC,TOPIC.. [--committed-wait S]]
               [--summary FILE]
EXPECT.json maps ticket id -> expectation:
  {"outcome": "decision", "verdict": N, "decided_by": B, "decision_source": NAME,
   "content_id": C, "auto_decided": true, "prior_ticket_id": P, "matched_hash": H, "queue": Q}
      (every field but outcome optional: only given ones are compared; a list: any of them)
  {"outcome": "dead_letter", "code": CODE, "value_sha256": X, "source_topic": T,
   "source_partition": P, "source_offset": O}
  {"outcome": "none"}     nothing may be published for this ticket
  {"outcome": "seeded"}   the test itself put exactly one decision for it on the decisions topic
Checks, always: every ticket ends with exactly one outcome KIND (never both decided and
dead-lettered); copies of a decision carry the same verdict; nothing is published for a ticket
not in EXPECT.json; dead letters keep the original bytes (sha256) and key and carry modq-error
(the stable code), a non-empty one-line modq-reason and the source headers. --strict: exactly
one message per ticket (no duplicates at all); --strict-decisions: no duplicate decision, while a
dead letter may come again as an identical copy (same code, bytes and source offset: a redelivered
message is dead-lettered again); without either, duplicates are counted and reported.
--retry-copies: a record stored again by the broker when the producer resent its batch (the same
partition, key, value, headers and CreateTime, which the producer set once) counts once, and the
copies are listed in the summary (retry_copies, retry_copy_partitions). A real broker drops such a
resend (the idempotent producer's sequence numbers); librdkafka's mock cluster does not check them
and stores it again when the first answer was lost (a broker taken down with a Produce in flight).
A message the worker published again is a new record with its own CreateTime: still a duplicate.
Waits up to --timeout seconds for every expected outcome, then reads on for --quiet seconds so a
late duplicate or an outcome that must not exist is seen. --progress: read to the current end,
print "done N of M" and exit 0 (for the kill loop). --committed: the group's committed offsets
on those topics must equal their end offsets (--committed-wait: within S seconds, asked again
every half second, for a group whose last member is still working). The summary line (JSON, also --summary FILE)
counts records, distinct tickets, duplicates (by kind), outcome kinds and records per
modq-worker header. Exit 0 all good, 1 with FAIL lines on stderr.
"""
import hashlib
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition

API_VERSION = (2, 3, 0)
MAX_FAIL_LINES = 25


def parse_args(argv):
    o = {"decisions": "modq.decisions", "dead_letter": "modq.dead-letter", "timeout": 60.0,
         "quiet": 0.0, "strict": False, "strict_decisions": False, "retry_copies": False,
         "progress": False,
         "committed": None, "committed_wait": 0.0, "summary": None}
    o["bootstrap"], o["pb_dir"], o["expect"] = argv[0], argv[1], argv[2]
    i = 3
    while i < len(argv):
        a = argv[i]
        if a in ("--strict", "--strict-decisions", "--retry-copies", "--progress"):
            o[a[2:].replace("-", "_")] = True
            i += 1
            continue
        v = argv[i + 1]
        if a in ("--timeout", "--quiet", "--committed-wait"):
            o[a[2:].replace("-", "_")] = float(v)
        elif a in ("--decisions", "--committed", "--summary"):
            o[a[2:]] = v
        elif a == "--dead-letter":
            o["dead_letter"] = v
        else:
            raise SystemExit("e2e_check.py: unknown option " + a)
        i += 2
    return o


def partitions(consumer, topic, deadline):
    while True:
        ps = consumer.partitions_for_topic(topic)
        if ps:
            return sorted(ps)
        if time.time() > deadline:
            raise SystemExit("FAIL: topic %s has no partitions (not created?)" % topic)
        time.sleep(0.2)


class Reader:
    """Reads both output topics from the beginning; keeps every record, by ticket id."""

    def __init__(self, o, pb):
        self.o, self.pb = o, pb
        self.c = KafkaConsumer(bootstrap_servers=o["bootstrap"].split(","),
                               api_version=API_VERSION, enable_auto_commit=False,
                               auto_offset_reset="earliest", request_timeout_ms=30000,
                               fetch_max_wait_ms=100, max_partition_fetch_bytes=8 << 20)
        deadline = time.time() + 30
        self.tps = [TopicPartition(t, p) for t in (o["decisions"], o["dead_letter"])
                    for p in partitions(self.c, t, deadline)]
        self.c.assign(self.tps)
        self.c.seek_to_beginning(*self.tps)
        self.by_ticket = {}  # ticket id -> [record dicts]
        self.problems = []
        self.count = 0

    def poll(self, timeout_ms):
        for tp, records in self.c.poll(timeout_ms=timeout_ms, max_records=2000).items():
            for r in records:
                self.count += 1
                self.add(tp.topic, r)

    def ends(self):
        """The end offsets now (one request: asked in a loop, each would wait for a fetch)."""
        return self.c.end_offsets(self.tps)

    def at(self, ends):
        return all(self.c.position(tp) >= ends[tp] for tp in self.tps)

    def add(self, topic, r):
        h = {k: v.decode("utf-8", "replace") for k, v in (r.headers or [])}
        where = "%s[%d]@%d" % (topic, r.partition, r.offset)
        # What a resent batch repeats exactly (see --retry-copies).
        same = (topic, r.partition, r.timestamp_type, r.timestamp, r.key, r.value,
                tuple(r.headers or []))
        if topic == self.o["decisions"]:
            d = self.pb.Decision()
            try:
                d.ParseFromString(r.value)
            except Exception as e:  # noqa: BLE001 - any decode failure is a finding
                self.problems.append("%s: decision does not decode: %s" % (where, e))
                return
            rec = {"kind": "decision", "where": where + " by %s" % h.get("modq-worker"), "d": d,
                   "key": r.key, "headers": h, "same": same}
            tid = d.ticket_id
        else:
            rec = {"kind": "dead_letter", "where": where, "value": r.value, "key": r.key,
                   "headers": h, "same": same}
            rec["where"] += " by %s from %s[%s]@%s" % (
                h.get("modq-worker"), h.get("modq-source-topic"), h.get("modq-source-partition"),
                h.get("modq-source-offset"))
            tid = (r.key or b"").decode("utf-8", "replace")
        self.by_ticket.setdefault(tid, []).append(rec)


def check_decision(tid, exp, rec, pb, fails):
    d, h, where = rec["d"], rec["headers"], rec["where"]
    got = {"verdict": d.verdict, "decided_by": d.decided_by, "content_id": d.content_id,
           "auto_decided": d.auto_decided, "prior_ticket_id": d.prior_ticket_id,
           "matched_hash": d.matched_hash, "queue": d.queue,
           "decision_source": pb.DecisionSource.Name(d.decision_source)}
    for k, v in got.items():
        # A list: any of these (decided_by of bulk media: its bank, or the earlier decision on
        # the same bytes, which preparation finds by SHA-256 before any decode).
        want = exp.get(k)
        if k in exp and (v not in want if isinstance(want, list) else want != v):
            fails.append("%s: %s: %s is %r, want %r" % (tid, where, k, v, want))
    if exp.get("outcome") == "seeded":
        return
    if rec["key"] != d.content_id.encode():
        fails.append("%s: %s: key %r is not the content id %r" % (tid, where, rec["key"],
                                                                   d.content_id))
    if h.get("modq-ticket") != tid:
        fails.append("%s: %s: header modq-ticket %r" % (tid, where, h.get("modq-ticket")))
    if not h.get("modq-worker"):
        fails.append("%s: %s: no modq-worker header" % (tid, where))
    if d.auto_decided and d.max_reveal_level != -1:
        fails.append("%s: %s: auto decision with max_reveal_level %d (nobody saw it: -1)"
                     % (tid, where, d.max_reveal_level))
    if d.auto_decided and not (d.hashes.sha256 and d.decided_at_ms > 0):
        fails.append("%s: %s: auto decision without hashes or time" % (tid, where))


def check_dead_letter(tid, exp, rec, fails):
    h, where = rec["headers"], rec["where"]
    if "code" in exp and h.get("modq-error") != exp["code"]:
        fails.append("%s: %s: modq-error %r, want %r (modq-reason %r)"
                     % (tid, where, h.get("modq-error"), exp["code"], h.get("modq-reason")))
    reason = h.get("modq-reason", "")
    if not reason or "\n" in reason:
        fails.append("%s: %s: modq-reason %r is not one non-empty line" % (tid, where, reason))
    if "value_sha256" in exp and hashlib.sha256(rec["value"] or b"").hexdigest() != \
            exp["value_sha256"]:
        fails.append("%s: %s: original bytes changed (%d bytes now)"
                     % (tid, where, len(rec["value"] or b"")))
    for k, hk in (("source_topic", "modq-source-topic"),
                  ("source_partition", "modq-source-partition"),
                  ("source_offset", "modq-source-offset")):
        if k in exp and h.get(hk) != str(exp[k]):
            fails.append("%s: %s: %s %r, want %r" % (tid, where, hk, h.get(hk), exp[k]))
    if not h.get("modq-worker"):
        fails.append("%s: %s: no modq-worker header" % (tid, where))


def drop_retry_copies(recs, copies):
    """recs without the records that repeat an earlier one exactly (see --retry-copies); their
    places are added to copies."""
    kept, seen = [], set()
    for r in recs:
        if r["same"] in seen:
            copies.append(r["where"])
        else:
            seen.add(r["same"])
            kept.append(r)
    return kept


def evaluate(reader, expect, strict, strict_decisions, retry_copies, pb):
    fails = list(reader.problems)
    dups = 0
    dups_by_kind = {}
    kinds = {}
    copies = []
    for tid, recs in sorted(reader.by_ticket.items()):
        if retry_copies:
            recs = drop_retry_copies(recs, copies)
        exp = expect.get(tid)
        if exp is None:
            fails.append("%s: published but not expected: %s" % (
                tid, ", ".join("%s %s" % (r["kind"], r["where"]) for r in recs)))
            continue
        want = exp["outcome"]
        got_kinds = sorted({r["kind"] for r in recs})
        if want == "none":
            fails.append("%s: must have no outcome, got %s" % (
                tid, ", ".join("%s %s" % (r["kind"], r["where"]) for r in recs)))
            continue
        want_kind = "decision" if want == "seeded" else want
        if got_kinds != [want_kind]:
            fails.append("%s: outcome kinds %s, want only %s (%s)" % (
                tid, got_kinds, want_kind, ", ".join(r["where"] for r in recs)))
            continue
        if len(recs) > 1:
            if want == "seeded" or strict or (strict_decisions and want_kind == "decision"):
                fails.append("%s: %d outcomes, want exactly 1: %s" % (
                    tid, len(recs), ", ".join(r["where"] for r in recs)))
            dups += len(recs) - 1
            dups_by_kind[want_kind] = dups_by_kind.get(want_kind, 0) + len(recs) - 1
            if want_kind == "decision" and len({r["d"].verdict for r in recs}) != 1:
                fails.append("%s: duplicate decisions disagree on the verdict: %s" % (
                    tid, [(r["where"], r["d"].verdict) for r in recs]))
        kinds[want_kind] = kinds.get(want_kind, 0) + 1
        for r in recs:
            if want_kind == "decision":
                check_decision(tid, exp, r, pb, fails)
            else:
                check_dead_letter(tid, exp, r, fails)
    missing = [t for t, e in expect.items()
               if e["outcome"] not in ("none",) and t not in reader.by_ticket]
    for t in sorted(missing)[:10]:
        fails.append("%s: no outcome (want %s)" % (t, json.dumps(expect[t], sort_keys=True)))
    if len(missing) > 10:
        fails.append("... and %d more tickets without an outcome" % (len(missing) - 10))
    distinct = len([t for t in reader.by_ticket if t in expect])
    workers = {}
    for recs in reader.by_ticket.values():
        for r in recs:
            w = r["headers"].get("modq-worker", "")
            if w:
                workers[w] = workers.get(w, 0) + 1
    return fails, {"workers": workers, "records": reader.count, "distinct_tickets": distinct,
                   "expected_tickets": len([e for e in expect.values()
                                            if e["outcome"] != "none"]),
                   "duplicates": dups, "duplicates_by_kind": dups_by_kind, "kinds": kinds,
                   "missing": len(missing), "retry_copies": len(copies),
                   "retry_copy_partitions": sorted({w.split("@")[0] for w in copies})}


def check_committed(o, spec):
    group, topics = spec.split(":", 1)
    c = KafkaConsumer(bootstrap_servers=o["bootstrap"].split(","), api_version=API_VERSION,
                      group_id=group, enable_auto_commit=False, request_timeout_ms=30000)
    deadline = time.time() + 30
    tps = [TopicPartition(t, p) for t in topics.split(",") for p in partitions(c, t, deadline)]
    ends = c.end_offsets(tps)
    wait_end = time.time() + o["committed_wait"]
    while True:
        fails = []
        for tp in tps:
            got = c.committed(tp)
            if ends[tp] > 0 and got != ends[tp]:
                fails.append("group %s: committed offset of %s[%d] is %s, end is %d"
                             % (group, tp.topic, tp.partition, got, ends[tp]))
        if not fails or time.time() >= wait_end:
            break
        time.sleep(0.5)
    c.close()
    return fails


def main():
    o = parse_args(sys.argv[1:])
    sys.path.insert(0, o["pb_dir"])
    import modq_pb2 as pb  # generated by the caller with protoc --python_out
    with open(o["expect"]) as f:
        expect = json.load(f)
    reader = Reader(o, pb)
    want = {t for t, e in expect.items() if e["outcome"] != "none"}
    if o["progress"]:
        deadline = time.time() + 30
        ends = reader.ends()
        while not reader.at(ends) and time.time() < deadline:
            reader.poll(200)
        print("done %d of %d" % (len(want & set(reader.by_ticket)), len(want)))
        return 0
    deadline = time.time() + o["timeout"]
    while time.time() < deadline and not want <= set(reader.by_ticket):
        reader.poll(200)
    quiet_end = time.time() + o["quiet"]
    while time.time() < quiet_end:
        reader.poll(200)
    end_deadline = time.time() + 60
    ends = reader.ends()
    while not reader.at(ends):
        if time.time() > end_deadline:
            reader.problems.append("could not read the output topics to their end (%s) in 60 s"
                                   % ends)
            break
        reader.poll(200)
    fails, summary = evaluate(reader, expect, o["strict"], o["strict_decisions"],
                              o["retry_copies"], pb)
    reader.c.close()
    if o["committed"]:
        fails += check_committed(o, o["committed"])
    print(json.dumps(summary, sort_keys=True))
    if o["summary"]:
        with open(o["summary"], "w") as f:
            json.dump(summary, f, sort_keys=True)
    for line in fails[:MAX_FAIL_LINES]:
        print("FAIL: " + line, file=sys.stderr)
    if len(fails) > MAX_FAIL_LINES:
        print("FAIL: ... %d more" % (len(fails) - MAX_FAIL_LINES), file=sys.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
