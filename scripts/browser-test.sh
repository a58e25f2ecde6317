#!/usr/bin/env bash
# The console's browser test (issue #20, docs/console.md): Debian's chromium driven by npm
# playwright-core (pinned by tests/browser/package-lock.json; no browser is ever downloaded),
# against a server this script starts from the debug binary $CARGO_TARGET_DIR/debug/emerald (which
# `cargo test` builds) on a free loopback port, with a fresh data directory and SQLite.
# Skips, saying why, when chromium, node/npm, the binary, the face models or the test images
# are missing. Screenshots: $EMERALD_SHOTS_DIR (default target/console-shots).
set -euo pipefail
cd "$(dirname "$0")/.."

skip() { echo "browser-test.sh: SKIPPED: $*"; exit 0; }

CHROMIUM="${EMERALD_CHROMIUM:-$(command -v chromium || true)}"
if [ -z "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "browser-test.sh: installing Debian's chromium with apt-get (once)"
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }) || true
  CHROMIUM="$(command -v chromium || true)"
fi
[ -n "$CHROMIUM" ] && [ -x "$CHROMIUM" ] || skip "no chromium (as root: apt-get install -y chromium; or set EMERALD_CHROMIUM)"
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are needed (Debian: apt-get install -y nodejs npm)"
. scripts/lib/debug-server.sh
find_binary_and_images

# playwright-core and @axe-core/playwright from npm, exactly as locked; installed once under
# tests/browser/node_modules.
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/@axe-core/playwright ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts) || skip "npm ci failed (no npm registry?)"
fi

SHOTS="${EMERALD_SHOTS_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/console-shots}"
ADMIN_EMAIL="admin@browser.test"
ADMIN_PASSWORD="Browser-admin-pass-1"
# The session-expiry test's own server (no face engine needed): console sessions last 5 s there.
# A request extends a session once the gain is 1 s or more, so 4 to 5 s without a request are
# allowed between the test's steps: room for a loaded machine; the test idles 6.5 s to expire.
NO_MODELS=1 start_debug_server browser-ttl EMERALD_SESSION_TTL=5
SHORT_URL="$URL"; SHORT_DATA="$DATA"
# Webhooks to the test's loopback receiver, retried soon.
start_debug_server browser EMERALD_WEBHOOK_ALLOW_PRIVATE=true EMERALD_WEBHOOK_BACKOFF=0.2

status=0
started=$(date +%s)
(cd tests/browser && EMERALD_URL="http://127.0.0.1:$PORT" EMERALD_SHORT_SESSION_URL="$SHORT_URL" \
  EMERALD_SHORT_SESSION_TTL=5 EMERALD_ADMIN_EMAIL="$ADMIN_EMAIL" \
  EMERALD_ADMIN_PASSWORD="$ADMIN_PASSWORD" EMERALD_TEST_IMAGES_DIR="$IMAGES" EMERALD_SHOTS_DIR="$SHOTS" \
  EMERALD_CHROMIUM="$CHROMIUM" node --test --test-reporter=spec console.test.mjs) || status=$?
if [ "$status" != 0 ]; then
  echo "browser-test.sh: FAILED; the server's log:"; tail -50 "$DATA/server.log"
  echo "browser-test.sh: the short-session server's log:"; tail -20 "$SHORT_DATA/server.log"
fi
echo "browser-test.sh: the browser test took $(($(date +%s) - started)) s"
echo "browser-test.sh: screenshots in $SHOTS"
exit "$status"
