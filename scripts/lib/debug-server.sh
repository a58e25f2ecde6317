# Sourced by scripts/browser-test.sh and scripts/fuzz-test.sh (which define `skip`).

# BIN: the debug binary `cargo test` builds; IMAGES: the test photos. Skips without them.
find_binary_and_images() {
  BIN="${EMERALD_BIN:-${CARGO_TARGET_DIR:-target}/debug/emerald}"
  [ -x "$BIN" ] || skip "$BIN is missing: run 'cargo test --workspace --locked' (it builds it) or set EMERALD_BIN"
  IMAGES="${EMERALD_TEST_IMAGES_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/test-images}"
  for f in obama.jpg obama2.jpg biden.jpg; do
    [ -f "$IMAGES/$f" ] || skip "test image $IMAGES/$f is missing: run scripts/fetch-test-images.sh"
  done
}

# Start "$BIN serve" on a free loopback port with a fresh data directory and SQLite, the first
# admin $ADMIN_EMAIL / $ADMIN_PASSWORD, and any further VAR=value given as arguments; wait until
# /api/version answers. Sets DATA (removed on exit, the server's log is $DATA/server.log), PORT,
# URL and SERVER_PID (stopped on exit). Calls `skip` when the face models are not installed,
# unless NO_MODELS=1 (a server that needs no face engine: its models directory is left empty).
# May be called more than once: every server started is stopped, every directory removed.
DEBUG_SERVER_PIDS=()
DEBUG_SERVER_DIRS=()
stop_debug_servers() {
  local pid dir
  for pid in "${DEBUG_SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for dir in "${DEBUG_SERVER_DIRS[@]}"; do rm -rf "$dir"; done
}
start_debug_server() {
  DATA=$(mktemp -d "${TMPDIR:-/tmp}/emerald-${1}-XXXXXX")
  shift
  DEBUG_SERVER_DIRS+=("$DATA")
  trap stop_debug_servers EXIT
  local models=()
  if [ "${NO_MODELS:-0}" = 1 ]; then mkdir -p "$DATA/no-models"; models=(EMERALD_MODELS_DIR="$DATA/no-models"); fi
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  URL="http://127.0.0.1:$PORT"
  env -u EMERALD_DATABASE_URL EMERALD_LISTEN="127.0.0.1:$PORT" EMERALD_DATA_DIR="$DATA/data" \
    EMERALD_ADMIN_EMAIL="$ADMIN_EMAIL" EMERALD_ADMIN_PASSWORD="$ADMIN_PASSWORD" EMERALD_WORKERS=2 "${models[@]}" "$@" \
    "$BIN" serve >"$DATA/server.log" 2>&1 &
  SERVER_PID=$!
  DEBUG_SERVER_PIDS+=("$SERVER_PID")
  for _ in $(seq 1 600); do
    curl -fsS "$URL/api/version" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DATA/server.log"; echo "$(basename "$0"): the server did not start"; exit 1; }
    sleep 0.1
  done
  if [ "${NO_MODELS:-0}" != 1 ] && grep -q "face engine not loaded" "$DATA/server.log"; then
    skip "the face models are not installed (run scripts/fetch-models.sh)"
  fi
}
