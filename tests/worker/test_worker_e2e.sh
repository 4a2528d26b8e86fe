#!/usr/bin/env bash
# test_worker_e2e.sh: modq-worker end to end, through clients we did not write. modq-devbroker
# (3 brokers, the queue topics of policy/default.yaml) carries tickets that Python's `kafka`
# package (and once kcat) produces from protoc-generated classes; a Python checker reads the
# decisions and dead-letter topics and compares them with what must happen:
#   - bank matches (by SHA-256, by MD5, and by PDQ on a JPEG re-encoding of a banked PNG) are
#     decided automatically: auto_decided, decided_by = the bank, the bank's verdict, HASH_BANK,
#     keyed by content id, header modq-ticket;
#   - new tickets carrying bytes a person already decided (a human Decision put on the decisions
#     topic before the worker starts) are decided again as PRIOR_DECISION when the verdict is in
#     decided.auto_verdicts (remove), and go to review when it is not (no_violation);
#   - a ticket whose id the decisions topic already holds (t-human-1 flagged again, with banked
#     bytes) is a duplicate: nothing is published for it;
#   - tickets needing review (images no bank knows) produce nothing;
#   - bytes that are not a Ticket, an unknown queue, an invalid ticket, a PNG claiming
#     50000x50000 and an SVG are dead-lettered with the stable modq-error codes (prepare.h,
#     modq_blur_code), a modq-reason, the source headers, and the original key and bytes intact;
#   - a ticket produced by kcat from a binary file is decided like any other;
#   - after the first outcomes: the same ticket delivered again yields no second decision, and the
#     same bank-matching bytes in a new ticket are decided again (the bank wins over a prior).
# Every ticket must have exactly one outcome (--strict). Then SIGTERM: the worker exits 0.
# Usage: test_worker_e2e.sh MODQ-DEVBROKER MODQ-WORKER MODQ-MEDIA
set -euo pipefail
devbroker=$1 worker=$2 media=$3
. "$(dirname "$0")/test_worker_e2e_lib.sh"
e2e_require_tools
e2e_media_and_banks # p0..p4, j3, worker.yaml with the three banks
"$media" synth --out "$tmp/noise" --count 2 --size 160x160 --kind noise --format png --seed 43 \
    >/dev/null || fail "modq-media synth noise"
"$py" "$here/interop/e2e_produce.py" craft png 50000 50000 "$tmp/huge.png"
"$py" "$here/interop/e2e_produce.py" craft svg "$tmp/image.svg"
# Not a Ticket: 0xff starts no valid protobuf field, whatever random bytes follow.
{ printf '\377\376'; head -c 300 /dev/urandom; } >"$tmp/malformed.bin"
sha1=$(e2e_hash "$p1" sha256) sha4=$(e2e_hash "$p4" sha256)
e2e_start_broker

# Before the worker: the human decisions it must learn from the decisions topic.
now_ms=$(($(date +%s) * 1000))
cat >"$tmp/seed.jsonl" <<EOF
{"key": "c-human-1", "topic": "modq.decisions", "decision": {"ticketId": "t-human-1", "contentId": "c-human-1", "verdict": "VERDICT_REMOVE", "policyLabels": ["spam"], "decidedBy": "associate-7", "hashes": {"sha256": "$sha1"}, "maxRevealLevel": 2, "decidedAtMs": "$now_ms", "decisionSource": "DECISION_SOURCE_HUMAN", "queue": "spam", "category": "spam"}, "expect_id": "t-human-1", "expect": {"outcome": "seeded"}}
{"key": "c-human-2", "topic": "modq.decisions", "decision": {"ticketId": "t-human-2", "contentId": "c-human-2", "verdict": "VERDICT_NO_VIOLATION", "decidedBy": "associate-7", "hashes": {"sha256": "$sha4"}, "maxRevealLevel": 3, "decidedAtMs": "$now_ms", "decisionSource": "DECISION_SOURCE_HUMAN", "queue": "spam", "category": "spam"}, "expect_id": "t-human-2", "expect": {"outcome": "seeded"}}
EOF
timeout 60 "$py" "$here/interop/e2e_produce.py" plan "$bs" "$tmp" "$tmp/seed.jsonl" \
    "$tmp/expect.json" >/dev/null || fail "seeding the decisions topic failed"

e2e_worker_env
e2e_start_worker worker-1
worker_pid=$last_pid

