//! End-to-end gallery benchmark (run by `bench/gallery.sh`, release mode).
//!
//! Generates synthetic templates, measures exact and ANN search latency (single queries, one at
//! a time), recall@1 against the f32 brute force, memory, snapshot save/load (cold start) and
//! enrol-to-searchable latency, prints the figures and writes them as JSON together with the
//! vectors, queries and ground truth for the FAISS anchor (`bench/gallery_faiss.py`).
//!
//! `cargo run --release -p emerald-gallery --example bench_gallery -- --n 1000000 --out bench/out`
//!
//! The ANN sweep runs both graph walks on the same graph: the one-bit walk (the default) and the
//! int8 walk. `--graph-cache PATH` saves the built graph to PATH, or loads it from there when the
//! file exists (data, ids and probes are deterministic), so a rerun skips a 20-minute build at
//! 1M; `--bits-only` sweeps only the default walk; `--segment N` sets the graph segment size.

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use emerald_gallery::{Gallery, GalleryConfig, GraphWalk, HnswParams, Query, SearchMode, Template};
use synthetic::Synthetic;
use uuid::Uuid;

const MODEL: &str = "bench";

struct Args {
    n: usize,
    ann_n: usize,
    queries: usize,
    dim: usize,
    threads: usize,
    out: PathBuf,
    isotropic: bool,
    m: usize,
    ef_construction: usize,
    noise: f32,
    skip_exact: bool,
    segment: usize,
    /// Load the ANN gallery from this snapshot when it exists, else build it and save it here
    /// (repeat runs on the same data skip the graph build).
    graph_cache: Option<PathBuf>,
    /// Sweep only the default one-bit walk.
    bits_only: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        n: 100_000,
        ann_n: usize::MAX,
        queries: 200,
        dim: 512,
        threads: 2,
        out: PathBuf::from("bench/out"),
        isotropic: false,
        m: 32,
        ef_construction: 200,
        noise: 0.9,
        skip_exact: false,
        segment: GalleryConfig::default().graph_segment,
        graph_cache: None,
        bits_only: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--n" => a.n = v.parse().expect("--n"),
            "--ann-n" => a.ann_n = v.parse().expect("--ann-n"),
            "--queries" => a.queries = v.parse().expect("--queries"),
            "--dim" => a.dim = v.parse().expect("--dim"),
            "--threads" => a.threads = v.parse().expect("--threads"),
            "--out" => a.out = PathBuf::from(v),
            "--m" => a.m = v.parse().expect("--m"),
            "--ef-construction" => a.ef_construction = v.parse().expect("--ef-construction"),
            "--noise" => a.noise = v.parse().expect("--noise"),
            "--segment" => a.segment = v.parse().expect("--segment"),
            "--graph-cache" => a.graph_cache = Some(PathBuf::from(v)),
            "--bits-only" => {
                a.bits_only = true;
                i += 1;
                continue;
            }
            "--skip-exact" => {
                a.skip_exact = true;
                i += 1;
                continue;
            }
            "--isotropic" => {
                a.isotropic = true;
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a.ann_n = a.ann_n.min(a.n);
    a
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// CPU seconds of the whole process (all threads), from /proc/self/stat (10 ms ticks).
fn process_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// GiB per million templates.
fn per_m(bytes: usize, n: usize) -> f64 {
    bytes as f64 / n as f64 * 1e6 / (1u64 << 30) as f64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn write_f32(path: &Path, rows: &[Vec<f32>]) {
    // Native (little-endian) f32 rows for numpy's fromfile.
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for r in rows {
        w.write_all(bytemuck::cast_slice(r)).expect("write");
    }
}

/// Generates templates with `threads` generators (independent seeds).
fn generate(n: usize, dim: usize, isotropic: bool, threads: usize) -> Vec<Vec<f32>> {
    let per = n.div_ceil(threads);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut syn = if isotropic {
                        Synthetic::isotropic(dim, 1000 + t as u64)
                    } else {
                        // Same basis for every thread (seed), different draws after it.
                        let mut s = Synthetic::faces(dim, 7);
                        for _ in 0..t {
                            s.identity();
                        }
                        s.rng = rand::SeedableRng::seed_from_u64(1000 + t as u64);
                        s
                    };
                    let count = per.min(n.saturating_sub(t * per));
                    (0..count).map(|_| syn.identity()).collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().expect("generator")).collect()
    })
}

