//! One-bit codes for the graph walk (the RaBitQ estimator, Gao & Long 2024).
//!
//! The int8 code of a 512-d template is 512 bytes: eight cache lines that a graph walk, which
//! visits thousands of nodes in random order, mostly waits for. Here each template also gets a
//! one-bit code (64 bytes, one cache line): the signs of the vector after a fixed random rotation.
//! The walk estimates the cosine from those bits and a four-bit copy of the rotated query with
//! 40 `popcnt`s; the candidates it returns are re-scored on the int8 codes by the caller.
//!
//! The estimator: with `x'` the rotated vector and `s = sign(x')`, `<q', x'> ≈ r² · <q', s> /
//! ‖x'‖₁` (`r = ‖x'‖₂`), which is unbiased for a random rotation, with an error of about
//! `0.75 / √dim` (0.033 at 512-d) in cosine units. The rotation is two rounds of random sign
//! flips and a fast Walsh–Hadamard transform (dimension padded to a power of two): a fixed seed,
//! so the bits are recomputed from the int8 codes instead of being stored in snapshots.

use crate::codes::Codes;
use crate::mem::Line;
use crate::simd;

/// The fixed random rotation: `(H·D₂)·(H·D₁)`, normalised, over `padded` dimensions.
#[derive(Clone, Debug)]
pub(crate) struct Rotation {
    dim: usize,
    padded: usize,
    /// `±1` per padded dimension, one row per round.
    signs: [Vec<f32>; 2],
}

impl Rotation {
    pub fn new(dim: usize) -> Self {
        let padded = dim.max(1).next_power_of_two().max(64);
        // xorshift64* with a fixed seed: every node and every version draw the same rotation.
        let mut state = 0x5DEE_CE66_D1CE_4E5Bu64;
        let mut sign_row = || {
            (0..padded)
                .map(|_| {
                    state ^= state >> 12;
                    state ^= state << 25;
                    state ^= state >> 27;
                    if state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63 == 0 {
                        1.0
                    } else {
                        -1.0
                    }
                })
                .collect::<Vec<f32>>()
        };
        let signs = [sign_row(), sign_row()];
        Self { dim, padded, signs }
    }

    pub fn padded(&self) -> usize {
        self.padded
    }

    /// Rotates `v` (`dim` values) into `out` (`padded` values); norms are preserved.
    pub fn rotate(&self, v: impl Iterator<Item = f32>, out: &mut [f32]) {
        self.rotate_unscaled(v, out);
        // Each unnormalised transform multiplies norms by √padded.
        let norm = 1.0 / self.padded as f32;
        for o in out.iter_mut() {
            *o *= norm;
        }
    }

    /// The rotation times `padded` (one scale, applied by `rotate`; signs need none).
    fn rotate_unscaled(&self, v: impl Iterator<Item = f32>, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.padded);
        out.fill(0.0);
        for (o, x) in out.iter_mut().zip(v.take(self.dim)) {
            *o = x;
        }
        for signs in &self.signs {
            for (o, s) in out.iter_mut().zip(signs) {
                *o *= s;
            }
            fwht(out);
        }
    }
}

/// In-place unnormalised fast Walsh–Hadamard transform (`x.len()` a power of two, at least 8).
/// The first three stages run within blocks of eight; the wider ones pair contiguous halves,
/// which the compiler vectorises.
fn fwht(x: &mut [f32]) {
    let n = x.len();
    debug_assert!(n >= 8 && n.is_power_of_two());
    for b in x.chunks_exact_mut(8) {
        let (a0, a1, a2, a3) = (b[0] + b[1], b[0] - b[1], b[2] + b[3], b[2] - b[3]);
        let (a4, a5, a6, a7) = (b[4] + b[5], b[4] - b[5], b[6] + b[7], b[6] - b[7]);
        let (c0, c1, c2, c3) = (a0 + a2, a1 + a3, a0 - a2, a1 - a3);
        let (c4, c5, c6, c7) = (a4 + a6, a5 + a7, a4 - a6, a5 - a7);
        b.copy_from_slice(&[c0 + c4, c1 + c5, c2 + c6, c3 + c7, c0 - c4, c1 - c5, c2 - c6, c3 - c7]);
    }
    let mut h = 8;
    while h < n {
        for block in x.chunks_exact_mut(2 * h) {
            let (a, b) = block.split_at_mut(h);
            for (u, v) in a.iter_mut().zip(b.iter_mut()) {
                let (p, q) = (*u, *v);
                *u = p + q;
                *v = p - q;
            }
        }
        h *= 2;
    }
}

/// The one-bit codes of a store's slots.
///
/// The estimator's per-slot factor `r² / ‖x'‖₁` is replaced by its expectation for a unit vector,
/// `√(π / 2·padded)`: templates are unit vectors, and after the rotation `‖x'‖₁` varies by about
/// 3 % between them, a scale error far below the estimator's own. Keeping the factor would cost a
/// second cache miss per node in the walk.
#[derive(Clone, Debug)]
pub(crate) struct BitCodes {
    rotation: Rotation,
    /// Words per slot (`padded / 64`).
    words: usize,
    /// Slots held.
    len: usize,
    /// The codes, `words` a slot, on whole cache lines (a 512-d code is exactly one line).
    bits: Vec<Line>,
    factor: f32,
}

