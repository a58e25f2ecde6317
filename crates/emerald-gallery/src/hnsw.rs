//! Our HNSW graph (Malkov & Yashunin 2016) over one segment of a collection (consecutive store
//! slots; `segments.rs` holds a collection's segments). It is built on the int8 codes and walked
//! through a `Scorer`: the one-bit codes by default (`bits.rs`), or the int8 codes.
//!
//! Written here rather than taken from a crate because the gallery needs, together: nodes that are
//! slots of our own int8 store (no second copy of the vectors), tombstones for removal, a person
//! filter applied inside the layer-0 walk (not after it), and a graph we can write to and read
//! from our snapshot. `hnsw_rs` filters but cannot remove; `instant-distance` is build-once;
//! `usearch` does all of it but is C++ behind FFI. See docs/gallery.md.
//!
//! Nodes are never unlinked: a removed template stays a routing node with a zeroed code and is
//! excluded from results by the caller's `accept`. The shard rebuilds the graph when too many are
//! dead.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use parking_lot::Mutex;

use crate::bits::{BitCodes, QueryBits};
use crate::codes::Codes;
use crate::types::HnswParams;

/// A node and its similarity to the current query (higher is closer).
#[derive(Clone, Copy, Debug)]
pub struct Cand {
    pub sim: f32,
    pub slot: u32,
}

impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sim.total_cmp(&other.sim).then(other.slot.cmp(&self.slot))
    }
}

/// How a walk scores nodes (store slots in, higher-is-closer similarity out).
pub(crate) trait Scorer: Sync {
    /// How many nodes ahead of the one being scored the walk prefetches codes.
    const AHEAD: usize;
    fn score(&self, slot: u32) -> f32;
    /// Hints the cache to fetch what `score(slot)` will read.
    fn prefetch(&self, slot: u32);
}

/// The int8 walk: the store and the probe's int8 code and scale (graph construction, and the
/// search walk when `GraphWalk::Int8` is chosen).
#[derive(Clone, Copy)]
pub(crate) struct Probe<'a> {
    pub codes: &'a Codes,
    pub q: &'a [i8],
    pub qs: f32,
}

impl Scorer for Probe<'_> {
    /// A code is 512 bytes (the prefetch takes its first four lines).
    const AHEAD: usize = 4;
    #[inline]
    fn score(&self, slot: u32) -> f32 {
        self.codes.sim_i8(self.q, self.qs, slot)
    }
    #[inline]
    fn prefetch(&self, slot: u32) {
        crate::simd::prefetch(self.codes.code(slot), 256);
    }
}

/// The one-bit walk (see `bits.rs`): estimates only, re-scored by the caller.
#[derive(Clone, Copy)]
pub(crate) struct BitProbe<'a> {
    pub bits: &'a BitCodes,
    pub q: &'a QueryBits,
}

impl Scorer for BitProbe<'_> {
    /// A code is one line.
    const AHEAD: usize = 16;
    #[inline]
    fn score(&self, slot: u32) -> f32 {
        self.bits.estimate(self.q, slot)
    }
    #[inline]
    fn prefetch(&self, slot: u32) {
        self.bits.prefetch(slot);
    }
}

/// Visited marks: one bit per node (32 KiB for a segment of 262,144, so the marks stay in the
/// core's cache while the walk streams codes), cleared per search; pooled so a search does not
/// allocate.
struct Visited {
    words: Vec<u64>,
}

