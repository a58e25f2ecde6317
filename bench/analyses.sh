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
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-30}
CONCURRENCY=${CONCURRENCY:-4}
WARMUP=${WARMUP:-5}
PORT=${PORT:-18432}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
OUT=bench/out/analyses
IMAGES=${EMERALD_TEST_IMAGES:-$HOME/.cache/emerald/test-images}
mkdir -p "$OUT"

scripts/fetch-models.sh >/dev/null
scripts/fetch-test-images.sh >/dev/null

echo "== machine =="
grep -m1 'model name' /proc/cpuinfo || true
echo "cpus: $(nproc); mem: $(free -g | awk '/Mem:/{print $2}') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rustc -V
echo "runs of ${SECONDS_PER_RUN}s after ${WARMUP}s warm-up; QUALITY at $CONCURRENCY clients; BIOMETRY at 1 client"
echo

if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p emerald
    BIN=$CARGO_TARGET_DIR/release/emerald
fi
"$BIN" bench-fit --in "$IMAGES/obama.jpg" --out "$OUT/a.jpg" --width 640 --height 480
"$BIN" bench-fit --in "$IMAGES/obama2.jpg" --out "$OUT/b.jpg" --width 640 --height 480

run_backend() {
    local backend=$1 data url_env=() schema=""
    data=$(mktemp -d)
    if [ "$backend" = postgres ]; then
        schema="bench_analyses_$$"
        PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
        url_env=(EMERALD_DATABASE_URL="$PG_URL?options=-c%20search_path%3D$schema")
    fi
    env "${url_env[@]}" EMERALD_DATA_DIR="$data" EMERALD_LISTEN="127.0.0.1:$PORT" \
        EMERALD_ADMIN_EMAIL=bench@bench.local EMERALD_ADMIN_PASSWORD=bench-password-1 \
        EMERALD_LOG=warn "$BIN" serve >"$OUT/server-$backend.log" 2>&1 &
    local pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/api/version" >/dev/null && break; sleep 0.2; done
    local token
    token=$(curl -s -d '{"credentials": {"email": "bench@bench.local", "password": "bench-password-1"}}' \
        "http://127.0.0.1:$PORT/api/authorize/auth" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
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
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$data"
    if [ -n "$schema" ]; then PGOPTIONS="-c client_min_messages=warning" psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null; fi
    echo
}

for b in $BACKENDS; do run_backend "$b"; done
echo "goals: >= 1,500 QUALITY/min single request; BIOMETRY p50 <= 60 ms"
