//! Dot-product kernels: a portable scalar reference and AVX2 / NEON versions picked at run time.
//!
//! Five kernels cover the gallery:
//! - `dot_i8(a, b)`: int8 × int8 → i32, the HNSW graph walk;
//! - `dots_i8(q, codes, out)`: one query against a block of codes, the exact scan — AVX-512
//!   VNNI (`vpdpbusd`, Intel Ice Lake / AMD Zen 4 and later) where the CPU has it, else
//!   `dot_i8` per code;
//! - `dots_u4(lo, hi, rows, out)`: the exact scan's first pass over 4-bit rows (`coarse.rs`),
//!   AVX-512 VNNI or AVX2;
//! - `dot_f32_i8(q, c)`: f32 query × int8 code → f32, the re-ranking of the top candidates;
//! - `dot_f32(a, b)`: f32 × f32, the brute-force reference used by tests and benches.
//!
//! The scalar functions in [`scalar`] are the reference; `tests` check every SIMD path against them.
//! `dot_i8` is exact in every path (integer arithmetic, no overflow for codes in -127..=127 and
//! dims up to 65,536). The f32 kernels reorder the additions, so they agree with the scalar
//! reference within a few ulps of the sum of |products| (the tests use 1e-5 relative to that sum).
//!
//! Codes must lie in `-127..=127` (the quantizer never produces -128): the AVX2 path uses
//! `vpsignb`/`vpmaddubsw`, which would saturate on -128 × -128 pairs.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// The instruction set the dispatch picked, reported by benches and logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    Avx2,
    Neon,
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2+fma",
            Isa::Neon => "neon",
        })
    }
}

static ISA: OnceLock<Isa> = OnceLock::new();

/// The kernels in use: detected once; `EMERALD_GALLERY_SIMD=scalar` forces the reference path
/// (and `=avx2` the per-code AVX2 scan where AVX-512 VNNI would be used).
pub fn isa() -> Isa {
    *ISA.get_or_init(|| {
        if std::env::var("EMERALD_GALLERY_SIMD").is_ok_and(|v| v.eq_ignore_ascii_case("scalar")) {
            return Isa::Scalar;
        }
        detect()
    })
}

#[cfg(target_arch = "x86_64")]
fn detect() -> Isa {
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Isa::Avx2
    } else {
        Isa::Scalar
    }
}

#[cfg(target_arch = "aarch64")]
fn detect() -> Isa {
    if std::arch::is_aarch64_feature_detected!("neon") {
        Isa::Neon
    } else {
        Isa::Scalar
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect() -> Isa {
    Isa::Scalar
}

/// `(Σ_j 2^j · popcount(plane_j & x[w]), popcount(x))` over words `w`, with `planes` holding four
/// words per word of `x` (`[p0, p1, p2, p3]` for word 0, then word 1 …): the one-bit walk's
/// estimator (`bits.rs`).
#[inline]
pub(crate) fn plane_popcounts(planes: &[u64], x: &[u64]) -> (u32, u32) {
    assert_eq!(planes.len(), 4 * x.len());
    #[cfg(target_arch = "x86_64")]
    match popcount_kernel() {
        // SAFETY: AVX-512F and VPOPCNTDQ were detected at run time; the lengths were checked
        // above and the kernel reads 8-word blocks inside the slices only.
        Popcount::Avx512 if x.len().is_multiple_of(8) => {
            return unsafe { popcnt::plane_popcounts_avx512(planes, x) };
        }
        // SAFETY: the popcnt instruction was detected at run time; the kernel reads only
        // through slices.
        Popcount::Avx512 | Popcount::Popcnt => {
            return unsafe { popcnt::plane_popcounts(planes, x) };
        }
        Popcount::Scalar => {}
    }
    scalar::plane_popcounts(planes, x)
}

/// The one-bit walk's popcount kernel, for benches and logs.
pub fn popcount_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        match popcount_kernel() {
            Popcount::Avx512 => "avx512 vpopcntq",
            Popcount::Popcnt => "popcnt",
            Popcount::Scalar => "scalar",
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        "scalar"
    }
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Popcount {
    Scalar,
    Popcnt,
    Avx512,
}

/// The one-bit walk's popcount kernel: AVX-512 `vpopcntq` where the CPU has it (AMD Zen 4,
/// Intel Ice Lake and later), else the scalar `popcnt` instruction; the reference loop when
/// the scalar path is forced.
#[cfg(target_arch = "x86_64")]
#[inline]
fn popcount_kernel() -> Popcount {
    static KERNEL: OnceLock<Popcount> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        if isa() == Isa::Scalar || !is_x86_feature_detected!("popcnt") {
            Popcount::Scalar
        } else if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vpopcntdq") {
            Popcount::Avx512
        } else {
            Popcount::Popcnt
        }
    })
}

