//! One (model, collection) template set: its codes, ids, person index, optional HNSW graph, and
//! the exact, allow-list and ANN searches over it.
//!
//! Slots: below the ANN threshold a removal moves the last slot into the hole, so the exact scan
//! never sees dead slots. With a graph, slots are graph nodes and cannot move: a removal leaves a
//! tombstone (ids cleared, code zeroed) and the shard rebuilds itself when half its slots are dead.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use uuid::Uuid;

use crate::codes::{Codes, PreparedQuery};
use crate::hnsw::{BitProbe, Cand, Probe};
use crate::segments::Segments;
use crate::types::{GalleryConfig, GraphWalk, Hit, ModelId, PersonFilter, SearchMode};

/// Codes per call of the exact scan's kernel: their scores fit in 1 KiB of stack.
const SCAN_BLOCK: usize = 256;

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
        Self {
            model_id,
            collection_id,
            codes: Codes::new(dim),
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
        self.codes.codes.capacity()
            + self.codes.scales.capacity() * 4
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
        crate::mem::rehome(&mut self.codes.codes);
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
            fresh.codes.codes.extend_from_slice(self.codes.code(slot));
            fresh.codes.scales.push(self.codes.scale(slot));
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
        if threads == 1 {
            return self.scan_range(q, want, 0, n);
        }
        let chunk = n.div_ceil(threads);
        let mut all: Vec<Cand> = std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads)
                .map(|t| {
                    let (lo, hi) = (t * chunk, ((t + 1) * chunk).min(n));
                    s.spawn(move || self.scan_range(q, want, lo, hi))
                })
                .collect();
            let mut all = self.scan_range(q, want, 0, chunk.min(n));
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

    fn scan_range(&self, q: &ShardQuery<'_>, want: usize, lo: usize, hi: usize) -> Vec<Cand> {
        let mut heap: BinaryHeap<Reverse<Cand>> = BinaryHeap::with_capacity(want + 1);
        let mut floor = f32::NEG_INFINITY;
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
                if sim <= floor && heap.len() >= want {
                    continue;
                }
                if self.template_ids[slot as usize].is_nil() || !q.persons.allows(self.person_ids[slot as usize]) {
                    continue;
                }
                heap.push(Reverse(Cand { sim, slot }));
                if heap.len() > want {
                    heap.pop();
                }
                if heap.len() >= want {
                    floor = heap.peek().map_or(f32::NEG_INFINITY, |c| c.0.sim);
                }
            }
            start = end;
        }
        heap.into_iter().map(|r| r.0).collect()
    }
}
