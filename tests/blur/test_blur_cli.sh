#!/usr/bin/env bash
# test_blur_cli.sh: modq-media as a user runs it (blur/main.c): JSON per file, renditions
# written all-or-nothing, exit 2 with one stderr line per failed file while the others go on.
# Usage: test_blur_cli.sh PATH/TO/modq-media
set -euo pipefail
media=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3

"$media" synth --out "$tmp/in" --count 2 --size 1500x1000 --format jpeg >/dev/null
good="$tmp/in/shapes-000.jpg"
good2="$tmp/in/shapes-001.jpg"

# hash: one JSON object per line with the documented keys and values checked independently.
"$media" hash "$good" >"$tmp/hash.json"
"$py" - "$tmp/hash.json" "$good" <<'PY'
import hashlib, json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
want = ["file", "sha256", "md5", "pdq", "pdq_quality", "width", "height", "format", "frames"]
assert list(o.keys()) == want, o.keys()
data = open(sys.argv[2], "rb").read()
assert o["sha256"] == hashlib.sha256(data).hexdigest()
assert o["md5"] == hashlib.md5(data).hexdigest()
assert len(o["pdq"]) == 64 and int(o["pdq"], 16) >= 0
assert (o["width"], o["height"], o["format"], o["frames"]) == (1500, 1000, "jpeg", 1)
PY

# render: the four levels land in DIR, listed in the JSON, and nothing else is left there.
"$media" render "$good" --out "$tmp/out" >"$tmp/render.json"
"$py" - "$tmp/render.json" "$tmp/out" <<'PY'
import json, os, sys
o = json.loads(open(sys.argv[1]).read())
files = sorted(os.listdir(sys.argv[2]))
assert files == ["level-%d.webp" % i for i in range(4)], files
assert [r["level"] for r in o["renditions"]] == [0, 1, 2, 3]
for r in o["renditions"]:
    data = open(r["file"], "rb").read()
    assert data[8:12] == b"WEBP" and len(data) == r["bytes"], r
assert (o["display_width"], o["display_height"]) == (1024, 683)
PY

# render options: chosen levels, JPEG, smaller display size.
"$media" render "$good" --out "$tmp/opt" --levels 0,3 --format jpeg --max-size 512 >"$tmp/opt.json"
[ "$(ls "$tmp/opt")" = "$(printf 'level-0.jpg\nlevel-3.jpg')" ] || fail "levels/format: $(ls "$tmp/opt")"
grep -q '"display_width":512' "$tmp/opt.json" || fail "max-size not applied"

# failures: each named once on stderr, others still processed, exit 2, no partial output.
printf '<svg xmlns="http://www.w3.org/2000/svg"/>' >"$tmp/bad.svg"
head -c 3000 "$good" >"$tmp/trunc.jpg"
set +e
"$media" render "$tmp/trunc.jpg" "$good" "$tmp/bad.svg" "$good2" --out "$tmp/multi" \
    >"$tmp/multi.out" 2>"$tmp/multi.err"
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "exit status $rc, want 2"
[ "$(wc -l <"$tmp/multi.err")" -eq 2 ] || fail "stderr: $(cat "$tmp/multi.err")"
grep -q "trunc.jpg: corrupt image" "$tmp/multi.err" || fail "no truncation line"
grep -q "bad.svg: blocked format: svg" "$tmp/multi.err" || fail "no svg line"
[ "$(wc -l <"$tmp/multi.out")" -eq 2 ] || fail "good files not all reported"
[ -z "$(ls -A "$tmp/multi/1-trunc" 2>/dev/null)" ] || fail "partial output for a failed file"
[ -z "$(find "$tmp/multi" -name '*.tmp')" ] || fail "temporary files left"
[ "$(ls "$tmp/multi/4-shapes-001" | wc -l)" -eq 4 ] || fail "second good file not rendered"

# The time limits: Pillow's progressive JPEG (libjpeg's script) has 10 scans, refused over a cap
# of 9; 1500x1000 pixels are not rendered in 1 ms.
"$py" -c 'import sys; from PIL import Image; Image.open(sys.argv[1]).save(sys.argv[2], progressive=True)' \
    "$good" "$tmp/prog.jpg"
set +e
"$media" hash "$tmp/prog.jpg" --max-jpeg-scans 9 >/dev/null 2>"$tmp/scans.err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "scan cap: exit $rc"
grep -q "prog.jpg: too many JPEG scans: more than 9" "$tmp/scans.err" || fail "$(cat "$tmp/scans.err")"
"$media" hash "$tmp/prog.jpg" --max-jpeg-scans 10 >/dev/null || fail "10 scans refused at a cap of 10"
set +e
"$media" render "$good" --out "$tmp/late" --deadline-ms 1 >/dev/null 2>"$tmp/late.err"; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "deadline: exit $rc"
grep -q "shapes-000.jpg: decode timeout: " "$tmp/late.err" || fail "$(cat "$tmp/late.err")"
[ -z "$(ls -A "$tmp/late" 2>/dev/null)" ] || fail "output left by an item past its deadline"

# Same name in two folders: each input keeps its own output folder.
mkdir -p "$tmp/a" "$tmp/b"
cp "$good" "$tmp/a/x.jpg"
cp "$good2" "$tmp/b/x.jpg"
"$media" render "$tmp/a/x.jpg" "$tmp/b/x.jpg" --out "$tmp/same" >/dev/null
cmp -s "$tmp/same/1-x/level-0.webp" "$tmp/same/2-x/level-0.webp" && fail "inputs share a folder"

