#!/usr/bin/env python3
"""Anchors for bench/gallery.sh: FAISS and hnswlib on the same vectors, queries and ground truth as
the Rust run (bench_gallery writes them, with its parameters, into OUT/rust.json).

Exact family, on all n vectors: FAISS IndexFlatIP (f32) and IndexScalarQuantizer QT_8bit and
QT_8bit_uniform (int8 codes, "SQ8", trained on the data). Graph family, on the first ann_n: FAISS
IndexHNSWFlat and IndexHNSWSQ (QT_8bit) and hnswlib, all built with Emerald's M and
efConstruction and swept over the same ef values. Single queries, one at a time, top 10, on the
same thread count (FAISS's OpenMP threads, hnswlib's build threads; a single hnswlib or FAISS HNSW
query runs on one thread, as Emerald's does within one graph segment).

Writes OUT/anchors.json and OUT/curves.csv (every engine's exact figure and sweep, one row per
point: recall@1 and recall@10 against the f32 brute force, the identity of the first hit when the
set has labels, p50/p99 latency, CPU per query), then prints a side-by-side summary.

    GALLERY_THREADS=2 python bench/gallery_faiss.py OUT [DATASET]
GALLERY_ANCHORS (comma list, default all): flat, sq8, sq8u, hnsw, hnsw_sq8, hnswlib.
"""
import csv
import json
import os
import sys
import time

out = sys.argv[1] if len(sys.argv) > 1 else "bench/out/gallery"
dataset = sys.argv[2] if len(sys.argv) > 2 else "synthetic"
threads = int(os.environ.get("GALLERY_THREADS", "2"))
wanted = set(os.environ.get("GALLERY_ANCHORS", "flat,sq8,sq8u,hnsw,hnsw_sq8,hnswlib").split(","))
try:
    import faiss
    import numpy as np
except ImportError as e:  # the shell script says so too
    print(f"FAISS UNAVAILABLE: {e}")
    sys.exit(3)
try:
    import hnswlib
except ImportError:
    hnswlib = None

rust = json.load(open(os.path.join(out, "rust.json")))
n, ann_n, dim, k = rust["n"], rust["ann_n"], rust["dim"], rust.get("k", 10)
m, ef_c, efs = rust.get("m", 32), rust.get("ef_construction", 200), rust.get("efs", [16, 32, 64, 128, 256, 512])
faiss.omp_set_num_threads(threads)
base = np.fromfile(os.path.join(out, "base.f32"), dtype=np.float32).reshape(n, dim)
queries = np.fromfile(os.path.join(out, "queries.f32"), dtype=np.float32).reshape(-1, dim)
gt = np.loadtxt(os.path.join(out, "gt.txt"), dtype=np.int64).reshape(-1)
gt10 = [set(int(x) for x in line.split()) for line in open(os.path.join(out, "gt_ann10.txt"))]
gt_ann = np.loadtxt(os.path.join(out, "gt_ann.txt"), dtype=np.int64).reshape(-1)


def labels(name):
    path = os.path.join(out, name)
    return np.loadtxt(path, dtype=np.int64).reshape(-1) if os.path.exists(path) else None


base_labels, query_labels = labels("base_labels.txt"), labels("query_labels.txt")
hnswlib_version = getattr(hnswlib, "__version__", None)
if hnswlib is not None and hnswlib_version is None:
    from importlib.metadata import version

    hnswlib_version = version("hnswlib")
print(f"faiss {faiss.__version__}, hnswlib {hnswlib_version or 'not installed'}, numpy {np.__version__}; "
      f"{threads} threads, n = {n}, ann n = {ann_n}, queries = {len(queries)}, M = {m}, efConstruction = {ef_c}")
print(f"load average: {open('/proc/loadavg').read().split()[:3]}")