#[cfg(target_arch = "x86_64")]
mod popcnt {
    use std::arch::x86_64::*;

    /// The scalar loop compiled with the `popcnt` instruction.
    #[target_feature(enable = "popcnt")]
    pub unsafe fn plane_popcounts(planes: &[u64], x: &[u64]) -> (u32, u32) {
        super::scalar::plane_popcounts(planes, x)
    }

    /// Eight words of `x` a step: each zmm of `planes` holds the four planes of two words, so
    /// `x`'s two words are broadcast four times each (`vpermq`), ANDed, and counted per lane
    /// (`vpopcntq`); the lane weights 1, 2, 4, 8 are applied once at the end.
    /// `x.len()` must be a multiple of 8 and `planes.len()` four times it.
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub unsafe fn plane_popcounts_avx512(planes: &[u64], x: &[u64]) -> (u32, u32) {
        debug_assert!(x.len().is_multiple_of(8) && planes.len() == 4 * x.len());
        let mut acc = _mm512_setzero_si512();
        let mut ones = _mm512_setzero_si512();
        let spread = [
            _mm512_set_epi64(1, 1, 1, 1, 0, 0, 0, 0),
            _mm512_set_epi64(3, 3, 3, 3, 2, 2, 2, 2),
            _mm512_set_epi64(5, 5, 5, 5, 4, 4, 4, 4),
            _mm512_set_epi64(7, 7, 7, 7, 6, 6, 6, 6),
        ];
        for (b, block) in x.chunks_exact(8).enumerate() {
            // SAFETY (loads): `block` is 8 words of `x`; the planes of those words are the 32
            // words at `32·b`, inside `planes` by the length contract.
            let w = _mm512_loadu_si512(block.as_ptr().cast());
            ones = _mm512_add_epi64(ones, _mm512_popcnt_epi64(w));
            let p = planes.as_ptr().add(32 * b);
            for (i, idx) in spread.iter().enumerate() {
                let xw = _mm512_permutexvar_epi64(*idx, w);
                let pl = _mm512_loadu_si512(p.add(8 * i).cast());
                acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(pl, xw)));
            }
        }
        let weighted = _mm512_sllv_epi64(acc, _mm512_set_epi64(3, 2, 1, 0, 3, 2, 1, 0));
        (_mm512_reduce_add_epi64(weighted) as u32, _mm512_reduce_add_epi64(ones) as u32)
    }
}

