#!/usr/bin/env bash
# Tests of policy/main.c (the modq-policy command): `check` on the shipped policy and on bad files,
# `simulate` on a shift trace with the decision of every line asserted, and the error exits.
# Usage: test_policy_cli.sh path/to/modq-policy   (MODQ_SOURCE_DIR must point at the source tree)
set -euo pipefail
bin=$1
src=${MODQ_SOURCE_DIR:?}
data=$src/tests/data/policy
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# expect_exit CODE OUTFILE ERRFILE -- command...
expect_exit() {
    local want=$1 out=$2 err=$3
    shift 4
    local got=0
    "$@" >"$out" 2>"$err" || got=$?
    [[ $got == "$want" ]] || fail "'$*' exited $got, expected $want: $(cat "$err")"
}

# check: the shipped policy is valid and summarised on one line.
expect_exit 0 "$tmp/out" "$tmp/err" -- "$bin" check "$src/policy/default.yaml"
[[ $(wc -l <"$tmp/out") == 1 ]] || fail "check printed more than one line"
grep -q "^$src/policy/default.yaml: ok: version 2026.1-default: 4 tiers, 9 queues, daily cap 240 min" \
    "$tmp/out" || fail "check summary: $(cat "$tmp/out")"

# check: an invalid field is reported as FILE:LINE: field '...': message, exit 2, nothing on stdout.
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" check "$data/bad_daily_cap.yaml"
want="$data/bad_daily_cap.yaml:46: field 'limits.daily_cap_minutes': must be a positive number"
[[ $(cat "$tmp/err") == "$want" ]] || fail "bad policy message: $(cat "$tmp/err")"
[[ ! -s $tmp/out ]] || fail "check wrote to stdout on error"

# check: broken YAML and a missing file are exit 2 with FILE:LINE too.
printf 'version: "x"\nexposure: [1.0\n' >"$tmp/syntax.yaml"
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" check "$tmp/syntax.yaml"
grep -Eq "^$tmp/syntax.yaml:[0-9]+: " "$tmp/err" || fail "syntax error message: $(cat "$tmp/err")"
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" check "$tmp/none.yaml"
grep -q "^$tmp/none.yaml:1: cannot open" "$tmp/err" || fail "missing file: $(cat "$tmp/err")"

# Usage: --help is exit 0 on stdout; wrong arguments are exit 1 with usage on stderr.
expect_exit 0 "$tmp/out" "$tmp/err" -- "$bin" --help
grep -q "modq-policy simulate --policy FILE --trace TRACE" "$tmp/out" || fail "--help text"
expect_exit 1 "$tmp/out" "$tmp/err" -- "$bin"
expect_exit 1 "$tmp/out" "$tmp/err" -- "$bin" simulate --policy "$src/policy/default.yaml"
expect_exit 1 "$tmp/out" "$tmp/err" -- "$bin" frobnicate x

# simulate: one JSON line per request (blank lines skipped), each decision asserted.
expect_exit 0 "$tmp/sim" "$tmp/err" -- "$bin" simulate --policy "$src/policy/default.yaml" \
    --trace "$data/shift.jsonl"
python3 - "$tmp/sim" <<'PY' || fail "simulate decisions"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
def want(i, **kw):
    got = lines[i]
    for k, v in kw.items():
        if got.get(k) != v:
            sys.exit(f"line {i + 1}: {k} = {got.get(k)!r}, expected {v!r}\n{got}")
assert len(lines) == 21, len(lines)
want(1, op="next", queue="violent_extremism", decision="allow", reason=None,
     until="2026-01-05T09:50:00Z", level=3)
want(2, op="show", decision="allow", shown=True, level=3)
want(3, op="reveal", decision="deny", reason="NEEDS_REASON", until=None)
want(4, op="reveal", decision="deny", reason="COLOUR")
want(5, op="reveal", decision="allow", level=0)
# 1 min at level 3 (weight 0.125) + 1 min clear (1.0), tier 4 (2.0): 0.25 + 2.0
want(6, op="hide", exposure_minutes=2.25, daily_cap_minutes=240.0)
want(7, queue="hate", decision="deny", reason="COOLDOWN", until="2026-01-05T09:05:00Z")
want(8, queue="spam", decision="allow", level=0)
want(9, t="2026-01-05T09:04:59.999Z", decision="deny", reason="COOLDOWN")
want(10, t="2026-01-05T09:05:00Z", queue="hate", decision="allow", shown=True)
want(11, queue="csam", decision="deny", reason="SKILL", until=None)
want(12, queue="escalations", decision="deny", reason="ROLE")
want(13, op="status", warnings=[])
want(14, op="status", warnings=[{"cap": "continuous", "used_minutes": 40.0, "limit_minutes": 50.0}])
want(15, op="hide", t="2026-01-05T09:49:00Z")
# The break is over 10 minutes after the screen went blank at 09:49.
want(16, queue="hate", decision="deny", reason="BREAK_DUE", until="2026-01-05T09:59:00Z")
want(17, op="break_start", decision="deny", reason="ON_BREAK", until="2026-01-05T10:00:00Z")
want(18, op="break_end", decision="allow")
want(19, queue="hate", decision="allow", until="2026-01-05T10:50:00Z")
want(20, t="2026-01-05T17:00:00Z", decision="deny", reason="SHIFT_OVER", until=None)
PY

# simulate: ending and restarting a shift is no break and no rest (the reviewer's bypass trace).
expect_exit 0 "$tmp/sim" "$tmp/err" -- "$bin" simulate --policy "$src/policy/default.yaml" \
    --trace "$data/shift_restart.jsonl"
python3 - "$tmp/sim" <<'PY' || fail "simulate shift restart"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
def want(i, **kw):
    got = lines[i]
    for k, v in kw.items():
        if got.get(k) != v:
            sys.exit(f"line {i + 1}: {k} = {got.get(k)!r}, expected {v!r}\n{got}")
