"""Reading a `dump_faces` dump (crates/emerald-vision/examples/dump_faces.rs) the way the engine and the
accuracy tool read faces-dev: shared by bench/accuracy_experiments.py and bench/facenet_experiment.py."""
import collections

import numpy as np


def unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def dominant(r):
    """The face that stands for the photo: the most dominant, area x centrality (docs/vision.md step 7)."""
    half_diag = 0.5 * (r["w"] ** 2 + r["h"] ** 2) ** 0.5
    best, best_v = None, -1.0
    for f in r["faces"]:
        x, y, w, h = f["box"]
        d = ((x + w / 2 - r["w"] / 2) ** 2 + (y + h / 2 - r["h"] / 2) ** 2) ** 0.5
        v = w * h * max(0.0, 1 - d / half_diag)
        if v > best_v:
            best, best_v = f, v
    return best


def identities(paths):
    """`(ident, ids, multi, single)`: each photo's identity (its folder), each identity's photo indices, the
    identities with two photos or more (enrolled and probed in the 1:N simulation) and those with one (strangers)."""
    ident = np.array([p.split("/")[0] for p in paths])
    ids = collections.defaultdict(list)
    for i, name in enumerate(ident):
        ids[name].append(i)
    multi = [k for k in sorted(ids) if len(ids[k]) >= 2]
    single = [k for k in sorted(ids) if len(ids[k]) == 1]
    return ident, ids, multi, single
