#!/usr/bin/env bash
# End-to-end gallery benchmark: the Rust figures, then the FAISS anchor on the same vectors.
#   bench/gallery.sh [N] [ANN_N] [QUERIES]      (defaults: 1000000 200000 200)
# FAISS (faiss-cpu and numpy from PyPI) is installed once into a venv in the cache directory
# (~/.cache/emerald/bench-faiss), or GALLERY_PYTHON names a python that has it. Output and the
# vector files go to bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
ANN_N=${2:-200000}
QUERIES=${3:-200}
THREADS=${GALLERY_THREADS:-2}
OUT=bench/out/gallery
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/emerald/bench-faiss"
if [ -z "${GALLERY_PYTHON:-}" ] && [ ! -x "$VENV/bin/python" ]; then
    echo "gallery.sh: installing faiss-cpu and numpy from PyPI into $VENV (once) for the FAISS anchor"
    (python3 -m venv "$VENV" && "$VENV/bin/pip" install -q faiss-cpu numpy) >/dev/null 2>&1 || rm -rf "$VENV"
fi
PY=${GALLERY_PYTHON:-$VENV/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
mkdir -p "$OUT"

echo "== machine =="
grep -m1 'model name' /proc/cpuinfo || true
echo "cpus: $(nproc); mem: $(free -g | awk '/Mem:/{print $2}') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rustc -V
echo

cargo build --release -q -p emerald-gallery --example bench_gallery
"$CARGO_TARGET_DIR/release/examples/bench_gallery" --n "$N" --ann-n "$ANN_N" --queries "$QUERIES" \
    --threads "$THREADS" --out "$OUT"

echo
echo "== FAISS anchor =="
if [ -x "$PY" ] && "$PY" -c 'import faiss, numpy' 2>/dev/null; then
    GALLERY_THREADS=$THREADS "$PY" bench/gallery_faiss.py "$OUT"
else
    echo "FAISS UNAVAILABLE: no python with faiss-cpu at $PY (set GALLERY_PYTHON); no anchor this run"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$OUT"/base.f32
