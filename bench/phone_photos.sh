#!/usr/bin/env bash
# Phone-size photos through the HTTP API (4032×3024: what a phone camera sends), against the
# 1,600-px corpus documents and the 640×480 face photos the other benchmarks use, one client:
#   * DOCUMENTS on three documents of scripts/make-test-documents.sh (a TD1 card upright, a TD3
#     page turned a quarter, a tilted TD2 card), each on its own and placed at three fifths of
#     a 4032×3024 frame (`emerald bench-fit --place 0.6`; the MRZ then comes out small at the
#     reader's 1,600 px and the document's part is read again on more pixels);
#   * QUALITY (with its best shot, the default) on a face photo fitted to 640×480 and to
#     4032×3024, the latter also as an iPhone stores it (HEIF in 512×512 tiles).
# p50 / p90 of ROUNDS single requests each; every answer is checked (FINISHED; for documents
# the MRZ valid and the same document number on both sizes).
#
#   bench/phone_photos.sh
#   ROUNDS=7 PORT=18436
#   BIN=…/emerald     run this binary instead of building the release one
# Output (server log, photos, answers) goes to bench/out/phone/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${ROUNDS:-7}
PORT=${PORT:-18436}
OUT=bench/out/phone
DOCS=${EMERALD_TEST_DOCUMENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/test-documents/v2}
mkdir -p "$OUT"
scripts/make-test-documents.sh >/dev/null
[ -f "$DOCS/manifest.json" ] || { echo "phone_photos.sh: no test documents in $DOCS"; exit 2; }
bench_machine "rounds: $ROUNDS, one client"
bench_server_bin
echo "binary: $BIN"
bench_photos "$OUT" >/dev/null
"$BIN" bench-fit --in "$IMAGES/obama.jpg" --out "$OUT/face-12mp.jpg" --width 4032 --height 3024 >/dev/null
# The same photo as an iPhone stores it: HEIF, 48 tiles of 512 x 512 (the encoder of the video
# corpus' venv, made by scripts/make-test-videos.sh).
HEIF_PY=${XDG_CACHE_HOME:-$HOME/.cache}/emerald/heif-venv/bin/python
[ -x "$HEIF_PY" ] || scripts/make-test-videos.sh >/dev/null
"$HEIF_PY" - "$OUT/face-12mp.jpg" "$OUT/face-12mp.heic" <<'PY'
import sys
import pillow_heif
from PIL import Image
pillow_heif.register_heif_opener()
Image.open(sys.argv[1]).save(sys.argv[2], quality=80, tile_size=512)
PY
mapfile -t docs < <(python3 -c "
import json
m = json.load(open('$DOCS/manifest.json'))
for kind in [('td1', 'flat'), ('td3', 'rot90'), ('td2', 'tilt')]:
    d = next(d for d in m if d['valid'] and not d['expired'] and d['variant'] == kind[1] and d['file'].split('_')[1] == kind[0])
    print(d['file'])")
for d in "${docs[@]}"; do
  "$BIN" bench-fit --in "$DOCS/$d" --out "$OUT/12mp-$d" --width 4032 --height 3024 --place 0.6 >/dev/null
done

bench_start "$OUT/server.log" "$PORT" sqlite
token=$(bench_token "$PORT")
# post PAYLOAD NAME FILE: one single request, prints its seconds; the answer in $OUT/answer.json.
post() {
  curl -s -o "$OUT/answer.json" -w '%{time_total}\n' -H "X-Forensic-Access-Token: $token" \
    -F "$2=@$3;type=image/jpeg" -F "payload=$1" "http://127.0.0.1:$PORT/api/folders/"
}
# check KIND: the last answer finished (and, for documents, its MRZ valid); prints the document number.
check() {
  python3 - "$OUT/answer.json" "$1" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["analyses"][0]
assert a["state"] == "FINISHED", a
if sys.argv[2] == "documents":
    r = a["results_data"]
    assert r["document"]["mrz_valid"], r["document"]
    print(next(f["mrz"] for f in r["text_fields"] if f["field_name"] == "document_number"))
PY
}
stats() {
  python3 -c '
import sys
v = sorted(float(x) * 1000 for x in sys.stdin if x.strip())
p = lambda q: v[min(len(v) - 1, max(0, int(len(v) * q + 0.999999) - 1))]
print(f"p50 {p(0.5):.0f} ms  p90 {p(0.9):.0f} ms  (n {len(v)})")'
}
# measure LABEL PAYLOAD NAME FILE KIND: a warm-up request, then ROUNDS; prints the figures.
measure() {
  post "$2" "$3" "$4" >/dev/null
  local figures number
  figures=$(for _ in $(seq "$ROUNDS"); do post "$2" "$3" "$4"; done | stats)
  number=$(check "$5")
  printf '%-44s %s %s\n' "$1" "$figures" "$number"
}

dp='{"media:tags": {"doc": ["photo_id"]}, "analyses": [{"type": "documents"}]}'
qp='{"media:tags": {"face": ["photo_selfie"]}, "analyses": [{"type": "quality"}]}'
echo "== DOCUMENTS, single request (document number read) =="
for d in "${docs[@]}"; do
  a=$(measure "$d, as rendered (1600 px)" "$dp" doc "$DOCS/$d" documents)
  b=$(measure "$d, 3/5 of a 4032x3024 frame" "$dp" doc "$OUT/12mp-$d" documents)
  echo "$a"; echo "$b"
  [ "${a##* }" = "${b##* }" ] || { echo "phone_photos.sh: $d read differently on the big frame"; exit 1; }
done
echo "== QUALITY with its best shot, single request =="
measure "face photo, 640x480" "$qp" face "$OUT/a.jpg" quality
measure "face photo, 4032x3024" "$qp" face "$OUT/face-12mp.jpg" quality
measure "face photo, 4032x3024 HEIF (iPhone tiles)" "$qp" face "$OUT/face-12mp.heic" quality
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
