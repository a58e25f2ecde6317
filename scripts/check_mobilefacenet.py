#!/usr/bin/env python3
"""Dev-only check of scripts/convert_mobilefacenet.py: the ONNX model against the original TFLite (not run by CI).

Runs the original MobileFaceNet.tflite with a TFLite interpreter (PyPI ai-edge-litert) and the converted ONNX
model(s) with onnxruntime on real face crops and random inputs, and prints the largest absolute difference and the
smallest cosine between the embeddings. With --bench it also times the models, batch 1, one intra-op thread.

Set-up (a throw-away venv, not a project dependency):
    python3 -m venv /tmp/mfn-check
    /tmp/mfn-check/bin/pip install ai-edge-litert==2.3.0 onnxruntime==1.31.1 numpy==2.4.6 pillow==13.0.0

Usage:
    /tmp/mfn-check/bin/python scripts/check_mobilefacenet.py MobileFaceNet.tflite \\
        ~/.cache/emerald/models/mobilefacenet_sirius_192.onnx [literal.onnx ...] \\
        [--faces /work/shared/data/faces-dev/faces] [--count 40] [--random 16] \\
        [--bench --baseline ~/.cache/emerald/models/fr_feature.onnx --runs 200]

Extra ONNX files (e.g. `convert_mobilefacenet.py --prelu literal` / `--prelu op` outputs) are compared with the
TFLite file and with the first ONNX file (the PReLU forms give bit-identical embeddings).

Face crops: every k-th image (sorted paths) under --faces, centre 128x128 of the 250x250 LFW image resized to
112x112 (bilinear). Parity does not need alignment; the models only have to see face-like inputs.
Pre-processing for both runtimes: RGB, (v - 127.5) / 128; TFLite gets NHWC [2,112,112,3] (its batch is fixed
at 2, so faces go in pairs), ONNX gets NCHW [1,3,112,112]. The script exits 1 when the smallest cosine is below
--min-cosine (0.99999).
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:  # older wheel name
    from tflite_runtime.interpreter import Interpreter  # type: ignore


def face_crops(root: str, count: int) -> list[np.ndarray]:
    paths = sorted(glob.glob(os.path.join(root, "**", "*.jpg"), recursive=True))
    if len(paths) < count:
        sys.exit(f"only {len(paths)} images under {root}")
    step = len(paths) // count
    crops = []
    for path in paths[::step][:count]:
        img = Image.open(path).convert("RGB")
        w, h = img.size
        side = min(128, w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((112, 112), Image.BILINEAR)
        crops.append((np.asarray(img, dtype=np.float32) - 127.5) / 128.0)  # HWC
    return crops


def random_inputs(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(20261206)
    half = count // 2
    uniform = [rng.uniform(-1.0, 1.0, (112, 112, 3)).astype(np.float32) for _ in range(half)]
    normal = [np.clip(rng.normal(0.0, 0.5, (112, 112, 3)), -1, 1).astype(np.float32) for _ in range(count - half)]
    return uniform + normal


def tflite_embeddings(path: str, inputs: list[np.ndarray]) -> np.ndarray:
    interp = Interpreter(model_path=path, num_threads=1)
    interp.allocate_tensors()
    (inp,), (out,) = interp.get_input_details(), interp.get_output_details()
    batch = int(inp["shape"][0])
    result = []
    for i in range(0, len(inputs), batch):
        chunk = inputs[i : i + batch]
        padded = chunk + [chunk[-1]] * (batch - len(chunk))
        interp.set_tensor(inp["index"], np.stack(padded))
        interp.invoke()
        result.extend(interp.get_tensor(out["index"])[: len(chunk)].copy())
    return np.stack(result)


def session(path: str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def onnx_embeddings(path: str, inputs: list[np.ndarray]) -> np.ndarray:
    sess = session(path)
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    print(f"{os.path.basename(path)}: input {inp.name} {inp.shape}, output {out.name} {out.shape}")
    return np.concatenate([sess.run([out.name], {inp.name: x.transpose(2, 0, 1)[None]})[0] for x in inputs])


def compare(label: str, ref: np.ndarray, got: np.ndarray) -> float:
    diff = float(np.max(np.abs(ref - got)))
    cos = np.sum(ref * got, 1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1))
    norms = np.linalg.norm(ref, axis=1)
    print(
        f"  {label:28s} n={len(ref):3d}  max|diff| {diff:.3e}  min cosine {cos.min():.9f}  "
        f"(reference norms {norms.min():.2f}..{norms.max():.2f})"
    )
    return float(cos.min())


def bench(paths: list[str], runs: int) -> None:
    rng = np.random.default_rng(1)
    print(
        f"timing, batch 1, 1 intra-op thread, median of {runs} runs after 20 warm-up "
        f"(onnxruntime {ort.__version__}; load {os.getloadavg()[0]:.2f}, nproc {os.cpu_count()})"
    )
    sessions = []
    for path in paths:
        sess = session(path)
        shape = [d if isinstance(d, int) else 1 for d in sess.get_inputs()[0].shape]
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        sessions.append((path, sess, {sess.get_inputs()[0].name: x}))
    times: dict[str, list[float]] = {p: [] for p in paths}
    for path, sess, feed in sessions:
        for _ in range(20):
            sess.run(None, feed)
    for _ in range(runs):  # interleaved, so load changes hit every model alike
        for path, sess, feed in sessions:
            t0 = time.perf_counter()
            sess.run(None, feed)
            times[path].append((time.perf_counter() - t0) * 1e3)
    for path in paths:
        t = sorted(times[path])
        print(
            f"  {os.path.basename(path):34s} median {statistics.median(t):6.2f} ms  "
            f"p10 {t[len(t) // 10]:6.2f}  p90 {t[9 * len(t) // 10]:6.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tflite")
    parser.add_argument("onnx", nargs="+")
    parser.add_argument("--faces", default="/work/shared/data/faces-dev/faces")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--random", type=int, default=16)
    parser.add_argument("--min-cosine", type=float, default=0.99999)
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--baseline", action="append", default=[], help="extra model(s) to time, e.g. fr_feature.onnx")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    sets = {"faces (centre crops)": face_crops(args.faces, args.count), "random inputs": random_inputs(args.random)}
    worst = 1.0
    first = {}
    for name, inputs in sets.items():
        print(f"== {name}")
        ref = tflite_embeddings(args.tflite, inputs)
        for path in args.onnx:
            got = onnx_embeddings(path, inputs)
            worst = min(worst, compare(f"{os.path.basename(path)} vs tflite", ref, got))
            if path != args.onnx[0]:
                print(
                    f"  {os.path.basename(path)} vs {os.path.basename(args.onnx[0])}: "
                    f"max|diff| {float(np.max(np.abs(got - first[name]))):.3e}"
                )
            else:
                first[name] = got
    if args.bench:
        bench(args.onnx + args.baseline, args.runs)
    ok = worst >= args.min_cosine
    print(f"{'OK' if ok else 'FAIL'}: smallest cosine {worst:.9f} (threshold {args.min_cosine})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
