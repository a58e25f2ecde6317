//! Gallery behaviour: fast paths against the scalar f32 brute force, removal, filters,
//! snapshots, the change feed and concurrency. Sizes are small on purpose (CI); the 1M figures
//! come from `bench/gallery.sh`.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::synthetic::{brute_force, Synthetic};
use emerald_gallery::{
    Applied, Change, Gallery, GalleryConfig, GalleryError, GraphWalk, HnswParams, PersonFilter, Query, SearchMode,
    Template,
};
use uuid::Uuid;

const DIM: usize = 512;
const MODEL: &str = "face-v1";
/// Cosine error allowed between a gallery score (f32 query × int8 code) and the f32 reference.
/// The int8 rounding error is at most scale/2 per component; measured errors are ~3e-4.
const SCORE_TOL: f32 = 2e-3;

struct Fixture {
    gallery: Gallery,
    vectors: Vec<Vec<f32>>,
    ids: Vec<Uuid>,
    persons: Vec<Uuid>,
    collection: Uuid,
}

fn config(ann_threshold: usize) -> GalleryConfig {
    GalleryConfig {
        dim: DIM,
        ann_threshold,
        hnsw: HnswParams { m: 16, ef_construction: 64, ef_search: 64 },
        // Small enough that the 20k tests take the threaded scan path too.
        parallel_scan_min: 4096,
        // Small enough that the graph tests have several segments (the last one partly full).
        graph_segment: 700,
        scan_threads: 2,
        ..GalleryConfig::default()
    }
}

fn fixture(syn: &mut Synthetic, n: usize, cfg: GalleryConfig) -> Fixture {
    let collection = Uuid::new_v4();
    let vectors: Vec<Vec<f32>> = (0..n).map(|_| syn.identity()).collect();
    let ids: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let persons: Vec<Uuid> = (0..n).map(|_| Uuid::new_v4()).collect();
    let gallery = Gallery::new(cfg);
    let templates: Vec<Template<'_>> = (0..n)
        .map(|i| Template {
            template_id: ids[i],
            person_id: persons[i],
            collection_id: collection,
            model_id: MODEL,
            vector: &vectors[i],
        })
        .collect();
    gallery.insert_batch(&templates).unwrap();
    Fixture { gallery, vectors, ids, persons, collection }
}

fn query(v: &[f32], k: usize, mode: SearchMode) -> Query<'_> {
    Query { mode, ..Query::new(v, MODEL, k) }
}

/// The gallery's top-k must be the reference top-k up to near-ties: every hit's true score is
/// within `SCORE_TOL` of the reference score at its rank, and its reported score is within
/// `SCORE_TOL` of its true score.
fn assert_matches_reference(f: &Fixture, q: &[f32], k: usize, mode: SearchMode) {
    let hits = f.gallery.search(&query(q, k, mode)).unwrap();
    let reference = brute_force(&f.vectors, q, k);
    assert_eq!(hits.len(), reference.len());
    for (rank, (hit, (_, ref_score))) in hits.iter().zip(&reference).enumerate() {
        let i = f.ids.iter().position(|t| *t == hit.template_id).unwrap();
        let true_score = emerald_gallery::simd::scalar::dot_f32(&f.vectors[i], q);
        assert!((hit.score - true_score).abs() <= SCORE_TOL, "rank {rank}: score {} vs {true_score}", hit.score);
        assert!(true_score >= ref_score - SCORE_TOL, "rank {rank}: {true_score} vs reference {ref_score}");
        assert_eq!(hit.person_id, f.persons[i]);
        assert_eq!(hit.collection_id, f.collection);
    }
}

#[test]
fn exact_search_equals_scalar_brute_force() {
    let mut syn = Synthetic::isotropic(DIM, 11);
    let f = fixture(&mut syn, 20_000, config(usize::MAX));
    // Random queries (the hard case: near-ties everywhere) and probes of enrolled identities.
    for _ in 0..10 {
        let q = syn.identity();
        assert_matches_reference(&f, &q, 10, SearchMode::Exact);
    }
    for i in 0..20 {
        let q = syn.probe(&f.vectors[i * 97], 0.9);
        let hits = f.gallery.search(&query(&q, 5, SearchMode::Exact)).unwrap();
        assert_eq!(hits[0].template_id, f.ids[i * 97]);
        assert_matches_reference(&f, &q, 5, SearchMode::Exact);
    }
}