/// int8 · int8 with the detected kernel. Panics if the lengths differ.
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    assert_eq!(a.len(), b.len());
    match isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa()` returns Avx2 only after `is_x86_feature_detected!("avx2")` succeeded;
        // the lengths are equal (asserted above), which is all the kernel's loads rely on.
        Isa::Avx2 => unsafe { avx2::dot_i8(a, b) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON was detected at run time; equal lengths asserted above.
        Isa::Neon => unsafe { neon::dot_i8(a, b) },
        _ => scalar::dot_i8(a, b),
    }
}

/// The exact scan's kernel: `out[j] = q · codes[j·dim .. (j+1)·dim]` with `dim = q.len()`, for
/// every code of the block. Panics unless `codes.len() == out.len() · q.len()`.
#[inline]
pub fn dots_i8(q: &[i8], codes: &[i8], out: &mut [i32]) {
    assert_eq!(codes.len(), out.len() * q.len());
    #[cfg(target_arch = "x86_64")]
    if scan_kernel() == Scan::Vnni512 {
        // SAFETY: AVX-512 F, BW and VNNI were detected at run time; the lengths were checked
        // above, and the kernel reads each code through full or masked loads inside its range.
        return unsafe { vnni::dots_i8(q, codes, out) };
    }
    if q.is_empty() {
        out.fill(0);
        return;
    }
    for (o, code) in out.iter_mut().zip(codes.chunks_exact(q.len())) {
        *o = dot_i8(q, code);
    }
}

/// The exact scan's first pass (`coarse.rs`): `out[j] = Σ_b lo[b] · (row_j[b] & 15) + hi[b] ·
/// (row_j[b] >> 4)` over the rows of `rows` (each `lo.len()` bytes, a multiple of 32). Exact in
/// every path. Panics unless `lo` and `hi` have equal lengths and `rows.len() == out.len() ·
/// lo.len()`.
#[inline]
pub fn dots_u4(lo: &[i8], hi: &[i8], rows: &[u8], out: &mut [i32]) {
    assert_eq!(lo.len(), hi.len());
    assert_eq!(rows.len(), out.len() * lo.len());
    if lo.is_empty() {
        out.fill(0);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if lo.len().is_multiple_of(32) {
        if scan_kernel() == Scan::Vnni512 {
            // SAFETY: AVX-512 F, BW and VNNI were detected at run time; the lengths were checked
            // above (rows of lo.len() bytes, a multiple of 32), and every load lies inside a row.
            return unsafe { vnni::dots_u4(lo, hi, rows, out) };
        }
        if isa() == Isa::Avx2 {
            // SAFETY: AVX2 was detected at run time; the lengths were checked as above.
            return unsafe { avx2::dots_u4(lo, hi, rows, out) };
        }
    }
    scalar::dots_u4(lo, hi, rows, out);
}

/// Whether [`dots_u4`] has a SIMD kernel on this CPU (else it runs the scalar reference).
pub fn nibble_kernel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        scan_kernel() == Scan::Vnni512 || isa() == Isa::Avx2
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The exact scan's kernel, for benches and logs.
pub fn scan_isa() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if scan_kernel() == Scan::Vnni512 {
        return "avx512 vnni";
    }
    match isa() {
        Isa::Scalar => "scalar",
        Isa::Avx2 => "avx2",
        Isa::Neon => "neon",
    }
}

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    PerCode,
    Vnni512,
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn scan_kernel() -> Scan {
    static KERNEL: OnceLock<Scan> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        // `EMERALD_GALLERY_SIMD=avx2` keeps the per-code AVX2 kernel (for A/B benchmarks).
        let forced = std::env::var("EMERALD_GALLERY_SIMD").is_ok_and(|v| v.eq_ignore_ascii_case("avx2"));
        let vnni = !forced
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vnni");
        if isa() != Isa::Scalar && vnni {
            Scan::Vnni512
        } else {
            Scan::PerCode
        }
    })
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::*;

    /// `vpdpbusd` multiplies unsigned by signed bytes, so the query is biased once to
    /// `q + 128` (an XOR of the sign bit) and the bias taken back per code:
    /// `q · c = (q + 128) · c − 128 · Σc`, with `Σc` from a second `vpdpbusd` against ones.
    /// Exact: per 32-bit lane at most 4 · 255 · 127 per step, far from overflow for any
    /// gallery dimension. The tail of a dimension that is not a multiple of 64 is read with
    /// a masked load (zeros beyond it, which add nothing to either sum).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dots_i8(q: &[i8], codes: &[i8], out: &mut [i32]) {
        let dim = q.len();
        let (full, rem) = (dim / 64, dim % 64);
        let tail: __mmask64 = if rem == 0 { 0 } else { (1u64 << rem) - 1 };
        let bias = _mm512_set1_epi8(i8::MIN);
        let ones = _mm512_set1_epi8(1);
        let mut qb = Vec::with_capacity(full + 1);
        for k in 0..full {
            // SAFETY: 64 bytes at 64·k < dim are inside q.
            qb.push(_mm512_xor_si512(_mm512_loadu_si512(q.as_ptr().add(64 * k).cast()), bias));
        }
        if rem > 0 {
            // SAFETY: the mask covers only the rem bytes left in q.
            qb.push(_mm512_xor_si512(_mm512_maskz_loadu_epi8(tail, q.as_ptr().add(64 * full)), bias));
        }
        for (j, o) in out.iter_mut().enumerate() {
            let c = codes.as_ptr().add(j * dim);
            let mut acc = _mm512_setzero_si512();
            let mut sum = _mm512_setzero_si512();
            for (k, &qk) in qb.iter().enumerate().take(full) {
                // SAFETY: code j spans dim bytes from j·dim, inside codes (length checked by the caller).
                let v = _mm512_loadu_si512(c.add(64 * k).cast());
                acc = _mm512_dpbusd_epi32(acc, qk, v);
                sum = _mm512_dpbusd_epi32(sum, ones, v);
            }
            if rem > 0 {
                // SAFETY: the mask covers only the rem bytes left in code j.
                let v = _mm512_maskz_loadu_epi8(tail, c.add(64 * full));
                acc = _mm512_dpbusd_epi32(acc, qb[full], v);
                sum = _mm512_dpbusd_epi32(sum, ones, v);
            }
            *o = _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, _mm512_slli_epi32::<7>(sum)));
        }
    }

    /// See [`super::dots_u4`]: `vpdpbusd` multiplies the unsigned nibbles by the signed query
    /// weights directly (at most 4 · 15 · 127 per lane and step). Four rows at a time, each with
    /// its own accumulators: one row's chain of `vpdpbusd` would otherwise wait on its latency.
    /// A row whose length is an odd multiple of 32 ends with a masked half load.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn dots_u4(lo: &[i8], hi: &[i8], rows: &[u8], out: &mut [i32]) {
        let row = lo.len();
        let steps = row.div_ceil(64);
        let tail: __mmask64 = if row.is_multiple_of(64) { u64::MAX } else { (1u64 << 32) - 1 };
        let nibble = _mm512_set1_epi8(0x0F);
        let mask = |k: usize| if k + 1 == steps { tail } else { u64::MAX };
        // SAFETY (all loads below): the mask keeps each 64-byte load inside its row of `row`
        // bytes (a multiple of 32), in lo, hi and rows (length checked by the caller).
        let (pl, ph) = (lo.as_ptr(), hi.as_ptr());
        let n = out.len();
        let mut j = 0;
        while j + 4 <= n {
            let r = rows.as_ptr().add(j * row);
            super::prefetch_ahead(rows, (j + 4 + super::PREFETCH_ROWS) * row, 4 * row);
            let mut acc = [_mm512_setzero_si512(); 8];
            for k in 0..steps {
                let ql = _mm512_maskz_loadu_epi8(mask(k), pl.add(64 * k));
                let qh = _mm512_maskz_loadu_epi8(mask(k), ph.add(64 * k));
                for (i, pair) in acc.chunks_exact_mut(2).enumerate() {
                    let x = _mm512_maskz_loadu_epi8(mask(k), r.add(i * row + 64 * k).cast());
                    let h = _mm512_srli_epi16::<4>(x);
                    pair[0] = _mm512_dpbusd_epi32(pair[0], _mm512_and_si512(x, nibble), ql);
                    pair[1] = _mm512_dpbusd_epi32(pair[1], _mm512_and_si512(h, nibble), qh);
                }
            }
            for i in 0..4 {
                out[j + i] = _mm512_reduce_add_epi32(_mm512_add_epi32(acc[2 * i], acc[2 * i + 1]));
            }
            j += 4;
        }
        while j < n {
            let r = rows.as_ptr().add(j * row);
            let (mut a, mut b) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            for k in 0..steps {
                let x = _mm512_maskz_loadu_epi8(mask(k), r.add(64 * k).cast());
                let ql = _mm512_maskz_loadu_epi8(mask(k), pl.add(64 * k));
                let qh = _mm512_maskz_loadu_epi8(mask(k), ph.add(64 * k));
                a = _mm512_dpbusd_epi32(a, _mm512_and_si512(x, nibble), ql);
                b = _mm512_dpbusd_epi32(b, _mm512_and_si512(_mm512_srli_epi16::<4>(x), nibble), qh);
            }
            out[j] = _mm512_reduce_add_epi32(_mm512_add_epi32(a, b));
            j += 1;
        }
    }
}