impl Visited {
    fn reset(&mut self, len: usize) {
        let words = len.div_ceil(64);
        self.words.clear();
        self.words.resize(words, 0);
    }
    /// True the first time a slot is seen in this search.
    #[inline]
    fn insert(&mut self, slot: u32) -> bool {
        let (w, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        let word = &mut self.words[w];
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }
}

/// Upper bound on links per node (layer 0 keeps `2·m`, and `m` is at most 128).
const MAX_LINKS: usize = 256;

pub struct Hnsw {
    /// The store slot of node 0: a graph indexes the consecutive slots `base .. base + len`
    /// (one segment of a collection, see `segments.rs`). Links hold node numbers.
    pub(crate) base: u32,
    pub(crate) m: usize,
    pub(crate) m0: usize,
    pub(crate) ef_construction: usize,
    /// Level of each node.
    pub(crate) levels: Vec<u8>,
    /// Layer 0 links: per node `[count, n_1 .. n_m0]`.
    pub(crate) layer0: Vec<u32>,
    /// Links on layers 1..=level: per layer `[count, n_1 .. n_m]`; empty for level-0 nodes.
    pub(crate) upper: Vec<Box<[u32]>>,
    pub(crate) entry: Option<u32>,
    pub(crate) max_level: u8,
    rng: u64,
    visited: Mutex<Vec<Visited>>,
}

impl Hnsw {
    pub fn new(params: HnswParams, base: u32) -> Self {
        let m = params.m.clamp(2, MAX_LINKS / 2);
        Self {
            base,
            m,
            m0: 2 * m,
            ef_construction: params.ef_construction.max(m),
            levels: Vec::new(),
            layer0: Vec::new(),
            upper: Vec::new(),
            entry: None,
            max_level: 0,
            rng: 0x9E37_79B9_7F4A_7C15 ^ (base as u64).wrapping_mul(0x2545_F491_4F6C_DD1D),
            visited: Mutex::new(Vec::new()),
        }
    }