#[test]
fn scores_are_cosines() {
    let mut syn = Synthetic::faces(DIM, 12);
    let f = fixture(&mut syn, 500, config(usize::MAX));
    let hits = f.gallery.search(&query(&f.vectors[7], 1, SearchMode::Exact)).unwrap();
    assert_eq!(hits[0].template_id, f.ids[7]);
    assert!((hits[0].score - 1.0).abs() < SCORE_TOL);
    // Not normalised on the way in: the same direction scores the same.
    let scaled: Vec<f32> = f.vectors[7].iter().map(|x| x * 3.5).collect();
    let again = f.gallery.search(&query(&scaled, 1, SearchMode::Exact)).unwrap();
    assert_eq!(again[0].template_id, f.ids[7]);
    let neg: Vec<f32> = f.vectors[7].iter().map(|x| -x).collect();
    let worst = f.gallery.search(&Query { min_score: Some(-0.5), ..query(&neg, 500, SearchMode::Exact) }).unwrap();
    assert!(worst.iter().all(|h| h.template_id != f.ids[7]));
}

fn recall_at_1(f: &Fixture, syn: &mut Synthetic, queries: usize) -> f64 {
    let mut agree = 0;
    for i in 0..queries {
        let q = syn.probe(&f.vectors[(i * 7919) % f.vectors.len()], 0.9);
        let exact = f.gallery.search(&query(&q, 1, SearchMode::Exact)).unwrap();
        let ann = f.gallery.search(&query(&q, 1, SearchMode::Ann)).unwrap();
        if exact[0].template_id == ann[0].template_id {
            agree += 1;
        }
    }
    agree as f64 / queries as f64
}

#[test]
fn ann_recall_at_1_against_exact() {
    // Both graph walks (one-bit codes, the default, and int8 codes), on three graph segments
    // (700, 700, 600) and on one graph over all.
    for walk in [GraphWalk::Bits, GraphWalk::Int8] {
        for segment in [700, usize::MAX] {
            let mut syn = Synthetic::faces(DIM, 13);
            let f =
                fixture(&mut syn, 2_000, GalleryConfig { graph_segment: segment, graph_walk: walk, ..config(1_000) });
            assert_eq!(f.gallery.stats().indexed_shards, 1);
            let r = recall_at_1(&f, &mut syn, 400);
            assert!(r >= 0.995, "faces model recall@1 = {r} ({walk:?} walk, segments of {segment})");
        }

        let mut iso = Synthetic::isotropic(DIM, 14);
        let f = fixture(&mut iso, 2_000, GalleryConfig { graph_walk: walk, ..config(1_000) });
        let r = recall_at_1(&f, &mut iso, 400);
        assert!(r >= 0.995, "isotropic probes recall@1 = {r} ({walk:?} walk)");
    }
}

#[test]
fn ann_results_match_exact_scores() {
    let mut syn = Synthetic::faces(DIM, 15);
    let f = fixture(&mut syn, 1_500, config(1_000));
    for i in 0..20 {
        let q = syn.probe(&f.vectors[i * 31], 0.9);
        let ann = f.gallery.search(&query(&q, 3, SearchMode::Ann)).unwrap();
        let i0 = f.ids.iter().position(|t| *t == ann[0].template_id).unwrap();
        let true_score = emerald_gallery::simd::scalar::dot_f32(&f.vectors[i0], &q);
        assert!((ann[0].score - true_score).abs() <= SCORE_TOL);
    }
}

fn assert_absent(g: &Gallery, removed: &HashSet<Uuid>, probes: &[Vec<f32>]) {
    for mode in [SearchMode::Exact, SearchMode::Auto, SearchMode::Ann] {
        for p in probes {
            let hits = g.search(&query(p, 50, mode)).unwrap();
            assert!(hits.iter().all(|h| !removed.contains(&h.template_id)), "{mode:?}");
            assert!(hits.iter().all(|h| !h.template_id.is_nil()));
        }
    }
}