/// f32 query · int8 code (the code's scale is applied by the caller).
#[inline]
pub fn dot_f32_i8(q: &[f32], c: &[i8]) -> f32 {
    assert_eq!(q.len(), c.len());
    match isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and FMA were detected at run time; equal lengths asserted above.
        Isa::Avx2 => unsafe { avx2::dot_f32_i8(q, c) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON was detected at run time; equal lengths asserted above.
        Isa::Neon => unsafe { neon::dot_f32_i8(q, c) },
        _ => scalar::dot_f32_i8(q, c),
    }
}

/// f32 · f32 with the detected kernel.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    match isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and FMA were detected at run time; equal lengths asserted above.
        Isa::Avx2 => unsafe { avx2::dot_f32(a, b) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: NEON was detected at run time; equal lengths asserted above.
        Isa::Neon => unsafe { neon::dot_f32(a, b) },
        _ => scalar::dot_f32(a, b),
    }
}

/// Rows the nibble kernels prefetch ahead of the ones they read: four interleaved row streams
/// leave the hardware prefetcher behind (measured: the 4-bit first pass at 1M × 704 went from
/// 36 to 30 ms on one core with it).
const PREFETCH_ROWS: usize = 16;

/// Prefetches `bytes` of `data` from byte `from`, if they lie inside it.
#[inline]
fn prefetch_ahead(data: &[u8], from: usize, bytes: usize) {
    if let Some(ahead) = data.get(from..from + bytes) {
        prefetch(ahead, bytes);
    }
}

