#!/usr/bin/env bash
# Analyses end to end (issue #6), on the release binary, real models and a real face photo
# fitted to 640×480:
#   * single request (POST /api/folders/ with `analyses`): QUALITY on one photo, closed loop
#     at CONCURRENCY clients — sustained analyses per minute, p50 / p99;
#   * single request BIOMETRY of two photos, one client — p50 (latency of one request);
#   * single request QUALITY + BIOMETRY over a selfie and an ID photo (the selfie is shared by
#     both analyses and goes through the engine once), one client — p50;
#   * the same two through Instant mode (POST /api/instant/folders/, nothing stored).
#
#   bench/analyses.sh
#   BACKENDS="sqlite postgres"   stores to measure (default sqlite)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test   PostgreSQL server (own schema per run)
#   SECONDS_PER_RUN=30 CONCURRENCY=4 WARMUP=5
#   BIN=…/emerald                run this binary instead of building one
# Output (server logs, the fitted photos) goes to bench/out/analyses/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS=${BACKENDS:-sqlite}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-30}
CONCURRENCY=${CONCURRENCY:-4}
WARMUP=${WARMUP:-5}
PORT=${PORT:-18432}
OUT=bench/out/analyses
mkdir -p "$OUT"
. bench/lib.sh

bench_machine "runs of ${SECONDS_PER_RUN}s after ${WARMUP}s warm-up; QUALITY at $CONCURRENCY clients; BIOMETRY at 1 client"
bench_server_bin
bench_photos "$OUT"

run_backend() {
    local backend=$1 token
    bench_start "$OUT/server-$backend.log" "$PORT" "$backend"
    token=$(bench_token "$PORT")
    # load TITLE PATH CLIENTS ANALYSES FILE…: one closed-loop run.
    load() {
        local title=$1 path=$2 clients=$3 analyses=$4; shift 4
        local files=()
        for f in "$@"; do files+=(--file "$f"); done
        echo "== $backend: $title, $clients client(s) =="
        "$BIN" bench-load --url "http://127.0.0.1:$PORT$path" --token "$token" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
            --concurrency "$clients" --analyses "$analyses" "${files[@]}"
    }
    local quality='[{"type": "quality"}]' biometry='[{"type": "biometry"}]'
    load "single request QUALITY, one 640x480 photo" /api/folders/ "$CONCURRENCY" "$quality" "a=$OUT/a.jpg:photo_selfie"
    load "single request BIOMETRY, two 640x480 photos" /api/folders/ 1 "$biometry" "a=$OUT/a.jpg:photo_selfie" "b=$OUT/b.jpg:photo_selfie"
    local kyc='[{"type": "quality"}, {"type": "biometry"}]'
    load "single request QUALITY + BIOMETRY, a selfie and an ID photo (the selfie shared)" /api/folders/ 1 "$kyc" \
        "a=$OUT/a.jpg:photo_selfie" "b=$OUT/b.jpg:photo_id,photo_id_front"
    load "Instant QUALITY, one 640x480 photo" /api/instant/folders/ "$CONCURRENCY" "$quality" "a=$OUT/a.jpg:photo_selfie"
    load "Instant BIOMETRY, two 640x480 photos" /api/instant/folders/ 1 "$biometry" "a=$OUT/a.jpg:photo_selfie" "b=$OUT/b.jpg:photo_selfie"
    bench_stop_all
    echo
}

for b in $BACKENDS; do run_backend "$b"; done
echo "goals: >= 1,500 QUALITY/min single request; BIOMETRY p50 <= 60 ms"