    /// Reassembles a graph read from a snapshot (checked by the caller).
    pub(crate) fn from_parts(
        params: HnswParams,
        base: u32,
        levels: Vec<u8>,
        layer0: Vec<u32>,
        upper: Vec<Box<[u32]>>,
        entry: Option<u32>,
    ) -> Self {
        let mut g = Self::new(params, base);
        g.max_level = entry.map_or(0, |e| levels[e as usize]);
        g.levels = levels;
        g.layer0 = layer0;
        g.upper = upper;
        g.entry = entry;
        g.rng ^= g.levels.len() as u64;
        g
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Bytes held by the graph (for memory reports).
    pub fn heap_bytes(&self) -> usize {
        self.levels.capacity()
            + self.layer0.capacity() * 4
            + self.upper.capacity() * std::mem::size_of::<Box<[u32]>>()
            + self.upper.iter().map(|u| u.len() * 4).sum::<usize>()
    }

    /// Similarity of the query to node `n`.
    #[inline]
    fn sim<S: Scorer + ?Sized>(&self, scorer: &S, n: u32) -> f32 {
        scorer.score(self.base + n)
    }

    /// Similarity of two nodes.
    #[inline]
    fn sim_nodes(&self, codes: &Codes, a: u32, b: u32) -> f32 {
        codes.sim_slots(self.base + a, self.base + b)
    }

    #[inline]
    fn links(&self, slot: u32, level: u8) -> &[u32] {
        if level == 0 {
            let s = slot as usize * (self.m0 + 1);
            let n = self.layer0[s] as usize;
            &self.layer0[s + 1..s + 1 + n]
        } else {
            let s = (level as usize - 1) * (self.m + 1);
            let u = &self.upper[slot as usize];
            let n = u[s] as usize;
            &u[s + 1..s + 1 + n]
        }
    }

    fn set_links(&mut self, slot: u32, level: u8, links: &[u32]) {
        let (buf, cap) = if level == 0 {
            let s = slot as usize * (self.m0 + 1);
            (&mut self.layer0[s..s + self.m0 + 1], self.m0)
        } else {
            let s = (level as usize - 1) * (self.m + 1);
            (&mut self.upper[slot as usize][s..s + self.m + 1], self.m)
        };
        debug_assert!(links.len() <= cap);
        buf[0] = links.len() as u32;
        buf[1..1 + links.len()].copy_from_slice(links);
    }

    fn random_level(&mut self) -> u8 {
        // xorshift64*; the level law is P(level >= l) = m^-l.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let u = ((r >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let ml = 1.0 / (self.m as f64).ln();
        ((-u.ln() * ml) as usize).min(15) as u8
    }

    fn take_visited(&self, len: usize) -> Visited {
        let mut v = self.visited.lock().pop().unwrap_or(Visited { words: Vec::new() });
        v.reset(len);
        v
    }

    fn give_visited(&self, v: Visited) {
        self.visited.lock().push(v);
    }

    /// Hints the cache to fetch a node's layer-0 link list (upper layers are small and hot).
    #[inline]
    fn prefetch_links(&self, slot: u32, level: u8) {
        if level == 0 {
            let s = slot as usize * (self.m0 + 1);
            crate::simd::prefetch(&self.layer0[s..s + self.m0 + 1], 4 * (self.m0 + 1));
        }
    }

    /// Greedy descent on one upper layer.
    fn greedy<S: Scorer + ?Sized>(&self, scorer: &S, mut cur: Cand, level: u8) -> Cand {
        loop {
            let mut moved = false;
            for &n in self.links(cur.slot, level) {
                let sim = self.sim(scorer, n);
                if sim > cur.sim {
                    cur = Cand { sim, slot: n };
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// Beam search on one layer; returns up to `ef` accepted nodes (a min-heap).
    fn search_layer<S: Scorer + ?Sized>(
        &self,
        scorer: &S,
        entry: &[Cand],
        ef: usize,
        level: u8,
        accept: &dyn Fn(u32) -> bool,
        visited: &mut Visited,
    ) -> BinaryHeap<Reverse<Cand>> {
        let mut frontier: BinaryHeap<Cand> = BinaryHeap::with_capacity(ef * 2);
        let mut found: BinaryHeap<Reverse<Cand>> = BinaryHeap::with_capacity(ef + 1);
        for &e in entry {
            if visited.insert(e.slot) {
                frontier.push(e);
                if accept(self.base + e.slot) {
                    found.push(Reverse(e));
                }
            }
        }
        while found.len() > ef {
            found.pop();
        }
        while let Some(c) = frontier.pop() {
            if found.len() >= ef && c.sim < found.peek().map_or(f32::MIN, |w| w.0.sim) {
                break;
            }
            // The next node to expand is likely the current best of the frontier: fetch its
            // link list while this one's neighbours are scored.
            if let Some(next) = frontier.peek() {
                self.prefetch_links(next.slot, level);
            }
            // Mark the unvisited neighbours, then score them with their codes prefetched
            // `S::AHEAD` nodes in advance: enough misses in flight to overlap the memory
            // latency, not so many that the prefetches stall the core (issuing all of a node's
            // ~50 fresh neighbours at once cost a third more time at 1M).
            let mut fresh = [0u32; MAX_LINKS];
            let mut count = 0;
            for &n in self.links(c.slot, level) {
                if visited.insert(n) {
                    fresh[count] = n;
                    count += 1;
                }
            }
            let fresh = &fresh[..count];
            for &n in &fresh[..count.min(S::AHEAD)] {
                scorer.prefetch(self.base + n);
            }
            for (i, &n) in fresh.iter().enumerate() {
                if let Some(&m) = fresh.get(i + S::AHEAD) {
                    scorer.prefetch(self.base + m);
                }
                let sim = self.sim(scorer, n);
                let worst = found.peek().map_or(f32::MIN, |w| w.0.sim);
                if found.len() < ef || sim > worst {
                    let cand = Cand { sim, slot: n };
                    frontier.push(cand);
                    if accept(self.base + n) {
                        found.push(Reverse(cand));
                        if found.len() > ef {
                            found.pop();
                        }
                    }
                }
            }
        }
        found
    }

    /// The diversity heuristic: keep a candidate only if it is closer to the base than to every
    /// neighbour already kept. `cands` must be sorted best first.
    fn select(&self, codes: &Codes, cands: &[Cand], max: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(max);
        let mut pruned: Vec<u32> = Vec::new();
        for c in cands {
            if kept.len() >= max {
                break;
            }
            if kept.iter().all(|&k| self.sim_nodes(codes, c.slot, k) < c.sim) {
                kept.push(c.slot);
            } else {
                pruned.push(c.slot);
            }
        }
        // Fill the free link slots with the best pruned candidates ("keepPrunedConnections"):
        // more links cost no memory (slots are fixed) and help probes that land far from
        // every stored point.
        for p in pruned {
            if kept.len() >= max {
                break;
            }
            kept.push(p);
        }
        kept
    }

    /// Inserts the next slot (`slot == base + len`), whose code is already in `codes`.
    pub fn insert(&mut self, codes: &Codes, store_slot: u32) {
        assert_eq!(store_slot as usize, self.base as usize + self.len(), "HNSW slots are appended in order");
        let slot = store_slot - self.base;
        let level = self.random_level();
        self.levels.push(level);
        self.layer0.resize(self.layer0.len() + self.m0 + 1, 0);
        self.upper.push(vec![0u32; level as usize * (self.m + 1)].into_boxed_slice());
        let Some(entry) = self.entry else {
            self.entry = Some(slot);
            self.max_level = level;
            return;
        };
        let probe = Probe { codes, q: codes.code(store_slot), qs: codes.scale(store_slot) };
        let mut cur = Cand { sim: self.sim(&probe, entry), slot: entry };
        let mut l = self.max_level;
        while l > level {
            cur = self.greedy(&probe, cur, l);
            l -= 1;
        }
        let mut visited = self.take_visited(self.len());
        let mut eps = vec![cur];
        for l in (0..=level.min(self.max_level)).rev() {
            visited.reset(self.len());
            let found = self.search_layer(&probe, &eps, self.ef_construction, l, &|_| true, &mut visited);
            let mut sorted: Vec<Cand> = found.into_iter().map(|r| r.0).collect();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            let links = self.select(codes, &sorted, self.m);
            self.set_links(slot, l, &links);
            let cap = if l == 0 { self.m0 } else { self.m };
            for &n in &links {
                let mut theirs = self.links(n, l).to_vec();
                if theirs.len() < cap {
                    theirs.push(slot);
                } else {
                    let mut cands: Vec<Cand> = theirs
                        .iter()
                        .chain(std::iter::once(&slot))
                        .map(|&o| Cand { sim: self.sim_nodes(codes, n, o), slot: o })
                        .collect();
                    cands.sort_unstable_by(|a, b| b.cmp(a));
                    theirs = self.select(codes, &cands, cap);
                }
                self.set_links(n, l, &theirs);
            }
            eps = sorted;
        }
        self.give_visited(visited);
        if level > self.max_level {
            self.max_level = level;
            self.entry = Some(slot);
        }
    }

    /// The `ef` best accepted store slots for the query, best first (the scorer's scores);
    /// `accept` is asked about store slots.
    pub fn search<S: Scorer + ?Sized>(&self, scorer: &S, ef: usize, accept: &dyn Fn(u32) -> bool) -> Vec<Cand> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        let mut cur = Cand { sim: self.sim(scorer, entry), slot: entry };
        let mut l = self.max_level;
        while l > 0 {
            cur = self.greedy(scorer, cur, l);
            l -= 1;
        }
        let mut visited = self.take_visited(self.len());
        let found = self.search_layer(scorer, &[cur], ef, 0, accept, &mut visited);
        self.give_visited(visited);
        let mut out: Vec<Cand> = found.into_iter().map(|r| Cand { sim: r.0.sim, slot: self.base + r.0.slot }).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// Structural checks for a graph read from disk: every link points at a node.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let n = self.len() as u32;
        if let Some(e) = self.entry {
            if e >= n {
                return Err("entry point out of range".into());
            }
        }
        for slot in 0..n {
            let level = self.levels[slot as usize];
            if self.upper[slot as usize].len() != level as usize * (self.m + 1) {
                return Err(format!("node {slot}: upper links do not match its level"));
            }
            for l in 0..=level {
                let cap = if l == 0 { self.m0 } else { self.m };
                let base = if l == 0 {
                    self.layer0[slot as usize * (self.m0 + 1)]
                } else {
                    self.upper[slot as usize][(l as usize - 1) * (self.m + 1)]
                };
                if base as usize > cap {
                    return Err(format!("node {slot}: {base} links on layer {l}"));
                }
                if self.links(slot, l).iter().any(|&x| x >= n) {
                    return Err(format!("node {slot}: link out of range"));
                }
            }
        }
        Ok(())
    }
}
