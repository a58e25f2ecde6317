//! One (model, collection) template set: its codes, ids, person index, optional HNSW graph, and
//! the exact, allow-list and ANN searches over it.
//!
//! Slots: below the ANN threshold a removal moves the last slot into the hole, so the exact scan
//! never sees dead slots. With a graph, slots are graph nodes and cannot move: a removal leaves a
//! tombstone (ids cleared, code zeroed) and the shard rebuilds itself when half its slots are dead.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use uuid::Uuid;

use crate::coarse::{Coarse, CoarseQuery};
use crate::codes::{Codes, PreparedQuery};
use crate::hnsw::{BitProbe, Cand, Probe};
use crate::segments::Segments;
use crate::types::{GalleryConfig, GraphWalk, Hit, ModelId, PersonFilter, SearchMode};

/// Codes per call of the exact scan's kernel: their scores fit in 1 KiB of stack.
const SCAN_BLOCK: usize = 256;

/// The best `want` candidates of a scan so far; `floor` is the worst of them once there are
/// `want` (−∞ before).
struct TopK {
    heap: BinaryHeap<Reverse<Cand>>,
    want: usize,
    floor: f32,
}

impl TopK {
    fn new(want: usize) -> Self {
        Self { heap: BinaryHeap::with_capacity(want + 1), want, floor: f32::NEG_INFINITY }
    }
}

pub(crate) struct Shard {
    pub(crate) model_id: ModelId,
    pub(crate) collection_id: Uuid,
    pub(crate) codes: Codes,
    /// Per slot; `Uuid::nil()` for a tombstone.
    pub(crate) template_ids: Vec<Uuid>,
    pub(crate) person_ids: Vec<Uuid>,
    pub(crate) slots: HashMap<Uuid, u32>,
    pub(crate) persons: HashMap<Uuid, Vec<u32>>,
    pub(crate) dead: usize,
    /// The graph index (in segments), once the shard reached the ANN threshold.
    pub(crate) graph: Option<Segments>,
}

/// What one shard search needs besides the query vector.
pub(crate) struct ShardQuery<'a> {
    pub pq: &'a PreparedQuery,
    pub k: usize,
    pub min_score: Option<f32>,
    pub persons: &'a PersonFilter,
    pub mode: SearchMode,
    pub ef_search: Option<usize>,
    pub walk: Option<GraphWalk>,
}

impl Shard {
    pub fn new(model_id: ModelId, collection_id: Uuid, dim: usize) -> Self {
        // Nibble planes until a graph is built (the exact scan's layout, `coarse.rs`).
        let mut codes = Codes::new(dim);
        codes.keep_coarse(crate::coarse::enabled());
        Self {
            model_id,
            collection_id,
            codes,
            template_ids: Vec::new(),
            person_ids: Vec::new(),
            slots: HashMap::new(),
            persons: HashMap::new(),
            dead: 0,
            graph: None,
        }
    }

    pub fn live(&self) -> usize {
        self.slots.len()
    }

    pub fn heap_bytes(&self) -> usize {
        let map_entry = 16 + 4 + 1; // key, value, control byte (hashbrown)
        let person_entry = 16 + 24 + 1;
        self.codes.heap_bytes()
            + (self.template_ids.capacity() + self.person_ids.capacity()) * 16
            + self.slots.capacity() * map_entry
            + self.persons.capacity() * person_entry
            + self.persons.values().map(|v| v.capacity() * 4).sum::<usize>()
            + self.graph.as_ref().map_or(0, Segments::heap_bytes)
    }

    /// Adds (or replaces) a template; `unit` is normalised.
    pub fn insert(&mut self, template_id: Uuid, person_id: Uuid, unit: &[f32], cfg: &GalleryConfig) {
        self.remove(template_id, cfg);
        let slot = self.codes.push(unit);
        self.template_ids.push(template_id);
        self.person_ids.push(person_id);
        self.slots.insert(template_id, slot);
        self.persons.entry(person_id).or_default().push(slot);
        match &mut self.graph {
            Some(g) => g.insert(&self.codes, slot),
            None => self.build_index_if_due(cfg),
        }
    }