assert len(lines) == 14, len(lines)
want(1, op="show", decision="allow", shown=True, until="2026-01-05T09:50:00Z")
want(3, op="next", decision="deny", reason="BREAK_DUE", until="2026-01-05T09:59:00Z")
rest = "2026-01-05T19:50:00Z"
want(4, op="shift_end", decision="deny", reason="SHIFT_OVER", until=rest)
want(5, op="show", decision="deny", reason="SHIFT_OVER", until=rest, shown=False)
want(6, op="next", decision="deny", reason="SHIFT_OVER", until=rest)
want(7, op="shift_start", decision="deny", reason="SHIFT_OVER", until=rest)
want(8, op="next", decision="deny", reason="SHIFT_OVER", until=rest)
want(9, op="next", decision="deny", reason="SHIFT_OVER", until=rest)
# The shift started at 10:40 began inside the rest: the work period from 09:00 is past its hard
# stop until the shift is ended and a full rest taken.
want(10, op="next", decision="deny", reason="SHIFT_OVER", until=None)
want(11, op="shift_end", decision="deny", reason="SHIFT_OVER", until="2026-01-06T05:50:00Z")
want(12, op="next", decision="deny", reason="SHIFT_OVER", until="2026-01-06T05:50:00Z")
want(13, op="next", decision="allow", until="2026-01-06T06:40:00Z")
PY

# check: extra YAML documents, multi-line values and a tiny cap are errors on one line.
{ cat "$src/policy/default.yaml"; printf -- '---\nlimits: [broken\n'; } >"$tmp/twodoc.yaml"
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" check "$tmp/twodoc.yaml"
grep -q "^$tmp/twodoc.yaml:" "$tmp/err" || fail "second document: $(cat "$tmp/err")"
{ cat "$src/policy/default.yaml"; printf -- '---\nversion: "x"\n'; } >"$tmp/twodoc2.yaml"
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" check "$tmp/twodoc2.yaml"
grep -q "a second YAML document" "$tmp/err" || fail "second valid document: $(cat "$tmp/err")"
sed 's/^  daily_cap_minutes: 240 .*/  daily_cap_minutes: "240\\nsecond line"/' \
    "$src/policy/default.yaml" >"$tmp/nl.yaml"
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" check "$tmp/nl.yaml"
[[ $(wc -l <"$tmp/err") == 1 ]] || fail "multi-line error message: $(cat "$tmp/err")"
grep -q "must be a number, not '240?second line'" "$tmp/err" || fail "escaped value: $(cat "$tmp/err")"
sed 's/^  daily_cap_minutes: 240 .*/  daily_cap_minutes: 0.000001/' \
    "$src/policy/default.yaml" >"$tmp/tiny.yaml"
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" check "$tmp/tiny.yaml"
grep -q "field 'limits.daily_cap_minutes': must be a positive number of at least 1 ms" \
    "$tmp/err" || fail "tiny cap: $(cat "$tmp/err")"

# simulate: a trace whose time goes backwards stops with TRACE:LINE, exit 2.
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" simulate --policy "$src/policy/default.yaml" \
    --trace "$data/backwards.jsonl"
[[ $(cat "$tmp/err") == "$data/backwards.jsonl:3: time goes backwards" ]] ||
    fail "backwards trace: $(cat "$tmp/err")"
[[ $(wc -l <"$tmp/out") == 2 ]] || fail "lines before the error must still be printed"

# simulate: malformed JSON, unknown op, unknown queue, bad time, looser settings.
check_trace_error() {
    printf '%s\n' "$1" >"$tmp/t.jsonl"
    expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" simulate --policy "$src/policy/default.yaml" \
        --trace "$tmp/t.jsonl"
    [[ $(cat "$tmp/err") == "$tmp/t.jsonl:1: $2" ]] || fail "trace '$1': $(cat "$tmp/err")"
}
check_trace_error '{"t":"2026-01-05T09:00:00Z","op":"next"' \
    "not a JSON object: '}' expected near end of file"
check_trace_error '{"t":"2026-01-05T09:00:00Z","op":"dance"}' "unknown op 'dance'"
check_trace_error '{"t":"2026-01-05T09:00:00Z","op":"next","queue":"cats"}' "unknown queue 'cats'"
check_trace_error '{"t":"2026-01-05 09:00","op":"status"}' \
    '"t" must be "YYYY-MM-DDTHH:MM:SS[.fff]Z" or Unix ms'
check_trace_error '{"t":-1,"op":"status"}' \
    '"t" must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z'
check_trace_error '{"t":253402300800000,"op":"status"}' \
    '"t" must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z'
check_trace_error '{"t":"2026-01-05T09:00:00Z","op":"hide"}' \
    "hide: the request does not fit the ledger's state"
check_trace_error '{"t":"2026-01-05T09:00:00Z","op":"settings","daily_cap_minutes":300}' \
    "setting 'daily_cap_minutes': 300 is looser than the policy's 240"

# simulate: a line over the 64 KiB cap is refused rather than buffered without end.
python3 -c 'print("{\"pad\":\"" + "x" * 70000 + "\"}")' >"$tmp/long.jsonl"
expect_exit 2 "$tmp/out" "$tmp/err" -- "$bin" simulate --policy "$src/policy/default.yaml" \
    --trace "$tmp/long.jsonl"
[[ $(cat "$tmp/err") == "$tmp/long.jsonl:1: line longer than 65536 bytes" ]] ||
    fail "long line: $(cat "$tmp/err")"

if ((fails > 0)); then
    echo "$fails check(s) failed" >&2
    exit 1
fi
echo "all modq-policy CLI checks passed"
