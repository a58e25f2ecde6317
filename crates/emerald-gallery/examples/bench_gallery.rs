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
//!
//! `--data DIR` benchmarks a given set instead of the synthetic one: `DIR/base.f32` and
//! `DIR/queries.f32` (native f32 rows of `--dim`), with `base_labels.txt` / `query_labels.txt`
//! (one identity per row) when present, as the face engine's `template_set` example writes them.
//! Every search is scored against the f32 brute force (recall@1, recall@10) and, with labels, for
//! the identity of the first hit. The ef sweep (`EFS`) is the one the FAISS and hnswlib anchors
//! run, so the curves line up.

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
    /// Read the templates, queries and labels from this directory instead of generating them.
    data: Option<PathBuf>,
}

/// The ef sweep of every graph index (ours and the anchors').
const EFS: [usize; 11] = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];
/// Results per search (recall@10 is measured against the exact top 10).
const K: usize = 10;

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
        data: None,
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
            "--data" => a.data = Some(PathBuf::from(v)),
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

/// Exact top `k` by f32 dot products over all vectors, best first (blocked: every query against a
/// block).
fn ground_truth(data: &[Vec<f32>], queries: &[Vec<f32>], threads: usize, k: usize) -> Vec<Vec<(usize, f32)>> {
    // Keeps the best k of `top` sorted best first.
    fn offer(top: &mut Vec<(usize, f32)>, k: usize, cand: (usize, f32)) {
        if top.len() == k && cand.1 <= top[k - 1].1 {
            return;
        }
        let at = top.partition_point(|e| e.1 >= cand.1);
        top.insert(at, cand);
        top.truncate(k);
    }
    let per = data.len().div_ceil(threads);
    let parts: Vec<Vec<Vec<(usize, f32)>>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let lo = (t * per).min(data.len());
                    let hi = ((t + 1) * per).min(data.len());
                    let mut best = vec![Vec::with_capacity(k + 1); queries.len()];
                    for block in (lo..hi).step_by(512) {
                        let end = (block + 512).min(hi);
                        for (qi, q) in queries.iter().enumerate() {
                            for (i, v) in data[block..end].iter().enumerate() {
                                offer(&mut best[qi], k, (block + i, emerald_gallery::simd::dot_f32(v, q)));
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
            let mut top = Vec::with_capacity(k + 1);
            parts.iter().flat_map(|p| &p[qi]).for_each(|&c| offer(&mut top, k, c));
            top
        })
        .collect()
}

struct Timed {
    p50: f64,
    p95: f64,
    p99: f64,
    recall: f64,
    /// Share of the exact top 10 among the top 10 returned.
    recall10: f64,
    /// Share of queries whose first hit has the query's identity (with labels).
    hit1: Option<f64>,
    /// CPU ms per query, all threads (contention-independent work measure).
    cpu_ms: f64,
}

/// What a search is scored against: the exact top 10 and, when known, the identities.
struct Truth<'a> {
    gt: &'a [Vec<(usize, f32)>],
    base_labels: Option<&'a [u32]>,
    query_labels: Option<&'a [u32]>,
}

/// Row index of a benchmark template id (`Uuid::from_u128(i + 1)`).
fn row(id: Uuid) -> usize {
    (id.as_u128() - 1) as usize
}

fn run_queries(
    g: &Gallery,
    queries: &[Vec<f32>],
    truth: &Truth<'_>,
    mode: SearchMode,
    ef: Option<usize>,
    walk: GraphWalk,
) -> Timed {
    let mut lat = Vec::with_capacity(queries.len());
    let (mut hits1, mut hits10, mut same) = (0, 0, 0);
    let cpu0 = process_cpu_s();
    for (qi, (q, want)) in queries.iter().zip(truth.gt).enumerate() {
        let t = Instant::now();
        let hits =
            g.search(&Query { mode, ef_search: ef, walk: Some(walk), ..Query::new(q, MODEL, K) }).expect("search");
        lat.push(ms(t.elapsed()));
        let first = hits.first().map(|h| row(h.template_id));
        hits1 += usize::from(first == Some(want[0].0));
        hits10 += hits.iter().filter(|h| want.iter().any(|w| w.0 == row(h.template_id))).count();
        if let (Some(f), Some(b), Some(ql)) = (first, truth.base_labels, truth.query_labels) {
            same += usize::from(b[f] == ql[qi]);
        }
    }
    let cpu1 = process_cpu_s();
    let nq = queries.len() as f64;
    Timed {
        cpu_ms: (cpu1 - cpu0) * 1e3 / nq,
        p50: percentile(&mut lat, 0.5),
        p95: percentile(&mut lat, 0.95),
        p99: percentile(&mut lat, 0.99),
        recall: hits1 as f64 / nq,
        recall10: hits10 as f64 / truth.gt.iter().map(|w| w.len()).sum::<usize>().max(1) as f64,
        hit1: truth.base_labels.map(|_| same as f64 / nq),
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

/// Native f32 rows of `dim` from `path`.
fn read_f32(path: &Path, dim: usize) -> Vec<Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.len().is_multiple_of(dim * 4), "{}: not rows of {dim} f32 (--dim)", path.display());
    bytes
        .chunks_exact(dim * 4)
        .map(|r| r.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect())
        .collect()
}

