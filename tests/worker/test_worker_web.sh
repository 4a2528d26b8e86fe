#!/usr/bin/env bash
# test_worker_web.sh: the review page (worker/web/) in a real browser against `modq-worker --demo`
# with a short-limit policy (tests/data/worker/web/short-policy.yaml), driven by
# tests/worker/web/review.mjs (playwright-core and the system chromium; axe-core checks each view
# against WCAG 2.x A and AA, tests/worker/web/checks.mjs). First, without a browser, the page's
# JavaScript is linted: ESLint (tests/worker/web/eslint.config.js), Prettier's format
# (tests/worker/web/.prettierrc.json) and no import loops between its modules
# (tests/worker/web/imports.mjs); any finding fails the test. The packages are installed with
# `npm ci` into BUILD/web-test (the only network use; skipped when the lock file has not changed);
# screenshots go to BUILD/web-artifacts. Every wait is bounded; the worker is stopped
# at exit and its stderr tail printed on failure.
# The demo prints associate and lead tokens and its token secret file. For the QA tab and a
# two-role person, this script mints more with `modq-worker token` and that file, with the demo's
# issuer and audience; every decision is copied to QA (http.qa_sample_rate 1).
# Usage: test_worker_web.sh BUILD_DIR   (or MODQ_BUILD_DIR=BUILD_DIR)
set -euo pipefail
build=${1:-${MODQ_BUILD_DIR:-}}
if [ -z "$build" ] || [ ! -d "$build" ]; then
    echo "usage: $0 BUILD_DIR (or MODQ_BUILD_DIR)" >&2
    exit 2
fi
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
worker=$build/modq-worker
chromium=/usr/bin/chromium
webtest=$build/web-test
artifacts=$build/web-artifacts
tmp=$(mktemp -d)
worker_pid=
cleanup() {
    if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
        kill -TERM "$worker_pid" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$worker_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$worker_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    if [ -s "$tmp/worker.err" ]; then
        echo "--- modq-worker stderr (last 40 lines) ---" >&2
        tail -n 40 "$tmp/worker.err" >&2
    fi
    exit 1
}

# Dependencies come from scripts/install-deps: a missing one is a broken setup, not a skip.
[ -x "$worker" ] || fail "$worker is missing: build the modq-worker target first"
[ -x "$chromium" ] || fail "$chromium is missing: it is installed by scripts/install-deps (apt package chromium)"
command -v node >/dev/null || fail "node is missing: it is installed by scripts/install-deps (apt package nodejs)"
command -v npm >/dev/null || fail "npm is missing: it is installed by scripts/install-deps (apt package npm)"

# playwright-core, axe-core, ESLint and Prettier, pinned by tests/worker/web/package-lock.json,
# installed beside the build.
mkdir -p "$webtest" "$artifacts"
rm -f "$artifacts"/*.png
cp "$here/web/package.json" "$here/web/package-lock.json" "$here/web/"*.mjs "$here/web/eslint.config.js" \
    "$here/web/.prettierrc.json" "$webtest/"
lock_sum=$(sha256sum "$here/web/package-lock.json" | cut -d' ' -f1)
if [ ! -d "$webtest/node_modules/playwright-core" ] ||
    [ "$(cat "$webtest/.installed" 2>/dev/null)" != "$lock_sum" ]; then
    timeout 300 npm ci --prefix "$webtest" --no-audit --no-fund --loglevel=error ||
        fail "npm ci of the browser test's packages failed (network?)"
    echo "$lock_sum" >"$webtest/.installed"
fi

# The lint, from the source root (the configs' paths are from there); the page's modules and the
# new test scripts are in Prettier's format, review.mjs and checks.mjs not yet.
# All three run, so that one run names every kind of finding.
bin=$webtest/node_modules/.bin
lint=()
(cd "$src" && "$bin/eslint" --config "$webtest/eslint.config.js" --max-warnings 0 worker/web tests/worker/web) ||
    lint+=("ESLint found problems")
(cd "$src" && "$bin/prettier" --config "$webtest/.prettierrc.json" --check worker/web/*.js \
    tests/worker/web/*.mjs tests/worker/web/eslint.config.js) ||
    lint+=("not in Prettier's format (prettier --write with $webtest/.prettierrc.json)")
node "$here/web/imports.mjs" "$src/worker/web" || lint+=("the page's modules import each other in a loop")
if [ "${#lint[@]}" -gt 0 ]; then
    found=$(printf '%s; ' "${lint[@]}")
    fail "the page's JavaScript: ${found%; } (above)"
fi
echo "test_worker_web: lint clean"

# The demo: a mock Kafka cluster fed with synthetic tickets, the API and the page.
MODQ_HTTP_QA_SAMPLE_RATE=1 \
    MODQ_HTTP_LISTEN=127.0.0.1:0 \
    MODQ_WORKER_POLICY="$src/tests/data/worker/web/short-policy.yaml" \
    MODQ_HTTP_STATIC_DIR="$src/worker/web" \
    "$worker" --demo >"$tmp/worker.out" 2>"$tmp/worker.err" </dev/null &
worker_pid=$!
for _ in $(seq 300); do
    grep -q '^modq demo: lead token ' "$tmp/worker.out" 2>/dev/null && break
    kill -0 "$worker_pid" 2>/dev/null || fail "modq-worker --demo exited early"
    sleep 0.2
done
url=$(sed -n 's/^modq demo: review page \(http:[^ ]*\).*/\1/p' "$tmp/worker.out" | head -n 1)
assoc=$(sed -n 's/^modq demo: associate token \([^ ]*\).*/\1/p' "$tmp/worker.out" | head -n 1)
lead=$(sed -n 's/^modq demo: lead token \([^ ]*\).*/\1/p' "$tmp/worker.out" | head -n 1)
[ -n "$url" ] && [ -n "$assoc" ] && [ -n "$lead" ] ||
    fail "no review page and tokens on the demo's stdout after 60 s: $(cat "$tmp/worker.out")"
echo "test_worker_web: demo at $url"

secret=$(sed -n 's/^modq demo: token secret \([^ ]*\).*/\1/p' "$tmp/worker.out" | head -n 1)
[ -n "$secret" ] && [ -r "$secret" ] || fail "the demo printed no readable token secret file"
mint() { # SUB ROLES: a token like the demo's own, with other roles
    "$worker" token --sub "$1" --roles "$2" --team demo --skills extremism,csam_trained \
        --locales en,ar --issuer modq-demo --audience modq --ttl 1h --secret "$secret"
}
qa=$(mint qa-1 associate,qa) || fail "modq-worker token could not mint a QA token"
leadassoc=$(mint lead-2 associate,lead) || fail "modq-worker token could not mint a lead+associate token"

MODQ_WEB_URL=$url MODQ_ASSOCIATE_TOKEN=$assoc MODQ_LEAD_TOKEN=$lead MODQ_QA_TOKEN=$qa \
    MODQ_LEAD_ASSOCIATE_TOKEN=$leadassoc MODQ_ARTIFACTS=$artifacts \
    MODQ_CHROMIUM=$chromium timeout 240 node "$webtest/review.mjs" ||
    fail "the browser test failed (screenshots in $artifacts)"
kill -0 "$worker_pid" 2>/dev/null || fail "modq-worker died during the test"
echo "test_worker_web: ok (screenshots in $artifacts)"
