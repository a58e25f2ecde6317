//! Synthetic face templates for tests and benchmarks (no model, no data set).
//!
//! Two models:
//! - `Isotropic`: uniform random unit vectors. In 512-d they are nearly orthogonal (cosine std
//!   1/√512 ≈ 0.044) and have no neighbourhood structure: the worst case for any graph index.
//! - `Faces`: identities drawn from an anisotropic distribution (a random `latent`-dimensional
//!   subspace plus a weaker isotropic part), so that impostor cosines spread like a face model's
//!   (std ≈ 0.08–0.1 instead of 0.044). A probe of an enrolled identity is its template plus a
//!   fresh draw from the same distribution scaled by `noise`: cosine to its template ≈
//!   1/√(1 + noise²) (0.74 for noise 0.9), the way a new photo of an enrolled person lands.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub struct Synthetic {
    pub dim: usize,
    latent: usize,
    /// `dim × latent`, row-major; empty for the isotropic model.
    basis: Vec<f32>,
    iso: f32,
    pub rng: StdRng,
}

fn gauss(rng: &mut StdRng) -> f32 {
    // Box-Muller; one value per call is plenty here.
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

pub fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

impl Synthetic {
    pub fn isotropic(dim: usize, seed: u64) -> Self {
        Self { dim, latent: 0, basis: Vec::new(), iso: 1.0, rng: StdRng::seed_from_u64(seed) }
    }

    pub fn faces(dim: usize, seed: u64) -> Self {
        let latent = 128;
        let mut rng = StdRng::seed_from_u64(seed);
        let basis = (0..dim * latent).map(|_| gauss(&mut rng)).collect();
        Self { dim, latent, basis, iso: 0.35, rng }
    }

    pub fn describe(&self) -> String {
        if self.latent == 0 {
            format!("isotropic unit vectors, {}-d", self.dim)
        } else {
            format!(
                "faces: {}-d, {}-d latent subspace + {:.2} isotropic, probes = template + noise",
                self.dim, self.latent, self.iso
            )
        }
    }

    /// A unit template of a new identity.
    pub fn identity(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..self.dim).map(|_| gauss(&mut self.rng) * self.iso).collect();
        if self.latent > 0 {
            let z: Vec<f32> = (0..self.latent).map(|_| gauss(&mut self.rng)).collect();
            let s = 1.0 / (self.latent as f32).sqrt();
            for (i, out) in v.iter_mut().enumerate() {
                let row = &self.basis[i * self.latent..(i + 1) * self.latent];
                *out += s * row.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>();
            }
        }
        normalize(&mut v);
        v
    }

    /// A probe of the identity whose template is `of`.
    pub fn probe(&mut self, of: &[f32], noise: f32) -> Vec<f32> {
        let n = self.identity();
        let mut v: Vec<f32> = of.iter().zip(&n).map(|(a, b)| a + noise * b).collect();
        normalize(&mut v);
        v
    }
}

/// Exact top-k by the scalar f32 reference: (index, cosine), best first.
pub fn brute_force(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut all: Vec<(usize, f32)> =
        data.iter().enumerate().map(|(i, v)| (i, emerald_gallery::simd::scalar::dot_f32(v, q))).collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}