/// Exact top-1 by f32 dot products over all vectors (blocked: every query against a block).
fn ground_truth(data: &[Vec<f32>], queries: &[Vec<f32>], threads: usize) -> Vec<(usize, f32)> {
    let per = data.len().div_ceil(threads);
    let parts: Vec<Vec<(usize, f32)>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let lo = (t * per).min(data.len());
                    let hi = ((t + 1) * per).min(data.len());
                    let mut best = vec![(usize::MAX, f32::NEG_INFINITY); queries.len()];
                    for block in (lo..hi).step_by(512) {
                        let end = (block + 512).min(hi);
                        for (qi, q) in queries.iter().enumerate() {
                            for (i, v) in data[block..end].iter().enumerate() {
                                let s = emerald_gallery::simd::dot_f32(v, q);
                                if s > best[qi].1 {
                                    best[qi] = (block + i, s);
                                }
                            }
                        }
                    }
                    best
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("gt")).collect()
    });
    (0..queries.len())
        .map(|qi| {
            parts.iter().map(|p| p[qi]).fold((usize::MAX, f32::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a })
        })
        .collect()
}

struct Timed {
    p50: f64,
    p95: f64,
    recall: f64,
    /// CPU ms per query, all threads (contention-independent work measure).
    cpu_ms: f64,
}

fn run_queries(
    g: &Gallery,
    queries: &[Vec<f32>],
    gt: &[(usize, f32)],
    ids: &[Uuid],
    mode: SearchMode,
    ef: Option<usize>,
    walk: GraphWalk,
) -> Timed {
    let mut lat = Vec::with_capacity(queries.len());
    let mut hits1 = 0;
    let cpu0 = process_cpu_s();
    for (q, (want, _)) in queries.iter().zip(gt) {
        let t = Instant::now();
        let hits =
            g.search(&Query { mode, ef_search: ef, walk: Some(walk), ..Query::new(q, MODEL, 10) }).expect("search");
        lat.push(ms(t.elapsed()));
        if hits.first().is_some_and(|h| h.template_id == ids[*want]) {
            hits1 += 1;
        }
    }
    let cpu1 = process_cpu_s();
    let nq = queries.len() as f64;
    Timed {
        cpu_ms: (cpu1 - cpu0) * 1e3 / nq,
        p50: percentile(&mut lat, 0.5),
        p95: percentile(&mut lat, 0.95),
        recall: hits1 as f64 / queries.len() as f64,
    }
}

fn build(cfg: GalleryConfig, data: &[Vec<f32>], ids: &[Uuid], persons: &[Uuid], collection: Uuid) -> Gallery {
    let g = Gallery::new(cfg);
    let templates: Vec<Template<'_>> = data
        .iter()
        .enumerate()
        .map(|(i, v)| Template {
            template_id: ids[i],
            person_id: persons[i],
            collection_id: collection,
            model_id: MODEL,
            vector: v,
        })
        .collect();
    g.insert_batch(&templates).expect("insert");
    g
}

