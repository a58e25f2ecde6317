//! Nibble planes: the int8 codes of a shard without a graph, laid out for its exact scan.
//!
//! An exact scan of 704-d int8 codes reads 704 MB per million templates and is bound by memory
//! bandwidth, not arithmetic. Here each code `c` is split as `c + 128 = 16·h + l` (`h`, `l` in
//! `0..=15`) into a high-nibble plane and a low-nibble plane, half the bytes each (the same memory
//! as int8 rows). With `l = 7.5 + r`,
//!
//! ```text
//! q · c = 16 · (q · h) + q · l − 128 · Σq                       (exact)
//!       ≤ 16 · (q · h) − 120.5 · Σq + ‖q‖ · ‖r‖                 (|q · r| ≤ ‖q‖ · ‖r‖)
//! ```
//!
//! The scan reads the high plane, computes that upper bound of the int8 dot product (with one
//! stored `‖r‖ · scale` per code), and reads a code's low-nibble row only when the bound can
//! reach the current `k + rerank`-th score. A skipped code could never have entered the
//! candidates, so the scan returns exactly what the full int8 scan returns, from about half the
//! bytes.
//!
//! Layout: per 64 dimensions, 32 bytes in each plane; byte `b` holds dimension `b` in its low
//! nibble and dimension `32 + b` in its high nibble (dimensions past `dim` are zero and meet a
//! zero query weight). The query is laid out to match (`CoarseQuery`). Graph shards keep int8
//! rows (`codes.rs`): their walk reads single codes at random.

use std::sync::OnceLock;

use crate::codes::Codes;

/// Whether shards without a graph keep nibble planes: where the CPU has a SIMD kernel for them
/// (AVX-512 VNNI or AVX2; elsewhere, NEON included, int8 rows and their kernels are faster), and
/// unless `EMERALD_GALLERY_COARSE=off` keeps int8 rows (the same answers, slower).
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        crate::simd::nibble_kernel()
            && !std::env::var("EMERALD_GALLERY_COARSE").is_ok_and(|v| v.eq_ignore_ascii_case("off"))
    })
}