fn read_labels(path: &Path) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.lines().map(|l| l.trim().parse().expect("label")).collect())
}

fn write_lines<T: std::fmt::Display>(path: &Path, rows: impl Iterator<Item = T>) {
    let text: Vec<String> = rows.map(|r| r.to_string()).collect();
    std::fs::write(path, text.join("\n")).expect("write");
}

/// The templates, queries and identity labels of the run: read from `--data`, or synthetic
/// (each template its own identity; a query is a probe of `enrolled_of`).
struct DataSet {
    desc: String,
    data: Vec<Vec<f32>>,
    queries: Vec<Vec<f32>>,
    base_labels: Vec<u32>,
    query_labels: Vec<u32>,
}

fn data_set(a: &mut Args) -> DataSet {
    if let Some(dir) = a.data.clone() {
        let data = read_f32(&dir.join("base.f32"), a.dim);
        let mut queries = read_f32(&dir.join("queries.f32"), a.dim);
        let mut query_labels = read_labels(&dir.join("query_labels.txt")).unwrap_or_default();
        let base_labels = read_labels(&dir.join("base_labels.txt")).unwrap_or_default();
        queries.truncate(a.queries);
        query_labels.truncate(a.queries);
        a.n = data.len();
        a.ann_n = a.ann_n.min(a.n);
        a.queries = queries.len();
        let info = std::fs::read_to_string(dir.join("info.txt")).unwrap_or_default();
        let desc = format!("{} ({})", dir.display(), info.lines().next().unwrap_or("no info.txt"));
        return DataSet { desc, data, queries, base_labels, query_labels };
    }
    let desc =
        if a.isotropic { Synthetic::isotropic(a.dim, 0).describe() } else { Synthetic::faces(a.dim, 7).describe() };
    let desc = format!(
        "{desc}; probe noise {} (cos to own template ≈ {:.2})",
        a.noise,
        1.0 / (1.0 + a.noise * a.noise).sqrt()
    );
    let data = generate(a.n, a.dim, a.isotropic, a.threads);
    let mut qsyn = if a.isotropic { Synthetic::isotropic(a.dim, 99) } else { Synthetic::faces(a.dim, 7) };
    qsyn.rng = rand::SeedableRng::seed_from_u64(99);
    let enrolled_of: Vec<usize> = (0..a.queries).map(|i| (i * 7_919 + 13) % a.ann_n).collect();
    let queries = enrolled_of.iter().map(|&i| qsyn.probe(&data[i], a.noise)).collect();
    let base_labels = (0..a.n as u32).collect();
    let query_labels = enrolled_of.iter().map(|&i| i as u32).collect();
    DataSet { desc, data, queries, base_labels, query_labels }
}

/// A new template for the enrol-to-searchable figures: a probe of a stored one (a new photo of an
/// enrolled person), so that it lands where the data set's templates are, synthetic or real.
fn enrolment(syn: &mut Synthetic, data: &[Vec<f32>], i: usize) -> Vec<f32> {
    syn.probe(&data[(i * 7_919 + 101) % data.len()], 0.5)
}

