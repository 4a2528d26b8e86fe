#!/usr/bin/env bash
# test_worker_drain.sh: SIGTERM with reviews in flight (the Kubernetes pod stop). Six tickets
# wait for review on a modq-devbroker that outlives the workers. Worker A serves a reviewer
# (tests/worker/interop/review_client.py over plain HTTP, tokens from `modq-worker token`) who decides
# two items and holds a lease on a third, its media fetched; then SIGTERM. A must exit 0 within
# its grace, having handed the lease back and committed. Worker B, restarted on the same group,
# must hand out exactly the four undecided tickets (the leased one included: nothing lost) and
# never the two decided ones (nothing repeated); in the end the decisions topic holds exactly
# one decision per ticket.
# Usage: test_worker_drain.sh modq-worker modq-devbroker modq-media
set -euo pipefail
worker=$1 devbroker=$2 media=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
broker_pid= worker_pid=
cleanup() {
    for p in $worker_pid $broker_pid; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/worker-*.err; do [ -s "$f" ] && tail -n 15 "$f" | sed "s|^|$(basename "$f"): |" >&2; done
    exit 1
}

"$devbroker" --brokers 3 --topics-from-policy "$src/policy/default.yaml" --partitions 2 \
    --port-file "$tmp/port" </dev/null >"$tmp/broker.out" 2>"$tmp/broker.err" &
broker_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
bootstrap=$(cat "$tmp/port")
[ -n "$bootstrap" ] || fail "no broker"

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/secret"
cat >"$tmp/config.yaml" <<YAML
worker:
  policy: $src/policy/default.yaml
  grace_seconds: 10
  window_per_queue: 16
kafka:
  bootstrap.servers: "$bootstrap"
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
http:
  listen: 127.0.0.1:0
  static_dir: $src/worker/web
  qa_sample_rate: 0
jwt:
  hs256_secret_file: $tmp/secret
  issuer: modq-test
  audience: modq
YAML
token=$("$worker" token --sub reviewer-1 --roles associate --team t1 --secret "$tmp/secret" \
    --issuer modq-test --audience modq --ttl 30m) || fail "modq-worker token"

# Six review tickets (synthetic shapes, not in any bank) on the self_harm queue.
protoc -I "$src/proto" --python_out="$tmp" "$src/proto/modq.proto"
"$media" synth --out "$tmp/img" --count 6 --size 320x240 --kind shapes --format jpeg >/dev/null
: >"$tmp/plan.jsonl"
i=0
for f in "$tmp"/img/*; do
    printf '{"key": "c-%d", "topic": "modq.tickets.self_harm", "media_file": "%s", "ticket": {"ticketId": "drain-%d", "contentId": "c-%d", "queue": "self_harm", "category": "self_harm", "createdAtMs": "%d"}}\n' \
        "$i" "$f" "$i" "$i" "$((1700000000000 + i))" >>"$tmp/plan.jsonl"
    i=$((i + 1))
done
timeout 60 "$py" "$here/interop/e2e_produce.py" plan "$bootstrap" "$tmp" "$tmp/plan.jsonl" \
    "$tmp/expect.json" >/dev/null || fail "producing the tickets"

start_worker() { # $1: name
    "$worker" --config "$tmp/config.yaml" >"$tmp/worker-$1.out" 2>"$tmp/worker-$1.err" &
    worker_pid=$!
    port=
    for _ in $(seq 300); do
        port=$(sed -n 's/.*"msg":"review API listening".*"port":"\([0-9]*\)".*/\1/p' \
            "$tmp/worker-$1.err" | head -n1)
        [ -n "$port" ] && break
        kill -0 "$worker_pid" 2>/dev/null || fail "worker $1 exited early"
        sleep 0.2
    done
    [ -n "$port" ] || fail "worker $1 never listened"
    url="http://127.0.0.1:$port"
}

start_worker A
timeout 120 "$py" "$here/interop/review_client.py" take "$url" "$token" "$tmp/a.json" \
    --decide 2 || fail "reviewing on worker A"
t0=$(date +%s%N)
kill -TERM "$worker_pid"
# Once the loop has seen the signal (it turns every 100 ms), new work is refused (503) while the
# drain runs, or the server is already gone.
code=
for _ in $(seq 30); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
        "$url/v1/next" || true)
    case "$code" in 503 | 000) break ;; esac
    sleep 0.1
done
case "$code" in 503 | 000) ;; *) fail "/v1/next 3 s into the drain still answered $code" ;; esac
rc=0
wait "$worker_pid" || rc=$?
worker_pid=
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" -eq 0 ] || fail "worker A exited $rc after SIGTERM"
[ "$ms" -lt 10000 ] || fail "worker A took ${ms} ms, over its 10 s grace"
grep -q '"msg":"drain: leases handed back","items":"1"' "$tmp/worker-A.err" ||
    fail "worker A did not hand back the leased item"
grep -q '"msg":"drained"' "$tmp/worker-A.err" || fail "worker A did not log its drain"

start_worker B
timeout 150 "$py" "$here/interop/review_client.py" drain "$url" "$token" "$tmp/b.json" \
    --quiet 12 || fail "reviewing on worker B"
kill -TERM "$worker_pid"
wait "$worker_pid" || fail "worker B exited non-zero"
worker_pid=

"$py" - "$tmp/a.json" "$tmp/b.json" <<'PY' || fail "tickets lost or repeated across the restart"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
every = {"drain-%d" % i for i in range(6)}
want = every - set(a["decided"])
assert a["leased"] in want, a
assert len(b) == len(set(b)), "B handed out a ticket twice: %r" % b
assert set(b) == want, "B handed out %r, want %r (A decided %r)" % (sorted(b), sorted(want), a["decided"])
print("restart: B handed out exactly the %d undecided tickets, the leased one included" % len(b))
PY
timeout 60 "$py" "$here/interop/review_client.py" count "$bootstrap" "$tmp" modq.decisions \
    >"$tmp/counts" || fail "reading the decisions topic"
[ "$(wc -l <"$tmp/counts")" -eq 6 ] || fail "decisions for $(wc -l <"$tmp/counts") tickets, want 6"
if awk '$2 != 1' "$tmp/counts" | grep -q .; then fail "a ticket decided twice: $(cat "$tmp/counts")"; fi
echo "ok: SIGTERM drained in ${ms} ms, lease handed back, restart lost and repeated nothing"
