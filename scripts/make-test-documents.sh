#!/usr/bin/env bash
# Synthetic identity documents for the DOCUMENTS tests (issue #19): ID cards (TD1), TD2 cards and
# passport pages (TD3) rendered with the MRZ in OCR-B (Debian fonts-ocr-b), the visual zone in
# DejaVu Sans and a portrait from ../shared/data/faces-dev, then photographed synthetically
# (rotation 0/90/180/270, tilt, perspective, blur, noise, glare, JPEG 60). Some have a broken
# check digit, some are expired. See scripts/make_test_documents.py.
#
#   scripts/make-test-documents.sh [DIR]     DIR defaults to ~/.cache/emerald/test-documents/v2
#
# A second corpus, DIR-columns (22 documents), lays the visual zone out differently: labels side
# by side in two columns, bilingual name labels (EMERALD_TEST_DOCUMENTS_LAYOUT=columns): the
# field parser is checked on a layout it was not written against.
#
# Needs python3 with PIL and the two fonts: installed with apt-get when root (python3-pil,
# fonts-ocr-b, fonts-dejavu-core), else the script says what is missing and exits 0 (the corpus
# tests then print SKIPPED). Remade only when the generator changes.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/emerald/test-documents/v2}"
FACES="${EMERALD_FACES_DEV:-../shared/data/faces-dev/faces}"
[ -d "$FACES" ] || FACES=/work/shared/data/faces-dev/faces
GEN=scripts/make_test_documents.py
STAMP="$(sha256sum "$GEN" | cut -c1-16)"
cached() { [ "$(cat "$1/.stamp" 2>/dev/null)" = "$STAMP" ] && [ -f "$1/manifest.json" ]; }
if cached "$DIR" && cached "$DIR-columns"; then
  echo "test documents: cached in $DIR and $DIR-columns"
  exit 0
fi

pick_python() {
  for py in /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null && "$py" -c 'import PIL' 2>/dev/null; then echo "$py"; return; fi
  done
}
PY="$(pick_python || true)"
need_fonts() { [ ! -f /usr/share/fonts/opentype/ocr-b/OCRB.otf ] || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; }
if { [ -z "$PY" ] || need_fonts; } && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test documents: installing python3-pil fonts-ocr-b fonts-dejavu-core with apt-get"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pil fonts-ocr-b fonts-dejavu-core) >/dev/null || true
  PY="$(pick_python || true)"
fi
if [ -z "$PY" ] || need_fonts; then
  echo "warning: the synthetic test documents cannot be made: python3 with PIL (python3-pil) and the fonts fonts-ocr-b and fonts-dejavu-core are needed; the document corpus tests will be SKIPPED" >&2
  exit 0
fi
if [ ! -d "$FACES" ]; then
  echo "warning: no face photos in $FACES (set EMERALD_FACES_DEV); the document corpus tests will be SKIPPED" >&2
  exit 0
fi
# The first photo of each of the first people with two or more (sorted, deterministic): the
# second photo is the selfie of the tests.
mapfile -t faces < <(find "$FACES" -name '0002.jpg' | sort | sed 's/0002.jpg$/0001.jpg/' | while read -r f; do [ -f "$f" ] && echo "$f"; done | head -40)
# make_corpus DIR LAYOUT COUNT
make_corpus() {
  rm -rf "$1.tmp" && mkdir -p "$1.tmp"
  EMERALD_TEST_DOCUMENTS_LAYOUT="$2" EMERALD_TEST_DOCUMENTS="$3" "$PY" "$GEN" "$1.tmp" "${faces[@]}"
  echo "$STAMP" >"$1.tmp/.stamp"
  rm -rf "$1" && mv "$1.tmp" "$1"
}
cached "$DIR" || make_corpus "$DIR" stacked "${EMERALD_TEST_DOCUMENTS:-44}"
cached "$DIR-columns" || make_corpus "$DIR-columns" columns 22