#[test]
fn removed_templates_never_come_back() {
    let dir = tempfile::tempdir().unwrap();
    for threshold in [usize::MAX, 500] {
        let mut syn = Synthetic::faces(DIM, 16);
        let f = fixture(&mut syn, 2_000, config(threshold));
        let mut removed = HashSet::new();
        let mut probes = Vec::new();
        for i in (0..2_000).step_by(9) {
            assert!(f.gallery.remove_template(f.ids[i]));
            assert!(!f.gallery.remove_template(f.ids[i]));
            removed.insert(f.ids[i]);
            if probes.len() < 40 {
                probes.push(f.vectors[i].clone());
            }
        }
        assert_eq!(f.gallery.len(), 2_000 - removed.len());
        assert_absent(&f.gallery, &removed, &probes);
        // Every survivor is still found by its own vector.
        for i in (1..2_000).step_by(9) {
            let hits = f.gallery.search(&query(&f.vectors[i], 1, SearchMode::Auto)).unwrap();
            assert_eq!(hits[0].template_id, f.ids[i]);
        }
        let path = dir.path().join(format!("g-{threshold}.snap"));
        f.gallery.save_snapshot(&path).unwrap();
        let loaded = Gallery::load_snapshot(&path, config(threshold)).unwrap();
        assert_eq!(loaded.len(), f.gallery.len());
        assert_absent(&loaded, &removed, &probes);
        // Remove past half of the shard: the graph shard compacts and still forgets them.
        for i in 0..1_200 {
            if loaded.remove_template(f.ids[i]) {
                removed.insert(f.ids[i]);
            }
        }
        assert_absent(&loaded, &removed, &probes);
        assert_eq!(loaded.len(), 2_000 - removed.len());
        for i in (1_200..1_300).filter(|i| i % 9 != 0) {
            let hits = loaded.search(&query(&f.vectors[i], 1, SearchMode::Auto)).unwrap();
            assert_eq!(hits[0].template_id, f.ids[i]);
        }
    }
}

#[test]
fn snapshot_round_trip_gives_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let mut syn = Synthetic::faces(DIM, 17);
    let f = fixture(&mut syn, 1_500, config(1_000));
    f.gallery.set_version(42);
    let path = dir.path().join("gallery.snap");
    f.gallery.save_snapshot(&path).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    let loaded = Gallery::load_snapshot(&path, config(1_000)).unwrap();
    assert_eq!(loaded.version(), 42);
    assert_eq!(loaded.len(), 1_500);
    assert_eq!(loaded.stats().indexed_shards, 1);
    for i in 0..30 {
        let q = syn.probe(&f.vectors[i * 13], 0.9);
        for mode in [SearchMode::Exact, SearchMode::Ann] {
            let a = f.gallery.search(&query(&q, 5, mode)).unwrap();
            let b = loaded.search(&query(&q, 5, mode)).unwrap();
            assert_eq!(a, b);
        }
    }
    // Inserting into both (the last segment fills, then a new one starts) keeps them equal, and
    // the new templates are found by their probes.
    let more: Vec<Vec<f32>> = (0..800).map(|_| syn.identity()).collect();
    let more_ids: Vec<Uuid> = (0..800).map(|_| Uuid::new_v4()).collect();
    for (v, id) in more.iter().zip(&more_ids) {
        for g in [&f.gallery, &loaded] {
            g.insert(Template {
                template_id: *id,
                person_id: *id,
                collection_id: f.collection,
                model_id: MODEL,
                vector: v,
            })
            .unwrap();
        }
    }
    for i in 0..30 {
        let q = syn.probe(&more[i * 26], 0.9);
        let a = f.gallery.search(&query(&q, 5, SearchMode::Ann)).unwrap();
        assert_eq!(a, loaded.search(&query(&q, 5, SearchMode::Ann)).unwrap());
        assert_eq!(a[0].template_id, more_ids[i * 26]);
    }
    // Wrong dimension for this configuration.
    let err = Gallery::load_snapshot(&path, GalleryConfig { dim: 128, ..config(1_000) });
    assert!(matches!(err, Err(GalleryError::SnapshotDimension { expected: 128, found: 512 })));
}