def run(search, truth1, truth10=None):
    """search(q) -> ids (top k). Wall p50/p99 ms, recall@1, recall@10, identity of the first hit, CPU ms."""
    for i in range(min(10, len(queries))):  # warm-up
        search(queries[i : i + 1])
    lat, ok1, ok10, same = [], 0, 0, 0
    cpu0 = time.process_time()
    for i in range(len(queries)):
        t = time.perf_counter()
        ids = search(queries[i : i + 1])
        lat.append((time.perf_counter() - t) * 1e3)
        ok1 += int(ids[0] == truth1[i])
        if truth10 is not None:
            ok10 += len(truth10[i].intersection(int(x) for x in ids))
        if base_labels is not None and ids[0] >= 0:
            same += int(base_labels[ids[0]] == query_labels[i])
    cpu = (time.process_time() - cpu0) * 1e3 / len(queries)
    lat.sort()
    q = len(queries)
    return {
        "p50_ms": lat[q // 2],
        "p99_ms": lat[int(round((q - 1) * 0.99))],
        "recall1": ok1 / q,
        "recall10": ok10 / sum(len(s) for s in truth10) if truth10 is not None else None,
        "hit1": same / q if base_labels is not None else None,
        "cpu_ms": cpu,
    }


def faiss_search(index):
    return lambda q: index.search(q, k)[1][0]


def fmt(r):
    r10 = f", recall@10 {r['recall10']:.4f}" if r.get("recall10") is not None else ""
    hit = f", identity {r['hit1']:.4f}" if r.get("hit1") is not None else ""
    return (f"p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms, recall@1 {r['recall1']:.4f}{r10}{hit}; "
            f"CPU per query {r['cpu_ms']:.3f} ms")


res = {"faiss": faiss.__version__, "hnswlib": hnswlib_version, "threads": threads, "exact": {}, "ann": {}}

# ---- exact family, all n ----
sq_types = {"sq8": faiss.ScalarQuantizer.QT_8bit, "sq8u": faiss.ScalarQuantizer.QT_8bit_uniform}
for name in ["flat", "sq8", "sq8u"]:
    if name not in wanted:
        continue
    t = time.perf_counter()
    if name == "flat":
        index, label = faiss.IndexFlatIP(dim), "FAISS IndexFlatIP (f32)"
    else:
        index = faiss.IndexScalarQuantizer(dim, sq_types[name], faiss.METRIC_INNER_PRODUCT)
        label = f"FAISS IndexScalarQuantizer {'QT_8bit' if name == 'sq8' else 'QT_8bit_uniform'}"
        index.train(base[: min(n, 100_000)])
    index.add(base)
    add_s = time.perf_counter() - t
    r = run(faiss_search(index), gt)
    r.update(label=label, build_s=add_s, bytes_per_vector=(index.code_size if name != "flat" else dim * 4))
    print(f"{label}: add {add_s:.2f} s; {fmt(r)}")
    res["exact"][name] = r
    del index

# ---- graph family, first ann_n ----
ann_base = base[:ann_n]
del base


def sweep(name, label, build, set_ef, search):
    t = time.perf_counter()
    index = build()
    build_s = time.perf_counter() - t
    print(f"{label}: build {ann_n} in {build_s:.1f} s ({threads} threads)")
    points = []
    for ef in efs:
        set_ef(index, ef)
        r = run(search(index), gt_ann, gt10)
        r["ef"] = ef
        print(f"  ef {ef:>4}: {fmt(r)}")
        points.append(r)
    res["ann"][name] = {"label": label, "build_s": build_s, "sweep": points}


def hnsw_flat():
    index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_c
    index.add(ann_base)
    return index


def hnsw_sq8():
    index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_c
    index.train(ann_base[: min(ann_n, 100_000)])
    index.add(ann_base)
    return index


def set_faiss_ef(index, ef):
    index.hnsw.efSearch = ef


def hnswlib_index():
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=ann_n, ef_construction=ef_c, M=m, random_seed=100)
    index.set_num_threads(threads)
    index.add_items(ann_base, np.arange(ann_n), num_threads=threads)
    index.set_num_threads(1)
    return index


if "hnsw" in wanted:
    sweep("hnsw", f"FAISS IndexHNSWFlat M={m} efConstruction={ef_c}", hnsw_flat, set_faiss_ef, faiss_search)
if "hnsw_sq8" in wanted:
    sweep("hnsw_sq8", f"FAISS IndexHNSWSQ QT_8bit M={m} efConstruction={ef_c}", hnsw_sq8, set_faiss_ef, faiss_search)
