#!/usr/bin/env bash
# The statistics at scale (issue #20): N synthetic folders with finished analyses
# (`emerald bench-seed --analyses`, spread over a year, the newest now), then the answer time of
# the console's statistics page (its default window, the last 7 days; both tabs) and of
# `GET /api/statistics/{orders,unique_persons,performance}` over 7 days, 30 days and all time, as
# the bench ADMIN and as the seeded CLIENT: the median and the fastest of RUNS requests with curl,
# after one warm-up request.
#
#   bench/statistics.sh BACKEND [N]     BACKEND sqlite or postgres (default N = 200000)
#   PLACE=dir                  keep the seeded data there and reuse it (SQLite: the data dir;
#                              PostgreSQL: the schema named in dir/schema): seed once, then measure
#                              two binaries on the same data (the second start runs newer migrations)
#   BIN=…/emerald              the server binary (default: the release build)
#   RUNS=5 PORT=18451 PG_URL=postgres://postgres@127.0.0.1:5432/test
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${1:?sqlite or postgres}
N=${2:-200000}
RUNS=${RUNS:-5}
PORT=${PORT:-18451}
. bench/lib.sh
bench_server_bin
bench_machine "N = $N folders on $BACKEND; $RUNS requests per figure; $BIN"

if [ -n "${PLACE:-}" ]; then
  mkdir -p "$PLACE"
  BENCH_DATA=$PLACE/data
  mkdir -p "$BENCH_DATA"
  BENCH_DB_URL=
  if [ "$BACKEND" = postgres ]; then
    [ -f "$PLACE/schema" ] || echo "bench_statistics_$$" > "$PLACE/schema"
    schema=$(cat "$PLACE/schema")
    PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL" -qc "CREATE SCHEMA IF NOT EXISTS $schema" >/dev/null
    BENCH_DB_URL="$PG_URL?options=-c%20search_path%3D$schema"
  fi
else
  bench_place "$PORT" "$BACKEND"
fi
if [ ! -f "${PLACE:-$BENCH_DATA}/seeded-$N" ]; then
  bench_seed "$N" --analyses
  echo "seeded in $SEED_S s"
  touch "${PLACE:-$BENCH_DATA}/seeded-$N"
fi

start=$(date +%s.%N)
bench_serve "$BENCH_DATA/server.log" "$PORT"
echo "server up (migrations, ANALYZE) in $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)") s"
url="http://127.0.0.1:$PORT"
cookie=$(curl -s -o /dev/null -D - --data-urlencode "email=bench@bench.local" --data-urlencode "password=$BENCH_PW" \
  "$url/console/login" | awk -F'[ ;]' 'tolower($1) == "set-cookie:" {print $2}')
[ -n "$cookie" ] || { echo "console login failed"; exit 1; }
admin=$(bench_token "$PORT")
client=$(bench_token "$PORT" client@bench.local)
since() { python3 -c "import time; print(int(time.time()) - $1 * 86400)"; }
week="time_created.min=$(since 7)"
month="time_created.min=$(since 30)"

# time_it NAME HEADER PATH: median and fastest of RUNS requests, seconds; the answer must be 200.
time_it() {
  local name=$1 header=$2 path=$3 code times
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$header" "$url$path")
  [ "$code" = 200 ] || { echo "$name: HTTP $code for $path"; exit 1; }
  times=$(for _ in $(seq "$RUNS"); do curl -s -o /dev/null -w '%{time_total}\n' -H "$header" "$url$path"; done | sort -n)
  printf '%-34s median %6.3f s  min %6.3f s\n' "$name" "$(echo "$times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
    "$(echo "$times" | head -1)"
}

echo "== $BACKEND, $N folders ($(curl -sf -H "X-Forensic-Access-Token: $admin" "$url/api/statistics/unique_persons?$week" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["folders"])') in the last 7 days); load average $(cut -d' ' -f1-3 /proc/loadavg) =="
time_it "console statistics (7 days)" "Cookie: $cookie" "/console/statistics"
time_it "console performance tab (7 days)" "Cookie: $cookie" "/console/statistics?tab=performance"
for who in admin client; do
  token=${!who}
  h="X-Forensic-Access-Token: $token"
  time_it "$who orders 7 days" "$h" "/api/statistics/orders?$week"
  time_it "$who orders by type 7 days" "$h" "/api/statistics/orders?group_by=type&$week"
  time_it "$who unique_persons 7 days" "$h" "/api/statistics/unique_persons?$week"
  time_it "$who performance 7 days" "$h" "/api/statistics/performance?$week"
  time_it "$who orders 30 days" "$h" "/api/statistics/orders?$month"
  time_it "$who performance 30 days" "$h" "/api/statistics/performance?$month"
done
time_it "admin orders all time" "X-Forensic-Access-Token: $admin" "/api/statistics/orders"
time_it "admin performance all time" "X-Forensic-Access-Token: $admin" "/api/statistics/performance"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${PLACE:-}" ]; then DATA_DIRS=(); fi
