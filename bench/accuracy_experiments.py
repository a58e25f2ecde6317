#!/usr/bin/env python3
"""Two recipe changes measured on faces-dev and not kept (docs/accuracy.md, "Tried, not kept").

    cargo run --release -p emerald-vision --example dump_faces -- ../shared/data/faces-dev/faces faces.jsonl
    python3 bench/accuracy_experiments.py faces.jsonl      # needs numpy

(Helpers shared with bench/facenet_experiment.py: bench/faces_dump.py.)
The dump holds every detected face with both embedders' vectors of the aligned crop and of its
mirror image. The dominant face of each photo (area x centrality, docs/vision.md step 7) stands for
the photo; the fused template is sqrt(0.6)*fr_feature ++ sqrt(0.4)*MobileFaceNet, as the engine's.

1. Flip test-time augmentation: each embedder's template = normalise(e(crop) + e(mirror)).
   1:1 on every pair of photos (FNMR at FMR 1e-3/1e-4/1e-5) and 1:N by the accuracy tool's
   simulation (first photo of every identity with two or more enrolled, second photo a mated
   probe, every single-photo identity a stranger).
2. Score normalisation for 1:N, with the gallery itself as cohort: the top score minus the mean
   (and over the deviation) of the next K scores, or the gap to the runner-up. Thresholds chosen
   on one half of the identities (300 enrolled, 400 strangers: the shape of the outside test)
   and applied to the other half, 20 random splits.
"""
import collections
import json
import sys

import numpy as np

from faces_dump import dominant, identities, unit


def fuse(a, b):
    return np.concatenate([np.sqrt(0.6) * a, np.sqrt(0.4) * b])


rows = sorted((json.loads(line) for line in open(sys.argv[1])), key=lambda r: r["path"])
paths, plain, flipped = [], [], []
for r in rows:
    f = dominant(r)
    if f is None or not all(f["emb"]) or not all(f.get("emb_flip", [])):
        continue
    a, b = unit(f["emb"][0]), unit(f["emb"][1])
    af, bf = unit(f["emb_flip"][0]), unit(f["emb_flip"][1])
    paths.append(r["path"])
    plain.append(fuse(a, b))
    flipped.append(fuse(unit(a + af), unit(b + bf)))
ident, ids, multi, single = identities(paths)
print(f"{len(paths)} photos, {len(ids)} identities ({len(multi)} with two photos or more)")

print("\n1. flip test-time augmentation")
upper = np.triu_indices(len(paths), 1)
genuine = (ident[:, None] == ident[None, :])[upper]
for name, e in (("plain", np.stack(plain)), ("flip", np.stack(flipped))):
    s = (e @ e.T)[upper]
    gen, imp = s[genuine], np.sort(s[~genuine])[::-1]
    cells = []
    for fmr in (1e-3, 1e-4, 1e-5):
        thr = imp[int(fmr * len(imp))]
        cells.append(f"FNMR@FMR {fmr:g} {100 * (gen <= thr).mean():.2f} %")
    gal = e[[ids[k][0] for k in multi]]
    probes = np.concatenate([e[[ids[k][1] for k in multi]], e[[ids[k][0] for k in single]]])
    sq = probes @ gal.T
    top, s1, n = sq.argmax(1), sq.max(1), len(multi)
    strangers = np.sort(s1[n:])[::-1]
    for fpir in (3e-3, 1e-3):
        thr = strangers[int(fpir * len(strangers))]
        found = ((s1[:n] > thr) & (top[:n] == np.arange(n))).mean()
        cells.append(f"1:N found@FPIR {fpir:g} {100 * found:.2f} %")
    cells.append(f"rank-1 {100 * (top[:n] == np.arange(n)).mean():.2f} %")
    print(f"  {name:6s} " + " | ".join(cells))

print("\n2. 1:N score normalisation (threshold set on one half, applied to the other; mean of 20 splits)")
e = np.stack(plain)
rng = np.random.default_rng(0)


def scores(enrolled, strangers, k):
    gal = e[[ids[x][0] for x in enrolled]]
    probes = np.concatenate([e[[ids[x][1] for x in enrolled]], e[[ids[x][0] for x in strangers]]])
    truth = np.array(list(range(len(enrolled))) + [-1] * len(strangers))
    s = np.sort(probes @ gal.T, axis=1)[:, ::-1]
    top = (probes @ gal.T).argmax(1)
    rest = s[:, 1 : k + 1]
    return {
        "raw": s[:, 0],
        "gap to runner-up": s[:, 0] - s[:, 1],
        f"top - mean(next {k})": s[:, 0] - rest.mean(1),
        f"z over next {k}": (s[:, 0] - rest.mean(1)) / rest.std(1),
    }, top, truth


for k in (10, 30, 100):
    res = collections.defaultdict(list)
    for _ in range(20):
        m, s = list(rng.permutation(multi)), list(rng.permutation(single))
        fa, _, ta = scores(m[:300], s[:400], k)
        fb, top_b, tb = scores(m[300:600], s[400:800], k)
        for name in fa:
            st = np.sort(fa[name][ta < 0])[::-1]
            thr = st[int(0.003 * len(st))]
            stranger = tb < 0
            fp = (fb[name][stranger] > thr).mean()
            found = ((fb[name] > thr) & (top_b == tb) & ~stranger).sum() / (~stranger).sum()
            res[name].append((found, fp))
    for name, v in res.items():
        found, fp = np.mean(v, axis=0)
        print(f"  K={k:3d} {name:22s} found {100 * found:.1f} %, strangers with a hit {100 * fp:.2f} %")