impl BitCodes {
    pub fn new(dim: usize) -> Self {
        let rotation = Rotation::new(dim);
        let padded = rotation.padded();
        Self {
            rotation,
            words: padded / 64,
            len: 0,
            bits: Vec::new(),
            factor: (std::f32::consts::PI / (2.0 * padded as f32)).sqrt(),
        }
    }

    /// The bits of slots `0 .. codes.len()`, computed on up to `threads` threads.
    pub fn from_codes(codes: &Codes, threads: usize) -> Self {
        let mut b = Self::new(codes.dim);
        let n = codes.len();
        b.len = n;
        b.bits = crate::mem::zeroed_vec(lines(n * b.words));
        let threads = threads.clamp(1, n.div_ceil(4096).max(1));
        let per = n.div_ceil(threads).max(1);
        let (words, rotation) = (b.words, &b.rotation);
        let all: &mut [u64] = &mut bytemuck::cast_slice_mut(&mut b.bits)[..n * words];
        std::thread::scope(|s| {
            for (t, bits) in all.chunks_mut(per * words).enumerate() {
                s.spawn(move || {
                    let mut buf = vec![0.0; rotation.padded()];
                    for (i, w) in bits.chunks_mut(words).enumerate() {
                        encode(rotation, codes, (t * per + i) as u32, &mut buf, w);
                    }
                });
            }
        });
        b
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn heap_bytes(&self) -> usize {
        self.bits.capacity() * std::mem::size_of::<Line>()
    }

    fn words(&self) -> &[u64] {
        bytemuck::cast_slice(&self.bits)
    }

    fn words_mut(&mut self) -> &mut [u64] {
        bytemuck::cast_slice_mut(&mut self.bits)
    }

    /// Appends the bits of the next slot (`slot == len`), read from its int8 code.
    pub fn push(&mut self, codes: &Codes, slot: u32) {
        assert_eq!(slot as usize, self.len(), "bit codes are appended in slot order");
        let (start, words) = (self.len * self.words, self.words);
        self.bits.resize(lines(start + words), Line::default());
        self.len += 1;
        let mut buf = vec![0.0; self.rotation.padded()];
        // Field by field, so the rotation and the buffer are borrowed apart.
        let out = &mut bytemuck::cast_slice_mut(&mut self.bits)[start..start + words];
        encode(&self.rotation, codes, slot, &mut buf, out);
    }

    /// A removed template: its bits are cleared (the vector leaves memory); it stays a routing
    /// node whose estimate no longer depends on it.
    pub fn wipe(&mut self, slot: u32) {
        let (s, words) = (slot as usize * self.words, self.words);
        self.words_mut()[s..s + words].fill(0);
    }

    #[inline]
    fn code(&self, slot: u32) -> &[u64] {
        let s = slot as usize * self.words;
        &self.words()[s..s + self.words]
    }

    /// Prepares a unit query for [`BitCodes::estimate`].
    pub fn query(&self, unit: &[f32]) -> QueryBits {
        let mut r = vec![0.0; self.rotation.padded()];
        self.rotation.rotate(unit.iter().copied(), &mut r);
        let lo = r.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = r.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let delta = if hi > lo { (hi - lo) / 15.0 } else { 1.0 };
        let mut planes = vec![0u64; self.words * 4];
        let mut sum_u = 0u32;
        for (i, &x) in r.iter().enumerate() {
            let u = ((x - lo) / delta).round().clamp(0.0, 15.0) as u32;
            sum_u += u;
            for j in 0..4 {
                planes[(i / 64) * 4 + j] |= u64::from(u >> j & 1) << (i % 64);
            }
        }
        QueryBits {
            planes,
            two_delta: 2.0 * delta,
            two_lo: 2.0 * lo,
            offset: delta * sum_u as f32 + lo * self.rotation.padded() as f32,
        }
    }

    /// Estimated cosine of the prepared query and a slot.
    #[inline]
    pub fn estimate(&self, q: &QueryBits, slot: u32) -> f32 {
        let (weighted, ones) = simd::plane_popcounts(&q.planes, self.code(slot));
        // <q', s> = 2·Σ_{bit set} q'_i − Σ q'_i, with q'_i ≈ lo + delta·u_i.
        let dot = q.two_delta * weighted as f32 + q.two_lo * ones as f32 - q.offset;
        dot * self.factor
    }

    /// Hints the cache to fetch a slot's bits.
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        simd::prefetch(self.code(slot), 64);
    }
}