#[test]
fn corrupt_snapshots_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut syn = Synthetic::faces(DIM, 18);
    let f = fixture(&mut syn, 600, config(300));
    let path = dir.path().join("g.snap");
    f.gallery.save_snapshot(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let bad = dir.path().join("bad.snap");
    for at in [0, 9, 40, good.len() / 3, good.len() / 2, good.len() - 20, good.len() - 9, good.len() - 1] {
        let mut b = good.clone();
        b[at] ^= 0x5A;
        std::fs::write(&bad, &b).unwrap();
        let r = Gallery::load_snapshot(&bad, config(300));
        assert!(matches!(r, Err(GalleryError::CorruptSnapshot(_))), "flip at {at}: {:?}", r.err());
    }
    for len in [0, 7, 30, good.len() / 2, good.len() - 1] {
        std::fs::write(&bad, &good[..len]).unwrap();
        let r = Gallery::load_snapshot(&bad, config(300));
        assert!(matches!(r, Err(GalleryError::CorruptSnapshot(_))), "truncated to {len}: {:?}", r.err());
    }
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&bad, &longer).unwrap();
    assert!(matches!(Gallery::load_snapshot(&bad, config(300)), Err(GalleryError::CorruptSnapshot(_))));
    assert!(matches!(Gallery::load_snapshot(&dir.path().join("missing"), config(300)), Err(GalleryError::Io(_))));
}

