# Shared set-up of the HTTP benchmarks (sourced, not run): the machine header, the release
# server binary, the 640×480 benchmark photos and servers with a fresh data directory (and a
# PostgreSQL schema of their own).
#
#   . bench/lib.sh            from the repository root, after `set -euo pipefail`
#
# Reads: BIN (a binary to run instead of building the release one), CARGO_TARGET_DIR, PG_URL,
# EMERALD_TEST_IMAGES. Sets: BIN, IMAGES, BENCH_PW, BENCH_DATA, BENCH_DB_URL, SEED_S, SERVER_PIDS, SCHEMAS,
# DATA_DIRS; an EXIT trap stops the servers.

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
IMAGES=${EMERALD_TEST_IMAGES:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/test-images}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
BENCH_PW=bench-password-1
SERVER_PIDS=()
SCHEMAS=()
DATA_DIRS=()

# bench_machine [EXTRA…]: the header every report starts with (CPU, cores, memory, load).
bench_machine() {
  echo "== machine =="
  grep -m1 'model name' /proc/cpuinfo || true
  echo "cpus: $(nproc); mem: $(free -g | awk '/Mem:/{print $2}') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  rustc -V
  if [ $# -gt 0 ]; then echo "$@"; fi
  echo
}

# bench_server_bin: BIN, building the release server unless BIN is already set.
bench_server_bin() {
  if [ -z "${BIN:-}" ]; then
    cargo build --release -q --locked -p emerald
    BIN=$CARGO_TARGET_DIR/release/emerald
  fi
}

# bench_photos OUT: the models, and two face photos of one person fitted to 640×480 as OUT/a.jpg
# and OUT/b.jpg.
bench_photos() {
  scripts/fetch-models.sh >/dev/null
  scripts/fetch-test-images.sh >/dev/null
  "$BIN" bench-fit --in "$IMAGES/obama.jpg" --out "$1/a.jpg" --width 640 --height 480 >/dev/null
  "$BIN" bench-fit --in "$IMAGES/obama2.jpg" --out "$1/b.jpg" --width 640 --height 480 >/dev/null
}

# bench_place PORT BACKEND: a fresh data directory (and a fresh schema on postgres) for a server
# on PORT, removed by bench_stop_all. Sets BENCH_DATA and BENCH_DB_URL (empty for SQLite).
bench_place() {
  local port=$1 backend=$2
  BENCH_DATA=$(mktemp -d)
  BENCH_DB_URL=
  DATA_DIRS+=("$BENCH_DATA")
  if [ "$backend" = postgres ]; then
    local schema="bench_${port}_$$"
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
    BENCH_DB_URL="$PG_URL?options=-c%20search_path%3D$schema"
    SCHEMAS+=("$schema")
  fi
}

# bench_seed N [BENCH-SEED ARGS…]: on the place bench_place made, the bench admin (a store that
# already has users makes no first admin on start), then N folders of client@bench.local spread
# over a year, the newest now (`emerald bench-seed`; e.g. `--analyses`). Sets SEED_S (seconds).
bench_seed() {
  local n=$1; shift
  local db=() step start
  if [ -n "$BENCH_DB_URL" ]; then db=(--database-url "$BENCH_DB_URL"); fi
  "$BIN" admin create --email bench@bench.local --password "$BENCH_PW" --data-dir "$BENCH_DATA" "${db[@]}" >/dev/null
  step=$(python3 -c "print(max(1.0, 365 * 86400 / $n))")
  start=$(date +%s.%N)
  "$BIN" bench-seed --folders "$n" --step "$step" --email client@bench.local --password "$BENCH_PW" \
    --data-dir "$BENCH_DATA" "${db[@]}" "$@"
  SEED_S=$(printf '%.0f' "$(echo "$(date +%s.%N) - $start" | bc)")
}

# bench_serve LOG PORT [ENV=VALUE…]: `emerald serve` on the place bench_place made, with the
# bench admin; waits for /api/version; the pid joins SERVER_PIDS.
bench_serve() {
  local log=$1 port=$2; shift 2
  local url_env=()
  if [ -n "$BENCH_DB_URL" ]; then url_env=(EMERALD_DATABASE_URL="$BENCH_DB_URL"); fi
  env "${url_env[@]}" "$@" EMERALD_DATA_DIR="$BENCH_DATA" EMERALD_LISTEN="127.0.0.1:$port" \
    EMERALD_ADMIN_EMAIL=bench@bench.local EMERALD_ADMIN_PASSWORD=$BENCH_PW EMERALD_LOG=warn \
    "$BIN" serve >"$log" 2>&1 &
  SERVER_PIDS+=($!)
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/api/version" >/dev/null && return; sleep 0.2; done
  echo "the server on port $port did not start:"; cat "$log"; exit 1
}

# bench_start LOG PORT BACKEND [ENV=VALUE…]: bench_place, then bench_serve.
bench_start() {
  local log=$1 port=$2 backend=$3; shift 3
  bench_place "$port" "$backend"
  bench_serve "$log" "$port" "$@"
}

# bench_stop_all: stops every server bench_start started and drops their schemas.
bench_stop_all() {
  local p s
  for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SERVER_PIDS=()
  for s in "${SCHEMAS[@]}"; do
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null
  done
  SCHEMAS=()
  if [ ${#DATA_DIRS[@]} -gt 0 ]; then rm -rf "${DATA_DIRS[@]}"; fi
  DATA_DIRS=()
}
trap bench_stop_all EXIT

# bench_token PORT [EMAIL]: an access token (the bench admin's by default).
bench_token() {
  curl -sf -d "{\"credentials\": {\"email\": \"${2:-bench@bench.local}\", \"password\": \"$BENCH_PW\"}}" \
    "http://127.0.0.1:$1/api/authorize/auth" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
