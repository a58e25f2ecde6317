#!/usr/bin/env bash
# Folders at scale (issue #3): bulk-load N folders with metadata, then on each store measure
#   * GET /api/folders/?meta_data=transaction_id==<random existing id>  (wrk: p50 / p99)
#   * database size, and its growth per folder with its analyses: real single requests
#     (a selfie and an ID photo, QUALITY + BIOMETRY) for ANALYSES_SECONDS, measured by the
#     database's own size before and after (SQLite: page_count x page_size, WAL included)
#   * upload throughput of ~1 MB JPEG photos (wrk, POST /api/folders/ multipart), next to the
#     raw sequential write speed of the same disk (dd) as the anchor.
#
#   bench/folders.sh [N]            (default N = 1000000)
#   BACKENDS="sqlite postgres"      which stores (default both)
#   PG_URL=postgres://postgres@127.0.0.1:5432/test   the PostgreSQL server (own schema per run)
#   PROFILE=release|debug           binary to build and run (default release)
#   BIN=…/emerald                   run this binary instead of building one
#   DURATION=20s CONNECTIONS=4      wrk settings
#   ANALYSES_SECONDS=30             folders with analyses (0: skip; needs the models)
#   DATA_ROOT=/tmp                  where the runs' data dirs go (the filesystem under test)
# Output goes to bench/out/folders/ (ignored by git); the figures are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PROFILE=${PROFILE:-release}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-4}
PORT=${PORT:-18431}
ANALYSES_SECONDS=${ANALYSES_SECONDS:-30}
DATA_ROOT=${DATA_ROOT:-/tmp}
IMAGES=${EMERALD_TEST_IMAGES:-$HOME/.cache/emerald/test-images}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
OUT=bench/out/folders
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "bench/folders.sh needs wrk (Debian: apt-get install wrk)" >&2; exit 1; }

echo "== machine =="
grep -m1 'model name' /proc/cpuinfo || true
echo "cpus: $(nproc); mem: $(free -g | awk '/Mem:/{print $2}') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rustc -V
echo "N = $N; profile = $PROFILE; wrk -c$CONNECTIONS -d$DURATION"
echo "data root: $DATA_ROOT ($(df -T "$DATA_ROOT" | awk 'NR==2{print $2 " on " $1}'))"
echo

# BIN=path/to/emerald skips the build (e.g. the binary `cargo test` already built).
if [ -z "${BIN:-}" ]; then
    if [ "$PROFILE" = release ]; then cargo build --release -q -p emerald; else cargo build -q -p emerald; fi
    BIN=$CARGO_TARGET_DIR/$PROFILE/emerald
fi
"$BIN" bench-photo --out "$OUT/photo.jpg" --bytes 1000000
if [ "$ANALYSES_SECONDS" != 0 ]; then
    scripts/fetch-models.sh >/dev/null
    scripts/fetch-test-images.sh >/dev/null
    "$BIN" bench-fit --in "$IMAGES/obama.jpg" --out "$OUT/selfie.jpg" --width 640 --height 480
    "$BIN" bench-fit --in "$IMAGES/obama2.jpg" --out "$OUT/id.jpg" --width 640 --height 480
fi

# wrk scripts: a random existing transaction id per request; a multipart photo upload.
cat > "$OUT/lookup.lua" <<LUA
math.randomseed(os.time())
wrk.headers["X-Forensic-Access-Token"] = os.getenv("TOKEN")
request = function()
  return wrk.format("GET", string.format("/api/folders/?meta_data=transaction_id==tx-%09d", math.random(0, $N - 1)))
end
LUA
cat > "$OUT/upload.lua" <<'LUA'
local f = assert(io.open(os.getenv("PHOTO"), "rb"))
local photo = f:read("*all")
f:close()
local b = "emeraldbenchboundary"
wrk.method = "POST"
wrk.headers["X-Forensic-Access-Token"] = os.getenv("TOKEN")
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"photo1\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
  .. photo .. "\r\n--" .. b .. "\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n"
  .. '{"folder:meta_data": {"transaction_id": "upload"}, "media:tags": {"photo1": ["photo_selfie"]}}'
  .. "\r\n--" .. b .. "--\r\n"
LUA

# The database's size in bytes: PostgreSQL's relations of the schema; SQLite's pages as its
# own connection sees them (committed WAL frames included, whatever was checkpointed).
db_size() {
    if [ "$1" = postgres ]; then
        psql -tA "$PG_URL" -c "SELECT sum(pg_total_relation_size(format('%I.%I', schemaname, tablename))) FROM pg_tables WHERE schemaname = '$SCHEMA'"
    else
        python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute("PRAGMA page_count").fetchone()[0] * c.execute("PRAGMA page_size").fetchone()[0])' "$DATA/emerald.db"
    fi
}
# A process's CPU time so far, in clock ticks (user + system).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
folder_count() {
    curl -sf "http://127.0.0.1:$PORT/api/folders/?limit=1" -H "X-Forensic-Access-Token: $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_count"])'
}

SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
for backend in $BACKENDS; do
    echo "== $backend =="
    DATA=$(mktemp -d "$DATA_ROOT/emerald-bench-folders.XXXXXX")
    DBARGS=()
    SCHEMA=
    if [ "$backend" = postgres ]; then
        SCHEMA=bench_folders_$$
        psql -q "$PG_URL" -c "CREATE SCHEMA $SCHEMA"
        DBARGS=(--database-url "$PG_URL?options=-c%20search_path%3D$SCHEMA")
    fi
    start=$(date +%s.%N)
    "$BIN" bench-seed --folders "$N" --data-dir "$DATA" "${DBARGS[@]}"
    seed_s=$(echo "$(date +%s.%N) - $start" | bc)
    EMERALD_ADMIN_PASSWORD=bench-admin-password "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" "${DBARGS[@]}" \
        --session-ttl 86400 --log-format json > "$OUT/server-$backend.log" 2>&1 &
    SERVER=$!
    trap 'kill $SERVER 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/version" > /dev/null && break; sleep 0.2; done
    TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/authorize/auth" -H 'Content-Type: application/json' \
        -d '{"credentials": {"email": "bench@bench.local", "password": "bench-password-1"}}' \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    export TOKEN PHOTO=$OUT/photo.jpg
    probe=$(curl -sf "http://127.0.0.1:$PORT/api/folders/?meta_data=transaction_id==tx-000000007" -H "X-Forensic-Access-Token: $TOKEN" \
        | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["total_count"], b["items"][0]["meta_data"]["transaction_id"])')
    echo "lookup sanity: $probe"
    # Warm up, then measure.
    wrk -t1 -c1 -d3s -s "$OUT/lookup.lua" "http://127.0.0.1:$PORT" > /dev/null
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/lookup.lua" "http://127.0.0.1:$PORT" | tee "$OUT/lookup-$backend.txt"
    p50=$(awk '/ 50%/{print $2}' "$OUT/lookup-$backend.txt")
    p99=$(awk '/ 99%/{print $2}' "$OUT/lookup-$backend.txt")
    rps=$(awk '/Requests\/sec/{print $2}' "$OUT/lookup-$backend.txt")
    size=$(db_size "$backend")
    with_analyses="skipped (ANALYSES_SECONDS=0)"
    if [ "$ANALYSES_SECONDS" != 0 ]; then
        f0=$(folder_count); s0=$(db_size "$backend"); b0=$(du -sb "$DATA/media" 2>/dev/null | cut -f1 || echo 0)
        "$BIN" bench-load --url "http://127.0.0.1:$PORT/api/folders/" --token "$TOKEN" --seconds "$ANALYSES_SECONDS" --warmup 0 \
            --concurrency 2 --analyses '[{"type": "quality"}, {"type": "biometry"}]' \
            --file "selfie=$OUT/selfie.jpg:photo_selfie" --file "id=$OUT/id.jpg:photo_id,photo_id_front" | tee "$OUT/analyses-$backend.txt"
        f1=$(folder_count); s1=$(db_size "$backend"); b1=$(du -sb "$DATA/media" | cut -f1)
        made=$((f1 - f0))
        per=$(echo "scale=0; ($s1 - $s0) / $made" | bc)
        with_analyses="$made folders with 2 photos + QUALITY + BIOMETRY added $per bytes each = $(echo "scale=1; $per * 100000 / 1048576" | bc) MiB per 100k folders (+ $(( (b1 - b0) / made )) bytes of media files each)"
    fi
    # The server's own CPU time (user + system, from /proc) and wrk's over the upload run: the
    # two share the machine's cores, so the server's CPU per upload says what it would do alone.
    c0=$(cpu_ticks $SERVER)
    TIMEFORMAT='%U %S'
    { time wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$OUT/upload.lua" "http://127.0.0.1:$PORT/api/folders/" > "$OUT/upload-$backend.txt"; } 2> "$OUT/upload-wrk-cpu-$backend.txt"
    c1=$(cpu_ticks $SERVER)
    cat "$OUT/upload-$backend.txt"
    ups=$(awk '/Requests\/sec/{print $2}' "$OUT/upload-$backend.txt")
    uploads=$(awk '/requests in/{print $1}' "$OUT/upload-$backend.txt")
    server_ms=$(echo "scale=3; ($c1 - $c0) * 1000 / $(getconf CLK_TCK) / $uploads" | bc)
    wrk_ms=$(awk -v n="$uploads" '{printf "%.3f", ($1 + $2) * 1000 / n}' "$OUT/upload-wrk-cpu-$backend.txt")
    photo_bytes=$(stat -c %s "$OUT/photo.jpg")
    mbps=$(echo "scale=1; $ups * $photo_bytes / 1000000" | bc)
    disk=$(dd if=/dev/zero of="$DATA/dd.bin" bs=1M count=256 oflag=direct 2>&1 | awk -F, '/copied/{print $NF}')
    rm -f "$DATA/dd.bin"
    kill $SERVER; wait $SERVER 2>/dev/null || true
    trap - EXIT
    {
        echo "$backend: N=$N seed=${seed_s}s lookup p50=$p50 p99=$p99 ($rps req/s, $CONNECTIONS connections)"
        echo "$backend: db size $(echo "scale=1; $size / 1048576" | bc) MiB total = $(echo "scale=1; $size * 100000 / $N / 1048576" | bc) MiB per 100k folders (metadata only)"
        echo "$backend: with analyses: $with_analyses"
        echo "$backend: upload $ups photos/s of $photo_bytes bytes = $mbps MB/s; disk direct write:$disk"
        echo "$backend: upload CPU per photo: server $server_ms ms, wrk $wrk_ms ms; server alone: $(echo "scale=0; $photo_bytes / $server_ms / 1000" | bc) MB/s per core"
    } | tee -a "$SUMMARY"
    [ -n "$SCHEMA" ] && psql -q "$PG_URL" -c "DROP SCHEMA $SCHEMA CASCADE"
    rm -rf "$DATA"
    echo
done
echo "== summary =="
cat "$SUMMARY"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
