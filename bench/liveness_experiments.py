#!/usr/bin/env python3
"""Anti-spoof recipe variants measured on faces-dev and not kept (docs/accuracy.md, "Where the
declined live photos come from").

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy onnxruntime opencv-python-headless
    /tmp/venv/bin/python bench/liveness_experiments.py ../shared/data/faces-dev [MODELS_DIR]

A re-implementation of the engine's anti-spoof step (docs/vision.md, step 5): YuNet (OpenCV's
FaceDetectorYN, the same model file), the dominant face (area x centrality), the box scaled 2.7x
about its centre and kept inside the frame, 128x128, BGR 0..255, softmax, p(live) = p[0]; crops
with less than 1.4 face-widths of context are left out, as the engine declines to judge them.
It runs on the still photos of spoof/labels.csv and on 4 frames a second of every video of
videos/labels.csv (decoded with the ffmpeg of scripts/fetch-ffmpeg.sh), and prints, per species
and per video, how many pass (p(live) >= 0.5) under each variant: the trained recipe, crop scales
2.2/2.7/3.2 averaged, five shifted crops averaged, the mirror image averaged, grey-world colour
balance, a contrast stretch, a gamma bringing the crop's mean to mid-grey, and RGB input.
"""
import collections
import csv
import glob
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import onnxruntime as ort

MIN_CONTEXT = 1.4


def main():
    data = sys.argv[1]
    models = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/emerald/models")
    det = cv2.FaceDetectorYN.create(os.path.join(models, "face_detection_yunet_2023mar.onnx"), "", (640, 640), 0.6, 0.3)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    live = ort.InferenceSession(os.path.join(models, "fr_liveness.onnx"), opts)
    name = live.get_inputs()[0].name

    def face(img):
        h, w = img.shape[:2]
        s = min(1.0, 640 / max(h, w))
        small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
        det.setInputSize((small.shape[1], small.shape[0]))
        _, found = det.detect(small)
        if found is None:
            return None
        best, weight = None, -1.0
        for r in found:
            x, y, bw, bh = r[:4] / s
            d = np.hypot(x + bw / 2 - w / 2, y + bh / 2 - h / 2)
            v = bw * bh * max(0.0, 1 - d / (0.5 * np.hypot(w, h)))
            if v > weight:
                best, weight = (x, y, bw, bh), v
        return best

    def crop(img, box, scale):
        hh, ww = img.shape[:2]
        x, y, bw, bh = box
        s = min(scale, (hh - 1) / bh, (ww - 1) / bw)
        nw, nh, cx, cy = bw * s, bh * s, x + bw / 2, y + bh / 2
        x0, y0, x1, y1 = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
        if x0 < 0:
            x1, x0 = x1 - x0, 0
        if y0 < 0:
            y1, y0 = y1 - y0, 0
        if x1 > ww - 1:
            x0, x1 = x0 - (x1 - (ww - 1)), ww - 1
        if y1 > hh - 1:
            y0, y1 = y0 - (y1 - (hh - 1)), hh - 1
        x0, y0 = max(0, round(x0)), max(0, round(y0))
        x1, y1 = min(ww, round(x1) + 1), min(hh, round(y1) + 1)
        return cv2.resize(img[y0:y1, x0:x1], (128, 128)).astype(np.float32), s

    def p_live(c):
        out = live.run(None, {name: np.ascontiguousarray(c.transpose(2, 0, 1)[None], dtype=np.float32)})[0][0]
        e = np.exp(out - out.max())
        return float(e[0] / e.sum())

    def variants(img, box):
        base, s = crop(img, box, 2.7)
        if s < MIN_CONTEXT:
            return None
        x, y, bw, bh = box
        w = img.shape[1]
        mirror, _ = crop(img[:, ::-1].copy(), (w - x - bw, y, bw, bh), 2.7)
        m = base.reshape(-1, 3).mean(0)
        lo, hi = np.percentile(base, 1), np.percentile(base, 99)
        gamma = np.log(0.45) / np.log(max(base.mean() / 255, 1e-3))
        shifts = [(0, 0), (0.08, 0), (-0.08, 0), (0, 0.08), (0, -0.08)]
        return {
            "trained": p_live(base),
            "scales": np.mean([p_live(crop(img, box, k)[0]) for k in (2.2, 2.7, 3.2)]),
            "shifts": np.mean([p_live(crop(img, (x + dx * bw, y + dy * bh, bw, bh), 2.7)[0]) for dx, dy in shifts]),
            "mirror": (p_live(base) + p_live(mirror)) / 2,
            "greyworld": p_live(np.clip(base * (m.mean() / np.maximum(m, 1)), 0, 255)),
            "stretch": p_live(np.clip((base - lo) * 255 / (hi - lo + 1e-3), 0, 255)),
            "gamma": p_live(255 * (base / 255) ** gamma),
            "rgb": p_live(base[:, :, ::-1].copy()),
        }

    items = [(r["species"], os.path.join(data, "spoof", r["path"])) for r in csv.DictReader(open(os.path.join(data, "spoof", "labels.csv")))]
    ffmpeg = os.environ.get("EMERALD_FFMPEG", os.path.expanduser("~/.cache/emerald/ffmpeg/ffmpeg"))
    frames = tempfile.mkdtemp(prefix="liveness-frames-")
    for r in csv.DictReader(open(os.path.join(data, "videos", "labels.csv"))):
        stem = os.path.splitext(os.path.basename(r["path"]))[0]
        subprocess.run([ffmpeg, "-loglevel", "error", "-i", os.path.join(data, "videos", r["path"]), "-vf", "fps=4",
                        os.path.join(frames, stem + "_%03d.png")], check=True)
        items += [("video " + stem, f) for f in sorted(glob.glob(os.path.join(frames, stem + "_*.png")))]

    passed = collections.defaultdict(lambda: collections.Counter())
    judged = collections.Counter()
    for group, path in items:
        img = cv2.imread(path)
        box = face(img) if img is not None else None
        v = variants(img, box) if box is not None else None
        if v is None:
            continue
        judged[group] += 1
        for k, p in v.items():
            passed[group][k] += p >= 0.5
    keys = ["trained", "scales", "shifts", "mirror", "greyworld", "stretch", "gamma", "rgb"]
    print("| photos / frames | judged | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 2) + "|")
    for group in judged:
        print(f"| {group} | {judged[group]} | " + " | ".join(str(passed[group][k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
