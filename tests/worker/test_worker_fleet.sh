#!/usr/bin/env bash
# test_worker_fleet.sh: a fleet on one machine behaves as one desk (docs/operations.md,
# "Scaling"). modq-devbroker as its own process, two prepare pods (worker.role prepare) and two
# desk pods (worker.role desk) over a one-partition review topic; 40 people (38 associates, 2
# leads) spread over both desks' addresses, each moving to the other desk when theirs is gone or
# answers 503 standby, as a browser behind the chart's Service would. 1,000 tickets (about 70 %
# for people, each with an image no bank knows; 5 % malformed; the rest matched by a hash bank)
# are put on the queue topics up front by Python's `kafka` package. While people work, the
# active desk is killed with SIGKILL twice and a prepare pod once, at seeded random points, and
# each is started again (the desk as the new standby).
#   - the standby must become the active desk and serve again: the failover time (kill to the
#     standby's /readyz 200) is printed and must stay under 30 s;
#   - every ticket ends with exactly one outcome of the expected kind (e2e_check.py);
#   - no ticket was leased to two people at overlapping times, no person's decision came twice,
#     every escalation was decided by a lead, and no Status a desk returned showed a cap
#     exceeded (fleet_people.py check, from the audit and decisions topics and the people's
#     own observations).
# The seed is printed first; MODQ_TEST_SEED=N replays it.
# Usage: test_worker_fleet.sh MODQ-DEVBROKER MODQ-WORKER MODQ-MEDIA
set -euo pipefail
devbroker=$1 worker=$2 media=$3
. "$(dirname "$0")/test_worker_e2e_lib.sh"
TICKETS=1000
PEOPLE=40
seed=${MODQ_TEST_SEED:-$(($(date +%s) % 100000))}
echo "seed=$seed (replay with MODQ_TEST_SEED=$seed)"
RANDOM=$seed

e2e_require_tools
e2e_media_and_banks
e2e_start_broker --topic modq.review:1
e2e_queue_topics
"$media" synth --out "$tmp/review" --count 800 --size 64x64 --kind shapes --format jpeg \
    --seed "$seed" >/dev/null || fail "modq-media synth (review images)"
timeout 120 "$py" "$here/interop/e2e_produce.py" bulk "$bs" "$tmp" "$tmp/expect.json" \
    --prefix t-fleet- --count "$TICKETS" --seed "$seed" --topics "$queue_topics" --partitions 3 \
    --malformed-pct 5 --review-pct 70 --review-dir "$tmp/review" \
    --review-topics modq.tickets.spam,modq.tickets.nudity,modq.tickets.hate,modq.tickets.self_harm \
    --match "$p0:VERDICT_REMOVE:known-spam" --match "$p2:VERDICT_RESTRICT:restrict-md5" ||
    fail "bulk producer failed"

e2e_worker_env
export MODQ_HTTP_QA_SAMPLE_RATE=0
# The desks' failover waits for the dead member's session to time out.
export MODQ_KAFKA_SESSION_TIMEOUT_MS=6000

e2e_fleet_start prep-1 prepare
e2e_fleet_start prep-2 prepare
e2e_fleet_start desk-1 desk
e2e_fleet_start desk-2 desk
first=$(e2e_fleet_active desk-1 desk-2)
[ -n "$first" ] || fail "no desk became active in 60 s"
for d in desk-1 desk-2; do
    [ "$d" = "$first" ] && continue
    [ "$(e2e_fleet_ready "$d")" = 503 ] || fail "$d is not on standby while $first is active"
done
echo "active desk: $first"

: >"$tmp/people.args"
for i in $(seq 1 "$PEOPLE"); do
    role=$([ "$i" -le 2 ] && echo lead || echo associate)
    tok=$("$worker" token --sub "p$i" --roles "$role" --team fleet --secret "$tmp/jwt.key" \
        --ttl 2h) || fail "token"
    echo "$role=$tok" >>"$tmp/people.args"
