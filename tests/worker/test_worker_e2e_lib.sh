# shellcheck shell=bash disable=SC2034,SC2154
# (the caller sets devbroker, worker and media; p0..p4, j3, bs... are for the caller)
# test_worker_e2e_lib.sh: what the modq-worker end-to-end tests (test_worker_e2e*.sh) share;
# sourced, never run. It starts modq-devbroker (optionally with a --control fifo that stays open)
# and modq-worker processes, remembers every pid it started so the EXIT trap kills exactly those,
# and makes the media, hash banks and worker configuration the tests use. Every wait is bounded.
# Needs: devbroker, worker, media (paths) set by the caller; set -euo pipefail in the caller.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
e2e_pids=()      # everything started here, killed by the trap
broker_pid=
ctl_fd=
e2e_cleanup() {
    local p
    [ -n "$ctl_fd" ] && exec {ctl_fd}>&- 2>/dev/null
    for p in "${e2e_pids[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    [ -n "${E2E_KEEP:-}" ] && cp -r "$tmp" "$E2E_KEEP" # debugging: keep the files
    rm -rf "$tmp"
}
trap e2e_cleanup EXIT

# fail MESSAGE: one FAIL line with context (the tails of the logs), then exit 1.
fail() {
    local f
    echo "FAIL: $*" >&2
    for f in "$tmp"/worker*.err; do
        [ -s "$f" ] || continue
        echo "--- tail of $(basename "$f") (without debug lines)" >&2
        grep -v '"level":"debug"' "$f" | tail -n 15 >&2
    done
    [ -s "$tmp/broker.err" ] && tail -n 10 "$tmp/broker.err" | sed 's/^/broker: /' >&2
    [ -s "$tmp/ctl.out" ] && sed 's/^/control reply: /' "$tmp/ctl.out" >&2
    exit 1
}

e2e_require_tools() {
    local tool
    for tool in kcat protoc timeout; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps)"
    done
    "$py" -c 'import kafka, google.protobuf' || fail "python3-kafka or python3-protobuf missing"
    protoc -I "$src/proto" --python_out="$tmp" "$src/proto/modq.proto" || fail "protoc failed"
}