if "hnswlib" in wanted and hnswlib is not None:
    sweep("hnswlib", f"hnswlib {hnswlib_version} M={m} ef_construction={ef_c}", hnswlib_index,
          lambda index, ef: index.set_ef(max(ef, k)), lambda index: lambda q: index.knn_query(q, k=k)[0][0])
elif "hnswlib" in wanted:
    print("hnswlib UNAVAILABLE: not installed in this python; no hnswlib anchor this run")
json.dump(res, open(os.path.join(out, "anchors.json"), "w"), indent=1)

# ---- curves.csv: every engine side by side ----
rows = []
cols = ["dataset", "n", "family", "engine", "ef", "recall1", "recall10", "hit1", "p50_ms", "p99_ms", "cpu_ms", "build_s"]


def add_row(family, engine, r, size, ef=None, build_s=None):
    rows.append({"dataset": dataset, "n": size, "family": family, "engine": engine, "ef": ef,
                 "recall1": r.get("recall1"), "recall10": r.get("recall10"), "hit1": r.get("hit1"),
                 "p50_ms": r.get("p50_ms"), "p99_ms": r.get("p99_ms"), "cpu_ms": r.get("cpu_ms"), "build_s": build_s})


if "exact_p50_ms" in rust:
    add_row("exact", "emerald exact (int8 scan + f32 re-rank)",
            {"recall1": rust["exact_recall1"], "hit1": rust.get("exact_hit1"), "p50_ms": rust["exact_p50_ms"],
             "p99_ms": rust.get("exact_p99_ms"), "cpu_ms": rust["exact_cpu_ms"]}, n)
for name, r in res["exact"].items():
    add_row("exact", r["label"], r, n, build_s=r["build_s"])
ours = {"ann_sweep": f"emerald HNSW one-bit walk (default) M={m} efC={ef_c}",
        "ann_sweep_int8": f"emerald HNSW int8 walk M={m} efC={ef_c}"}
for key, label in ours.items():
    for p in rust.get(key, []):
        add_row("graph", label, p, ann_n, ef=p["ef"], build_s=rust.get("ann_build_s"))
for name, a in res["ann"].items():
    for p in a["sweep"]:
        add_row("graph", a["label"], p, ann_n, ef=p["ef"], build_s=a["build_s"])
with open(os.path.join(out, "curves.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow({c: (f"{v:.4f}" if isinstance(v, float) else ("" if v is None else v)) for c, v in r.items()})
print(f"\ncurves written to {os.path.join(out, 'curves.csv')} ({len(rows)} rows)")

# ---- side-by-side summary ----
print(f"\n== side by side ({dataset}; p50 wall ms, CPU ms per query in brackets; ef reached) ==")
for r in rows:
    if r["family"] == "exact":
        hit = f", identity {r['hit1']:.4f}" if r["hit1"] is not None else ""
        print(f"exact {r['engine']}: p50 {r['p50_ms']:.2f} ms [{r['cpu_ms']:.2f}], recall@1 {r['recall1']:.4f}{hit}")
engines = list(dict.fromkeys(r["engine"] for r in rows if r["family"] == "graph"))
targets = [("recall1", 0.95), ("recall1", 0.99), ("recall1", 0.995), ("recall10", 0.95), ("recall10", 0.99)]
print("graph index".ljust(58) + "".join(f"{m_} >= {t}".rjust(22) for m_, t in targets) + "   build s")
for e in engines:
    pts = [r for r in rows if r["engine"] == e]
    cells = []
    for metric, target in targets:
        ok = [p for p in pts if p[metric] is not None and p[metric] >= target]
        best = min(ok, key=lambda p: p["p50_ms"]) if ok else None
        cells.append(f"{best['p50_ms']:.3f} [{best['cpu_ms']:.3f}] ef{best['ef']}" if best else "not reached")
    top = max(pts, key=lambda p: p["recall1"])
    print(e[:57].ljust(58) + "".join(c.rjust(22) for c in cells) + f"   {pts[0]['build_s']:.0f}"
          + f"   (best recall@1 {top['recall1']:.4f} at ef {top['ef']})")
print(f"load average at the end: {open('/proc/loadavg').read().split()[:3]}")
