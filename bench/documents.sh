#!/usr/bin/env bash
# DOCUMENTS latency through the HTTP API (issue #19), one client, on the synthetic documents of
# scripts/make-test-documents.sh and a faces-dev selfie of the person on the document:
#   * single request DOCUMENTS on one document photo (MRZ, portrait, visual zone) — p50 / p90
#     per photo over N_PHOTOS photos of the corpus (flat, rotated, tilted, blurred…), each
#     sent ROUNDS times;
#   * single request QUALITY + DOCUMENTS + BIOMETRY + COLLECTION on a selfie and an ID photo
#     (the official SDKs' documents + blacklist flow) — p50 / p90 over ROUNDS requests.
# Targets (issue #19, 2 cores): DOCUMENTS p50 ≤ 250 ms per photo, the four-analysis request
# p50 ≤ 400 ms.
#
#   bench/documents.sh
#   ROUNDS=10 N_PHOTOS=11 WARMUP=3
#   OCRS="ppocr tesseract"   the visual-zone OCRs measured, one server each (EMERALD_DOCUMENTS_OCR)
#   BIN=…/emerald     run this binary instead of building the release one (a dev build measures
#                     the server's own code unoptimised: say so with the figures)
# Each measurement is made once per OCR of the visual zone (PP-OCRv4 in process, Tesseract).
# Output (server log, answers) goes to bench/out/documents/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-10}
N_PHOTOS=${N_PHOTOS:-11}
WARMUP=${WARMUP:-3}
OCRS=${OCRS:-ppocr tesseract}
PORT=${PORT:-18434}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
OUT=bench/out/documents
DOCS=${EMERALD_TEST_DOCUMENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/test-documents/v2}
mkdir -p "$OUT"

scripts/fetch-models.sh >/dev/null
scripts/fetch-tesseract.sh >/dev/null
scripts/make-test-documents.sh >/dev/null
[ -f "$DOCS/manifest.json" ] || { echo "documents.sh: no test documents in $DOCS"; exit 2; }

echo "== machine =="
grep -m1 'model name' /proc/cpuinfo || true
echo "cpus: $(nproc); mem: $(free -g | awk '/Mem:/{print $2}') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tesseract: $(tesseract --version 2>&1 | head -1)"
echo "rounds: $ROUNDS after $WARMUP warm-up requests; one client"
echo

if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -q -p emerald
  BIN=$CARGO_TARGET_DIR/release/emerald
fi
echo "binary: $BIN"

# start OCR: a server reading the visual zone with EMERALD_DOCUMENTS_OCR=OCR.
start() {
  data=$(mktemp -d)
  EMERALD_DATA_DIR="$data" EMERALD_LISTEN="127.0.0.1:$PORT" EMERALD_LOG=warn EMERALD_DOCUMENTS_OCR="$1" \
    EMERALD_ADMIN_EMAIL=bench@bench.local EMERALD_ADMIN_PASSWORD=bench-password-1 \
    "$BIN" serve >"$OUT/server-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/api/version" >/dev/null && break; sleep 0.2; done
  token=$(curl -s -d '{"credentials": {"email": "bench@bench.local", "password": "bench-password-1"}}' \
    "http://127.0.0.1:$PORT/api/authorize/auth" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}
stop() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  [ -n "$data" ] && rm -rf "$data"
  pid= data=
}
pid= data=
trap 'stop' EXIT

# post PAYLOAD FILE…: one single request (files as name=path), prints the seconds it took;
# fails unless every analysis ended (FINISHED, or QUALITY FAILED with code 4: an ID photo's face
# cropped too tightly to judge liveness).
post() {
  local payload=$1; shift
  local args=()
  for f in "$@"; do args+=(-F "${f%%=*}=@${f#*=};type=image/jpeg"); done
  local t
  t=$(curl -s -o "$OUT/answer.json" -w '%{time_total}' -H "X-Forensic-Access-Token: $token" \
    "${args[@]}" -F "payload=$payload" "http://127.0.0.1:$PORT/api/folders/")
  python3 - "$OUT/answer.json" <<'PY' || { echo "documents.sh: a request failed: $(head -c 400 "$OUT/answer.json")" >&2; exit 1; }
import json, sys
a = json.load(open(sys.argv[1]))["analyses"]
ok = all(x["state"] == "FINISHED" or (x["type"] == "QUALITY" and (x.get("error") or {}).get("error_code") == 4) for x in a)
sys.exit(0 if ok and a else 1)
PY
  echo "$t"
}
# stats: p50 / p90 / max in ms of the seconds on standard input.
stats() {
  python3 -c '
import sys
v = sorted(float(x) * 1000 for x in sys.stdin if x.strip())
p = lambda q: v[min(len(v) - 1, max(0, int(len(v) * q + 0.999999) - 1))]
print(f"n {len(v)}  p50 {p(0.5):.0f} ms  p90 {p(0.9):.0f} ms  max {v[-1]:.0f} ms")'
}

mapfile -t photos < <(python3 -c "
import json, sys
m = json.load(open('$DOCS/manifest.json'))
for d in [d for d in m if d['valid']][:$N_PHOTOS]:
    print(d['file'] + ' ' + d['face_path'])")

docs_payload='{"media:tags": {"doc": ["photo_id"]}, "analyses": [{"type": "documents"}]}'
for ocr in $OCRS; do
  start "$ocr"
  echo "#### EMERALD_DOCUMENTS_OCR=$ocr"
  # The engine that read the zone (ppocr falls back to tesseract when its models are missing).
  post "$docs_payload" "doc=$DOCS/${photos[0]%% *}" >/dev/null
  echo "visual zone read by: $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1]))["analyses"][0]; print(a["results_data"]["visual_zone"].get("ocr") or a["results_data"]["visual_zone"].get("reason"))' "$OUT/answer.json")"
  first=${photos[0]%% *}
  for _ in $(seq "$WARMUP"); do post "$docs_payload" "doc=$DOCS/$first" >/dev/null; done
  echo "== single request DOCUMENTS, one document photo (${#photos[@]} photos × $ROUNDS) =="
  for p in "${photos[@]}"; do
    for _ in $(seq "$ROUNDS"); do post "$docs_payload" "doc=$DOCS/${p%% *}"; done
  done | stats

  four='{"media:tags": {"selfie": ["photo_selfie"], "id": ["photo_id", "photo_id_front"]}, "analyses": [{"type": "quality"}, {"type": "documents", "params": {"capabilities": 492}}, {"type": "biometry"}, {"type": "collection"}]}'
  face=${photos[0]#* }
  selfie=${face%0001.jpg}0002.jpg
  for _ in $(seq "$WARMUP"); do post "$four" "selfie=$selfie" "id=$DOCS/$first" >/dev/null; done
  echo "== single request QUALITY + DOCUMENTS + BIOMETRY + COLLECTION, a selfie and an ID photo ($ROUNDS) =="
  for _ in $(seq "$ROUNDS"); do post "$four" "selfie=$selfie" "id=$DOCS/$first"; done | stats
  stop
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
