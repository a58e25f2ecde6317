#!/usr/bin/env python3
"""FAISS anchor for bench/gallery.sh: the same vectors, queries and ground truth as the Rust run.

IndexFlatIP (exact, f32) on all n vectors; IndexHNSWFlat (M=32) on the first ann_n, with an
efSearch sweep. Single queries, one at a time, on the same thread count. Prints the figures and
the ratios against bench/out/rust.json.
"""
import json
import os
import sys
import time

out = sys.argv[1] if len(sys.argv) > 1 else "bench/out"
threads = int(os.environ.get("GALLERY_THREADS", "2"))
try:
    import faiss
    import numpy as np
except ImportError as e:  # the shell script says so too
    print(f"FAISS UNAVAILABLE: {e}")
    sys.exit(3)

rust = json.load(open(os.path.join(out, "rust.json")))
n, ann_n, dim = rust["n"], rust["ann_n"], rust["dim"]
faiss.omp_set_num_threads(threads)
base = np.fromfile(os.path.join(out, "base.f32"), dtype=np.float32).reshape(n, dim)
queries = np.fromfile(os.path.join(out, "queries.f32"), dtype=np.float32).reshape(-1, dim)
gt = np.loadtxt(os.path.join(out, "gt.txt"), dtype=np.int64).reshape(-1)
gt_ann = np.loadtxt(os.path.join(out, "gt_ann.txt"), dtype=np.int64).reshape(-1)
print(f"faiss {faiss.__version__}, {threads} threads, n = {n}, ann n = {ann_n}, queries = {len(queries)}")


def run(index, q, truth, k=10):
    lat, ok = [], 0
    for i in range(min(10, len(q))):  # warm-up
        index.search(q[i : i + 1], k)
    cpu0 = time.process_time()
    for i in range(len(q)):
        t = time.perf_counter()
        _, ids = index.search(q[i : i + 1], k)
        lat.append((time.perf_counter() - t) * 1e3)
        ok += int(ids[0, 0] == truth[i])
    run.cpu_ms = (time.process_time() - cpu0) * 1e3 / len(q)
    lat.sort()
    return lat[len(lat) // 2], lat[int(round((len(lat) - 1) * 0.95))], ok / len(q)


res = {}
t = time.perf_counter()
flat = faiss.IndexFlatIP(dim)
flat.add(base)
print(f"IndexFlatIP add: {time.perf_counter() - t:.2f} s, {flat.ntotal * dim * 4 / 2**30 / n * 1e6:.3f} GiB per million (f32)")
p50, p95, r = run(flat, queries, gt)
print(f"IndexFlatIP search: p50 {p50:.2f} ms, p95 {p95:.2f} ms, recall@1 {r:.4f}; CPU per query {run.cpu_ms:.2f} ms")
res["flat_p50_ms"], res["flat_recall1"], res["flat_cpu_ms"] = p50, r, run.cpu_ms
del flat

t = time.perf_counter()
hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
hnsw.add(base[:ann_n])
build = time.perf_counter() - t
print(f"IndexHNSWFlat M=32 efConstruction={hnsw.hnsw.efConstruction}: build {ann_n} in {build:.1f} s ({threads} threads)")
res["hnsw_build_s"] = build
sweep = []
for ef in [16, 32, 64, 128, 256, 512, 1024]:
    hnsw.hnsw.efSearch = ef
    p50, p95, r = run(hnsw, queries, gt_ann)
    print(f"efSearch {ef:>4}: p50 {p50:.3f} ms, p95 {p95:.3f} ms, recall@1 {r:.4f}; CPU per query {run.cpu_ms:.3f} ms")
    sweep.append({"ef": ef, "p50_ms": p50, "recall1": r, "cpu_ms": run.cpu_ms})
res["hnsw_sweep"] = sweep
json.dump(res, open(os.path.join(out, "faiss.json"), "w"), indent=1)

print("\n== ratios (FAISS / emerald; > 1 means emerald is faster) ==")
if "exact_p50_ms" in rust:
    print(f"exact p50: FAISS IndexFlatIP {res['flat_p50_ms']:.2f} ms / emerald {rust['exact_p50_ms']:.2f} ms = {res['flat_p50_ms'] / rust['exact_p50_ms']:.2f}x")
    print(f"exact CPU per query: FAISS {res['flat_cpu_ms']:.2f} ms / emerald {rust['exact_cpu_ms']:.2f} ms = {res['flat_cpu_ms'] / rust['exact_cpu_ms']:.2f}x")
else:
    print("exact: no emerald figure (the Rust run used --skip-exact)")


def first_at(points, target):
    ok = [p for p in points if p["recall1"] >= target]
    return min(ok, key=lambda p: p["p50_ms"]) if ok else None


for target in (0.97, 0.99, 0.995):
    ours, theirs = first_at(rust["ann_sweep"], target), first_at(sweep, target)
    if ours and theirs:
        print(f"ANN at recall@1 >= {target}: FAISS HNSW p50 {theirs['p50_ms']:.3f} ms (ef {theirs['ef']}) / emerald {ours['p50_ms']:.3f} ms (ef {ours['ef']}) = {theirs['p50_ms'] / ours['p50_ms']:.2f}x; "
              f"CPU per query {theirs['cpu_ms']:.3f} / {ours['cpu_ms']:.3f} ms = {theirs['cpu_ms'] / ours['cpu_ms']:.2f}x")
    else:
        print(f"ANN at recall@1 >= {target}: not reached by {'emerald' if not ours else ''} {'FAISS' if not theirs else ''} in the sweep")
mem_faiss = (dim * 4 + 32 * 2 * 4 * 1.05) / 2**30 * 1e6
print(f"memory per million: FAISS HNSWFlat ≈ {mem_faiss:.2f} GiB (f32 vectors + layer-0 links) / emerald {rust['ann_mem_gib_per_million_heap']:.2f} GiB = {mem_faiss / rust['ann_mem_gib_per_million_heap']:.2f}x")
print(f"build: FAISS {build:.0f} s ({threads} threads, efConstruction {hnsw.hnsw.efConstruction}) / emerald {rust['ann_build_s']:.0f} s (ef_construction 200; "
      f"a --graph-cache run reports its load time here) = {build / rust['ann_build_s']:.2f}x")
