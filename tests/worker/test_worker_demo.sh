#!/usr/bin/env bash
# test_worker_demo.sh: `modq-worker --demo` as a new user meets it. The demo prints its lines; kcat
# lists the in-process mock cluster's topics; a reviewer (tests/worker/interop/review_client.py, plain
# HTTP) is refused without a valid token, takes an item, sees it at its default blur with
# no-store, decides it; the decision, the demo bank's automatic decisions and the dead letters of
# the demo's malformed tickets are read back from Kafka with python3-kafka, and /metrics counts the
# bank's decisions. SIGINT then stops the demo with exit 0. Every wait is bounded.
# Usage: test_worker_demo.sh PATH/TO/modq-worker
set -euo pipefail
worker=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -s "$tmp/err" ] && tail -n 30 "$tmp/err" | sed 's/^/worker: /' >&2
    exit 1
}
for tool in kcat protoc timeout; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps)"
done

# From the source tree, as scripts/demo runs it: the shipped policy and page are found there.
(cd "$src" && MODQ_HTTP_LISTEN=127.0.0.1:0 exec "$worker" --demo) >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 300); do
    grep -q '^modq demo: lead token ' "$tmp/out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || fail "the demo exited early"
    sleep 0.2
done
grep -q '^modq demo: lead token ' "$tmp/out" || fail "the demo printed no tokens in 60 s"
bootstrap=$(sed -n 's/^modq demo: kafka bootstrap //p' "$tmp/out")
url=$(sed -n 's/^modq demo: review page //p' "$tmp/out")
assoc=$(sed -n 's/^modq demo: associate token //p' "$tmp/out")
lead=$(sed -n 's/^modq demo: lead token //p' "$tmp/out")
[ -n "$bootstrap" ] && [ -n "$url" ] && [ -n "$assoc" ] && [ -n "$lead" ] ||
    fail "demo lines incomplete: $(cat "$tmp/out")"

# kcat, a client we did not write, sees the cluster and the topics the demo made.
timeout 30 kcat -b "$bootstrap" -L >"$tmp/meta" 2>&1 || fail "kcat -L: $(tail -3 "$tmp/meta")"
for t in modq.decisions modq.dead-letter modq.ledgers modq.tickets.self_harm; do
    grep -q "topic \"$t\"" "$tmp/meta" || fail "kcat does not list $t"
done
grep -q '3 brokers' "$tmp/meta" || fail "kcat does not see 3 brokers"

protoc -I "$src/proto" --python_out="$tmp" "$src/proto/modq.proto" || fail "protoc failed"
timeout 150 "$py" "$here/interop/review_client.py" demo "${url%/}" "$assoc" "$lead" \
    "$bootstrap" "$tmp" || fail "the review flow against the demo"

# The demo bank's decisions are counted as views saved, by bank and by the hash that matched.
curl -s --max-time 10 "${url%/}/metrics" >"$tmp/metrics" || fail "GET /metrics"
for want in 'modq_views_saved_total{source="hash_bank"}' 'modq_bank_matches_total{bank="demo-known"}' \
    'modq_bank_matches_by_hash_total{hash="sha256"}' 'modq_bank_hashes '; do
    n=$(grep -F "$want" "$tmp/metrics" | grep -v "^#" | awk '{print $NF}' | head -1)
    [ -n "$n" ] && [ "${n%.*}" -gt 0 ] || fail "/metrics: $want is '${n:-missing}'"
done
grep -q '^modq_queue_oldest_age_seconds{queue="self_harm"} ' "$tmp/metrics" ||
    fail "/metrics: no modq_queue_oldest_age_seconds for self_harm"

kill -INT "$pid"
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && fail "the demo did not stop within 30 s of SIGINT"
wait "$pid" && rc=0 || rc=$?
pid=
[ "$rc" -eq 0 ] || fail "the demo exited $rc after SIGINT"
grep -q '"msg":"drained"' "$tmp/err" || fail "no drain logged"
echo "ok: demo served, reviewed, published and stopped cleanly"