/// Hints the cache to fetch the 64-byte lines holding the first `bytes` of `data` (all of them,
/// however `data` is aligned); a no-op off x86_64. Used by the graph walk, whose neighbour codes are random memory accesses.
#[inline]
pub fn prefetch<T>(data: &[T], bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let base = data.as_ptr().cast::<i8>();
        let len = std::mem::size_of_val(data).min(bytes);
        // Every line the range touches: from the start of the line holding its first byte, so
        // a range that does not start on a line boundary also gets its last line.
        let mut off = -((base as usize % 64) as isize);
        while len > 0 && off < len as isize {
            // SAFETY: the address is the start of a line holding a byte of `data`; a prefetch
            // never faults and reads nothing into the program (SSE is baseline on x86_64), and
            // `wrapping_offset` makes no in-bounds claim.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.wrapping_offset(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (data, bytes);
    }
}

/// The reference kernels: plain loops, in index order.
pub mod scalar {
    /// See [`super::plane_popcounts`].
    #[inline(always)]
    pub fn plane_popcounts(planes: &[u64], x: &[u64]) -> (u32, u32) {
        let (mut weighted, mut ones) = (0u32, 0u32);
        for (p, &w) in planes.chunks_exact(4).zip(x) {
            ones += w.count_ones();
            weighted += (p[0] & w).count_ones()
                + 2 * (p[1] & w).count_ones()
                + 4 * (p[2] & w).count_ones()
                + 8 * (p[3] & w).count_ones();
        }
        (weighted, ones)
    }

    /// See [`super::dots_u4`].
    pub fn dots_u4(lo: &[i8], hi: &[i8], rows: &[u8], out: &mut [i32]) {
        if lo.is_empty() {
            out.fill(0);
            return;
        }
        for (o, row) in out.iter_mut().zip(rows.chunks_exact(lo.len())) {
            *o = row
                .iter()
                .zip(lo.iter().zip(hi))
                .map(|(&x, (&l, &h))| i32::from(x & 15) * i32::from(l) + i32::from(x >> 4) * i32::from(h))
                .sum();
        }
    }

    pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        a.iter().zip(b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum()
    }

    pub fn dot_f32_i8(q: &[f32], c: &[i8]) -> f32 {
        q.iter().zip(c).map(|(&x, &y)| x * f32::from(y)).sum()
    }

    pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(&x, &y)| x * y).sum()
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn hsum_epi32(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn hsum_ps(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// `vpmaddubsw` wants unsigned × signed: |a| × (b with a's sign) has the same product and,
    /// with codes in -127..=127, pairs sum to at most 2·127² = 32,258 < i16::MAX.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let ones = _mm256_set1_epi16(1);
        let mut acc0 = _mm256_setzero_si256();
        let mut acc1 = _mm256_setzero_si256();
        let mut i = 0;
        while i + 64 <= n {
            // SAFETY (caller + loop bound): i + 64 <= n, so both 32-byte unaligned loads are in bounds.
            let x0 = _mm256_loadu_si256(pa.add(i) as *const __m256i);
            let y0 = _mm256_loadu_si256(pb.add(i) as *const __m256i);
            let x1 = _mm256_loadu_si256(pa.add(i + 32) as *const __m256i);
            let y1 = _mm256_loadu_si256(pb.add(i + 32) as *const __m256i);
            let p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(x0), _mm256_sign_epi8(y0, x0));
            let p1 = _mm256_maddubs_epi16(_mm256_abs_epi8(x1), _mm256_sign_epi8(y1, x1));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
            acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, ones));
            i += 64;
        }
        while i + 32 <= n {
            let x0 = _mm256_loadu_si256(pa.add(i) as *const __m256i);
            let y0 = _mm256_loadu_si256(pb.add(i) as *const __m256i);
            let p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(x0), _mm256_sign_epi8(y0, x0));
            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
            i += 32;
        }
        let mut sum = hsum_epi32(_mm256_add_epi32(acc0, acc1));
        while i < n {
            sum += i32::from(*a.get_unchecked(i)) * i32::from(*b.get_unchecked(i));
            i += 1;
        }
        sum
    }

    /// See [`super::dots_u4`]: `vpmaddubsw` (unsigned nibble × signed weight, pairs at most
    /// 2 · 15 · 127 = 3,810), two per 32 bytes, summed in 16 bits for up to four steps (30,480 <
    /// i16::MAX), then widened. Two rows at a time, for the same reason as the AVX-512 kernel.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dots_u4(lo: &[i8], hi: &[i8], rows: &[u8], out: &mut [i32]) {
        let row = lo.len();
        let steps = row / 32;
        let nibble = _mm256_set1_epi8(0x0F);
        let ones = _mm256_set1_epi16(1);
        let (pl, ph) = (lo.as_ptr(), hi.as_ptr());
        let n = out.len();
        let mut j = 0;
        while j < n {
            let pair = j + 2 <= n;
            let r = rows.as_ptr().add(j * row);
            if pair {
                super::prefetch_ahead(rows, (j + 2 + super::PREFETCH_ROWS) * row, 2 * row);
            }
            let (mut a, mut b) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            let mut k = 0;
            while k < steps {
                let stop = (k + 4).min(steps);
                let (mut a16, mut b16) = (_mm256_setzero_si256(), _mm256_setzero_si256());
                while k < stop {
                    // SAFETY: 32·k + 32 <= row: inside lo, hi and row j (and j + 1 when `pair`).
                    let ql = _mm256_loadu_si256(pl.add(32 * k).cast());
                    let qh = _mm256_loadu_si256(ph.add(32 * k).cast());
                    let x = _mm256_loadu_si256(r.add(32 * k).cast());
                    let l = _mm256_and_si256(x, nibble);
                    let h = _mm256_and_si256(_mm256_srli_epi16::<4>(x), nibble);
                    a16 = _mm256_add_epi16(
                        a16,
                        _mm256_add_epi16(_mm256_maddubs_epi16(l, ql), _mm256_maddubs_epi16(h, qh)),
                    );
                    if pair {
                        let y = _mm256_loadu_si256(r.add(row + 32 * k).cast());
                        let l = _mm256_and_si256(y, nibble);
                        let h = _mm256_and_si256(_mm256_srli_epi16::<4>(y), nibble);
                        b16 = _mm256_add_epi16(
                            b16,
                            _mm256_add_epi16(_mm256_maddubs_epi16(l, ql), _mm256_maddubs_epi16(h, qh)),
                        );
                    }
                    k += 1;
                }
                a = _mm256_add_epi32(a, _mm256_madd_epi16(a16, ones));
                b = _mm256_add_epi32(b, _mm256_madd_epi16(b16, ones));
            }
            out[j] = hsum_epi32(a);
            if pair {
                out[j + 1] = hsum_epi32(b);
                j += 2;
            } else {
                j += 1;
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_f32_i8(q: &[f32], c: &[i8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY (caller + loop bound): 16 bytes of codes and 16 floats are in bounds.
            let bytes = _mm_loadu_si128(pc.add(i) as *const __m128i);
            let c0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
            let c1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(bytes, 8)));
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i)), c0, acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(i + 8)), c1, acc1);
            i += 16;
        }
        let mut sum = hsum_ps(_mm256_add_ps(acc0, acc1));
        while i < n {
            sum += *q.get_unchecked(i) * f32::from(*c.get_unchecked(i));
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY (caller + loop bound): 16 floats of each slice are in bounds.
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8)), _mm256_loadu_ps(pb.add(i + 8)), acc1);
            i += 16;
        }
        let mut sum = hsum_ps(_mm256_add_ps(acc0, acc1));
        while i < n {
            sum += *a.get_unchecked(i) * *b.get_unchecked(i);
            i += 1;
        }
        sum
    }
}