# e2e_hash FILE FIELD: one field of `modq-media hash` JSON.
e2e_hash() {
    "$media" hash "$1" | "$py" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

# Media and banks: three banked images, one per hash type. Sets p0..p4 (PNGs), j3 (a JPEG
# re-encoding of p3, different bytes, near PDQ) and writes $tmp/worker.yaml with the banks:
#   known-spam   remove             SHA-256 of p0
#   restrict-md5 restrict           MD5 of p2
#   csam-hashes  remove_and_report  PDQ of p3 (tickets carry j3)
e2e_media_and_banks() {
    "$media" synth --out "$tmp/png" --count 5 --size 192x192 --kind shapes --format png \
        --seed 41 >/dev/null || fail "modq-media synth png"
    "$media" synth --out "$tmp/jpg" --count 5 --size 192x192 --kind shapes --format jpeg \
        --seed 41 >/dev/null || fail "modq-media synth jpeg"
    p0=$tmp/png/shapes-000.png p1=$tmp/png/shapes-001.png p2=$tmp/png/shapes-002.png
    p3=$tmp/png/shapes-003.png p4=$tmp/png/shapes-004.png j3=$tmp/jpg/shapes-003.jpg
    sha0=$(e2e_hash "$p0" sha256) md5_2=$(e2e_hash "$p2" md5) pdq3=$(e2e_hash "$p3" pdq)
    [ "$(e2e_hash "$j3" sha256)" != "$(e2e_hash "$p3" sha256)" ] || fail "JPEG and PNG equal"
    printf '# e2e\nsha256 %s shapes-000\n' "$sha0" >"$tmp/spam.bank"
    printf 'pdq,%s\n' "$pdq3" >"$tmp/csam.bank"
    printf 'md5 %s\n' "$md5_2" >"$tmp/restrict.bank"
    cat >"$tmp/worker.yaml" <<EOF
banks:
  - name: known-spam
    file: $tmp/spam.bank
    verdict: remove
    labels: [spam]
  - name: csam-hashes
    file: $tmp/csam.bank
    verdict: remove_and_report
    labels: [csam]
  - name: restrict-md5
    file: $tmp/restrict.bank
    verdict: restrict
EOF
}

# e2e_start_broker [--control] [ARG...]: modq-devbroker with the policy's queue topics and the
# output topics, 3 brokers, and any further ARGs (e.g. --topic modq.review:1); sets bs
# (bootstrap). With --control, its stdin is the fifo $tmp/ctl, held open on fd ctl_fd; e2e_ctl
# sends a command and waits for the reply.
e2e_start_broker() {
    local control=
    if [ "${1:-}" = --control ]; then
        control=1
        shift
    fi
    local args=(--brokers 3 --topics-from-policy "$src/policy/default.yaml"
        --topic modq.decisions:3 --topic modq.dead-letter:3 --topic modq.ledgers:3
        --topic modq.audit:3 --topic modq.wellbeing:3 --port-file "$tmp/port" "$@")
    if [ -n "$control" ]; then
        mkfifo "$tmp/ctl"
        "$devbroker" "${args[@]}" --control <"$tmp/ctl" >"$tmp/broker.out" 2>"$tmp/broker.err" &
        broker_pid=$!
        exec {ctl_fd}>"$tmp/ctl"
    else
        "$devbroker" "${args[@]}" </dev/null >"$tmp/broker.out" 2>"$tmp/broker.err" &
        broker_pid=$!
    fi
    e2e_pids+=("$broker_pid")
    for _ in $(seq 100); do
        [ -s "$tmp/port" ] && break
        kill -0 "$broker_pid" 2>/dev/null || fail "modq-devbroker exited early"
        sleep 0.1
    done
    bs=$(cat "$tmp/port" 2>/dev/null) || fail "no port file after 10 s"
}

# e2e_ctl COMMAND...: one control command; fails unless the reply (bounded wait) is "ok...".
e2e_ctl() {
    local before after
    before=$(wc -l <"$tmp/broker.out")
    echo "$*" >&"$ctl_fd"
    for _ in $(seq 100); do
        after=$(wc -l <"$tmp/broker.out")
        [ "$after" -gt "$before" ] && break
        sleep 0.05
    done
    local reply
    reply=$(sed -n "$((before + 1))p" "$tmp/broker.out")
    echo "$* -> ${reply:-<none>}" >>"$tmp/ctl.out"
    [[ "$reply" == ok* ]] || fail "devbroker control '$*' answered '${reply:-nothing in 5 s}'"
}

# The worker's environment: everything but the banks (file-only) comes from MODQ_* variables.
e2e_worker_env() {
    head -c 48 /dev/urandom >"$tmp/jwt.key"
    export MODQ_KAFKA_BOOTSTRAP_SERVERS=$bs
    export MODQ_WORKER_POLICY=$src/policy/default.yaml
    export MODQ_WORKER_GRACE_SECONDS=10
    export MODQ_JWT_HS256_SECRET_FILE=$tmp/jwt.key
    export MODQ_KAFKA_SESSION_TIMEOUT_MS=6000
    export MODQ_KAFKA_HEARTBEAT_INTERVAL_MS=500
    export MODQ_KAFKA_TOPIC_METADATA_REFRESH_INTERVAL_MS=2000
    export MODQ_HTTP_STATIC_DIR=$src/worker/web
    # The worker compresses with lz4 by default; Debian's python3-kafka reads lz4 batches only
    # with python3-lz4. Without it, gzip (which Python reads natively) keeps the checker working.
    "$py" -c 'import lz4' 2>/dev/null || export MODQ_KAFKA_COMPRESSION_TYPE=gzip
}

# e2e_free_port: a loopback port nobody listens on right now (http.listen refuses port 0).
e2e_free_port() {
    "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# e2e_start_worker NAME [PORT]: starts modq-worker with id NAME (on PORT, default a free one),
# logs appended to $tmp/NAME.err; sets last_pid and last_port. Returns once the worker logged
# "started" (at most 60 s), failing if it exited.
declare -A e2e_log_mark # NAME -> log lines before its latest start
e2e_start_worker() {
    touch "$tmp/$1.err"
    e2e_log_mark[$1]=$(wc -l <"$tmp/$1.err")
    last_port=${2:-$(e2e_free_port)}
    MODQ_WORKER_ID=$1 MODQ_HTTP_LISTEN=127.0.0.1:$last_port \
        "$worker" --config "$tmp/worker.yaml" >>"$tmp/$1.out" 2>>"$tmp/$1.err" </dev/null &
    last_pid=$!
    e2e_pids+=("$last_pid")
    e2e_wait_log "$1" '"msg":"started"' 60 "$last_pid" || fail "$1 did not start in 60 s"
}

# A fleet's processes by name (worker.role): e2e_fleet_start NAME ROLE [PORT] starts worker-NAME
# in that role and sets pid[NAME] and port[NAME]; e2e_fleet_ready NAME prints the HTTP status of
# its /readyz ("000" when it does not answer within 2 s); e2e_fleet_active NAME... prints the first
# of those desks whose /readyz is 200, waiting up to 60 s for one ("" when none).
declare -A pid port
e2e_fleet_start() {
    MODQ_WORKER_ROLE=$2 e2e_start_worker "worker-$1" "${3:-}"
    pid[$1]=$last_pid port[$1]=$last_port
}
e2e_fleet_ready() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${port[$1]}/readyz"
}
e2e_fleet_active() {
    local d i
    for ((i = 0; i < 600; i++)); do
        for d in "$@"; do
            kill -0 "${pid[$d]}" 2>/dev/null && [ "$(e2e_fleet_ready "$d")" = 200 ] && {
                echo "$d"
                return 0
            }
        done
        sleep 0.1
    done
    echo ""
}

# e2e_wait_log NAME REGEX SECONDS [PID]: waits until NAME's log, since its latest start, has a
# line matching REGEX (grep -E); 1 on timeout. With PID, fails at once if that process is gone.
e2e_wait_log() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        # No grep -q in a pipe: it would stop reading, and under pipefail the writer's SIGPIPE
        # would turn a match into a failure.
        grep -nE "$2" "$tmp/$1.err" | awk -F: -v m="${e2e_log_mark[$1]}" \
            '$1 > m { found = 1 } END { exit !found }' && return 0
        if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
            fail "$1 exited while waiting for /$2/ in its log"
        fi
        sleep 0.1
    done
    return 1
}

