#!/usr/bin/env bash
# Fetch the real face photos that the emerald-vision tests use, from registry packages, into a
# cache dir. Idempotent: does nothing when the files are already there.
#
#   scripts/fetch-test-images.sh [DIR]   DIR defaults to $EMERALD_TEST_IMAGES_DIR or
#                                        ~/.cache/emerald/test-images
#
# The smallest subset that covers the tests:
#   PyPI face-recognition==1.3.0 (sdist, MIT) -> tests/test_images/{obama,obama2,obama3,biden}.jpg,
#                                               32bit.png (the flag in its corner is the "no face" photo)
#   npm @vladmandic/face-api@1.7.15 (MIT)     -> package/demo/sample{1..6}.jpg (group photos)
# The images are not committed to the repository.
set -euo pipefail

DIR="${1:-${EMERALD_TEST_IMAGES_DIR:-$HOME/.cache/emerald/test-images}}"
mkdir -p "$DIR"

FR_FILES=(obama.jpg obama2.jpg obama3.jpg biden.jpg 32bit.png)
API_FILES=(sample1.jpg sample2.jpg sample3.jpg sample4.jpg sample5.jpg sample6.jpg)

have_all() { for f in "$@"; do [ -s "$DIR/$f" ] || return 1; done; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

if ! have_all "${FR_FILES[@]}"; then
  echo "fetching PyPI face-recognition==1.3.0 (sdist) ..." >&2
  PIP="${PIP:-$(command -v pip3 || command -v pip)}"
  "$PIP" download --quiet --no-deps --no-binary :all: -d "$TMP" face-recognition==1.3.0
  members=()
  for f in "${FR_FILES[@]}"; do members+=("face_recognition-1.3.0/tests/test_images/$f"); done
  tar -xzf "$TMP/face_recognition-1.3.0.tar.gz" -C "$TMP" "${members[@]}"
  for f in "${FR_FILES[@]}"; do cp "$TMP/face_recognition-1.3.0/tests/test_images/$f" "$DIR/$f"; done
fi

if ! have_all "${API_FILES[@]}"; then
  echo "fetching npm @vladmandic/face-api@1.7.15 ..." >&2
  (cd "$TMP" && npm pack --silent @vladmandic/face-api@1.7.15 >/dev/null)
  members=()
  for f in "${API_FILES[@]}"; do members+=("package/demo/$f"); done
  tar -xzf "$TMP/vladmandic-face-api-1.7.15.tgz" -C "$TMP" "${members[@]}"
  for f in "${API_FILES[@]}"; do cp "$TMP/package/demo/$f" "$DIR/$f"; done
fi

echo "emerald test images: $DIR"
