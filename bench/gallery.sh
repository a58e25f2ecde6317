#!/usr/bin/env bash
# End-to-end gallery benchmark: the Rust figures, then the anchors (FAISS flat / SQ8 / HNSW and
# hnswlib, built with Emerald's M and efConstruction, swept over the same ef) on the same vectors.
#   bench/gallery.sh [N] [ANN_N] [QUERIES]        synthetic face model (defaults: 1000000 200000 200)
#   bench/gallery.sh real [VARIANTS] [PROBES]     real templates: the face engine's embeddings of
#                                                 augmented faces-dev photos (defaults: 8 2)
# GALLERY_DIM (default 704, the fused embedder's), GALLERY_THREADS (2), GALLERY_ANCHORS (see
# bench/gallery_faiss.py), FACES_DEV (default ../shared/data/faces-dev). FAISS, hnswlib and numpy
# (PyPI) are installed once into a venv in the cache directory (~/.cache/emerald/bench-faiss), or
# GALLERY_PYTHON names a python that has them. Output and vector files go to bench/out/ (ignored by
# git); every engine's curve lands in bench/out/gallery[-real]/curves.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${GALLERY_THREADS:-2}
DIM=${GALLERY_DIM:-704}
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/emerald/bench-faiss"
if [ -z "${GALLERY_PYTHON:-}" ] && ! "$VENV/bin/python" -c 'import faiss, numpy, hnswlib' 2>/dev/null; then
    echo "gallery.sh: installing faiss-cpu, hnswlib and numpy from PyPI into $VENV (once) for the anchors"
    # hnswlib has no wheel for every python: pip then builds it from the sdist (needs g++).
    ( ([ -x "$VENV/bin/python" ] || python3 -m venv "$VENV") && "$VENV/bin/pip" install -q faiss-cpu numpy hnswlib) \
        >/dev/null 2>&1 || echo "gallery.sh: install failed; anchors missing below"
fi
PY=${GALLERY_PYTHON:-$VENV/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

echo "== machine =="
grep -m1 'model name' /proc/cpuinfo || true
echo "cpus: $(nproc); mem: $(free -g | awk '/Mem:/{print $2}') GiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rustc -V
echo

if [ "${1:-}" = real ]; then
    VARIANTS=${2:-8}
    PROBES=${3:-2}
    OUT=bench/out/gallery-real
    SET=$OUT/set-$VARIANTS-$PROBES
    FACES=${FACES_DEV:-../shared/data/faces-dev}/faces
    if [ ! -s "$SET/queries.f32" ]; then
        cargo build --release -q -p emerald-vision --example template_set
        "$CARGO_TARGET_DIR/release/examples/template_set" "$FACES" "$SET" "$VARIANTS" "$PROBES"
    fi
    cat "$SET/info.txt"
    cargo build --release -q -p emerald-gallery --example bench_gallery
    "$CARGO_TARGET_DIR/release/examples/bench_gallery" --data "$SET" --dim "$DIM" --queries 100000 \
        --threads "$THREADS" --out "$OUT"
    DATASET="real faces-dev x$VARIANTS"
else
    N=${1:-1000000}
    ANN_N=${2:-200000}
    QUERIES=${3:-200}
    OUT=bench/out/gallery
    mkdir -p "$OUT"
    cargo build --release -q -p emerald-gallery --example bench_gallery
    "$CARGO_TARGET_DIR/release/examples/bench_gallery" --n "$N" --ann-n "$ANN_N" --queries "$QUERIES" \
        --dim "$DIM" --threads "$THREADS" --out "$OUT"
    DATASET=synthetic
fi

echo
echo "== anchors (FAISS, hnswlib) =="
if [ -x "$PY" ] && "$PY" -c 'import faiss, numpy' 2>/dev/null; then
    GALLERY_THREADS=$THREADS "$PY" bench/gallery_faiss.py "$OUT" "$DATASET"
else
    echo "FAISS UNAVAILABLE: no python with faiss-cpu at $PY (set GALLERY_PYTHON); no anchor this run"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$OUT"/base.f32
