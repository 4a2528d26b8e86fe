#!/usr/bin/env bash
# test_worker_interop.sh: modq-devbroker (worker/dev/devbroker.c) serves clients we did not write:
# kcat lists, produces and consumes (with headers); /usr/bin/python3 with the `kafka` package
# produces a protobuf Ticket (classes from proto/modq.proto by protoc), consumes it in a group and
# commits with metadata; kcat hands the Python message to `protoc --decode`. Then the control
# protocol, and a clean exit 0 on SIGTERM. Loopback only; every wait is bounded.
# Usage: test_worker_interop.sh PATH/TO/modq-devbroker
set -euo pipefail
devbroker=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
tmp=$(mktemp -d)
broker_pid=
cleanup() {
    if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
        kill -KILL "$broker_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -s "$tmp/broker.err" ] && sed 's/^/broker: /' "$tmp/broker.err" >&2
    exit 1
}
# The tools come from scripts/install-deps: missing ones are a broken setup, not a skip.
for tool in kcat protoc timeout; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps)"
done
"$py" -c 'import kafka, google.protobuf' || fail "python3-kafka or python3-protobuf missing"

# Start the broker; wait (bounded) for the port file and the first stdout line.
"$devbroker" --brokers 3 --topic modq.tickets.spam:3 --topic interop.kcat:2:2 \
    --topics-from-policy "$src/policy/default.yaml" --partitions 4 --port-file "$tmp/port" \
    >"$tmp/broker.out" 2>"$tmp/broker.err" </dev/null &
broker_pid=$!
for _ in $(seq 100); do
    [ -s "$tmp/port" ] && [ -s "$tmp/broker.out" ] && break
    kill -0 "$broker_pid" 2>/dev/null || fail "modq-devbroker exited early"
    sleep 0.1
done
bs=$(cat "$tmp/port" 2>/dev/null) || fail "no port file after 10 s"
[ "$(head -n 1 "$tmp/broker.out")" = "$bs" ] || fail "stdout line 1 is not the bootstrap $bs"
[[ "$bs" =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] ||
    fail "bootstrap '$bs' is not three loopback brokers"

# kcat -L: three brokers and the topics with their partition counts (the policy's queue topics get
# --partitions; one it shares with --topic keeps the --topic count).
timeout 30 kcat -b "$bs" -L >"$tmp/list" || fail "kcat -L failed"
grep -q '^ 3 brokers:' "$tmp/list" || fail "kcat -L: $(cat "$tmp/list")"
grep -q 'topic "modq.tickets.spam" with 3 partitions' "$tmp/list" || fail "kcat -L: no tickets"
grep -q 'topic "interop.kcat" with 2 partitions' "$tmp/list" || fail "kcat -L: no interop.kcat"
grep -q 'topic "modq.tickets.csam" with 4 partitions' "$tmp/list" || fail "kcat -L: no policy topic"

# kcat produce with key and headers, then consume them back.
printf 'key1:value one\n' | timeout 30 kcat -b "$bs" -P -t interop.kcat -p 1 -K: \
    -H trace_id=tr-1 -H source=kcat || fail "kcat -P failed"
got=$(timeout 30 kcat -b "$bs" -C -t interop.kcat -p 1 -o beginning -c 1 -e -q \
    -f '%k|%s|%h|%p|%o\n') || fail "kcat -C failed"
[ "$got" = "key1|value one|trace_id=tr-1,source=kcat|1|0" ] || fail "kcat -C read '$got'"

# Python: protobuf Ticket produce, group consume, commit with metadata, read kcat's message.
protoc -I "$src/proto" --python_out="$tmp" "$src/proto/modq.proto" || fail "protoc failed"
timeout 120 "$py" "$here/interop/kafka_roundtrip.py" "$bs" "$tmp" >"$tmp/py.json" ||
    fail "python round trip failed"
"$py" -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["offset"] == 0, o' \
    "$tmp/py.json" || fail "python output: $(cat "$tmp/py.json")"

# kcat reads the Python-produced Ticket; protoc decodes the bytes as modq.v1.Ticket.
timeout 30 kcat -b "$bs" -C -t modq.tickets.spam -p 2 -o beginning -c 1 -e -q -f '%s' \
    >"$tmp/ticket.bin" || fail "kcat -C of the Python ticket failed"
protoc -I "$src/proto" --decode=modq.v1.Ticket "$src/proto/modq.proto" <"$tmp/ticket.bin" \
    >"$tmp/ticket.txt" || fail "protoc --decode failed"
grep -q 'ticket_id: "t-interop-1"' "$tmp/ticket.txt" || fail "decoded: $(cat "$tmp/ticket.txt")"
grep -q 'locale: "de-DE"' "$tmp/ticket.txt" || fail "decoded: $(cat "$tmp/ticket.txt")"

# SIGTERM: the broker destroys the cluster, removes its port file and exits 0.
kill -TERM "$broker_pid"
for _ in $(seq 100); do
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$broker_pid" 2>/dev/null && fail "modq-devbroker still running 10 s after SIGTERM"
rc=0
wait "$broker_pid" || rc=$?
broker_pid=
[ "$rc" -eq 0 ] || fail "modq-devbroker exited $rc after SIGTERM"
[ ! -e "$tmp/port" ] || fail "port file left behind"

# Control protocol: one reply line per command; end of input quits with exit 0.
printf 'bootstrap\ndown 2\nup 2\ndown 9\nleader interop 0 3\nerror Produce 2 NOT_LEADER_FOR_PARTITION\nerror Produce 2 NO_SUCH_ERROR\nclear Produce\nfrobnicate\n' |
    timeout 30 "$devbroker" --brokers 3 --topic interop:1 --control >"$tmp/ctl.out" \
        2>"$tmp/broker.err" || fail "modq-devbroker --control exited $?"
mapfile -t lines <"$tmp/ctl.out"
[ "${#lines[@]}" -eq 10 ] || fail "control replies: $(cat "$tmp/ctl.out")"
[ "${lines[1]}" = "ok ${lines[0]}" ] || fail "bootstrap reply '${lines[1]}'"
[ "${lines[2]} ${lines[3]}" = "ok ok" ] || fail "down/up replies: ${lines[2]} ${lines[3]}"
[[ "${lines[4]}" == "err no broker 9"* ]] || fail "down 9 reply '${lines[4]}'"
[ "${lines[5]} ${lines[6]}" = "ok ok" ] || fail "leader/error replies: ${lines[5]} ${lines[6]}"
[[ "${lines[7]}" == "err unknown error"* ]] || fail "bad error reply '${lines[7]}'"
[ "${lines[8]}" = ok ] || fail "clear reply '${lines[8]}'"
[[ "${lines[9]}" == "err unknown command"* ]] || fail "unknown command reply '${lines[9]}'"
echo "interop OK"
