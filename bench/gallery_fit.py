#!/usr/bin/env python3
"""A larger gallery set fitted to real templates (clearly synthetic: label it so in any report).

    python bench/gallery_fit.py REAL_SET OUT_DIR N [QUERIES] [SEED]

REAL_SET is a directory written by the face engine's `template_set` example (base.f32 with
base_labels.txt / base_photos.txt). The model has three Gaussian levels, each fitted to the real
templates: the identity (mean of the identity's photo means, around the global mean), the photo
(a photo's mean around its identity's), the augmentation (a template around its photo's mean).
Each level's covariance is its residuals' top 256 (GALLERY_FIT_RANK) principal components plus an isotropic rest of
the same total variance; the photo and augmentation residuals are corrected for the shrinkage of
sample means. A generated identity gets as many photos as a real enrolled identity (drawn from the
real counts) and as many variants per photo as the real set; a query is a new photo (one
augmentation of it) of an enrolled identity, as the real set's held-out probes are. Templates are
unit length. Writes base.f32, queries.f32, *_labels.txt and info.txt for `bench_gallery --data`,
and prints the impostor / genuine cosine statistics of the real and the fitted set side by side.
"""
import os
import sys

import numpy as np

real, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
n_queries = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
rng = np.random.default_rng(int(sys.argv[5]) if len(sys.argv) > 5 else 7)
RANK = int(os.environ.get("GALLERY_FIT_RANK", "256"))

labels = np.loadtxt(os.path.join(real, "base_labels.txt"), dtype=np.int64)
photos = np.loadtxt(os.path.join(real, "base_photos.txt"), dtype=np.int64)
base = np.fromfile(os.path.join(real, "base.f32"), dtype=np.float32).reshape(len(labels), -1).astype(np.float64)
dim = base.shape[1]


def group_means(x, keys):
    uniq, inv, counts = np.unique(keys, return_inverse=True, return_counts=True)
    sums = np.zeros((len(uniq), x.shape[1]))
    np.add.at(sums, inv, x)
    return uniq, inv, counts, sums / counts[:, None]


# Augmentation level: templates around their photo's mean.
_, p_inv, p_counts, p_means = group_means(base, photos)
aug = (base - p_means[p_inv]) * np.sqrt(p_counts / np.maximum(p_counts - 1, 1))[p_inv][:, None]
aug = aug[p_counts[p_inv] > 1]
# Photo level: photo means around their identity's mean of photo means (identities with >= 2 photos).
photo_identity = np.zeros(len(p_means), dtype=np.int64)
photo_identity[p_inv] = labels
ids, i_inv, i_photos, i_means = group_means(p_means, photo_identity)
multi = i_photos[i_inv] > 1
photo_res = (p_means - i_means[i_inv]) * np.sqrt(i_photos / np.maximum(i_photos - 1, 1))[i_inv][:, None]
photo_res = photo_res[multi]
# The photo means still carry the augmentation noise / variants: take that share off the photo level.
variants = int(round(np.median(p_counts)))
mu = i_means.mean(axis=0)
ident_res = i_means - mu


class Level:
    """Top RANK principal components of residual rows plus an isotropic rest; `scale` of the variance."""

    def __init__(self, rows, minus=None, minus_share=0.0):
        cov = rows.T @ rows / len(rows)
        if minus is not None:
            cov = cov - minus_share * minus.cov
        vals, vecs = np.linalg.eigh(cov)
        vals = np.clip(vals[::-1], 0, None)
        vecs = vecs[:, ::-1]
        self.cov = cov
        self.total = vals.sum()
        self.vecs = vecs[:, :RANK]
        self.sd = np.sqrt(vals[:RANK])
        self.iso = np.sqrt(max(vals[RANK:].sum(), 0) / dim)

    def draw(self, count):
        z = rng.standard_normal((count, RANK)) * self.sd
        return z @ self.vecs.T + rng.standard_normal((count, dim)) * self.iso


aug_level = Level(aug)
photo_level = Level(photo_res, aug_level, 1.0 / variants)
ident_level = Level(ident_res, photo_level, float(np.mean(1.0 / i_photos)))
print(f"real set {real}: {len(base)} templates, {len(ids)} identities, {len(p_means)} photos, {variants} variants per "
      f"photo; variance (total) identity {ident_level.total:.3f}, photo {photo_level.total:.3f}, augmentation "
      f"{aug_level.total:.3f}; global mean norm {np.linalg.norm(mu):.3f}")

# Photos per enrolled identity, as in the real set.
photo_counts = rng.choice(i_photos, size=n)  # more than enough draws
per_identity = photo_counts * variants
n_ident = int(np.searchsorted(np.cumsum(per_identity), n)) + 1
photo_counts = photo_counts[:n_ident]


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


os.makedirs(out, exist_ok=True)
centers = mu + ident_level.draw(n_ident)
with open(os.path.join(out, "base.f32"), "wb") as vf, open(os.path.join(out, "base_labels.txt"), "w") as lf:
    written = 0
    step = 4096
    for lo in range(0, n_ident, step):
        hi = min(lo + step, n_ident)
        rep = np.repeat(np.arange(lo, hi), photo_counts[lo:hi])
        photo_centers = centers[rep] + photo_level.draw(len(rep))
        rows = np.repeat(np.arange(len(rep)), variants)
        t = unit(photo_centers[rows] + aug_level.draw(len(rows)))
        who = rep[rows]
        take = min(len(t), n - written)
        t[:take].tofile(vf)
        lf.write("".join(f"{w}\n" for w in who[:take]))
        written += take
        if written >= n:
            n_ident = int(who[take - 1]) + 1
            break
q_ids = rng.choice(n_ident, size=n_queries, replace=False)
queries = unit(centers[q_ids] + photo_level.draw(n_queries) + aug_level.draw(n_queries))
queries.tofile(os.path.join(out, "queries.f32"))
np.savetxt(os.path.join(out, "query_labels.txt"), q_ids, fmt="%d")


def stats(name, b, bl, q, ql):
    i = rng.choice(len(b), size=4000, replace=False)
    a, c = i[:2000], i[2000:]
    diff = bl[a] != bl[c]
    imp = np.sum(b[a] * b[c], axis=1)[diff]
    gen = [np.max(b[bl == ql[j]] @ q[j]) for j in range(min(300, len(q)))]
    print(f"{name}: impostor cosine mean {imp.mean():.3f} sd {imp.std():.3f}; genuine (query vs the closest template "
          f"of its identity) mean {np.mean(gen):.3f} sd {np.std(gen):.3f}")


real_q = np.fromfile(os.path.join(real, "queries.f32"), dtype=np.float32).reshape(-1, dim)
real_ql = np.loadtxt(os.path.join(real, "query_labels.txt"), dtype=np.int64)
stats("real  ", base.astype(np.float32), labels, real_q, real_ql)
fit = np.fromfile(os.path.join(out, "base.f32"), dtype=np.float32).reshape(-1, dim)
stats("fitted", fit, np.loadtxt(os.path.join(out, "base_labels.txt"), dtype=np.int64), queries, q_ids)
with open(os.path.join(out, "info.txt"), "w") as f:
    f.write(f"SYNTHETIC, fitted to {os.path.basename(os.path.normpath(real))} (identity/photo/augmentation Gaussian "
            f"levels, {RANK} components each; bench/gallery_fit.py) {dim}-d\n"
            f"templates {len(fit)} of {n_ident} identities, {variants} variants per photo; queries {n_queries}\n")
print(f"wrote {len(fit)} templates of {n_ident} identities and {n_queries} queries to {out}")