fn main() {
    let mut a = parse_args();
    std::fs::create_dir_all(&a.out).expect("out dir");
    let mut json: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| json.push((k.to_string(), v));

    println!("== emerald-gallery benchmark ==");
    println!("load average at start: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
    let t = Instant::now();
    let DataSet { desc, data, queries, base_labels, query_labels } = data_set(&mut a);
    let labelled = base_labels.len() == data.len() && query_labels.len() == queries.len();
    // Draws for the enrol-to-searchable figures (see `enrolment`).
    let mut qsyn = Synthetic::isotropic(a.dim, 4242);
    println!(
        "kernels: {} (exact scan: {}; one-bit walk: {}); threads: {}; n = {}; ann n = {}; queries = {}",
        emerald_gallery::simd::isa(),
        emerald_gallery::simd::scan_isa(),
        emerald_gallery::simd::popcount_isa(),
        a.threads,
        a.n,
        a.ann_n,
        a.queries
    );
    println!("data: {desc}; {} templates in {:.1} s", a.n, t.elapsed().as_secs_f64());
    put("n", a.n.to_string());
    put("ann_n", a.ann_n.to_string());
    put("dim", a.dim.to_string());
    put("queries", a.queries.to_string());
    put("isa", format!("\"{}\"", emerald_gallery::simd::isa()));
    put("data_model", format!("{:?}", desc));
    put("m", a.m.to_string());
    put("ef_construction", a.ef_construction.to_string());
    put("k", K.to_string());
    put("efs", format!("{EFS:?}"));
    put("threads", a.threads.to_string());
    {
        // Impostor statistics (cosine of unrelated templates) and genuine ones (query against the
        // best template of its identity).
        let pairs = (data.len() / 2).min(2000);
        let s: Vec<f32> = (0..pairs)
            .filter(|&i| !labelled || base_labels[i] != base_labels[i + pairs])
            .map(|i| emerald_gallery::simd::dot_f32(&data[i], &data[i + pairs]))
            .collect();
        let mean = s.iter().sum::<f32>() / s.len().max(1) as f32;
        let sd = (s.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / s.len().max(1) as f32).sqrt();
        print!("impostor cosine mean {mean:.3} sd {sd:.3}");
        if labelled {
            let gen: Vec<f32> = queries
                .iter()
                .zip(&query_labels)
                .filter_map(|(q, l)| {
                    let own = (0..data.len()).filter(|&i| base_labels[i] == *l);
                    own.map(|i| emerald_gallery::simd::dot_f32(q, &data[i])).reduce(f32::max)
                })
                .collect();
            let gmean = gen.iter().sum::<f32>() / gen.len().max(1) as f32;
            print!("; genuine (query vs the closest template of its identity) mean {gmean:.3}");
        }
        println!();
    }
    let t = Instant::now();
    let gt = ground_truth(&data, &queries, a.threads, 1);
    let gt_ann = ground_truth(&data[..a.ann_n], &queries, a.threads, K);
    println!("ground truth (f32 brute force) in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    write_f32(&a.out.join("base.f32"), &data);
    write_f32(&a.out.join("queries.f32"), &queries);
    write_lines(&a.out.join("gt.txt"), gt.iter().map(|g| g[0].0));
    write_lines(&a.out.join("gt_ann.txt"), gt_ann.iter().map(|g| g[0].0));
    write_lines(
        &a.out.join("gt_ann10.txt"),
        gt_ann.iter().map(|g| g.iter().map(|(i, _)| i.to_string()).collect::<Vec<_>>().join(" ")),
    );
    for (name, labels) in [("base_labels.txt", &base_labels), ("query_labels.txt", &query_labels)] {
        if labelled {
            write_lines(&a.out.join(name), labels.iter());
        } else {
            let _ = std::fs::remove_file(a.out.join(name));
        }
    }
    println!("wrote vectors for FAISS in {:.1} s", t.elapsed().as_secs_f64());
    let (bl, ql) = (labelled.then_some(base_labels.as_slice()), labelled.then_some(query_labels.as_slice()));
    let truth = Truth { gt: &gt, base_labels: bl, query_labels: ql };
    let truth_ann = Truth { gt: &gt_ann, base_labels: bl, query_labels: ql };

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
        let _ = run_queries(&g, &queries[..10.min(queries.len())], &truth, SearchMode::Exact, None, GraphWalk::Bits);
        let ex = run_queries(&g, &queries, &truth, SearchMode::Exact, None, GraphWalk::Bits);
        println!(
            "exact search: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, recall@1 vs f32 brute force {:.4}{}; CPU per query {:.2} ms (all threads)",
            ex.p50,
            ex.p95,
            ex.p99,
            ex.recall,
            ex.hit1.map_or(String::new(), |h| format!(", identity of the first hit right {h:.4}")),
            ex.cpu_ms
        );
        put("exact_cpu_ms", format!("{:.4}", ex.cpu_ms));
        put("exact_p50_ms", format!("{:.4}", ex.p50));
        put("exact_p95_ms", format!("{:.4}", ex.p95));
        put("exact_p99_ms", format!("{:.4}", ex.p99));
        put("exact_recall1", format!("{:.4}", ex.recall));
        put("exact_hit1", ex.hit1.map_or("null".into(), |h| format!("{h:.4}")));

        // Enrol-to-searchable: insert one template, then the first search that can see it.
        let mut enrol = Vec::new();
        let mut enrol_search = Vec::new();
        for i in 0..20 {
            let v = enrolment(&mut qsyn, &data[..a.ann_n], i);
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
    for (walk, name) in [(GraphWalk::Bits, "bits"), (GraphWalk::Int8, "int8")] {
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
        for ef in EFS {
            let _ = run_queries(&g, &queries[..10.min(queries.len())], &truth_ann, SearchMode::Ann, Some(ef), walk);
            let r = run_queries(&g, &queries, &truth_ann, SearchMode::Ann, Some(ef), walk);
            let hit1 = r.hit1.map_or("null".to_string(), |h| format!("{h:.4}"));
            println!(
                "  ef_search {ef:>4}: p50 {:.3} ms, p99 {:.3} ms, recall@1 {:.4}, recall@10 {:.4}, identity {hit1}; CPU per query {:.3} ms (all threads)",
                r.p50, r.p99, r.recall, r.recall10, r.cpu_ms
            );
            sweep.push(format!(
                "{{\"ef\": {ef}, \"p50_ms\": {:.4}, \"p95_ms\": {:.4}, \"p99_ms\": {:.4}, \"recall1\": {:.4}, \"recall10\": {:.4}, \"hit1\": {hit1}, \"cpu_ms\": {:.4}}}",
                r.p50, r.p95, r.p99, r.recall, r.recall10, r.cpu_ms
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
    for i in 0..20 {
        let v = enrolment(&mut qsyn, &data[..a.ann_n], i);
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