fn main() {
    let a = parse_args();
    std::fs::create_dir_all(&a.out).expect("out dir");
    let mut json: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| json.push((k.to_string(), v));

    let model_desc =
        if a.isotropic { Synthetic::isotropic(a.dim, 0).describe() } else { Synthetic::faces(a.dim, 7).describe() };
    println!("== emerald-gallery benchmark ==");
    println!("load average at start: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    println!(
        "kernels: {} (one-bit walk: {}); threads: {}; n = {}; ann n = {}; queries = {}",
        emerald_gallery::simd::isa(),
        emerald_gallery::simd::popcount_isa(),
        a.threads,
        a.n,
        a.ann_n,
        a.queries
    );
    println!(
        "data model: {model_desc}; probe noise {} (cos to own template ≈ {:.2})",
        a.noise,
        1.0 / (1.0 + a.noise * a.noise).sqrt()
    );
    put("n", a.n.to_string());
    put("ann_n", a.ann_n.to_string());
    put("dim", a.dim.to_string());
    put("queries", a.queries.to_string());
    put("isa", format!("\"{}\"", emerald_gallery::simd::isa()));
    put("data_model", format!("\"{model_desc}\""));

    let t = Instant::now();
    let data = generate(a.n, a.dim, a.isotropic, a.threads);
    let mut qsyn = if a.isotropic { Synthetic::isotropic(a.dim, 99) } else { Synthetic::faces(a.dim, 7) };
    qsyn.rng = rand::SeedableRng::seed_from_u64(99);
    let enrolled_of: Vec<usize> = (0..a.queries).map(|i| (i * 7_919 + 13) % a.ann_n).collect();
    let queries: Vec<Vec<f32>> = enrolled_of.iter().map(|&i| qsyn.probe(&data[i], a.noise)).collect();
    println!("generated {} templates in {:.1} s", a.n, t.elapsed().as_secs_f64());
    {
        // Impostor statistics of the data model (cosine of unrelated templates).
        let s: Vec<f32> = (0..2000).map(|i| emerald_gallery::simd::dot_f32(&data[i], &data[i + 2000])).collect();
        let mean = s.iter().sum::<f32>() / s.len() as f32;
        let sd = (s.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / s.len() as f32).sqrt();
        let gen: Vec<f32> =
            queries.iter().zip(&enrolled_of).map(|(q, &i)| emerald_gallery::simd::dot_f32(q, &data[i])).collect();
        let gmean = gen.iter().sum::<f32>() / gen.len() as f32;
        println!("impostor cosine mean {mean:.3} sd {sd:.3}; genuine (probe vs own template) mean {gmean:.3}");
    }
    let t = Instant::now();
    let gt = ground_truth(&data, &queries, a.threads);
    let gt_ann = ground_truth(&data[..a.ann_n], &queries, a.threads);
    println!("ground truth (f32 brute force) in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    write_f32(&a.out.join("base.f32"), &data);
    write_f32(&a.out.join("queries.f32"), &queries);
    let gt_txt: Vec<String> = gt.iter().map(|(i, _)| i.to_string()).collect();
    std::fs::write(a.out.join("gt.txt"), gt_txt.join("\n")).expect("gt");
    let gt_txt: Vec<String> = gt_ann.iter().map(|(i, _)| i.to_string()).collect();
    std::fs::write(a.out.join("gt_ann.txt"), gt_txt.join("\n")).expect("gt");
    println!("wrote vectors for FAISS in {:.1} s", t.elapsed().as_secs_f64());

    // Deterministic ids: a cached graph (--graph-cache) matches the regenerated data.
    let ids: Vec<Uuid> = (0..a.n).map(|i| Uuid::from_u128(i as u128 + 1)).collect();
    let persons: Vec<Uuid> = (0..a.n).map(|i| Uuid::from_u128((1 << 64) + i as u128)).collect();
    let collection = Uuid::from_u128(7);

    // ---- exact ----
    if !a.skip_exact {
        let exact_cfg = GalleryConfig {
            dim: a.dim,
            ann_threshold: usize::MAX,
            scan_threads: a.threads,
            ..GalleryConfig::default()
        };
        let rss0 = rss_bytes();
        let t = Instant::now();
        let g = build(exact_cfg.clone(), &data, &ids, &persons, collection);
        let load = t.elapsed();
        let rss1 = rss_bytes();
        let heap = g.stats().heap_bytes;
        println!("\n-- exact (int8 scan, {} threads, f32-query re-rank) --", a.threads);
        println!("bulk insert {} templates: {:.2} s", a.n, load.as_secs_f64());
        println!(
            "memory: {:.3} GiB per million (heap estimate), {:.3} GiB per million (RSS delta)",
            per_m(heap, a.n),
            per_m(rss1.saturating_sub(rss0), a.n)
        );
        put("exact_mem_gib_per_million_heap", format!("{:.4}", per_m(heap, a.n)));
        put("exact_mem_gib_per_million_rss", format!("{:.4}", per_m(rss1.saturating_sub(rss0), a.n)));
        let _ = run_queries(&g, &queries[..10.min(queries.len())], &gt, &ids, SearchMode::Exact, None, GraphWalk::Bits);
        let ex = run_queries(&g, &queries, &gt, &ids, SearchMode::Exact, None, GraphWalk::Bits);
        println!("exact search: p50 {:.2} ms, p95 {:.2} ms, recall@1 vs f32 brute force {:.4}; CPU per query {:.2} ms (all threads)", ex.p50, ex.p95, ex.recall, ex.cpu_ms);
        put("exact_cpu_ms", format!("{:.4}", ex.cpu_ms));
        put("exact_p50_ms", format!("{:.4}", ex.p50));
        put("exact_p95_ms", format!("{:.4}", ex.p95));
        put("exact_recall1", format!("{:.4}", ex.recall));

        // Enrol-to-searchable: insert one template, then the first search that can see it.
        let mut enrol = Vec::new();
        let mut enrol_search = Vec::new();
        for i in 0..20 {
            let v = qsyn.identity();
            let id = Uuid::new_v4();
            let t = Instant::now();
            g.insert(Template {
                template_id: id,
                person_id: Uuid::new_v4(),
                collection_id: collection,
                model_id: MODEL,
                vector: &v,
            })
            .expect("insert");
            enrol.push(ms(t.elapsed()));
            let hits = g.search(&Query::new(&v, MODEL, 1)).expect("search");
            enrol_search.push(ms(t.elapsed()));
            assert_eq!(hits[0].template_id, id, "enrolled template not found ({i})");
            g.remove_template(id);
        }
        let (e50, es50) = (percentile(&mut enrol, 0.5), percentile(&mut enrol_search, 0.5));
        println!(
            "enrol-to-searchable (exact collection): insert p50 {e50:.3} ms; insert + first search p50 {es50:.2} ms"
        );
        put("exact_enrol_ms", format!("{e50:.4}"));

        let snap = a.out.join("exact.snap");
        let t = Instant::now();
        g.save_snapshot(&snap).expect("save");
        let save = t.elapsed();
        drop(g);
        let t = Instant::now();
        let g = Gallery::load_snapshot(&snap, exact_cfg).expect("load");
        let cold = t.elapsed();
        let size = std::fs::metadata(&snap).map(|m| m.len()).unwrap_or(0);
        println!(
            "snapshot: {:.2} GiB, save {:.2} s, load (cold start, file in page cache) {:.2} s",
            size as f64 / (1u64 << 30) as f64,
            save.as_secs_f64(),
            cold.as_secs_f64()
        );
        put("exact_snapshot_load_s", format!("{:.3}", cold.as_secs_f64()));
        put("exact_snapshot_gib", format!("{:.3}", size as f64 / (1u64 << 30) as f64));
        drop(g);
        let _ = std::fs::remove_file(&snap);
    }

    // ---- ANN ----
    let ann_cfg = GalleryConfig {
        dim: a.dim,
        ann_threshold: 1,
        scan_threads: a.threads,
        hnsw: HnswParams { m: a.m, ef_construction: a.ef_construction, ef_search: 64 },
        graph_segment: a.segment,
        ..GalleryConfig::default()
    };
    let rss0 = rss_bytes();
    let t = Instant::now();
    let cached = a.graph_cache.as_ref().filter(|p| p.exists());
    let g = match cached {
        Some(p) => {
            println!("(graph loaded from {}: the build time below is the load)", p.display());
            Gallery::load_snapshot(p, ann_cfg.clone()).expect("load cached graph")
        }
        None => {
            let g = build(ann_cfg.clone(), &data[..a.ann_n], &ids[..a.ann_n], &persons[..a.ann_n], collection);
            if let Some(p) = &a.graph_cache {
                g.save_snapshot(p).expect("save graph cache");
            }
            g
        }
    };
    let build_s = t.elapsed().as_secs_f64();
    let rss1 = rss_bytes();
    let heap = g.stats().heap_bytes;
    let segments = a.ann_n.div_ceil(a.segment.max(1));
    println!(
        "\n-- ANN (own HNSW, M={}, ef_construction={}, {} segment(s) of up to {}, f32-query re-rank) --",
        a.m, a.ef_construction, segments, a.segment
    );
    println!("build {} templates: {:.1} s ({} threads)", a.ann_n, build_s, a.threads.min(segments));
    put("ann_segments", format!("{segments}"));
    println!(
        "memory: {:.3} GiB per million (heap estimate), {:.3} GiB per million (RSS delta)",
        per_m(heap, a.ann_n),
        per_m(rss1.saturating_sub(rss0), a.ann_n)
    );
    put("ann_build_s", format!("{build_s:.2}"));
    put("ann_mem_gib_per_million_heap", format!("{:.4}", per_m(heap, a.ann_n)));
    put("ann_mem_gib_per_million_rss", format!("{:.4}", per_m(rss1.saturating_sub(rss0), a.ann_n)));
    let sweeps = [
        (GraphWalk::Bits, "bits", &[32, 48, 64, 96, 128, 160, 192, 256, 384][..]),
        (GraphWalk::Int8, "int8", &[32, 48, 64, 96, 128, 192, 256][..]),
    ];
    for (walk, name, efs) in sweeps {
        if a.bits_only && walk == GraphWalk::Int8 {
            continue;
        }
        println!(
            "walk: {}",
            match walk {
                GraphWalk::Bits => "one-bit codes (default), the best ef candidates re-scored",
                GraphWalk::Int8 => "int8 codes, the best k + rerank candidates re-scored",
            }
        );
        let mut sweep = Vec::new();
        for &ef in efs {
            let _ = run_queries(&g, &queries[..10.min(queries.len())], &gt_ann, &ids, SearchMode::Ann, Some(ef), walk);
            let r = run_queries(&g, &queries, &gt_ann, &ids, SearchMode::Ann, Some(ef), walk);
            println!(
                "  ef_search {ef:>4}: p50 {:.3} ms, p95 {:.3} ms, recall@1 {:.4}; CPU per query {:.3} ms (all threads)",
                r.p50, r.p95, r.recall, r.cpu_ms
            );
            sweep.push(format!(
                "{{\"ef\": {ef}, \"p50_ms\": {:.4}, \"p95_ms\": {:.4}, \"recall1\": {:.4}, \"cpu_ms\": {:.4}}}",
                r.p50, r.p95, r.recall, r.cpu_ms
            ));
        }
        let key = if walk == GraphWalk::Bits { "ann_sweep".to_string() } else { format!("ann_sweep_{name}") };
        put(&key, format!("[{}]", sweep.join(", ")));
    }

    let snap = a.out.join("ann.snap");
    let t = Instant::now();
    g.save_snapshot(&snap).expect("save");
    let save = t.elapsed();
    let mut enrol = Vec::new();
    for _ in 0..20 {
        let v = qsyn.identity();
        let id = Uuid::new_v4();
        let t = Instant::now();
        g.insert(Template {
            template_id: id,
            person_id: Uuid::new_v4(),
            collection_id: collection,
            model_id: MODEL,
            vector: &v,
        })
        .expect("insert");
        enrol.push(ms(t.elapsed()));
        let hits = g.search(&Query::new(&v, MODEL, 1)).expect("search");
        assert_eq!(hits[0].template_id, id);
    }
    let e50 = percentile(&mut enrol, 0.5);
    println!("enrol-to-searchable (HNSW collection): insert p50 {e50:.3} ms, then visible to the next search");
    put("ann_enrol_ms", format!("{e50:.4}"));
    drop(g);
    let t = Instant::now();
    let g = Gallery::load_snapshot(&snap, ann_cfg).expect("load");
    let cold = t.elapsed();
    let size = std::fs::metadata(&snap).map(|m| m.len()).unwrap_or(0);
    println!(
        "snapshot with graph: {:.2} GiB, save {:.2} s, load (cold start, file in page cache) {:.2} s",
        size as f64 / (1u64 << 30) as f64,
        save.as_secs_f64(),
        cold.as_secs_f64()
    );
    put("ann_snapshot_load_s", format!("{:.3}", cold.as_secs_f64()));
    put("ann_snapshot_gib", format!("{:.3}", size as f64 / (1u64 << 30) as f64));
    drop(g);
    let _ = std::fs::remove_file(&snap);

    let body: Vec<String> = json.iter().map(|(k, v)| format!("  \"{k}\": {v}")).collect();
    std::fs::write(a.out.join("rust.json"), format!("{{\n{}\n}}\n", body.join(",\n"))).expect("json");
    println!("\nfigures written to {}", a.out.join("rust.json").display());
}