/// A query rotated and quantised to four bits per dimension, stored as four bit planes
/// interleaved per word (`[p0, p1, p2, p3]` for word 0, then word 1 …).
pub(crate) struct QueryBits {
    planes: Vec<u64>,
    two_delta: f32,
    two_lo: f32,
    offset: f32,
}

/// Cache lines holding `words` words.
fn lines(words: usize) -> usize {
    words.div_ceil(8)
}

/// Writes a slot's sign bits into `out` (the scale does not change signs).
fn encode(rotation: &Rotation, codes: &Codes, slot: u32, buf: &mut [f32], out: &mut [u64]) {
    rotation.rotate_unscaled(codes.code(slot).iter().map(|&c| f32::from(c)), buf);
    // Branch-free: a sign is a coin flip, which a branch would mispredict half the time.
    for (word, chunk) in out.iter_mut().zip(buf.chunks_exact(64)) {
        *word = chunk.iter().enumerate().fold(0u64, |w, (j, &x)| w | (u64::from(x > 0.0) << j));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn unit(rng: &mut impl Rng, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn fast_transform_equals_the_hadamard_matrix() {
        let n = 64;
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let x: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let mut fast = x.clone();
        fwht(&mut fast);
        for (i, f) in fast.iter().enumerate() {
            // H[i][j] = (-1)^popcount(i & j)
            let want: f32 = (0..n)
                .map(|j| {
                    let sign = if (i & j).count_ones() % 2 == 0 { 1.0 } else { -1.0 };
                    sign * x[j]
                })
                .sum();
            assert!((f - want).abs() < 1e-4, "row {i}: {f} vs {want}");
        }
    }

    #[test]
    fn rotation_preserves_norms_and_dots() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for dim in [3, 64, 100, 512] {
            let r = Rotation::new(dim);
            let (a, b) = (unit(&mut rng, dim), unit(&mut rng, dim));
            let (mut ra, mut rb) = (vec![0.0; r.padded()], vec![0.0; r.padded()]);
            r.rotate(a.iter().copied(), &mut ra);
            r.rotate(b.iter().copied(), &mut rb);
            let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
            assert!((dot(&ra, &ra) - 1.0).abs() < 1e-4, "dim {dim}");
            assert!((dot(&ra, &rb) - dot(&a, &b)).abs() < 1e-4, "dim {dim}");
        }
    }

    #[test]
    fn estimates_track_the_cosine_within_the_estimator_error() {
        // 512-d: the estimator's error is about 0.75 / √512 = 0.033; allow 5 standard errors.
        let dim = 512;
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let mut codes = Codes::new(dim);
        let stored: Vec<Vec<f32>> = (0..400).map(|_| unit(&mut rng, dim)).collect();
        for v in &stored {
            codes.push(v);
        }
        let bits = BitCodes::from_codes(&codes, 2);
        let mut pushed = BitCodes::new(dim);
        for slot in 0..codes.len() as u32 {
            pushed.push(&codes, slot);
        }
        assert_eq!(bits.bits, pushed.bits, "parallel and incremental encodings agree");
        let mut sq = 0.0f64;
        for (i, v) in stored.iter().enumerate() {
            // A probe near template i (cosine about 0.7) and far from the others.
            let noise = unit(&mut rng, dim);
            let p: Vec<f32> = v.iter().zip(&noise).map(|(a, b)| a + b).collect();
            let n = p.iter().map(|x| x * x).sum::<f32>().sqrt();
            let p: Vec<f32> = p.into_iter().map(|x| x / n).collect();
            let q = bits.query(&p);
            for slot in [i, (i + 1) % stored.len()] {
                let truth: f32 = p.iter().zip(&stored[slot]).map(|(a, b)| a * b).sum();
                let err = bits.estimate(&q, slot as u32) - truth;
                assert!(err.abs() < 0.17, "slot {slot}: error {err}");
                sq += f64::from(err * err);
            }
        }
        let rms = (sq / (2 * stored.len()) as f64).sqrt();
        assert!(rms < 0.05, "rms error {rms}");
    }

    #[test]
    fn a_wiped_slot_estimates_zero_and_kernels_agree() {
        let dim = 128;
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut codes = Codes::new(dim);
        for _ in 0..8 {
            codes.push(&unit(&mut rng, dim));
        }
        let mut bits = BitCodes::from_codes(&codes, 1);
        let q = bits.query(&unit(&mut rng, dim));
        for slot in 0..8 {
            let c = bits.code(slot);
            assert_eq!(simd::plane_popcounts(&q.planes, c), simd::scalar::plane_popcounts(&q.planes, c));
        }
        bits.wipe(5);
        assert!(bits.code(5).iter().all(|&w| w == 0));
        // Codes sit on cache lines: one prefetch and one miss a node in the walk.
        assert_eq!(bits.words().as_ptr() as usize % 64, 0);
        codes.push(&unit(&mut rng, dim));
        bits.push(&codes, 8);
        assert_eq!(bits.len(), 9);
        assert_eq!(bits.code(8), BitCodes::from_codes(&codes, 1).code(8));
    }
}
