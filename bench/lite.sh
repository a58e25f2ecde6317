#!/usr/bin/env bash
# Oz API Lite (issue #21) on the release binary, real models, real face photos fitted to 640×480:
#   * POST /v1/face/pattern/extract_and_compare of two photos, one client — p50 (goal ≤ 35 ms);
#   * POST /v1/face/liveness/detect of one photo, closed loop at CONCURRENCY clients —
#     photos per minute (goal ≥ 3,000 at 4 clients);
#   * `serve --role lite`: time from start to the first answer of /v1/face/pattern/health
#     (goal ≤ 1 s), with EMERALD_RUNTIME=auto (the default) and =tract (no onnxruntime), and
#     resident memory after the load (goal ≤ 300 MiB).
#
#   bench/lite.sh
#   SECONDS_PER_RUN=30 CONCURRENCY=4 WARMUP=5
#   EMERALD_RUNTIME=auto         the runtime of the server the load runs against
#   BIN=…/emerald                run this binary instead of building one
# Output (server log, the fitted photos) goes to bench/out/lite/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-30}
CONCURRENCY=${CONCURRENCY:-4}
WARMUP=${WARMUP:-5}
PORT=${PORT:-18433}
OUT=bench/out/lite
mkdir -p "$OUT"
. bench/lib.sh

bench_machine "runs of ${SECONDS_PER_RUN}s after ${WARMUP}s warm-up"
bench_server_bin
bench_photos "$OUT"

# start RUNTIME: start `serve --role lite` on that runtime; prints the time from the exec to the
# first health answer with status 0 (models loaded) and the RSS then; leaves $pid running.
start() {
    local start_ns ready_ns
    start_ns=$(date +%s%N)
    EMERALD_RUNTIME=$1 EMERALD_LISTEN="127.0.0.1:$PORT" EMERALD_LOG=warn "$BIN" serve --role lite >"$OUT/server-$1.log" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    for _ in $(seq 3000); do
        curl -sf "http://127.0.0.1:$PORT/v1/face/pattern/health" >/dev/null && break
        sleep 0.01
    done
    ready_ns=$(date +%s%N)
    echo "EMERALD_RUNTIME=$1: ready in $(( (ready_ns - start_ns) / 1000000 )) ms (goal <= 1000 ms); RSS $(( $(awk '/VmRSS/{print $2}' /proc/$pid/status) / 1024 )) MiB"
}
echo "== --role lite start =="
for rt in auto tract; do
    start "$rt"
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
start "${EMERALD_RUNTIME:-auto}"
echo

L="http://127.0.0.1:$PORT"
echo "== extract_and_compare, two 640x480 photos, 1 client =="
curl -s -F "sample_1=@$OUT/a.jpg" -F "sample_2=@$OUT/b.jpg" "$L/v1/face/pattern/extract_and_compare"; echo
"$BIN" bench-load --url "$L/v1/face/pattern/extract_and_compare" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
    --concurrency 1 --file "sample_1=$OUT/a.jpg" --file "sample_2=$OUT/b.jpg"
echo
echo "== liveness/detect, one 640x480 photo, $CONCURRENCY clients =="
curl -s -H 'Content-Type: image/jpeg' --data-binary "@$OUT/a.jpg" "$L/v1/face/liveness/detect"; echo
"$BIN" bench-load --url "$L/v1/face/liveness/detect" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
    --concurrency "$CONCURRENCY" --raw --file "photo=$OUT/a.jpg"
echo
echo "== extract, one 640x480 photo, $CONCURRENCY clients =="
"$BIN" bench-load --url "$L/v1/face/pattern/extract" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" \
    --concurrency "$CONCURRENCY" --raw --file "photo=$OUT/a.jpg"
echo
echo "== --role lite memory =="
echo "RSS after the load $(( $(awk '/VmRSS/{print $2}' /proc/$pid/status) / 1024 )) MiB, peak $(( $(awk '/VmHWM/{print $2}' /proc/$pid/status) / 1024 )) MiB (goal <= 300 MiB)"
kill "$pid"; wait "$pid" 2>/dev/null || true
echo "goals: extract_and_compare p50 <= 35 ms; liveness/detect >= 3,000/min at 4 clients; start <= 1 s; RSS <= 300 MiB"
