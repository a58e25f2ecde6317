#!/usr/bin/env bash
# HTTP benchmark of the foundation (issue #2): login, authenticated GET /api/users/{id} and
# PATCH …/meta_data, with wrk on loopback, against the release binary on SQLite and (when
# one answers) PostgreSQL. Prints requests/s and p50/p99 per case and the machine.
#   bench/http.sh [duration_seconds=10] [connections=32]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-10}"
CONN="${2:-32}"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk"; exit 1; }
# EMERALD_BIN: benchmark an already built binary instead of building one.
if [ -z "${EMERALD_BIN:-}" ]; then cargo build --release --locked -p emerald >/dev/null; fi
BIN="${EMERALD_BIN:-target/release/emerald}"
OUT=bench/out; mkdir -p "$OUT"
PORT=18600
PW=bench-password-1

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average before: $(cut -d" " -f1-3 /proc/loadavg)"
echo "wrk: 2 threads, ${CONN} connections, ${DUR}s per case, same machine as the server"

run_backend() {
  local name="$1" url="$2"
  local dir; dir=$(mktemp -d)
  local args=(serve --listen "127.0.0.1:${PORT}" --data-dir "$dir")
  if [ -n "$url" ]; then args+=(--database-url "$url"); fi
  EMERALD_LOG=warn EMERALD_ADMIN_EMAIL=bench@local EMERALD_ADMIN_PASSWORD="$PW" "$BIN" "${args[@]}" >"$OUT/server-$name.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:${PORT}/api/version" >/dev/null && break; sleep 0.1; done
  local login='{"credentials": {"email": "bench@local", "password": "'"$PW"'"}}'
  local token; token=$(curl -fs -d "$login" "http://127.0.0.1:${PORT}/api/authorize/auth" | sed -E 's/.*"access_token": "([0-9a-z]+)".*/\1/')
  local user; user=$(curl -fs -H "X-Forensic-Access-Token: $token" "http://127.0.0.1:${PORT}/api/users" | sed -E 's/.*"user_id": "([0-9a-f-]+)".*/\1/')
  cat >"$OUT/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '${login}'
LUA
  cat >"$OUT/patch.lua" <<LUA
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Forensic-Access-Token"] = "${token}"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"transaction_id": "tx-' .. counter .. '", "step": ' .. counter .. '}')
end
LUA
  report() {
    local label="$1" file="$2"
    local rps p50 p99 errs
    rps=$(awk '/Requests\/sec/{print $2}' "$file")
    p50=$(awk '$1=="50%"{print $2}' "$file")
    p99=$(awk '$1=="99%"{print $2}' "$file")
    errs=$(awk '/Non-2xx/{print $4}' "$file")
    printf '%-10s %-28s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$name" "$label" "$rps" "$p50" "$p99" "${errs:-0}"
  }
  wrk -t2 -c"$CONN" -d"${DUR}s" --latency -H "X-Forensic-Access-Token: $token" "http://127.0.0.1:${PORT}/api/users/${user}" >"$OUT/get-$name.txt"
  report "GET /api/users/{id}" "$OUT/get-$name.txt"
  wrk -t2 -c"$CONN" -d"${DUR}s" --latency -s "$OUT/patch.lua" "http://127.0.0.1:${PORT}/api/users/${user}/meta_data" >"$OUT/patch-$name.txt"
  report "PATCH /api/users/{id}/meta_data" "$OUT/patch-$name.txt"
  # Login is argon2-bound by design (~20 ms of CPU per hash); fewer connections.
  wrk -t2 -c4 -d"${DUR}s" --latency -s "$OUT/login.lua" "http://127.0.0.1:${PORT}/api/authorize/auth" >"$OUT/login-$name.txt"
  report "POST /api/authorize/auth" "$OUT/login-$name.txt"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}

run_backend sqlite ""
PG="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
if timeout 2 bash -c '</dev/tcp/127.0.0.1/5432' 2>/dev/null; then
  SCHEMA="emerald_bench_$$"
  psql "$PG" -qc "CREATE SCHEMA $SCHEMA" >/dev/null
  run_backend postgres "${PG}?options=-c%20search_path%3D${SCHEMA}"
  psql "$PG" -qc "DROP SCHEMA $SCHEMA CASCADE" >/dev/null
else
  echo "postgres: skipped (nothing on 127.0.0.1:5432)"
fi