# e2e_stop_worker PID NAME: SIGTERM, at most 40 s to exit, exit status 0 and a "drained" line.
e2e_stop_worker() {
    local rc=0
    kill -0 "$1" 2>/dev/null || fail "$2 died before it was stopped"
    kill -TERM "$1"
    if ! timeout 40 tail --pid="$1" -f /dev/null; then
        # Where it hangs, for the report: every thread's stack (gdb, when installed).
        if command -v gdb >/dev/null; then
            timeout 60 gdb -p "$1" -batch -ex 'thread apply all bt' >"$tmp/$2.stacks" 2>&1 || true
            echo "--- $2 threads (gdb)" >&2
            grep -E '^(Thread|#)' "$tmp/$2.stacks" | grep -vE ' in (__GI_|__futex|futex_)' |
                head -n 80 >&2 || true
        fi
        fail "$2 still running 40 s after SIGTERM"
    fi
    wait "$1" || rc=$?
    [ "$rc" -eq 0 ] || fail "$2 exited $rc after SIGTERM"
    grep -q '"msg":"drained"' "$tmp/$2.err" || fail "$2: no 'drained' log line"
}

# e2e_check EXPECT [checker options]: the Python checker; its output in $tmp/check.out/.err.
e2e_check() {
    local expect=$1
    shift
    timeout 300 "$py" "$here/interop/e2e_check.py" "$bs" "$tmp" "$expect" "$@" \
        >"$tmp/check.out" 2>"$tmp/check.err"
}

# e2e_queue_topics: the queue topics of policy/default.yaml, comma-separated, into queue_topics.
e2e_queue_topics() {
    queue_topics=$("$py" -c '
import re, sys
print(",".join(re.findall(r"^\s+topic:\s*(\S+)", open(sys.argv[1]).read(), re.M)))' \
        "$src/policy/default.yaml")
    [ -n "$queue_topics" ] || fail "no queue topics found in policy/default.yaml"
}

# e2e_bulk PREFIX COUNT SEED: COUNT tickets (ids PREFIX00000..) over every queue partition, 90 %
# matching the three banks of e2e_media_and_banks, 10 % malformed; expectations added to
# $tmp/expect.json.
e2e_bulk() {
    timeout 120 "$py" "$here/interop/e2e_produce.py" bulk "$bs" "$tmp" "$tmp/expect.json" \
        --prefix "$1" --count "$2" --seed "$3" --topics "$queue_topics" --partitions 3 \
        --malformed-pct 10 --match "$p0:VERDICT_REMOVE:known-spam" \
        --match "$j3:VERDICT_REMOVE_AND_REPORT:csam-hashes" \
        --match "$p2:VERDICT_RESTRICT:restrict-md5" || fail "bulk producer failed"
}

# e2e_progress: how many expected tickets have an outcome now (reads to the current end).
e2e_progress() {
    local line
    line=$(timeout 60 "$py" "$here/interop/e2e_check.py" "$bs" "$tmp" "$tmp/expect.json" \
        --progress 2>"$tmp/progress.err") ||
        fail "progress check failed: $(cat "$tmp/progress.err")"
    line=${line#done }
    echo "${line%% *}"
}

# e2e_wait_progress N SECONDS: waits until at least N tickets have an outcome.
e2e_wait_progress() {
    local end=$((SECONDS + $2))
    while [ "$(e2e_progress)" -lt "$1" ]; do
        [ "$SECONDS" -lt "$end" ] || fail "fewer than $1 outcomes after $2 s"
        sleep 0.3
    done
}

# The assignment line librdkafka's cgrp debug context writes (MODQ_KAFKA_DEBUG=cgrp with
# MODQ_LOG_LEVEL=debug): the worker logs no assignment of its own.
e2e_assigned='modq-worker\\": delegating incremental assign of [1-9]'
e2e_revoked='modq-worker\\": delegating incremental revoke of [1-9]'
