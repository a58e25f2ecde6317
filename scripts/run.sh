#!/usr/bin/env bash
# Set everything up on a fresh machine (models, the video decoder and the document OCR from registry packages,
# release build) and start the server: http://127.0.0.1:8000, SQLite and media under ./data. On first start
# the first ADMIN's e-mail and a generated password are printed once (or set
# EMERALD_ADMIN_EMAIL / EMERALD_ADMIN_PASSWORD), followed by the web console's URL
# (http://127.0.0.1:8000/console/). Extra arguments go to `emerald serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x scripts/fetch-models.sh ]; then scripts/fetch-models.sh; fi
if [ -x scripts/fetch-ffmpeg.sh ]; then scripts/fetch-ffmpeg.sh; fi
if [ -x scripts/fetch-tesseract.sh ]; then scripts/fetch-tesseract.sh; fi
cargo build --release --locked -p emerald
# Where cargo put it: ./target, or $CARGO_TARGET_DIR when the user sets one.
exec "${CARGO_TARGET_DIR:-target}/release/emerald" serve "$@"
