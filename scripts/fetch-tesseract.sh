#!/usr/bin/env bash
# Install Tesseract, the OCR that reads the visual zone of identity documents (DOCUMENTS analyses,
# docs/documents.md): Debian's tesseract-ocr (5.x) and its English data, tesseract-ocr-eng.
# Idempotent: when `tesseract` runs and lists `eng`, nothing is done.
#
#   scripts/fetch-tesseract.sh
#
# As root it runs apt-get; otherwise it says what to install and exits 0: the server still
# starts, and DOCUMENTS analyses then read the MRZ only and say in results_data.visual_zone that
# the visual zone was not read and why. Another binary: EMERALD_TESSERACT (--tesseract).
# EMERALD_SKIP_TESSERACT=1 skips this script.
set -euo pipefail

[ "${EMERALD_SKIP_TESSERACT:-}" = 1 ] && exit 0
BIN="${EMERALD_TESSERACT:-tesseract}"
usable() { command -v "$BIN" >/dev/null && "$BIN" --list-langs 2>&1 | grep -qx eng; }

if usable; then
  echo "tesseract: $("$BIN" --version 2>&1 | head -1) with eng"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "tesseract: installing tesseract-ocr tesseract-ocr-eng with apt-get"
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    tesseract-ocr tesseract-ocr-eng) >/dev/null; then
    usable && { echo "tesseract: $("$BIN" --version 2>&1 | head -1) installed"; exit 0; }
  fi
fi
echo "warning: no usable Tesseract ($BIN with the eng language): DOCUMENTS analyses will read the MRZ only and" \
  "say that the visual zone was not read. Install it with \`apt-get install tesseract-ocr tesseract-ocr-eng\`" \
  "(as root), or set EMERALD_TESSERACT to a tesseract 4 or 5 binary." >&2
exit 0