#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;

    #[target_feature(enable = "neon")]
    pub unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = vdupq_n_s32(0);
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY (caller + loop bound): 16 bytes of each slice are in bounds.
            let x = vld1q_s8(pa.add(i));
            let y = vld1q_s8(pb.add(i));
            // i8 × i8 fits i16; pairwise-accumulate into i32 lanes.
            acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
            acc = vpadalq_s16(acc, vmull_high_s8(x, y));
            i += 16;
        }
        let mut sum = vaddvq_s32(acc);
        while i < n {
            sum += i32::from(*a.get_unchecked(i)) * i32::from(*b.get_unchecked(i));
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "neon")]
    pub unsafe fn dot_f32_i8(q: &[f32], c: &[i8]) -> f32 {
        let n = q.len();
        let (pq, pc) = (q.as_ptr(), c.as_ptr());
        let mut acc0 = vdupq_n_f32(0.0);
        let mut acc1 = vdupq_n_f32(0.0);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY (caller + loop bound): 8 codes and 8 floats are in bounds.
            let w = vmovl_s8(vld1_s8(pc.add(i)));
            let c0 = vcvtq_f32_s32(vmovl_s16(vget_low_s16(w)));
            let c1 = vcvtq_f32_s32(vmovl_s16(vget_high_s16(w)));
            acc0 = vfmaq_f32(acc0, vld1q_f32(pq.add(i)), c0);
            acc1 = vfmaq_f32(acc1, vld1q_f32(pq.add(i + 4)), c1);
            i += 8;
        }
        let mut sum = vaddvq_f32(vaddq_f32(acc0, acc1));
        while i < n {
            sum += *q.get_unchecked(i) * f32::from(*c.get_unchecked(i));
            i += 1;
        }
        sum
    }

    #[target_feature(enable = "neon")]
    pub unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = vdupq_n_f32(0.0);
        let mut acc1 = vdupq_n_f32(0.0);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY (caller + loop bound): 8 floats of each slice are in bounds.
            acc0 = vfmaq_f32(acc0, vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
            acc1 = vfmaq_f32(acc1, vld1q_f32(pa.add(i + 4)), vld1q_f32(pb.add(i + 4)));
            i += 8;
        }
        let mut sum = vaddvq_f32(vaddq_f32(acc0, acc1));
        while i < n {
            sum += *a.get_unchecked(i) * *b.get_unchecked(i);
            i += 1;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn codes(rng: &mut impl Rng, n: usize) -> Vec<i8> {
        (0..n).map(|_| rng.gen_range(-127i8..=127)).collect()
    }

    #[test]
    fn popcount_kernels_equal_the_reference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        // 8-word blocks take the AVX-512 kernel where the CPU has it; other lengths the popcnt one.
        for words in [1, 2, 4, 7, 8, 9, 16, 24, 32] {
            for fill in [None, Some(0u64), Some(u64::MAX)] {
                let mut word = || fill.unwrap_or_else(|| rng.gen());
                let x: Vec<u64> = (0..words).map(|_| word()).collect();
                let planes: Vec<u64> = (0..4 * words).map(|_| word()).collect();
                assert_eq!(
                    plane_popcounts(&planes, &x),
                    scalar::plane_popcounts(&planes, &x),
                    "words={words} fill={fill:?}"
                );
            }
        }
    }

    #[test]
    fn simd_i8_equals_scalar_exactly() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        // Lengths hit every tail: below, at and past the 16/32/64 blocks; extremes included.
        for n in [0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 512, 513] {
            let a = codes(&mut rng, n);
            let b = codes(&mut rng, n);
            assert_eq!(dot_i8(&a, &b), scalar::dot_i8(&a, &b), "n={n}");
            let max = vec![127i8; n];
            let min = vec![-127i8; n];
            assert_eq!(dot_i8(&max, &min), scalar::dot_i8(&max, &min), "n={n} extremes");
            assert_eq!(dot_i8(&min, &min), scalar::dot_i8(&min, &min), "n={n} extremes");
        }
    }

    #[test]
    fn block_scan_equals_the_reference_exactly() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        // Dimensions below, at and past 64-byte blocks (512 and 704 are the embedders').
        for dim in [0, 1, 63, 64, 65, 100, 128, 512, 513, 704] {
            for n in [0, 1, 5, 64] {
                let q = codes(&mut rng, dim);
                let mut block = codes(&mut rng, n * dim);
                if n > 1 {
                    // Extremes: the bias trick must not overflow or saturate.
                    block[..dim].fill(-127);
                    block[dim..2 * dim].fill(127);
                }
                let mut out = vec![i32::MIN; n];
                dots_i8(&q, &block, &mut out);
                let want: Vec<i32> = (0..n).map(|j| scalar::dot_i8(&q, &block[j * dim..(j + 1) * dim])).collect();
                assert_eq!(out, want, "dim={dim} n={n} kernel={}", scan_isa());
            }
        }
    }

    #[test]
    fn nibble_scan_equals_the_reference_exactly() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        // Rows of 32 bytes (a half AVX-512 load), 64, 352 (704-d) and 256 (512-d).
        for row in [0, 32, 64, 96, 256, 352] {
            for n in [0, 1, 5, 64] {
                let lo = codes(&mut rng, row);
                let hi = codes(&mut rng, row);
                let mut rows: Vec<u8> = (0..n * row).map(|_| rng.gen()).collect();
                if n > 1 {
                    // Extremes: all nibbles 15 against ±127 weights must not saturate.
                    rows[..row].fill(0xFF);
                }
                let mut out = vec![i32::MIN; n];
                dots_u4(&lo, &hi, &rows, &mut out);
                let mut want = vec![0; n];
                scalar::dots_u4(&lo, &hi, &rows, &mut want);
                assert_eq!(out, want, "row={row} n={n} kernel={}", scan_isa());
                // The AVX2 kernel too, where the dispatch picked AVX-512.
                #[cfg(target_arch = "x86_64")]
                if row > 0 && is_x86_feature_detected!("avx2") {
                    let mut avx2 = vec![i32::MIN; n];
                    // SAFETY: AVX2 was detected above; rows of `row` bytes (a multiple of 32),
                    // n of them, as the kernel requires.
                    unsafe { avx2::dots_u4(&lo, &hi, &rows, &mut avx2) };
                    assert_eq!(avx2, want, "row={row} n={n} avx2");
                }
                let (max, min) = (vec![127i8; row], vec![-127i8; row]);
                dots_u4(&max, &min, &rows, &mut out);
                scalar::dots_u4(&max, &min, &rows, &mut want);
                assert_eq!(out, want, "row={row} n={n} extremes");
            }
        }
    }

    #[test]
    fn simd_f32_kernels_equal_scalar_within_tolerance() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 100, 512, 513] {
            let q: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let r: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let c = codes(&mut rng, n);
            // Tolerance: 1e-5 of the sum of |products| (reordered f32 additions).
            let mag: f32 = q.iter().zip(&r).map(|(x, y)| (x * y).abs()).sum::<f32>() + 1e-6;
            assert!((dot_f32(&q, &r) - scalar::dot_f32(&q, &r)).abs() <= 1e-5 * mag, "n={n}");
            let mag: f32 = q.iter().zip(&c).map(|(x, &y)| (x * f32::from(y)).abs()).sum::<f32>() + 1e-6;
            assert!((dot_f32_i8(&q, &c) - scalar::dot_f32_i8(&q, &c)).abs() <= 1e-5 * mag, "n={n}");
        }
    }
}