# Phase 1. Tickets: ticket() TID QUEUE [media file] -> a JSON "ticket" object.
ticket() {
    printf '{"ticketId": "%s", "contentId": "c-%s", "queue": "%s", "category": "%s", "traceId": "tr-%s", "priority": 2, "locale": "en-GB"}' \
        "$1" "$1" "$2" "$2" "$1"
}
dec() { # TID VERDICT BANK SOURCE QUEUE [extra JSON members]: a decision expectation
    printf '{"outcome": "decision", "verdict": %s, "decided_by": "%s", "decision_source": "%s", "content_id": "c-%s", "auto_decided": true, "queue": "%s"%s}' \
        "$2" "$3" "$4" "$1" "$5" "${6:-}"
}
prior() { # TID QUEUE [extra]: a PRIOR_DECISION expectation (the verdict of t-human-1: remove)
    dec "$1" 2 prior-decision DECISION_SOURCE_PRIOR_DECISION "$2" "${3:-}"
}
dl() { printf '{"outcome": "dead_letter", "code": "%s"}' "$1"; }
T=modq.tickets
cat >"$tmp/phase1.jsonl" <<EOF
{"key": "t-bank-sha", "topic": "$T.spam", "ticket": $(ticket t-bank-sha spam), "media_file": "$p0", "expect": $(dec t-bank-sha 2 known-spam DECISION_SOURCE_HASH_BANK spam ", \"matched_hash\": \"$sha0\"")}
{"key": "t-bank-pdq", "topic": "$T.csam", "ticket": $(ticket t-bank-pdq csam), "media_file": "$j3", "expect": $(dec t-bank-pdq 4 csam-hashes DECISION_SOURCE_HASH_BANK csam)}
{"key": "t-bank-md5", "topic": "$T.hate", "ticket": $(ticket t-bank-md5 hate), "media_file": "$p2", "expect": $(dec t-bank-md5 3 restrict-md5 DECISION_SOURCE_HASH_BANK hate ", \"matched_hash\": \"$md5_2\"")}
{"key": "t-review-1", "topic": "$T.nudity", "ticket": $(ticket t-review-1 nudity), "media_file": "$tmp/noise/noise-000.png", "expect": {"outcome": "none"}}
{"key": "t-review-2", "topic": "$T.spam", "ticket": $(ticket t-review-2 spam), "media_file": "$tmp/noise/noise-001.png", "expect": {"outcome": "none"}}
{"key": "t-prior-remove", "topic": "$T.spam", "ticket": $(ticket t-prior-remove spam), "media_file": "$p1", "expect": $(prior t-prior-remove spam ", \"prior_ticket_id\": \"t-human-1\", \"matched_hash\": \"$sha1\"")}
{"key": "t-human-1", "topic": "$T.spam", "ticket": $(ticket t-human-1 spam), "media_file": "$p0"}
{"key": "t-prior-noviol", "topic": "$T.spam", "ticket": $(ticket t-prior-noviol spam), "media_file": "$p4", "expect": {"outcome": "none"}}
{"key": "t-dl-malformed", "topic": "$T.spam", "raw_file": "$tmp/malformed.bin", "expect": $(dl malformed_ticket)}
{"key": "t-dl-queue", "topic": "$T.spam", "ticket": $(ticket t-dl-queue no_such_queue), "media_file": "$p0", "expect": $(dl unknown_queue)}
{"key": "t-dl-invalid", "topic": "$T.hate", "ticket": {"ticketId": "t-dl-invalid", "queue": "hate"}, "expect": $(dl invalid_ticket)}
{"key": "t-dl-huge", "topic": "$T.nudity", "ticket": $(ticket t-dl-huge nudity), "media_file": "$tmp/huge.png", "expect": $(dl too_many_pixels)}
{"key": "t-dl-svg", "topic": "$T.nudity", "ticket": $(ticket t-dl-svg nudity), "media_file": "$tmp/image.svg", "expect": $(dl blocked_format)}
{"key": "t-kcat", "topic": "$T.spam", "ticket": $(ticket t-kcat spam), "media_file": "$p0", "write_to": "$tmp/kcat.bin", "expect": $(dec t-kcat 2 known-spam DECISION_SOURCE_HASH_BANK spam)}
EOF
timeout 60 "$py" "$here/interop/e2e_produce.py" plan "$bs" "$tmp" "$tmp/phase1.jsonl" \
    "$tmp/expect.json" >/dev/null || fail "python producer (phase 1) failed"
# kcat sends the whole file as one message, key t-kcat.
timeout 30 kcat -b "$bs" -P -t "$T.spam" -p 1 -k t-kcat "$tmp/kcat.bin" || fail "kcat -P failed"
kill -0 "$worker_pid" 2>/dev/null || fail "modq-worker exited early"

e2e_check "$tmp/expect.json" --strict --timeout 120 ||
    fail "phase 1: $(cat "$tmp/check.err" "$tmp/check.out")"

# Phase 2: the same ticket again (identical message) and the same banked bytes as a new ticket.
cat >"$tmp/phase2.jsonl" <<EOF
{"key": "t-bank-sha", "topic": "$T.spam", "ticket": $(ticket t-bank-sha spam), "media_file": "$p0"}
{"key": "t-bank-pdq", "topic": "$T.csam", "ticket": $(ticket t-bank-pdq csam), "media_file": "$j3"}
{"key": "t-again-sha", "topic": "$T.hate", "ticket": $(ticket t-again-sha hate), "media_file": "$p0", "expect": $(dec t-again-sha 2 known-spam DECISION_SOURCE_HASH_BANK hate)}
{"key": "t-again-prior", "topic": "$T.hate", "ticket": $(ticket t-again-prior hate), "media_file": "$p1", "expect": $(prior t-again-prior hate)}
EOF
timeout 60 "$py" "$here/interop/e2e_produce.py" plan "$bs" "$tmp" "$tmp/phase2.jsonl" \
    "$tmp/expect.json" >/dev/null || fail "python producer (phase 2) failed"
# The quiet period lets a second decision for a redelivered ticket, or one for a review ticket,
# arrive before the verdict.
e2e_check "$tmp/expect.json" --strict --timeout 60 --quiet 5 ||
    fail "phase 2: $(cat "$tmp/check.err" "$tmp/check.out")"

e2e_stop_worker "$worker_pid" worker-1
if grep -F '"level":"error"' "$tmp/worker-1.err" >"$tmp/errors"; then
    fail "modq-worker logged errors: $(head -n 5 "$tmp/errors")"
fi
echo "e2e OK: $(cat "$tmp/check.out")"