# A re-run with fewer levels leaves no stale level (above all no clear level 0) behind.
"$media" render "$good" --out "$tmp/rerun" >/dev/null
"$media" render "$good" --out "$tmp/rerun" --levels 3 >/dev/null
[ "$(ls "$tmp/rerun")" = "level-3.webp" ] || fail "stale levels left: $(ls "$tmp/rerun")"
"$media" render "$good" --out "$tmp/rerun" --levels 2,3 --format jpeg >/dev/null
[ "$(ls "$tmp/rerun" | tr '\n' ' ')" = "level-2.jpg level-3.jpg " ] || fail "stale: $(ls "$tmp/rerun")"

# A line of pixels: shrink-on-load must never take a side below one pixel (libvips 8.14 then
# aborts the process on a 0-pixel image: a 2000x1 JPEG at display size 64 asked for shrink 8).
for fmt in jpeg webp; do
  "$py" -c 'import sys; from PIL import Image; Image.new("L", (2000, 1), 128).save(sys.argv[1], sys.argv[2])' \
    "$tmp/line.$fmt" "$fmt"
  "$media" render "$tmp/line.$fmt" --out "$tmp/line-$fmt" --max-size 64 >/dev/null 2>"$tmp/line.err" \
    || fail "a 2000x1 $fmt at --max-size 64: $(tail -n 2 "$tmp/line.err")"
done

# match: banks in the worker's format; every match within the threshold, nearest first, each
# hash checked here against hashlib and modq-media hash.
"$media" synth --out "$tmp/m" --count 3 --size 640x480 --seed 7 >/dev/null
m1="$tmp/m/shapes-000.jpg" m2="$tmp/m/shapes-001.jpg" m3="$tmp/m/shapes-002.jpg"
"$media" hash "$m1" "$m2" "$m3" >"$tmp/m.json"
"$py" - "$tmp/m.json" "$tmp/bank-a.txt" "$tmp/bank-b.txt" <<'PY'
import hashlib, json, sys
h = [json.loads(l) for l in open(sys.argv[1])]
def flip(hexs, n):  # n low bits flipped: distance n
    return "%064x" % (int(hexs, 16) ^ ((1 << n) - 1))
open(sys.argv[2], "w").write("# bank a\nsha256 %s\npdq %s\n" % (h[0]["sha256"], flip(h[1]["pdq"], 5)))
open(sys.argv[3], "w").write("md5,%s\npdq %s  # far: 40 bits\npdq %s\npdq %s\n"
                             % (h[0]["md5"], flip(h[0]["pdq"], 40), h[0]["pdq"], flip(h[1]["pdq"], 3)))
PY
"$media" match --bank "$tmp/bank-a.txt" --bank "$tmp/bank-b.txt" "$m1" "$m2" "$m3" >"$tmp/match.json"
"$py" - "$tmp/match.json" "$tmp/m.json" "$tmp/bank-a.txt" "$tmp/bank-b.txt" "$m1" <<'PY'
import hashlib, json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
h = [json.loads(l) for l in open(sys.argv[2])]
a, b = sys.argv[3], sys.argv[4]
assert len(out) == 3, out
for o, x in zip(out, h):
    assert list(o.keys()) == ["file", "sha256", "pdq", "pdq_quality", "matches"], o.keys()
    assert (o["sha256"], o["pdq"]) == (x["sha256"], x["pdq"]), o
assert out[0]["sha256"] == hashlib.sha256(open(sys.argv[5], "rb").read()).hexdigest()
got = [(m["bank"], m["kind"], m["distance"]) for m in out[0]["matches"]]
assert got == [(a, "sha256", 0), (b, "md5", 0), (b, "pdq", 0)], got
assert out[0]["matches"][1]["hash"] == h[0]["md5"]
got = [(m["bank"], m["kind"], m["distance"]) for m in out[1]["matches"]]
assert got == [(b, "pdq", 3), (a, "pdq", 5)], got
assert out[2]["matches"] == [], out[2]
PY
"$media" match --bank "$tmp/bank-a.txt" --bank "$tmp/bank-b.txt" --pdq-threshold 4 "$m2" \
  | "$py" -c 'import json,sys; m=json.load(sys.stdin)["matches"]; assert [x["distance"] for x in m] == [3], m'
printf 'pdq 12\n' >"$tmp/bank-bad.txt"
set +e
"$media" match --bank "$tmp/bank-bad.txt" "$m1" >/dev/null 2>"$tmp/bank.err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "bank-bad.txt:1: pdq needs 64 hex digits" "$tmp/bank.err" \
  || fail "a broken bank: exit $rc, $(cat "$tmp/bank.err")"

# usage errors
set +e
"$media" match "$m1" >/dev/null 2>&1; [ $? -eq 2 ] || fail "match without a bank"
"$media" hash --bank "$tmp/bank-a.txt" "$m1" >/dev/null 2>&1; [ $? -eq 2 ] || fail "--bank on hash"
"$media" match --bank "$tmp/bank-a.txt" --pdq-threshold 32 "$m1" >/dev/null 2>&1
[ $? -eq 2 ] || fail "threshold 32"
"$media" hash >/dev/null 2>&1; [ $? -eq 2 ] || fail "no files should exit 2"
"$media" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown command should exit 2"
"$media" render "$good" --out "$tmp/x" --levels 7 >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad level"
"$media" synth --out "$tmp/y" --size 99999999999999999999x3 >/dev/null 2>&1; [ $? -eq 2 ] || fail "huge size"
set -e
"$media" --version | grep -q '^modq-media ' || fail "--version"
echo "test_blur_cli: 1 passed, 0 failed"
