#!/usr/bin/env bash
# The streamed folder report and the folder list's owner/company lookups at scale (issue #20,
# GAP-7 and GAP-9): N synthetic folders (`emerald bench-seed`), then on each store
#   * `GET /api/reports/folders.csv` (every folder, and a tenth of them by date): time, bytes,
#     rows, and the server's resident memory before and at its peak while the report streams
#     (sampled every 50 ms from /proc) — constant memory means the peak does not grow with N;
#   * `GET /api/folders/?limit=100&total_omit=true`, newest first, with and without
#     `with_user=true&with_company=true`: p50 / p90 of 200 sequential requests (curl).
#
#   bench/reports.sh [N]            (default N = 1000000)
#   BACKENDS="sqlite postgres"      which stores (default postgres: seeding 1M into SQLite is slow)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test   the PostgreSQL server (own schema per run)
#   BIN=…/emerald                   run this binary instead of building the release one
#   OUT=bench/out/reports           where the output goes (ignored by git); figures printed at the end
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BACKENDS=${BACKENDS:-postgres}
PORT=${PORT:-18451}
OUT=${OUT:-bench/out/reports}
mkdir -p "$OUT"
. bench/lib.sh

bench_server_bin
bench_machine "N = $N folders; binary $BIN"

# VmRSS of PID in MiB, sampled every 50 ms while PID2 runs: "start peak".
rss_mib() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
watch_rss() {
  local pid=$1 job=$2 start peak now
  start=$(rss_mib "$pid"); peak=$start
  while kill -0 "$job" 2>/dev/null; do
    now=$(rss_mib "$pid")
    peak=$(python3 -c "print(max($peak, $now))")
    sleep 0.05
  done
  echo "$start $peak"
}

SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
for backend in $BACKENDS; do
  echo "== $backend =="
  bench_place "$PORT" "$backend"
  bench_seed "$N" >/dev/null
  seed_s=$SEED_S
  bench_serve "$OUT/server-$backend.log" "$PORT" EMERALD_SESSION_TTL=86400
  pid=${SERVER_PIDS[-1]}
  url="http://127.0.0.1:$PORT"
  token=$(bench_token "$PORT" client@bench.local)
  echo "$backend: seeded $N folders in ${seed_s} s" | tee -a "$SUMMARY"

  # The report: all of it, then the last ~36 days (a tenth).
  since=$(date -u -d "@$(( $(date +%s) - 3153600 ))" +%FT%T)
  for q in "" "time_created.min=$since"; do
    curl -sf -o "$OUT/report-$backend.csv" -w '%{time_total} %{size_download}\n' \
      -H "X-Forensic-Access-Token: $token" "$url/api/reports/folders.csv?meta_keys=iin,transaction_id&$q" \
      > "$OUT/curl.txt" &
    job=$!
    read -r rss0 rss1 < <(watch_rss "$pid" "$job")
    wait "$job"
    read -r secs bytes < "$OUT/curl.txt"
    rows=$(( $(wc -l < "$OUT/report-$backend.csv") - 1 ))
    printf '%s: report %-40s %8d rows %6.1f MB in %6.2f s (%6.0f rows/s); server RSS %s MiB before, %s MiB peak\n' \
      "$backend" "${q:-(all)}" "$rows" "$(echo "$bytes / 1000000" | bc -l)" "$secs" "$(echo "$rows / $secs" | bc -l)" \
      "$rss0" "$rss1" | tee -a "$SUMMARY"
  done
  rm -f "$OUT/report-$backend.csv"

  # The list, with and without the page's owners and companies.
  for with in "" "&with_user=true&with_company=true"; do
    for _ in $(seq 20); do curl -sf -o /dev/null -H "X-Forensic-Access-Token: $token" "$url/api/folders/?limit=100&total_omit=true$with"; done
    for _ in $(seq 200); do
      curl -sf -o /dev/null -w '%{time_total}\n' -H "X-Forensic-Access-Token: $token" \
        "$url/api/folders/?limit=100&total_omit=true&offset=$((RANDOM % 100 * 100))$with"
    done | sort -n | awk -v b="$backend" -v w="${with:-(plain)}" \
      '{t[NR] = $1} END {printf "%s: list limit=100 %-40s p50 %.1f ms, p90 %.1f ms (200 requests)\n", b, w, t[int(NR*0.5)]*1000, t[int(NR*0.9)]*1000}' \
      | tee -a "$SUMMARY"
  done
  bench_stop_all
done
echo
echo "== summary =="
cat "$SUMMARY"
