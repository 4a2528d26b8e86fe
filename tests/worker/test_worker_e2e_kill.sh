#!/usr/bin/env bash
# test_worker_e2e_kill.sh: the crash test of modq-worker. 1,000 tickets (about 90 % bank matches
# of three banks and verdicts, 10 % malformed: undecodable bytes or an unknown queue) are put on
# all queue topics' partitions up front by Python's `kafka` package. Then modq-worker is started
# and `kill -9`ed a random 0.5-3 s after it got its partitions (librdkafka's cgrp debug lines
# in its log), again and again against the same modq-devbroker (which outlives the workers,
# keeping messages and committed offsets), until every ticket has an outcome or the kill phase's
# time is up (at least 3 kills, at least 2 of them interrupting work in progress); then one last
# worker runs to completion and is stopped with SIGTERM (exit 0). A worker killed between
# publishing and committing must lead to a redelivery, never to a loss, and a redelivery must not
# change the answer. The Python checker
# then reads the whole decisions and dead-letter topics:
#   - every ticket has an outcome, of exactly one kind (never decided AND dead-lettered);
#   - duplicates only as copies (same ticket id, same verdict, both checked per copy);
#   - the expected verdict/bank or dead-letter code, original bytes and key, source headers;
#   - exactly 1,000 distinct ticket ids, none unknown;
#   - the group's committed offsets reached the end of every queue partition.
# Duplicates are expected here: the worker recognises a redelivered ticket whose decision or dead
# letter it can read back from the decisions and dead-letter topics, but one still in flight at
# the kill may be published again. The random sleeps (and the tickets) come from a seed, printed
# first; MODQ_TEST_SEED=N replays it (MODQ_TEST_KILL_PHASE_S sets the kill phase, default 60 s).
# Usage: test_worker_e2e_kill.sh MODQ-DEVBROKER MODQ-WORKER MODQ-MEDIA
set -euo pipefail
devbroker=$1 worker=$2 media=$3
. "$(dirname "$0")/test_worker_e2e_lib.sh"
TICKETS=1000
KILL_PHASE_S=${MODQ_TEST_KILL_PHASE_S:-60} # time for kill cycles; then a clean run finishes
seed=${MODQ_TEST_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed=$seed (replay with MODQ_TEST_SEED=$seed)"
RANDOM=$seed

e2e_require_tools
e2e_media_and_banks
e2e_start_broker
e2e_queue_topics
e2e_bulk t-bulk- "$TICKETS" "$seed"

e2e_worker_env
# Slow the flow down so that 0.5-3 s kills land in the middle of it whatever the build (with the
# default window a plain build decides 1,000 tickets in about 2 s): 4 tickets in flight per
# queue make it about 20 s, ASan or not, as each window refill waits for a fetch.
export MODQ_WORKER_WINDOW_PER_QUEUE=4
# A killed member leaves the group only when its session times out (librdkafka's mock has no
# static-membership replacement), and the next worker waits for that: keep it short.
export MODQ_KAFKA_SESSION_TIMEOUT_MS=3000
export MODQ_KAFKA_DEBUG=cgrp MODQ_LOG_LEVEL=debug # assignments show in the log

start=$SECONDS
kills=0 interrupted=0 before=0
while [ $((SECONDS - start)) -lt "$KILL_PHASE_S" ]; do
    e2e_start_worker worker-k
    pid=$last_pid
    e2e_wait_log worker-k "$e2e_assigned" 60 "$pid" || fail "worker-k got no partitions in 60 s"
    ms=$((500 + RANDOM % 2501))
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    kill -0 "$pid" 2>/dev/null || fail "worker-k died by itself before kill $((kills + 1))"
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    now=$(e2e_progress)
    if [ "$now" -gt "$before" ] && [ "$now" -lt "$TICKETS" ]; then
        interrupted=$((interrupted + 1))
    fi
    echo "kill $kills ${ms} ms after the assignment: $now of $TICKETS done" \
        "(at $((SECONDS - start)) s)"
    before=$now
    [ "$now" -eq "$TICKETS" ] && break
done
if [ "$kills" -lt 3 ] || [ "$interrupted" -lt 2 ]; then
    fail "$kills kills, $interrupted of them during work: the kill phase tested too little"
fi

# The last run: until every ticket has an outcome, then a clean stop.
e2e_start_worker worker-final
pid=$last_pid
e2e_wait_log worker-final "$e2e_assigned" 60 "$pid" || fail "worker-final got no partitions in 60 s"
e2e_check "$tmp/expect.json" --timeout 150 ||
    fail "after $kills kills and a final run: $(cat "$tmp/check.err" "$tmp/check.out")"
e2e_stop_worker "$pid" worker-final
# The whole topics again, now that nothing runs, and the group's commits.
e2e_check "$tmp/expect.json" --timeout 5 \
    --committed "modq-worker:$queue_topics" --summary "$tmp/summary.json" ||
    fail "final check: $(cat "$tmp/check.err" "$tmp/check.out")"
"$py" -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert s["distinct_tickets"] == int(sys.argv[2]) == s["expected_tickets"], s' \
    "$tmp/summary.json" "$TICKETS" || fail "distinct tickets: $(cat "$tmp/summary.json")"
echo "kill OK: seed $seed, $kills kills ($interrupted during work), $((SECONDS - start)) s:" \
    "$(cat "$tmp/check.out")"