    /// Adds a batch, then builds the graph once if the shard crossed the threshold (bulk loads).
    pub fn extend(&mut self, items: impl IntoIterator<Item = (Uuid, Uuid, Vec<f32>)>, cfg: &GalleryConfig) {
        for (template_id, person_id, unit) in items {
            self.remove(template_id, cfg);
            let slot = self.codes.push(&unit);
            self.template_ids.push(template_id);
            self.person_ids.push(person_id);
            self.slots.insert(template_id, slot);
            self.persons.entry(person_id).or_default().push(slot);
            if let Some(g) = &mut self.graph {
                g.insert(&self.codes, slot);
            }
        }
        if self.graph.is_none() {
            self.build_index_if_due(cfg);
        }
    }

    fn build_index_if_due(&mut self, cfg: &GalleryConfig) {
        if self.graph.is_some() || self.live() < cfg.ann_threshold.max(1) || self.dead > 0 {
            return;
        }
        // The graph walk reads single codes at random: int8 rows, not the scan's nibble planes.
        // Converting writes them into a fresh advised buffer; rows grown piecemeal move to one.
        if self.codes.coarse.is_some() {
            self.codes.keep_coarse(false);
        } else {
            crate::mem::rehome(&mut self.codes.codes);
        }
        self.graph = Some(Segments::build(&self.codes, cfg.hnsw, cfg.graph_segment, cfg.scan_threads));
    }

    pub fn remove(&mut self, template_id: Uuid, cfg: &GalleryConfig) -> bool {
        let Some(slot) = self.slots.remove(&template_id) else {
            return false;
        };
        let person = self.person_ids[slot as usize];
        if let Some(list) = self.persons.get_mut(&person) {
            list.retain(|&s| s != slot);
            if list.is_empty() {
                self.persons.remove(&person);
            }
        }
        if let Some(g) = &mut self.graph {
            g.wipe(slot);
            self.codes.wipe(slot);
            self.template_ids[slot as usize] = Uuid::nil();
            self.person_ids[slot as usize] = Uuid::nil();
            self.dead += 1;
            if self.dead * 2 > self.codes.len() {
                self.rebuild(cfg);
            }
        } else {
            let last = (self.codes.len() - 1) as u32;
            self.codes.swap_remove(slot);
            self.template_ids.swap_remove(slot as usize);
            self.person_ids.swap_remove(slot as usize);
            if slot != last {
                let moved_t = self.template_ids[slot as usize];
                let moved_p = self.person_ids[slot as usize];
                self.slots.insert(moved_t, slot);
                if let Some(list) = self.persons.get_mut(&moved_p) {
                    for s in list.iter_mut().filter(|s| **s == last) {
                        *s = slot;
                    }
                }
            }
        }
        true
    }

    pub fn remove_person(&mut self, person_id: Uuid, cfg: &GalleryConfig) -> Vec<Uuid> {
        let Some(slots) = self.persons.get(&person_id) else {
            return Vec::new();
        };
        let ids: Vec<Uuid> = slots.iter().map(|&s| self.template_ids[s as usize]).collect();
        for id in &ids {
            self.remove(*id, cfg);
        }
        ids
    }

    /// Drops tombstones: live templates are re-packed and the graph rebuilt (or dropped when the
    /// shard fell below the threshold).
    fn rebuild(&mut self, cfg: &GalleryConfig) {
        let dim = self.codes.dim;
        let mut fresh = Shard::new(self.model_id.clone(), self.collection_id, dim);
        for slot in 0..self.codes.len() as u32 {
            let t = self.template_ids[slot as usize];
            if t.is_nil() {
                continue;
            }
            let new = fresh.codes.len() as u32;
            fresh.codes.push_code(self.codes.code(slot), self.codes.scale(slot));
            fresh.template_ids.push(t);
            fresh.person_ids.push(self.person_ids[slot as usize]);
            fresh.slots.insert(t, new);
            fresh.persons.entry(self.person_ids[slot as usize]).or_default().push(new);
        }
        fresh.build_index_if_due(cfg);
        *self = fresh;
    }

    fn hit(&self, slot: u32, score: f32) -> Hit {
        Hit {
            template_id: self.template_ids[slot as usize],
            person_id: self.person_ids[slot as usize],
            collection_id: self.collection_id,
            score,
        }
    }

    /// Re-scores int8 candidates with the f32 query and keeps the best `k` above the floor.
    fn rerank(&self, q: &ShardQuery<'_>, cands: impl IntoIterator<Item = u32>) -> Vec<Hit> {
        let mut scored: Vec<(f32, u32)> = cands.into_iter().map(|s| (self.codes.sim_f32(&q.pq.unit, s), s)).collect();
        scored.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .filter(|(score, _)| !matches!(q.min_score, Some(m) if *score < m))
            .take(q.k)
            .map(|(score, slot)| self.hit(slot, score))
            .collect()
    }

