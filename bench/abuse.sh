#!/usr/bin/env bash
# Abuse resistance (issue #23, docs/abuse.md), on the release binary with the real models:
#   1. password guessing from one address against one account (GUESS_THREADS clients, as fast
#      as the server answers, GUESS_SECONDS): attempts evaluated per minute after the throttle
#      engages (target <= 20); and a spray (one wrong password per account, many accounts)
#      from the same address, which the per-address counter stops;
#   2. the authenticated read of the HTTP foundation (wrk, GET /api/users/{id} with a company
#      user's token, so the quota buckets are on its path): quotas switched off against quotas
#      on (limits too high to refuse), REPEATS interleaved runs each — the cost of the checks
#      (target: within 5 %);
#   3. fairness: company B's single-request QUALITY p50 (one client) on an idle server, then
#      while company A has a backlog of BACKLOG queued QUALITY analyses (target: within 2x).
#
#   bench/abuse.sh
#   BACKENDS="sqlite postgres"   stores (default sqlite); PG_URL as in bench/analyses.sh
#   GUESS_SECONDS=120 GUESS_THREADS=4 READ_SECONDS=10 CONN=32 REPEATS=8
#   BACKLOG=1000 SECONDS_PER_RUN=20 WARMUP=3   BIN=…/emerald (skip the release build)
#   PARTS="1 2 3"                the parts to run
# Output (server logs, wrk reports) goes to bench/out/abuse/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS=${BACKENDS:-sqlite}
GUESS_SECONDS=${GUESS_SECONDS:-120}
GUESS_THREADS=${GUESS_THREADS:-4}
READ_SECONDS=${READ_SECONDS:-10}
CONN=${CONN:-32}
REPEATS=${REPEATS:-8}
BACKLOG=${BACKLOG:-1000}
PARTS=${PARTS:-1 2 3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
WARMUP=${WARMUP:-3}
PORT=${PORT:-18470}
OUT=bench/out/abuse
TOOL="python3 bench/abuse_tool.py"
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk"; exit 1; }
. bench/lib.sh
PW=$BENCH_PW

bench_server_bin
bench_photos "$OUT"
bench_machine "binary: $BIN"

# start NAME PORT BACKEND [ENV=VALUE…]: a server with a fresh data directory (and schema).
start() { local name=$1; shift; bench_start "$OUT/server-$name.log" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token_of() { bench_token "$@"; }
# company_user PORT ADMIN_TOKEN NAME: creates a company and a CLIENT user in it; prints "user_id email".
company_user() {
  local cid email uid
  cid=$(curl -sf -H "X-Forensic-Access-Token: $2" -d "{\"name\": \"$3\"}" "http://127.0.0.1:$1/api/companies/" | json '["company_id"]')
  email="$3@bench.local"
  uid=$(curl -sf -H "X-Forensic-Access-Token: $2" -d "{\"email\": \"$email\", \"password\": \"$PW\", \"user_type\": \"CLIENT\", \"company_id\": \"$cid\", \"first_name\": \"B\", \"last_name\": \"$3\"}" \
    "http://127.0.0.1:$1/api/users/" | json '["user_id"]')
  echo "$uid $email"
}

run_backend() {
  local backend=$1
  local url="http://127.0.0.1:$PORT"

  if [[ " $PARTS " == *" 1 "* ]]; then
  echo "== $backend: 1. password guessing from one address, defaults (docs/abuse.md) =="
  start guess "$PORT" "$backend"
  local admin; admin=$(token_of "$PORT" bench@bench.local)
  local victim; victim=$(company_user "$PORT" "$admin" victim | cut -d' ' -f2)
  echo "-- one account ($victim), $GUESS_THREADS clients, ${GUESS_SECONDS}s"
  $TOOL guess "$url" "$victim" "$GUESS_SECONDS" "$GUESS_THREADS"
  curl -sf -X DELETE -H "X-Forensic-Access-Token: $admin" "$url/api/authorize/throttle" >/dev/null
  echo "-- spray: a new account each attempt, $GUESS_THREADS clients, ${GUESS_SECONDS}s"
  $TOOL spray "$url" "$GUESS_SECONDS" "$GUESS_THREADS"
  bench_stop_all
  echo
  fi

  if [[ " $PARTS " == *" 2 "* ]]; then
  echo "== $backend: 2. authenticated read (wrk -c$CONN, ${READ_SECONDS}s x $REPEATS, interleaved), company user's token =="
  local off_port=$((PORT + 1)) on_port=$((PORT + 2))
  start quota-off "$off_port" "$backend" EMERALD_QUOTA_TOKEN_REQUESTS=0 EMERALD_QUOTA_COMPANY_REQUESTS=0
  start quota-on "$on_port" "$backend" EMERALD_QUOTA_TOKEN_REQUESTS=1000000000 EMERALD_QUOTA_COMPANY_REQUESTS=1000000000
  declare -A tok uid
  for p in "$off_port" "$on_port"; do
    local a; a=$(token_of "$p" bench@bench.local)
    uid[$p]=$(company_user "$p" "$a" reader | cut -d' ' -f1)
    tok[$p]=$(token_of "$p" reader@bench.local)
  done
  for i in $(seq "$REPEATS"); do
    for p in "$off_port" "$on_port"; do
      local label=off; [ "$p" = "$on_port" ] && label=on
      wrk -t2 -c"$CONN" -d"${READ_SECONDS}s" --latency -H "X-Forensic-Access-Token: ${tok[$p]}" \
        "http://127.0.0.1:$p/api/users/${uid[$p]}" >"$OUT/read-$backend-$label-$i.txt"
      printf 'quotas %-3s run %s: %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$label" "$i" \
        "$(awk '/Requests\/sec/{print $2}' "$OUT/read-$backend-$label-$i.txt")" \
        "$(awk '$1=="50%"{print $2}' "$OUT/read-$backend-$label-$i.txt")" \
        "$(awk '$1=="99%"{print $2}' "$OUT/read-$backend-$label-$i.txt")" \
        "$(awk '/Non-2xx/{print $4}' "$OUT/read-$backend-$label-$i.txt" | grep . || echo 0)"
    done
  done
  python3 - "$OUT" "$backend" "$REPEATS" <<'PY'
import re, statistics, sys
out, backend, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = {l: [float(re.search(r"Requests/sec:\s+([\d.]+)", open(f"{out}/read-{backend}-{l}-{i}.txt").read()).group(1))
            for i in range(1, n + 1)] for l in ("off", "on")}
sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
for l, v in runs.items():
    print(f"quotas {l}: mean {statistics.mean(v):.0f} req/s (sd {sd(v):.0f}), median {statistics.median(v):.0f}")
off, on = statistics.mean(runs["off"]), statistics.mean(runs["on"])
se = (sd(runs["off"]) ** 2 / n + sd(runs["on"]) ** 2 / n) ** 0.5
print(f"quotas on against off: {100 * (on / off - 1):+.1f} % of the mean (+/- {100 * se / off:.1f} % standard error; target: within 5 %)")
PY
  bench_stop_all
  echo
  fi

  if [[ " $PARTS " == *" 3 "* ]]; then
  echo "== $backend: 3. fairness: company B's single-request QUALITY, idle and behind A's backlog of $BACKLOG =="
  # The expensive-request quotas are off here so that A can queue its backlog in seconds (the
  # quotas are measured above); fairness is the job queue's claiming order.
  start fair "$PORT" "$backend" EMERALD_QUOTA_TOKEN_EXPENSIVE=0 EMERALD_QUOTA_COMPANY_EXPENSIVE=0 \
    EMERALD_QUOTA_TOKEN_REQUESTS=0 EMERALD_QUOTA_COMPANY_REQUESTS=0
  admin=$(token_of "$PORT" bench@bench.local)
  company_user "$PORT" "$admin" tenant-a >/dev/null
  company_user "$PORT" "$admin" tenant-b >/dev/null
  local ta tb; ta=$(token_of "$PORT" tenant-a@bench.local); tb=$(token_of "$PORT" tenant-b@bench.local)
  local quality='[{"type": "quality"}]'
  echo "-- idle server"
  "$BIN" bench-load --url "$url/api/folders/" --token "$tb" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
    --concurrency 1 --analyses "$quality" --file "a=$OUT/a.jpg:photo_selfie"
  echo "-- company A queues $BACKLOG QUALITY analyses (classic mode)"
  $TOOL backlog "$url" "$ta" "$OUT/a.jpg" "$BACKLOG" 4
  echo "-- company B while A's backlog drains"
  "$BIN" bench-load --url "$url/api/folders/" --token "$tb" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
    --concurrency 1 --analyses "$quality" --file "a=$OUT/a.jpg:photo_selfie"
  $TOOL drain "$url" "$ta"
  bench_stop_all
  fi
  echo
}

for b in $BACKENDS; do run_backend "$b"; done
echo "targets: <= 20 evaluated guesses per minute per account after the threshold; read within 5 %; B's p50 behind a backlog within 2x of idle"
