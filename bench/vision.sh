#!/usr/bin/env bash
# Face engine benchmark: criterion per stage and end to end (tract, this crate), then
# onnxruntime (PyPI) per-model inference on the same machine, and the ratio
#   end-to-end per 640×480 photo (1 face) / sum of onnxruntime per-model times.
#
#   bench/vision.sh            (needs scripts/fetch-models.sh, scripts/fetch-test-images.sh)
# Env: VENV (default /work/.venv-vision, created with onnxruntime numpy when absent),
#      CARGO_TARGET_DIR (default /work/target-vision).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-vision}"
VENV="${VENV:-/work/.venv-vision}"
MODELS="${EMERALD_MODELS_DIR:-$HOME/.cache/emerald/models}"

scripts/fetch-models.sh >/dev/null
scripts/fetch-test-images.sh >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), no GPU"
cargo bench -q -p emerald-vision --bench pipeline -- --noplot 2>&1 | grep -E "^(vision/|[0-9]+x[0-9]+:)|time:" || true

est() { # mean in ms of one criterion benchmark
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['mean']['point_estimate']/1e6)" \
    "$CARGO_TARGET_DIR/criterion/vision/$1/new/estimates.json"
}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet onnxruntime numpy
fi
ORT=$("$VENV/bin/python" - "$MODELS" <<'PY'
import os, sys, time
import numpy as np, onnxruntime as ort
d = sys.argv[1]
o = ort.SessionOptions(); o.intra_op_num_threads = 1
total = 0.0
for f, shape in [("face_detection_yunet_2023mar.onnx", (1, 3, 640, 640)),
                 ("fr_feature.onnx", (1, 3, 112, 112)), ("fr_liveness.onnx", (1, 3, 128, 128))]:
    s = ort.InferenceSession(os.path.join(d, f), o, providers=["CPUExecutionProvider"])
    x = {s.get_inputs()[0].name: (np.random.rand(*shape) * 255).astype(np.float32)}
    for _ in range(5): s.run(None, x)
    ts = []
    for _ in range(50):
        t = time.perf_counter(); s.run(None, x); ts.append(time.perf_counter() - t)
    ms = float(np.median(ts)) * 1e3
    total += ms
    print(f"onnxruntime {ort.__version__} 1 thread {f}: {ms:.2f} ms", file=sys.stderr)
print(f"{total:.3f}")
PY
)
E2E=$(est "end_to_end_640x480")
python3 -c "import sys; e,o=map(float,sys.argv[1:]); print(f'end-to-end 640x480 (tract): {e:.1f} ms; onnxruntime per-model sum: {o:.1f} ms; ratio {e/o:.2f}')" "$E2E" "$ORT"