    pub fn search(&self, q: &ShardQuery<'_>, cfg: &GalleryConfig) -> Vec<Hit> {
        if q.k == 0 || self.live() == 0 {
            return Vec::new();
        }
        if let PersonFilter::Allow(set) = q.persons {
            // Score the allowed persons' templates directly: exact, and cheap for short lists.
            if set.len() < self.persons.len() {
                let slots = set.iter().filter_map(|p| self.persons.get(p)).flatten().copied();
                return self.rerank(q, slots);
            }
        }
        let want = q.k + cfg.rerank;
        let use_ann = match q.mode {
            SearchMode::Exact => false,
            SearchMode::Ann | SearchMode::Auto => self.graph.is_some(),
        };
        if use_ann {
            if let Some(g) = &self.graph {
                let ef = q.ef_search.unwrap_or(cfg.hnsw.ef_search).max(want);
                // With no filter and no tombstone every node is a result: skip the two id
                // lookups, which are cache misses in the walk.
                let filtered = !matches!(q.persons, PersonFilter::Any);
                let everyone = !filtered && self.dead == 0;
                let accept = |s: u32| {
                    everyone
                        || (!self.template_ids[s as usize].is_nil() && q.persons.allows(self.person_ids[s as usize]))
                };
                let (found, pool) = match q.walk.unwrap_or(cfg.graph_walk) {
                    GraphWalk::Int8 => {
                        let probe = Probe { codes: &self.codes, q: &q.pq.code, qs: q.pq.scale };
                        (g.search(&probe, ef, &accept, cfg.scan_threads), want)
                    }
                    GraphWalk::Bits => {
                        let qb = g.bits.query(&q.pq.unit);
                        let probe = BitProbe { bits: &g.bits, q: &qb };
                        // One-bit estimates are coarse: re-score the best `ef`, not only `want`.
                        (g.search(&probe, ef, &accept, cfg.scan_threads), ef)
                    }
                };
                // A selective filter can starve the walk; the exact scan is then the answer.
                if !(filtered && found.len() < q.k) {
                    return self.rerank(q, found.into_iter().take(pool).map(|c| c.slot));
                }
            }
        }
        let cands = self.scan(q, want, cfg);
        self.rerank(q, cands.into_iter().map(|c| c.slot))
    }

