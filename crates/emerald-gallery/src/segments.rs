//! A collection's graph index in segments: consecutive slot ranges of at most `segment_len`
//! templates, each with its own HNSW graph, built in parallel and searched in parallel, the
//! candidates merged — as Qdrant splits a collection into segments.
//!
//! Why: on face-like probes (far from every stored template but their own) the `ef` a graph needs
//! for a given recall grows quickly with its size, so several graphs of a quarter of a million,
//! one per core at a time, answer faster at the same recall than one graph of a million; and the
//! build, which is sequential within one graph, runs on every core. Figures in docs/gallery.md.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::bits::BitCodes;
use crate::codes::Codes;
use crate::hnsw::{Cand, Hnsw, Scorer};
use crate::types::HnswParams;

pub(crate) struct Segments {
    /// In slot order: graph `i` starts where graph `i - 1` ends.
    pub(crate) graphs: Vec<Hnsw>,
    pub(crate) segment_len: usize,
    pub(crate) params: HnswParams,
    /// One-bit codes of every slot the graphs cover, for the search walk (`bits.rs`).
    pub(crate) bits: BitCodes,
}

impl Segments {
    /// Graphs over slots `0 .. codes.len()`, up to `threads` built at once.
    pub fn build(codes: &Codes, params: HnswParams, segment_len: usize, threads: usize) -> Self {
        let segment_len = segment_len.max(1);
        let n = codes.len();
        let count = n.div_ceil(segment_len).max(1);
        let next = AtomicUsize::new(0);
        let built: Mutex<Vec<(usize, Hnsw)>> = Mutex::new(Vec::with_capacity(count));
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                return;
            }
            let (lo, hi) = (i * segment_len, ((i + 1) * segment_len).min(n));
            let mut g = Hnsw::new(params, lo as u32);
            for slot in lo..hi {
                g.insert(codes, slot as u32);
            }
            built.lock().push((i, g));
        };
        std::thread::scope(|s| {
            for _ in 1..threads.clamp(1, count) {
                s.spawn(work);
            }
            work();
        });
        let mut built = built.into_inner();
        built.sort_unstable_by_key(|(i, _)| *i);
        for (_, g) in &mut built {
            crate::mem::rehome(&mut g.layer0);
        }
        Self {
            graphs: built.into_iter().map(|(_, g)| g).collect(),
            segment_len,
            params,
            bits: BitCodes::from_codes(codes, threads),
        }
    }

    /// Reassembles segments read from a snapshot (bases checked by the caller); the one-bit
    /// codes are recomputed from the int8 codes on up to `threads` threads.
    pub(crate) fn from_graphs(
        graphs: Vec<Hnsw>,
        params: HnswParams,
        segment_len: usize,
        codes: &Codes,
        threads: usize,
    ) -> Self {
        Self { graphs, segment_len: segment_len.max(1), params, bits: BitCodes::from_codes(codes, threads) }
    }

    pub fn heap_bytes(&self) -> usize {
        self.graphs.iter().map(Hnsw::heap_bytes).sum::<usize>() + self.bits.heap_bytes()
    }

    /// A removed template: its one-bit code is cleared (its int8 code is zeroed by the shard); it
    /// stays a routing node.
    pub fn wipe(&mut self, slot: u32) {
        self.bits.wipe(slot);
    }

    /// Appends the next slot to the last segment, or to a new one when the last is full.
    pub fn insert(&mut self, codes: &Codes, slot: u32) {
        if self.graphs.last().is_none_or(|g| g.len() >= self.segment_len) {
            self.graphs.push(Hnsw::new(self.params, slot));
        }
        let last = self.graphs.len() - 1;
        self.graphs[last].insert(codes, slot);
        self.bits.push(codes, slot);
    }

    /// The `ef` best accepted slots of every segment, merged best first; segments are searched
    /// on up to `threads` threads.
    pub fn search<S: Scorer>(
        &self,
        scorer: &S,
        ef: usize,
        accept: &(dyn Fn(u32) -> bool + Sync),
        threads: usize,
    ) -> Vec<Cand> {
        let threads = threads.clamp(1, self.graphs.len().max(1));
        let part = |t: usize| -> Vec<Cand> {
            self.graphs.iter().skip(t).step_by(threads).flat_map(|g| g.search(scorer, ef, accept)).collect()
        };
        let mut all = if threads == 1 {
            part(0)
        } else {
            // The other parts go to rayon's pool, whose threads stay up between queries (a
            // thread spawned per query cost 20-80 µs, a tenth of a search), and this thread
            // takes part 0.
            let rest: Vec<Mutex<Vec<Cand>>> = (1..threads).map(|_| Mutex::default()).collect();
            let mut all = rayon::in_place_scope(|s| {
                for (t, out) in rest.iter().enumerate() {
                    s.spawn(move |_| *out.lock() = part(t + 1));
                }
                part(0)
            });
            for out in rest {
                all.extend(out.into_inner());
            }
            all
        };
        all.sort_unstable_by(|a, b| b.cmp(a));
        all
    }
}
