#!/usr/bin/env bash
# The operator console at scale (issue #20): N synthetic folders with finished analyses (a
# production-like mix: `emerald bench-seed --analyses`), a few real orders made by the engine
# (photos, thumbnails, real scores), then on each store, logged in to the console with a session
# cookie like a browser, wrk measures the server's answer time of
#   * the orders list: newest first, and with each filter the screen offers (status, analysis
#     type, a date range, a metadata lookup, the three combined), a page deep in the list;
#   * the review queue (OPERATOR_REQUIRED, oldest first); the statistics page (its default
#     window, the last 7 days);
#   * an order's detail page: a real order (media, scores) and a synthetic one;
#   * the first page load's size: HTML + CSS + JS, gzip-compressed as served.
#
#   bench/console.sh [N]            (default N = 1000000)
#   BACKENDS="sqlite postgres"      which stores (default both)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test   the PostgreSQL server (own schema per run)
#   BIN=…/emerald                   run this binary instead of building the release one
#   DURATION=10s CONNECTIONS=2      wrk settings per scenario
#   REAL_ORDERS_SECONDS=5           how long to make real orders (0: skip; needs the models)
#   OUT=bench/out/console           where the output goes (ignored by git); figures printed at the end
# Seeding is the slow part: ~3.5 min for 1M folders with their analyses on PostgreSQL, ~27 min
# on SQLite (random-key inserts into the analyses' indexes).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BACKENDS=${BACKENDS:-"sqlite postgres"}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-2}
PORT=${PORT:-18441}
REAL_ORDERS_SECONDS=${REAL_ORDERS_SECONDS:-5}
OUT=${OUT:-bench/out/console}
mkdir -p "$OUT"
. bench/lib.sh
command -v wrk >/dev/null || { echo "bench/console.sh needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }

bench_server_bin
bench_machine "N = $N folders; wrk -c$CONNECTIONS -d$DURATION per scenario"
if [ "$REAL_ORDERS_SECONDS" != 0 ]; then bench_photos "$OUT"; fi

# One wrk script for every scenario: the path comes from $PATHS (one or more, separated by
# '|', taken in turn); `{tx}` in a path becomes a random existing transaction id and `{off}` a
# random offset in the first 100 pages.
cat > "$OUT/console.lua" <<LUA
math.randomseed(os.time())
wrk.headers["Cookie"] = os.getenv("COOKIE")
local paths = {}
for p in string.gmatch(os.getenv("PATHS"), "[^|]+") do table.insert(paths, p) end
local n = 0
request = function()
  n = n + 1
  local p = paths[(n % #paths) + 1]
  p = string.gsub(p, "{tx}", string.format("tx-%09d", math.random(0, $N - 1)))
  p = string.gsub(p, "{off}", tostring(25 * math.random(1, 100)))
  return wrk.format("GET", p)
end
LUA

# day D days ago, as the console's date inputs send it.
day() { date -u -d "@$(( $(date +%s) - $1 * 86400 ))" +%F; }

SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
for backend in $BACKENDS; do
  echo "== $backend =="
  bench_place "$PORT" "$backend"
  bench_seed "$N" --analyses
  seed_s=$SEED_S
  bench_serve "$OUT/server-$backend.log" "$PORT" EMERALD_SESSION_TTL=86400
  url="http://127.0.0.1:$PORT"
  if [ "$REAL_ORDERS_SECONDS" != 0 ]; then
    token=$(bench_token "$PORT")
    "$BIN" bench-load --url "$url/api/folders/" --token "$token" --seconds "$REAL_ORDERS_SECONDS" --warmup 0 \
      --concurrency 1 --analyses '[{"type": "quality"}, {"type": "biometry"}]' \
      --file "selfie=$OUT/a.jpg:photo_selfie" --file "id=$OUT/b.jpg:photo_id,photo_id_front" > "$OUT/real-$backend.txt"
  fi
  # Log in to the console as a browser does; keep the session cookie.
  cookie=$(curl -s -o /dev/null -D - --data-urlencode "email=bench@bench.local" --data-urlencode "password=$BENCH_PW" \
    "$url/console/login" | awk -F'[ ;]' 'tolower($1) == "set-cookie:" {print $2}')
  [ -n "$cookie" ] || { echo "console login failed"; exit 1; }
  export COOKIE=$cookie
  token=$(bench_token "$PORT")
  ids=$(curl -sf "$url/api/folders/?limit=1&sorting=time_created%7Bdesc%7D&total_omit=true" -H "X-Forensic-Access-Token: $token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["folder_id"])')
  seeded=$(curl -sf "$url/api/folders/?limit=1&offset=$((N / 2))&total_omit=true&meta_data=channel==web" -H "X-Forensic-Access-Token: $token" \
    | python3 -c 'import json,sys; b=json.load(sys.stdin)["items"]; print(b[0]["folder_id"] if b else "")')
  scenarios=(
    "list:/console"
    "status:/console?resolution_status=OPERATOR_REQUIRED"
    "type:/console?analyse.type=DOCUMENTS"
    "dates:/console?time_created.min=$(day 200)&time_created.max=$(day 190)"
    "meta:/console?meta_data=transaction_id%3D%3D{tx}"
    "combined:/console?resolution_status=DECLINED&analyse.type=COLLECTION&time_created.min=$(day 120)&time_created.max=$(day 60)"
    "deep:/console?offset={off}"
    "review:/console/review"
    "statistics:/console/statistics"
    "detail-real:/console/orders/$ids"
  )
  if [ -n "$seeded" ]; then scenarios+=("detail-seeded:/console/orders/$seeded"); fi
  # A warm-up pass over every page, then each scenario on its own.
  all=$(printf '%s\n' "${scenarios[@]}" | cut -d: -f2- | paste -sd'|')
  PATHS=$all wrk -t1 -c1 -d5s -s "$OUT/console.lua" "$url" > /dev/null
  for s in "${scenarios[@]}"; do
    name=${s%%:*}
    path=${s#*:}
    # Each scenario must answer 200 with a page (not the login form): check once first.
    check=$(echo "$path" | sed "s/{tx}/tx-000000007/; s/{off}/250/")
    code=$(curl -s -o "$OUT/$name-$backend.html" -w '%{http_code}' -H "Cookie: $COOKIE" "$url$check")
    [ "$code" = 200 ] || { echo "$name: HTTP $code for $check"; exit 1; }
    PATHS=$path wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/console.lua" "$url" > "$OUT/$name-$backend.txt"
    p50=$(awk '/ 50%/{print $2}' "$OUT/$name-$backend.txt")
    p99=$(awk '/ 99%/{print $2}' "$OUT/$name-$backend.txt")
    rps=$(awk '/Requests\/sec/{print $2}' "$OUT/$name-$backend.txt")
    non2xx=$(awk '/Non-2xx/{print $NF}' "$OUT/$name-$backend.txt")
    rows=$(grep -o '<tr><td>' "$OUT/$name-$backend.html" | wc -l || true)
    printf '%s %-14s p50 %8s  p99 %8s  %8s req/s  rows %3s%s\n' "$backend" "$name" "$p50" "$p99" "$rps" "$rows" \
      "${non2xx:+  NON-2XX $non2xx}" | tee -a "$SUMMARY"
  done
  # First page load: the orders page and the assets it links, as served with gzip.
  page=$(curl -s --compressed -H "Cookie: $COOKIE" -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$url/console")
  assets=0
  for a in $(grep -o '/console/assets/[^"]*' "$OUT/list-$backend.html" | sort -u); do
    assets=$((assets + $(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$url$a")))
  done
  foreign=$(grep -Eo '(src|href)="(https?:)?//[^"]*' "$OUT/list-$backend.html" | grep -v "127.0.0.1:$PORT" | wc -l || true)
  echo "$backend first page load: $page B HTML + $assets B CSS/JS = $((page + assets)) B compressed; references to other origins: $foreign; seed ${seed_s} s" | tee -a "$SUMMARY"
  bench_stop_all
  echo
done
echo "== summary (N = $N) =="
cat "$SUMMARY"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