    /// The exact int8 scan: the `want` best live, accepted slots, split over threads when large.
    fn scan(&self, q: &ShardQuery<'_>, want: usize, cfg: &GalleryConfig) -> Vec<Cand> {
        let n = self.codes.len();
        let threads = if n >= cfg.parallel_scan_min { cfg.scan_threads.max(1) } else { 1 };
        let cq = self.codes.coarse.as_ref().map(|_| CoarseQuery::new(&q.pq.code));
        let cq = cq.as_ref();
        if threads == 1 {
            return self.scan_range(q, cq, want, 0, n);
        }
        let chunk = n.div_ceil(threads);
        let mut all: Vec<Cand> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads)
                .map(|t| {
                    let (lo, hi) = (t * chunk, ((t + 1) * chunk).min(n));
                    s.spawn(move || self.scan_range(q, cq, want, lo, hi))
                })
                .collect();
            let mut all = self.scan_range(q, cq, want, 0, chunk.min(n));
            for h in handles {
                // A panic in a scan thread is a bug in this module; propagate it.
                all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            all
        });
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(want);
        all
    }

    fn scan_range(&self, q: &ShardQuery<'_>, cq: Option<&CoarseQuery>, want: usize, lo: usize, hi: usize) -> Vec<Cand> {
        if let (Some(cq), Some(plane)) = (cq, &self.codes.coarse) {
            return self.scan_range_coarse(q, cq, plane, want, lo, hi);
        }
        let mut top = TopK::new(want);
        let dim = self.codes.dim;
        let qc = &q.pq.code[..];
        // Blocks of codes through the scan kernel, then the heap over the block's scores.
        let mut dots = [0i32; SCAN_BLOCK];
        let mut start = lo;
        while start < hi {
            let end = (start + SCAN_BLOCK).min(hi);
            let dots = &mut dots[..end - start];
            crate::simd::dots_i8(qc, &self.codes.codes[start * dim..end * dim], dots);
            for (i, &dot) in dots.iter().enumerate() {
                let slot = (start + i) as u32;
                let sim = dot as f32 * (q.pq.scale * self.codes.scale(slot));
                self.offer(q, &mut top, Cand { sim, slot });
            }
            start = end;
        }
        top.heap.into_iter().map(|r| r.0).collect()
    }

    /// A scored slot for the scan's best `want`: kept if above the floor, live and allowed.
    #[inline]
    fn offer(&self, q: &ShardQuery<'_>, top: &mut TopK, cand: Cand) {
        if cand.sim <= top.floor && top.heap.len() >= top.want {
            return;
        }
        let slot = cand.slot as usize;
        if self.template_ids[slot].is_nil() || !q.persons.allows(self.person_ids[slot]) {
            return;
        }
        top.heap.push(Reverse(cand));
        if top.heap.len() > top.want {
            top.heap.pop();
        }
        if top.heap.len() >= top.want {
            top.floor = top.heap.peek().map_or(f32::NEG_INFINITY, |c| c.0.sim);
        }
    }

    /// The same scan over nibble planes (`coarse.rs`): the high plane first; a code whose upper
    /// bound cannot beat the current floor is skipped, the others get their exact int8 score
    /// from the low plane's row, the same number the scan above computes.
    fn scan_range_coarse(
        &self,
        q: &ShardQuery<'_>,
        cq: &CoarseQuery,
        plane: &Coarse,
        want: usize,
        lo: usize,
        hi: usize,
    ) -> Vec<Cand> {
        // The bound is exact arithmetic on integers and rounded-up terms; the margin covers the
        // f32 rounding of the score it is compared with.
        #[inline]
        fn skip(cq: &CoarseQuery, d: i32, qs: f32, cs: f32, plane: &Coarse, slot: u32, floor: f32) -> bool {
            cq.bound(d, qs, cs, plane.slack[slot as usize]) + 1e-6 < f64::from(floor)
        }
        let mut top = TopK::new(want);
        let qs = q.pq.scale;
        let mut d1 = [0i32; SCAN_BLOCK];
        let mut pass = [0u32; SCAN_BLOCK];
        let mut start = lo;
        while start < hi {
            let end = (start + SCAN_BLOCK).min(hi);
            let d1 = &mut d1[..end - start];
            crate::simd::dots_u4(&cq.lo, &cq.hi, plane.block(start, end), d1);
            // The codes whose bound can reach the floor: their full rows are fetched together
            // (prefetched first), not one random read after another.
            let mut passed = 0;
            for (i, &d) in d1.iter().enumerate() {
                let slot = (start + i) as u32;
                // (The floor is −∞ until the heap holds `want`: nothing is skipped before.)
                if !skip(cq, d, qs, self.codes.scale(slot), plane, slot, top.floor) {
                    crate::simd::prefetch(plane.lo_row(slot as usize), usize::MAX);
                    pass[passed] = i as u32;
                    passed += 1;
                }
            }
            for &i in &pass[..passed] {
                let slot = start as u32 + i;
                let cs = self.codes.scale(slot);
                // The floor may have risen since the code passed.
                if skip(cq, d1[i as usize], qs, cs, plane, slot, top.floor) {
                    continue;
                }
                let mut d2 = [0i32];
                crate::simd::dots_u4(&cq.lo, &cq.hi, plane.lo_row(slot as usize), &mut d2);
                let sim = cq.dot(d1[i as usize], d2[0]) as f32 * (qs * cs);
                self.offer(q, &mut top, Cand { sim, slot });
            }
            start = end;
        }
        top.heap.into_iter().map(|r| r.0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant;
    use rand::{Rng, SeedableRng};
    use std::collections::HashSet;
    use std::sync::Arc;

    fn noisy(rng: &mut impl Rng, base: &[f32], noise: f32) -> Vec<f32> {
        let v: Vec<f32> = base.iter().map(|x| x + noise * rng.gen_range(-1.0f32..1.0)).collect();
        quant::normalized(&v).unwrap()
    }

    /// The scan over nibble planes returns exactly the candidates of the scan over int8 rows:
    /// with and without a filter, across removals, one and two threads.
    #[test]
    fn the_first_pass_changes_no_answer() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        for dim in [64, 704] {
            let cfg = GalleryConfig { dim, ann_threshold: usize::MAX, parallel_scan_min: 1_000, ..Default::default() };
            let mut planes = Shard::new(ModelId::new("m"), Uuid::from_u128(1), dim);
            let mut rows = Shard::new(ModelId::new("m"), Uuid::from_u128(1), dim);
            planes.codes.keep_coarse(true);
            rows.codes.keep_coarse(false);
            assert!(planes.codes.coarse.is_some() && rows.codes.coarse.is_none());
            // 300 people with 10 photos each: face-like clusters, so the best scores stand out.
            let people: Vec<(Uuid, Vec<f32>)> = (0..300)
                .map(|i| {
                    let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
                    (Uuid::from_u128(10_000 + i), v)
                })
                .collect();
            let mut ids = Vec::new();
            for (p, base) in &people {
                for _ in 0..10 {
                    let id = Uuid::new_v4();
                    let v = noisy(&mut rng, base, 1.2);
                    planes.insert(id, *p, &v, &cfg);
                    rows.insert(id, *p, &v, &cfg);
                    ids.push(id);
                }
            }
            for id in ids.iter().step_by(7) {
                planes.remove(*id, &cfg);
                rows.remove(*id, &cfg);
            }
            let deny: HashSet<Uuid> = people.iter().step_by(3).map(|(p, _)| *p).collect();
            let filters = [PersonFilter::Any, PersonFilter::Deny(Arc::new(deny))];
            for (qi, (_, base)) in people.iter().enumerate().step_by(15) {
                let pq = PreparedQuery::new(noisy(&mut rng, base, 1.2));
                let cq = CoarseQuery::new(&pq.code);
                for persons in &filters {
                    for k in [1, 10, 50] {
                        let q = ShardQuery {
                            pq: &pq,
                            k,
                            min_score: None,
                            persons,
                            mode: SearchMode::Exact,
                            ef_search: None,
                            walk: None,
                        };
                        let n = rows.codes.len();
                        let key = |mut v: Vec<Cand>| {
                            v.sort_unstable_by(|a, b| b.cmp(a));
                            v.into_iter().map(|c| (c.slot, c.sim.to_bits())).collect::<Vec<_>>()
                        };
                        let full = key(rows.scan_range(&q, None, k, 0, n));
                        assert_eq!(full, key(planes.scan_range(&q, Some(&cq), k, 0, n)), "dim={dim} query={qi} k={k}");
                        assert_eq!(full.len(), k);
                        // Two threads, and the whole search (f32 re-ranking of the candidates).
                        assert_eq!(key(rows.scan(&q, k, &cfg)), key(planes.scan(&q, k, &cfg)), "dim={dim} k={k}");
                        let (a, b) = (rows.search(&q, &cfg), planes.search(&q, &cfg));
                        assert_eq!(
                            a.iter().map(|h| (h.template_id, h.score.to_bits())).collect::<Vec<_>>(),
                            b.iter().map(|h| (h.template_id, h.score.to_bits())).collect::<Vec<_>>()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_graph_shard_moves_to_int8_rows() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(22);
        let cfg = GalleryConfig { dim: 16, ann_threshold: 100, ..Default::default() };
        let mut shard = Shard::new(ModelId::new("m"), Uuid::from_u128(1), 16);
        shard.codes.keep_coarse(true);
        for i in 0..99 {
            let v: Vec<f32> = (0..16).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
            shard.insert(Uuid::from_u128(i + 1), Uuid::from_u128(i + 1), &quant::normalized(&v).unwrap(), &cfg);
        }
        assert_eq!(shard.codes.coarse.as_ref().map(|c| c.slack.len()), Some(99));
        let v: Vec<f32> = (0..16).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        shard.insert(Uuid::from_u128(1000), Uuid::from_u128(1000), &quant::normalized(&v).unwrap(), &cfg);
        assert!(shard.graph.is_some());
        assert!(shard.codes.coarse.is_none());
        assert_eq!(shard.codes.codes.len(), 100 * 16);
        let hits = shard.search(
            &ShardQuery {
                pq: &PreparedQuery::new(quant::normalized(&v).unwrap()),
                k: 1,
                min_score: None,
                persons: &PersonFilter::Any,
                mode: SearchMode::Ann,
                ef_search: None,
                walk: None,
            },
            &cfg,
        );
        assert_eq!(hits[0].template_id, Uuid::from_u128(1000));
    }
}
