#!/usr/bin/env python3
"""Reference run of Emerald's default face models with onnxruntime (PyPI), for the golden
fidelity test of crates/emerald-vision (tests/golden.rs).

It re-implements the pre/post-processing of /work/shared/design/models.md (the same arithmetic
as the Rust crate: OpenCV-style bilinear resize, YuNet decoding + NMS, least-squares similarity
alignment, fr_feature normalisation) on top of onnxruntime, and writes the main (largest) face's
L2-normalised embedding of each image as one line: `name x1 x2 ... x512`.

    python3 -m venv /work/.venv-vision && /work/.venv-vision/bin/pip install onnxruntime numpy pillow
    scripts/fetch-models.sh && scripts/fetch-test-images.sh
    /work/.venv-vision/bin/python scripts/reference_embeddings.py \
        > crates/emerald-vision/tests/fixtures/reference_embeddings.txt

Only vectors are committed, never the images.
"""
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

MODELS = os.environ.get("EMERALD_MODELS_DIR") or os.path.expanduser("~/.cache/emerald/models")
IMAGES = os.environ.get("EMERALD_TEST_IMAGES_DIR") or os.path.expanduser("~/.cache/emerald/test-images")
NAMES = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "sample4.jpg", "sample5.jpg"]
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)


def session(name):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(os.path.join(MODELS, name), opts, providers=["CPUExecutionProvider"])


def resample(img, rect, out_w, out_h):
    """OpenCV INTER_LINEAR geometry: centres at +0.5, edges replicated. img: HxWx3 uint8."""
    h, w = img.shape[:2]
    fx = (rect[2] - rect[0]) / out_w
    fy = (rect[3] - rect[1]) / out_h
    sx = np.clip(rect[0] + (np.arange(out_w) + 0.5) * fx - 0.5, 0, w - 1).astype(np.float32)
    sy = np.clip(rect[1] + (np.arange(out_h) + 0.5) * fy - 0.5, 0, h - 1).astype(np.float32)
    x0 = np.floor(sx).astype(int); x1 = np.minimum(x0 + 1, w - 1); ax = (sx - x0)[None, :, None]
    y0 = np.floor(sy).astype(int); y1 = np.minimum(y0 + 1, h - 1); ay = (sy - y0)[:, None, None]
    f = img.astype(np.float32)
    top = f[y0][:, x0] + (f[y0][:, x1] - f[y0][:, x0]) * ax
    bottom = f[y1][:, x0] + (f[y1][:, x1] - f[y1][:, x0]) * ax
    return top + (bottom - top) * ay  # out_h x out_w x 3, RGB


def detect(sess, img):
    h, w = img.shape[:2]
    scale = 640.0 / max(w, h)
    nw, nh = min(max(round(w * scale), 1), 640), min(max(round(h * scale), 1), 640)
    canvas = np.zeros((640, 640, 3), np.float32)
    canvas[:nh, :nw] = resample(img, [0, 0, w, h], nw, nh)
    x = canvas[:, :, ::-1].transpose(2, 0, 1)[None].copy()  # BGR, raw 0..255
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {sess.get_inputs()[0].name: x})))
    dets = []
    for s in (8, 16, 32):
        cols = 640 // s
        cls, obj = outs[f"cls_{s}"].reshape(-1), outs[f"obj_{s}"].reshape(-1)
        bbox, kps = outs[f"bbox_{s}"].reshape(-1, 4), outs[f"kps_{s}"].reshape(-1, 10)
        score = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
        for i in np.nonzero(score >= 0.6)[0]:
            row, col = i // cols, i % cols
            cx, cy = (col + bbox[i, 0]) * s, (row + bbox[i, 1]) * s
            bw, bh = np.exp(bbox[i, 2]) * s, np.exp(bbox[i, 3]) * s
            lm = np.array([[(kps[i, 2 * k] + col) * s, (kps[i, 2 * k + 1] + row) * s] for k in range(5)]) / scale
            dets.append((float(score[i]), np.array([cx - bw / 2, cy - bh / 2, bw, bh]) / scale, lm))
    dets.sort(key=lambda d: -d[0])
    kept = []
    for d in dets:
        if all(iou(d[1], k[1]) <= 0.3 for k in kept):
            kept.append(d)
    return kept


def iou(a, b):
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(ix, 0) * max(iy, 0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def align(img, lm):
    src, dst = lm.astype(np.float64), TEMPLATE.astype(np.float64)
    sm, dm = src.mean(0), dst.mean(0)
    s, d = src - sm, dst - dm
    den = (s ** 2).sum()
    a = (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum() / den
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / den
    tx, ty = dm[0] - (a * sm[0] - b * sm[1]), dm[1] - (b * sm[0] + a * sm[1])
    oy, ox = np.mgrid[0:112, 0:112].astype(np.float64)
    u, v = ox - tx, oy - ty
    det = a * a + b * b
    sx, sy = (a * u + b * v) / det, (-b * u + a * v) / det
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    ax, ay = (sx - x0)[..., None], (sy - y0)[..., None]
    h, w = img.shape[:2]
    f = img.astype(np.float64)

    def px(x, y):
        ok = (x >= 0) & (y >= 0) & (x < w) & (y < h)
        out = np.zeros(x.shape + (3,))
        out[ok] = f[y[ok], x[ok]]
        return out

    top = px(x0, y0) * (1 - ax) + px(x0 + 1, y0) * ax
    bottom = px(x0, y0 + 1) * (1 - ax) + px(x0 + 1, y0 + 1) * ax
    return np.clip(np.round(top * (1 - ay) + bottom * ay), 0, 255).astype(np.uint8)


def embed(sess, aligned):
    x = ((aligned.astype(np.float32) - 127.0) / 128.0).transpose(2, 0, 1)[None].copy()  # RGB
    v = sess.run(None, {sess.get_inputs()[0].name: x})[0].reshape(-1)
    return v / np.linalg.norm(v)


def main():
    det_sess, emb_sess = session("face_detection_yunet_2023mar.onnx"), session("fr_feature.onnx")
    print("# reference embeddings: onnxruntime %s, scripts/reference_embeddings.py; main (largest) face" % ort.__version__)
    for name in NAMES:
        img = np.asarray(ImageOps.exif_transpose(Image.open(os.path.join(IMAGES, name))).convert("RGB"))
        dets = detect(det_sess, img)
        if not dets:
            sys.exit(f"{name}: no face")
        main_face = max(dets, key=lambda d: d[1][2] * d[1][3])
        v = embed(emb_sess, align(img, main_face[2]))
        print(name + " " + " ".join("%.6f" % x for x in v))


if __name__ == "__main__":
    main()
