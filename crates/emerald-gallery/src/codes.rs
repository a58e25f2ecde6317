//! Packed int8 codes and their scales, addressed by slot; the only copy of a template's vector.

use crate::quant;
use crate::simd;

#[derive(Clone, Debug, Default)]
pub struct Codes {
    pub(crate) dim: usize,
    /// `len · dim` codes, slot-major.
    pub(crate) codes: Vec<i8>,
    /// One scale per slot: `vector ≈ scale · code`.
    pub(crate) scales: Vec<f32>,
}

/// A query prepared once per search: the f32 unit vector (re-ranking) and its int8 code (scan).
pub struct PreparedQuery {
    pub unit: Vec<f32>,
    pub code: Vec<i8>,
    pub scale: f32,
}

impl PreparedQuery {
    pub fn new(unit: Vec<f32>) -> Self {
        let (scale, code) = quant::quantize(&unit);
        Self { unit, code, scale }
    }
}

impl Codes {
    pub fn new(dim: usize) -> Self {
        Self { dim, codes: Vec::new(), scales: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.scales.len()
    }

    #[inline]
    pub fn code(&self, slot: u32) -> &[i8] {
        let s = slot as usize * self.dim;
        &self.codes[s..s + self.dim]
    }

    #[inline]
    pub fn scale(&self, slot: u32) -> f32 {
        self.scales[slot as usize]
    }

    /// Appends a unit vector; returns its slot.
    pub fn push(&mut self, unit: &[f32]) -> u32 {
        let slot = self.len() as u32;
        let start = self.codes.len();
        self.codes.resize(start + self.dim, 0);
        let scale = quant::quantize_into(unit, &mut self.codes[start..]);
        self.scales.push(scale);
        slot
    }

    /// Moves the last slot into `slot` and drops the last (exact-only shards compact this way).
    pub fn swap_remove(&mut self, slot: u32) {
        let last = self.len() - 1;
        let (s, l) = (slot as usize, last);
        if s != l {
            self.codes.copy_within(l * self.dim..(l + 1) * self.dim, s * self.dim);
            self.scales[s] = self.scales[l];
        }
        self.codes.truncate(l * self.dim);
        self.scales.truncate(l);
    }

    /// Zeroes a slot's code (a removed template's vector leaves memory).
    pub fn wipe(&mut self, slot: u32) {
        let s = slot as usize * self.dim;
        self.codes[s..s + self.dim].fill(0);
        self.scales[slot as usize] = 0.0;
    }

    /// Approximate cosine of the int8 query and a slot (the scan and graph-walk score).
    #[inline]
    pub fn sim_i8(&self, q: &[i8], q_scale: f32, slot: u32) -> f32 {
        simd::dot_i8(q, self.code(slot)) as f32 * (q_scale * self.scale(slot))
    }

    /// Approximate cosine of two stored slots.
    #[inline]
    pub fn sim_slots(&self, a: u32, b: u32) -> f32 {
        simd::dot_i8(self.code(a), self.code(b)) as f32 * (self.scale(a) * self.scale(b))
    }

    /// Cosine of the f32 query and a slot's code: the re-ranking score (no query quantisation).
    #[inline]
    pub fn sim_f32(&self, q: &[f32], slot: u32) -> f32 {
        simd::dot_f32_i8(q, self.code(slot)) * self.scale(slot)
    }
}