#[test]
fn collections_models_and_person_filters() {
    let mut syn = Synthetic::faces(DIM, 19);
    for threshold in [usize::MAX, 200] {
        let g = Gallery::new(config(threshold));
        let (c1, c2) = (Uuid::new_v4(), Uuid::new_v4());
        let mut vectors = Vec::new();
        let mut ids = Vec::new();
        let mut persons = Vec::new();
        for i in 0..1_000 {
            let v = syn.identity();
            let (t, p) = (Uuid::new_v4(), Uuid::new_v4());
            let c = if i % 2 == 0 { c1 } else { c2 };
            g.insert(Template { template_id: t, person_id: p, collection_id: c, model_id: MODEL, vector: &v }).unwrap();
            vectors.push(v);
            ids.push(t);
            persons.push(p);
        }
        // Same person enrolled with another model in c1: never returned to MODEL queries.
        let other = Uuid::new_v4();
        g.insert(Template {
            template_id: other,
            person_id: persons[0],
            collection_id: c1,
            model_id: "face-v2",
            vector: &vectors[0],
        })
        .unwrap();

        let q = syn.probe(&vectors[0], 0.9);
        let hits = g.search(&Query::new(&q, MODEL, 5)).unwrap();
        assert_eq!(hits[0].template_id, ids[0]);
        assert!(hits.iter().all(|h| h.template_id != other));
        let v2 = g.search(&Query::new(&q, "face-v2", 5)).unwrap();
        assert_eq!(v2.len(), 1);
        assert_eq!(v2[0].template_id, other);

        // Collection filter: template 0 is in c1; searching c2 only must not return it.
        let only_c2 = g.search(&Query { collections: Some(vec![c2]), ..Query::new(&q, MODEL, 5) }).unwrap();
        assert!(only_c2.iter().all(|h| h.collection_id == c2));
        let both = g.search(&Query { collections: Some(vec![c1, c2]), ..Query::new(&q, MODEL, 5) }).unwrap();
        assert_eq!(both[0].template_id, ids[0]);

        // Allow-list: only the listed persons, even when the best match is elsewhere.
        let allow: HashSet<Uuid> = [persons[3], persons[4]].into_iter().collect();
        let hits = g
            .search(&Query { persons: PersonFilter::Allow(Arc::new(allow.clone())), ..Query::new(&q, MODEL, 5) })
            .unwrap();
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| allow.contains(&h.person_id)));
        // Deny-list and predicate: the best match is excluded, everything else allowed.
        let deny: HashSet<Uuid> = [persons[0]].into_iter().collect();
        for filter in [
            PersonFilter::Deny(Arc::new(deny)),
            PersonFilter::Predicate(Arc::new({
                let p0 = persons[0];
                move |p| p != p0
            })),
        ] {
            for mode in [SearchMode::Exact, SearchMode::Auto] {
                let hits = g.search(&Query { persons: filter.clone(), mode, ..Query::new(&q, MODEL, 5) }).unwrap();
                assert_eq!(hits.len(), 5);
                assert!(hits.iter().all(|h| h.person_id != persons[0]));
            }
        }
        // A predicate that passes almost nobody still finds them (exact fallback).
        let p7 = persons[7];
        let hits = g
            .search(&Query { persons: PersonFilter::Predicate(Arc::new(move |p| p == p7)), ..Query::new(&q, MODEL, 5) })
            .unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].person_id, p7);

        // min_score keeps only the genuine match.
        let hits = g.search(&Query { min_score: Some(0.5), ..Query::new(&q, MODEL, 5) }).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].template_id, ids[0]);

        // A collection holding only another model's templates is a model mismatch.
        let c3 = Uuid::new_v4();
        g.insert(Template {
            template_id: Uuid::new_v4(),
            person_id: Uuid::new_v4(),
            collection_id: c3,
            model_id: "face-v2",
            vector: &vectors[1],
        })
        .unwrap();
        let err = g.search(&Query { collections: Some(vec![c3]), ..Query::new(&q, MODEL, 5) });
        assert!(matches!(err, Err(GalleryError::ModelMismatch { .. })));
        // An unknown or empty collection is just empty.
        let none = g.search(&Query { collections: Some(vec![Uuid::new_v4()]), ..Query::new(&q, MODEL, 5) }).unwrap();
        assert!(none.is_empty());

        // Person and collection removal.
        assert_eq!(g.remove_person(persons[0]), 2);
        let hits = g.search(&Query::new(&q, MODEL, 5)).unwrap();
        assert!(hits.iter().all(|h| h.person_id != persons[0]));
        assert_eq!(g.remove_collection(c2), 500);
        let hits = g.search(&Query::new(&q, MODEL, 1_000)).unwrap();
        assert_eq!(hits.len(), 499);
        assert!(hits.iter().all(|h| h.collection_id == c1));
        assert_eq!(g.len(), 500);
    }
}

#[test]
fn insert_replaces_and_moves_templates() {
    let mut syn = Synthetic::faces(DIM, 20);
    let g = Gallery::new(config(usize::MAX));
    let (t, p, c1, c2) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let (a, b) = (syn.identity(), syn.identity());
    g.insert(Template { template_id: t, person_id: p, collection_id: c1, model_id: MODEL, vector: &a }).unwrap();
    g.insert(Template { template_id: t, person_id: p, collection_id: c2, model_id: MODEL, vector: &b }).unwrap();
    assert_eq!(g.len(), 1);
    let hits = g.search(&Query::new(&b, MODEL, 5)).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].collection_id, c2);
    assert!(hits[0].score > 0.99);
}

#[test]
fn invalid_input_is_refused() {
    let g = Gallery::new(config(usize::MAX));
    let v = vec![0.5f32; 100];
    let t = |vector| Template {
        template_id: Uuid::new_v4(),
        person_id: Uuid::new_v4(),
        collection_id: Uuid::new_v4(),
        model_id: MODEL,
        vector,
    };
    assert!(matches!(g.insert(t(&v)), Err(GalleryError::DimensionMismatch { expected: 512, got: 100 })));
    assert!(matches!(g.insert(t(&[0.0; DIM])), Err(GalleryError::InvalidVector)));
    assert!(matches!(g.insert(t(&[f32::NAN; DIM])), Err(GalleryError::InvalidVector)));
    let ok = vec![0.1f32; DIM];
    assert!(matches!(g.insert(Template { template_id: Uuid::nil(), ..t(&ok) }), Err(GalleryError::NilTemplateId)));
    assert!(matches!(g.search(&Query::new(&v, MODEL, 1)), Err(GalleryError::DimensionMismatch { .. })));
    assert!(g.search(&Query::new(&ok, MODEL, 1)).unwrap().is_empty());
    assert!(g.is_empty());
}

