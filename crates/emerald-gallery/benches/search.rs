//! Search and insert on a 50k-template collection (exact) and a 20k one with a graph.
//! The million-template figures and the FAISS anchor come from `bench/gallery.sh`.

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use emerald_gallery::{Gallery, GalleryConfig, Query, SearchMode, Template};
use synthetic::Synthetic;
use uuid::Uuid;

fn gallery(syn: &mut Synthetic, n: usize, ann_threshold: usize) -> (Gallery, Vec<Vec<f32>>) {
    let g = Gallery::new(GalleryConfig { ann_threshold, ..GalleryConfig::default() });
    let c = Uuid::new_v4();
    let vs: Vec<Vec<f32>> = (0..n).map(|_| syn.identity()).collect();
    let ts: Vec<Template<'_>> = vs
        .iter()
        .map(|v| Template {
            template_id: Uuid::new_v4(),
            person_id: Uuid::new_v4(),
            collection_id: c,
            model_id: "m",
            vector: v,
        })
        .collect();
    g.insert_batch(&ts).unwrap();
    (g, vs)
}

fn search(c: &mut Criterion) {
    let mut syn = Synthetic::faces(512, 3);
    let (exact, vs) = gallery(&mut syn, 50_000, usize::MAX);
    let probes: Vec<Vec<f32>> = (0..64).map(|i| syn.probe(&vs[i * 101], 0.9)).collect();
    let mut i = 0;
    c.bench_function("exact/50k/top10", |b| {
        b.iter(|| {
            i = (i + 1) % probes.len();
            black_box(exact.search(&Query { mode: SearchMode::Exact, ..Query::new(&probes[i], "m", 10) }).unwrap())
        })
    });
    let v = syn.identity();
    c.bench_function("insert+remove/50k exact", |b| {
        b.iter(|| {
            let id = Uuid::new_v4();
            exact
                .insert(Template {
                    template_id: id,
                    person_id: id,
                    collection_id: Uuid::nil(),
                    model_id: "m",
                    vector: &v,
                })
                .unwrap();
            exact.remove_template(id)
        })
    });
    drop(exact);
    let (ann, vs) = gallery(&mut syn, 20_000, 1);
    let probes: Vec<Vec<f32>> = (0..64).map(|i| syn.probe(&vs[i * 101], 0.9)).collect();
    c.bench_function("ann/20k/top10", |b| {
        b.iter(|| {
            i = (i + 1) % probes.len();
            black_box(ann.search(&Query { mode: SearchMode::Ann, ..Query::new(&probes[i], "m", 10) }).unwrap())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = search
}
criterion_main!(benches);
