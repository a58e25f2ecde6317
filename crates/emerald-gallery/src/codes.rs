//! Int8 codes and their scales, addressed by slot; the only copy of a template's vector.
//!
//! Two layouts of the same codes: plain int8 rows (shards with a graph, whose walk reads a node's
//! code at random), or two nibble planes (`coarse.rs`: shards without a graph, whose exact scan
//! reads the high nibbles first and a low-nibble row only where it could rank). The bytes are
//! the same; methods that need int8 rows say so.

use crate::coarse::Coarse;
use crate::quant;
use crate::simd;

#[derive(Clone, Debug, Default)]
pub struct Codes {
    pub(crate) dim: usize,
    /// `len · dim` codes, slot-major; empty when `coarse` holds them.
    pub(crate) codes: Vec<i8>,
    /// One scale per slot: `vector ≈ scale · code`.
    pub(crate) scales: Vec<f32>,
    /// The codes as nibble planes (the exact scan's layout), or `None` for int8 rows.
    pub(crate) coarse: Option<Coarse>,
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
    /// Empty codes in int8 rows (see [`Codes::keep_coarse`]).
    pub fn new(dim: usize) -> Self {
        Self { dim, codes: Vec::new(), scales: Vec::new(), coarse: None }
    }

    /// Codes read back (a snapshot), in int8 rows.
    pub fn from_parts(dim: usize, codes: Vec<i8>, scales: Vec<f32>) -> Self {
        Self { dim, codes, scales, coarse: None }
    }

    /// Moves the codes to nibble planes (`true`) or to int8 rows (`false`: what a graph needs).
    pub fn keep_coarse(&mut self, keep: bool) {
        match (keep, self.coarse.take()) {
            (true, None) => {
                self.coarse = Some(Coarse::of(self));
                self.codes = Vec::new();
            }
            (false, Some(c)) => {
                // A fresh buffer advised as huge pages, like a graph shard's rehomed codes.
                let mut codes = crate::mem::zeroed_vec::<i8>(self.len() * self.dim);
                for (slot, out) in codes.chunks_exact_mut(self.dim.max(1)).enumerate() {
                    c.code_into(slot, out);
                }
                self.codes = codes;
            }
            (_, c) => self.coarse = c,
        }
    }

    pub fn len(&self) -> usize {
        self.scales.len()
    }

    /// A slot's int8 row. Int8 layout only (graph shards and their walk).
    #[inline]
    pub fn code(&self, slot: u32) -> &[i8] {
        debug_assert!(self.coarse.is_none(), "int8 row asked of nibble planes");
        let s = slot as usize * self.dim;
        &self.codes[s..s + self.dim]
    }

    /// A slot's code, in either layout, written into `out` (`dim` long).
    pub fn code_into(&self, slot: u32, out: &mut [i8]) {
        match &self.coarse {
            Some(c) => c.code_into(slot as usize, out),
            None => out.copy_from_slice(self.code(slot)),
        }
    }

    #[inline]
    pub fn scale(&self, slot: u32) -> f32 {
        self.scales[slot as usize]
    }

    /// Appends a unit vector; returns its slot.
    pub fn push(&mut self, unit: &[f32]) -> u32 {
        let mut code = vec![0i8; self.dim];
        let scale = quant::quantize_into(unit, &mut code);
        self.push_code(&code, scale)
    }

    /// Appends an already quantised code; returns its slot.
    pub fn push_code(&mut self, code: &[i8], scale: f32) -> u32 {
        debug_assert_eq!(code.len(), self.dim);
        let slot = self.len() as u32;
        match &mut self.coarse {
            Some(c) => c.push(code, scale),
            None => self.codes.extend_from_slice(code),
        }
        self.scales.push(scale);
        slot
    }

    /// Moves the last slot into `slot` and drops the last (exact-only shards compact this way).
    pub fn swap_remove(&mut self, slot: u32) {
        let last = self.len() - 1;
        let (s, l) = (slot as usize, last);
        match &mut self.coarse {
            Some(c) => c.swap_remove(s),
            None => {
                if s != l {
                    self.codes.copy_within(l * self.dim..(l + 1) * self.dim, s * self.dim);
                }
                self.codes.truncate(l * self.dim);
            }
        }
        self.scales.swap_remove(s);
    }

    /// Zeroes a slot's code (a removed template's vector leaves memory).
    pub fn wipe(&mut self, slot: u32) {
        let s = slot as usize * self.dim;
        match &mut self.coarse {
            Some(c) => c.set(slot as usize, &vec![0i8; self.dim], 0.0),
            None => self.codes[s..s + self.dim].fill(0),
        }
        self.scales[slot as usize] = 0.0;
    }

    /// Every code as int8 rows, in slot order, through `f` (snapshots).
    pub fn for_each_code(&self, mut f: impl FnMut(&[i8]) -> std::io::Result<()>) -> std::io::Result<()> {
        if self.coarse.is_none() {
            return f(&self.codes);
        }
        let mut buf = vec![0i8; self.dim];
        for slot in 0..self.len() as u32 {
            self.code_into(slot, &mut buf);
            f(&buf)?;
        }
        Ok(())
    }

    pub fn heap_bytes(&self) -> usize {
        self.codes.capacity() + self.scales.capacity() * 4 + self.coarse.as_ref().map_or(0, Coarse::heap_bytes)
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
        if self.coarse.is_none() {
            return simd::dot_f32_i8(q, self.code(slot)) * self.scale(slot);
        }
        let mut code = vec![0i8; self.dim];
        self.code_into(slot, &mut code);
        simd::dot_f32_i8(q, &code) * self.scale(slot)
    }
}