#[test]
fn change_feed_is_versioned_and_idempotent() {
    let mut syn = Synthetic::faces(DIM, 21);
    let g = Gallery::new(config(usize::MAX));
    let (c, p) = (Uuid::new_v4(), Uuid::new_v4());
    let (a, b) = (syn.identity(), syn.identity());
    let (ta, tb) = (Uuid::new_v4(), Uuid::new_v4());
    let ins =
        |t, v| Change::Insert(Template { template_id: t, person_id: p, collection_id: c, model_id: MODEL, vector: v });
    assert_eq!(g.apply(1, &[ins(ta, &a), ins(tb, &b)]).unwrap(), Applied::Applied { version: 1 });
    assert_eq!(g.len(), 2);
    // A replay of an old batch does nothing.
    assert_eq!(g.apply(1, &[Change::RemoveTemplate(ta)]).unwrap(), Applied::Stale { current: 1 });
    assert_eq!(g.len(), 2);
    // A batch with a bad vector is refused whole, version unchanged.
    let short = vec![1.0f32; 3];
    assert!(g.apply(2, &[Change::RemoveTemplate(ta), ins(Uuid::new_v4(), &short)]).is_err());
    assert_eq!((g.len(), g.version()), (2, 1));
    assert_eq!(g.apply(5, &[Change::RemoveTemplate(ta)]).unwrap(), Applied::Applied { version: 5 });
    assert_eq!(g.apply(6, &[Change::RemovePerson(p)]).unwrap(), Applied::Applied { version: 6 });
    assert!(g.is_empty());
    g.apply(7, &[ins(ta, &a), Change::RemoveCollection(c)]).unwrap();
    assert!(g.is_empty());
    assert_eq!(g.version(), 7);
}

#[test]
fn concurrent_inserts_removals_and_searches() {
    let mut syn = Synthetic::faces(DIM, 22);
    // A graph shard from the start, so writers insert into the graph while readers walk it.
    let f = Arc::new(fixture(&mut syn, 1_200, config(1_000)));
    let extra: Arc<Vec<Vec<f32>>> = Arc::new((0..200).map(|_| syn.identity()).collect());
    std::thread::scope(|s| {
        // Writers: insert, check it is immediately searchable, remove half, check it is gone.
        for w in 0..2 {
            let (f, extra) = (f.clone(), extra.clone());
            s.spawn(move || {
                for i in (w..extra.len()).step_by(2) {
                    let t = Uuid::new_v4();
                    f.gallery
                        .insert(Template {
                            template_id: t,
                            person_id: Uuid::new_v4(),
                            collection_id: f.collection,
                            model_id: MODEL,
                            vector: &extra[i],
                        })
                        .unwrap();
                    let hits = f.gallery.search(&query(&extra[i], 1, SearchMode::Exact)).unwrap();
                    assert_eq!(hits[0].template_id, t, "enrolled template searchable at once");
                    if i % 4 < 2 {
                        assert!(f.gallery.remove_template(t));
                        for mode in [SearchMode::Exact, SearchMode::Ann] {
                            let hits = f.gallery.search(&query(&extra[i], 3, mode)).unwrap();
                            assert!(hits.iter().all(|h| h.template_id != t), "removed template returned");
                        }
                    }
                }
            });
        }
        // Readers: the original templates stay findable throughout.
        for r in 0..2 {
            let f = f.clone();
            s.spawn(move || {
                let mut i = r;
                while i < 400 {
                    let j = (i * 37) % f.vectors.len();
                    let hits = f.gallery.search(&query(&f.vectors[j], 1, SearchMode::Auto)).unwrap();
                    assert_eq!(hits[0].template_id, f.ids[j]);
                    i += 2;
                }
            });
        }
    });
    assert_eq!(f.gallery.len(), 1_200 + 100);
}