/// Bytes of one code's row in the plane.
pub(crate) fn row_bytes(dim: usize) -> usize {
    dim.div_ceil(64) * 32
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Coarse {
    row: usize,
    /// `len · row` packed high nibbles, slot-major: the scan's first pass.
    pub(crate) hi: Vec<u8>,
    /// `len · row` packed low nibbles, slot-major: read for the codes that pass.
    pub(crate) lo: Vec<u8>,
    /// Per slot: `‖r‖ · scale`, rounded up (the bound's per-code term, in cosine units per unit
    /// of query norm).
    pub(crate) slack: Vec<f32>,
}

/// The query in the planes' layout, with the constants of the bound.
pub(crate) struct CoarseQuery {
    /// Query weights of the low and high nibbles of each row byte.
    pub lo: Vec<i8>,
    pub hi: Vec<i8>,
    /// `128 · Σq`.
    pub bias: i32,
    /// `120.5 · Σq`.
    pub offset: f64,
    /// `‖q‖` of the int8 query code, rounded up.
    pub norm: f64,
}

/// Writes `code`'s two rows; returns its slack `‖r‖ · scale`, rounded up so that the bound stays
/// a bound after f32 rounding.
fn encode(code: &[i8], scale: f32, hi: &mut [u8], lo: &mut [u8]) -> f32 {
    let nibbles = |c: i8| {
        let biased = (i16::from(c) + 128) as u8;
        (biased >> 4, biased & 15)
    };
    // Σ (2l − 15)² = 4 ‖r‖², in integers.
    let mut r2x4 = 0u64;
    let mut sq = |l: u8| {
        let d = 2 * i64::from(l) - 15;
        r2x4 += (d * d) as u64;
    };
    for (chunk, (h_row, l_row)) in code.chunks(64).zip(hi.chunks_exact_mut(32).zip(lo.chunks_exact_mut(32))) {
        for b in 0..32 {
            let (h0, l0) = chunk.get(b).map_or((0, 0), |&c| nibbles(c));
            let (h1, l1) = chunk.get(32 + b).map_or((0, 0), |&c| nibbles(c));
            if b < chunk.len() {
                sq(l0);
            }
            if 32 + b < chunk.len() {
                sq(l1);
            }
            h_row[b] = h0 | (h1 << 4);
            l_row[b] = l0 | (l1 << 4);
        }
    }
    ((r2x4 as f64).sqrt() / 2.0 * f64::from(scale) * (1.0 + 1e-6)) as f32
}

/// Byte of the row and whether the high nibble holds dimension `i`.
#[inline]
fn place(i: usize) -> (usize, bool) {
    let (chunk, at) = (i / 64, i % 64);
    (chunk * 32 + at % 32, at >= 32)
}

impl CoarseQuery {
    pub fn new(code: &[i8]) -> Self {
        let row = row_bytes(code.len());
        let (mut lo, mut hi) = (vec![0i8; row], vec![0i8; row]);
        for (i, &q) in code.iter().enumerate() {
            match place(i) {
                (byte, false) => lo[byte] = q,
                (byte, true) => hi[byte] = q,
            }
        }
        let sum: i64 = code.iter().map(|&q| i64::from(q)).sum();
        let sq: i64 = code.iter().map(|&q| i64::from(q) * i64::from(q)).sum();
        Self {
            lo,
            hi,
            // |Σq| ≤ 127 · dim: fits for any dimension below 132,000.
            bias: (128 * sum) as i32,
            offset: 120.5 * sum as f64,
            norm: (sq as f64).sqrt() * (1.0 + 1e-9),
        }
    }

    /// Upper bound of the cosine the int8 scan gives a code with first-pass dot `d1`, scale `cs`
    /// and slack `slack`, for a query of scale `qs`.
    #[inline]
    pub fn bound(&self, d1: i32, qs: f32, cs: f32, slack: f32) -> f64 {
        let qs = f64::from(qs);
        (16.0 * f64::from(d1) - self.offset) * qs * f64::from(cs) + self.norm * qs * f64::from(slack)
    }

    /// The exact int8 dot product from the two planes' dots.
    #[inline]
    pub fn dot(&self, d1: i32, d2: i32) -> i32 {
        16 * d1 + d2 - self.bias
    }
}

impl Coarse {
    pub fn new(dim: usize) -> Self {
        Self { row: row_bytes(dim), hi: Vec::new(), lo: Vec::new(), slack: Vec::new() }
    }

    /// The planes of every code of `codes` (int8 rows), written by all cores (a snapshot's load
    /// converts a million codes this way).
    pub fn of(codes: &Codes) -> Self {
        let mut c = Self::new(codes.dim);
        let (n, row) = (codes.len(), c.row);
        c.hi = crate::mem::zeroed_vec(n * row);
        c.lo = crate::mem::zeroed_vec(n * row);
        c.slack = vec![0.0; n];
        if n == 0 || row == 0 {
            return c;
        }
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(8);
        let per = n.div_ceil(threads);
        std::thread::scope(|s| {
            let parts = c.hi.chunks_mut(per * row).zip(c.lo.chunks_mut(per * row)).zip(c.slack.chunks_mut(per));
            for (t, ((hi, lo), slack)) in parts.enumerate() {
                s.spawn(move || {
                    let rows = hi.chunks_exact_mut(row).zip(lo.chunks_exact_mut(row));
                    for (i, ((hi, lo), slack)) in rows.zip(slack).enumerate() {
                        let slot = (t * per + i) as u32;
                        *slack = encode(codes.code(slot), codes.scale(slot), hi, lo);
                    }
                });
            }
        });
        c
    }

    pub fn heap_bytes(&self) -> usize {
        self.hi.capacity() + self.lo.capacity() + self.slack.capacity() * 4
    }

    /// The high-nibble rows of slots `start..end`.
    pub fn block(&self, start: usize, end: usize) -> &[u8] {
        &self.hi[start * self.row..end * self.row]
    }

    /// A slot's low-nibble row.
    pub fn lo_row(&self, slot: usize) -> &[u8] {
        &self.lo[slot * self.row..(slot + 1) * self.row]
    }

    pub fn push(&mut self, code: &[i8], scale: f32) {
        let start = self.hi.len();
        self.hi.resize(start + self.row, 0);
        self.lo.resize(start + self.row, 0);
        self.slack.push(0.0);
        self.set(self.slack.len() - 1, code, scale);
    }

    /// Writes `code`'s rows and slack at `slot`.
    pub fn set(&mut self, slot: usize, code: &[i8], scale: f32) {
        let span = slot * self.row..(slot + 1) * self.row;
        self.slack[slot] = encode(code, scale, &mut self.hi[span.clone()], &mut self.lo[span]);
    }

    /// A slot's int8 code, rebuilt from the planes into `out` (`dim` long).
    pub fn code_into(&self, slot: usize, out: &mut [i8]) {
        let span = slot * self.row..(slot + 1) * self.row;
        let (hi, lo) = (&self.hi[span.clone()], &self.lo[span]);
        for (i, o) in out.iter_mut().enumerate() {
            let (byte, upper) = place(i);
            let shift = if upper { 4 } else { 0 };
            let (h, l) = ((hi[byte] >> shift) & 15, (lo[byte] >> shift) & 15);
            *o = (i16::from(h) * 16 + i16::from(l) - 128) as i8;
        }
    }

    pub fn swap_remove(&mut self, slot: usize) {
        let last = self.slack.len() - 1;
        if slot != last {
            self.hi.copy_within(last * self.row..(last + 1) * self.row, slot * self.row);
            self.lo.copy_within(last * self.row..(last + 1) * self.row, slot * self.row);
            self.slack[slot] = self.slack[last];
        }
        self.hi.truncate(last * self.row);
        self.lo.truncate(last * self.row);
        self.slack.truncate(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant;
    use crate::simd;
    use rand::{Rng, SeedableRng};

    fn unit(rng: &mut impl Rng, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        quant::normalized(&v).unwrap()
    }

    /// Every code's bound is at least its int8 score, and close enough to be useful; the planes'
    /// two dots give the int8 dot exactly: the properties the scan rests on.
    #[test]
    fn the_bound_is_never_below_the_int8_score() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for dim in [1, 5, 63, 64, 65, 128, 512, 704] {
            let mut codes = Codes::new(dim);
            for _ in 0..200 {
                codes.push(&unit(&mut rng, dim));
            }
            // Extremes: the biased nibbles of ±127 and of zero.
            let (s, c) = (1.0 / 127.0, vec![127i8; dim]);
            codes.push_code(&c, s);
            codes.push_code(&vec![-127i8; dim], s);
            codes.push_code(&vec![0i8; dim], 0.0);
            let plane = Coarse::of(&codes);
            for _ in 0..20 {
                let (qs, qc) = quant::quantize(&unit(&mut rng, dim));
                let cq = CoarseQuery::new(&qc);
                let mut d1 = vec![0i32; codes.len()];
                let mut d2 = vec![0i32; codes.len()];
                simd::dots_u4(&cq.lo, &cq.hi, &plane.hi, &mut d1);
                simd::dots_u4(&cq.lo, &cq.hi, &plane.lo, &mut d2);
                for slot in 0..codes.len() as u32 {
                    let (i, cs) = (slot as usize, codes.scale(slot));
                    let dot = simd::scalar::dot_i8(&qc, codes.code(slot));
                    assert_eq!(cq.dot(d1[i], d2[i]), dot, "dim={dim} slot={slot}");
                    let exact = dot as f32 * (qs * cs);
                    let ub = cq.bound(d1[i], qs, cs, plane.slack[i]);
                    assert!(ub >= f64::from(exact), "dim={dim} slot={slot}: bound {ub} below {exact}");
                    if dim >= 512 && slot < 200 {
                        assert!(ub - f64::from(exact) < 0.3, "dim={dim}: bound {ub} far above {exact}");
                    }
                }
            }
        }
    }

    /// Nibble planes and int8 rows hold the same codes through pushes, removals, wipes and
    /// conversions either way.
    #[test]
    fn planes_hold_the_codes_of_int8_rows() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        for dim in [1, 64, 100, 704] {
            let (mut rows, mut planes) = (Codes::new(dim), Codes::new(dim));
            planes.keep_coarse(true);
            assert!(planes.coarse.is_some());
            for _ in 0..30 {
                let v = unit(&mut rng, dim);
                rows.push(&v);
                planes.push(&v);
            }
            for slot in [0u32, 7, 27, 3] {
                rows.swap_remove(slot);
                planes.swap_remove(slot);
            }
            rows.wipe(5);
            planes.wipe(5);
            let v = unit(&mut rng, dim);
            rows.push(&v);
            planes.push(&v);
            let same = |planes: &Codes| {
                assert_eq!(planes.scales, rows.scales, "dim={dim}");
                let mut buf = vec![0i8; dim];
                for slot in 0..rows.len() as u32 {
                    planes.code_into(slot, &mut buf);
                    assert_eq!(buf, rows.code(slot), "dim={dim} slot={slot}");
                }
            };
            same(&planes);
            assert_eq!(planes.coarse.as_ref().unwrap().slack, Coarse::of(&rows).slack);
            let mut back = planes.clone();
            back.keep_coarse(false);
            assert!(back.coarse.is_none());
            assert_eq!(back.codes, rows.codes, "dim={dim}");
            let mut written = Vec::new();
            planes
                .for_each_code(|c| {
                    written.extend_from_slice(c);
                    Ok(())
                })
                .unwrap();
            assert_eq!(written, rows.codes, "dim={dim}");
        }
    }
}