done
mapfile -t specs <"$tmp/people.args"
"$py" "$here/interop/fleet_people.py" people "$tmp/people.json" "$tmp/stop" "$seed" \
    "http://127.0.0.1:${port[desk-1]},http://127.0.0.1:${port[desk-2]}" "${specs[@]}" \
    2>"$tmp/people.err" &
people=$!
e2e_pids+=("$people")

: >"$tmp/kills.tsv"
worst=0
during=0
kill_desk() { # kills the active desk, times the failover, starts it again as the standby
    local d s t0 t1 ms done
    d=$(e2e_fleet_active desk-1 desk-2)
    [ -n "$d" ] || fail "no active desk to kill"
    kill -KILL "${pid[$d]}"
    t0=$(date +%s%3N)
    printf 'worker-%s\t%s\n' "$d" "$t0" >>"$tmp/kills.tsv"
    wait "${pid[$d]}" 2>/dev/null || true
    s=$([ "$d" = desk-1 ] && echo desk-2 || echo desk-1)
    for ((ms = 0; ms < 60000; ms += 100)); do
        [ "$(e2e_fleet_ready "$s")" = 200 ] && break
        sleep 0.1
    done
    t1=$(date +%s%3N)
    [ "$(e2e_fleet_ready "$s")" = 200 ] || fail "$s did not take over within 60 s of killing $d"
    done=$(e2e_progress)
    [ "$done" -lt "$TICKETS" ] && during=$((during + 1))
    echo "killed $d: $s active after $(((t1 - t0) / 1000)).$(printf '%03d' $(((t1 - t0) % 1000))) s" \
        "($done of $TICKETS done)"
    [ $((t1 - t0)) -le "$worst" ] || worst=$((t1 - t0))
    e2e_fleet_start "$d" desk "${port[$d]}"
}
kill_prepare() {
    local p=prep-$((1 + RANDOM % 2))
    kill -KILL "${pid[$p]}"
    wait "${pid[$p]}" 2>/dev/null || true
    echo "killed $p ($(e2e_progress) of $TICKETS done)"
    e2e_fleet_start "$p" prepare
}
sleep "$((2 + RANDOM % 5))"
kill_desk
sleep "$((1 + RANDOM % 3))"
kill_prepare
sleep "$((1 + RANDOM % 4))"
kill_desk
[ "$during" -ge 1 ] || fail "both desk kills came after the work was done: the test tested too little"

e2e_check "$tmp/expect.json" --timeout 240 ||
    fail "after the kills: $(cat "$tmp/check.err" "$tmp/check.out")"
touch "$tmp/stop"
timeout 120 tail --pid="$people" -f /dev/null || fail "the people were still busy after 120 s"
wait "$people" || fail "the people failed: $(tail -n 5 "$tmp/people.err")"
echo "people: $(cat "$tmp/people.json")"
for n in prep-1 prep-2 desk-1 desk-2; do
    e2e_stop_worker "${pid[$n]}" "worker-$n"
done
e2e_check "$tmp/expect.json" --timeout 10 --summary "$tmp/summary.json" ||
    fail "final check: $(cat "$tmp/check.err" "$tmp/check.out")"
timeout 180 "$py" "$here/interop/fleet_people.py" check "$bs" "$tmp" "$tmp/kills.tsv" \
    "$tmp/people.json" || fail "fleet check"
"$py" -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["distinct_tickets"] == int(sys.argv[2]) == s["expected_tickets"], s' \
    "$tmp/summary.json" "$TICKETS" || fail "distinct tickets: $(cat "$tmp/summary.json")"
echo "failover: at most $((worst / 1000)).$(printf '%03d' $((worst % 1000))) s from kill -9 of" \
    "the active desk to the standby's /readyz 200 (target 30 s);" \
    "longest a person went unserved: $("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["max_unserved_s"])' "$tmp/people.json") s"
[ "$worst" -le 30000 ] || fail "failover took $worst ms, over 30 s"
echo "fleet OK: seed $seed: $(cat "$tmp/check.out")"
