//! What a cosine means: cosine similarity → false-match rate → Oz 0..1 confidence.
//!
//! Each embedder has a measured **false-match curve**: the cosine above which a given share of
//! impostor pairs lie (`log10 FMR` at that cosine), measured on every cross-identity pair of
//! faces-dev (3,112 photos of 1,764 people: 4.84 M impostor pairs), interpolated linearly in
//! between and extended with the slope of the last segment beyond. Confidence is then a
//! logistic in `−log10` of the chance of a false accept, anchored at two stated operating
//! points, so that Oz's default threshold 0.85 means the same thing whatever the model:
//!
//! - **1:1 (BIOMETRY)**: 0.85 ↔ FMR 5·10⁻⁴, 0.5 ↔ FMR 10⁻²;
//! - **1:N (COLLECTION)**: the chance that a stranger hits *some* template of a gallery of `N`
//!   is about `FPIR = N · FMR`; 0.85 ↔ FPIR 3·10⁻³, 0.5 ↔ FPIR 3·10⁻², so a larger gallery needs
//!   a higher cosine for the same confidence.
//!
//! Why these points, and what they give on faces-dev: `docs/accuracy.md`. Tail figures below
//! 10⁻⁵ rest on few distinct photos and are extrapolations beyond 10⁻⁶ — treat them as such.

/// Oz's default decision threshold on the confidence scale (BIOMETRY, COLLECTION).
pub const OZ_DEFAULT_THRESHOLD: f32 = 0.85;

/// A logistic in `x = −log10(p)`: confidence 0.5 at `x50`, [`OZ_DEFAULT_THRESHOLD`] at `x85`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchors {
    pub x50: f32,
    pub x85: f32,
}

/// 1:1: 0.5 ↔ FMR 10⁻², 0.85 ↔ FMR 5·10⁻⁴.
pub const VERIFY_ANCHORS: Anchors = Anchors { x50: 2.0, x85: 3.301_03 };
/// 1:N: 0.5 ↔ FPIR 3·10⁻², 0.85 ↔ FPIR 3·10⁻³ — the false-hit bound a blacklist is asked to
/// keep (≤ 0.3 % of innocent customers flagged); at 10⁻³ the same gallery found about 4 % fewer
/// of its people on faces-dev.
pub const SEARCH_ANCHORS: Anchors = Anchors { x50: 1.522_879, x85: 2.522_879 };

fn logit(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

impl Anchors {
    fn slope(&self) -> f32 {
        logit(OZ_DEFAULT_THRESHOLD) / (self.x85 - self.x50)
    }

    /// Confidence for `x = −log10 p`.
    pub fn confidence(&self, x: f32) -> f32 {
        let z = self.slope() * (x - self.x50);
        1.0 / (1.0 + (-z).exp())
    }

    /// `x` whose confidence is `c` (inverse of [`Anchors::confidence`]); None outside (0, 1).
    pub fn x_for(&self, c: f32) -> Option<f32> {
        (c > 0.0 && c < 1.0).then(|| self.x50 + logit(c) / self.slope())
    }
}

/// An embedder's false-match curve: `(cosine, log10 FMR)` points, cosine strictly increasing and
/// `log10 FMR` strictly decreasing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub curve: &'static [(f32, f32)],
}

impl Calibration {
    /// `log10 FMR` at `cosine` (≤ 0).
    pub fn log10_fmr(&self, cosine: f32) -> f32 {
        let c = self.curve;
        let n = c.len();
        let seg = match c.iter().position(|(t, _)| cosine < *t) {
            Some(0) => 0,
            Some(i) => i - 1,
            None => n - 2,
        };
        let ((t0, l0), (t1, l1)) = (c[seg], c[seg + 1]);
        let l = l0 + (cosine - t0) * (l1 - l0) / (t1 - t0);
        l.min(0.0)
    }

    /// The cosine at which `log10 FMR` is `l` (inverse of [`Calibration::log10_fmr`] for l < 0).
    pub fn cosine_at(&self, l: f32) -> f32 {
        let c = self.curve;
        let n = c.len();
        let seg = match c.iter().position(|(_, m)| l > *m) {
            Some(0) => 0,
            Some(i) => i - 1,
            None => n - 2,
        };
        let ((t0, l0), (t1, l1)) = (c[seg], c[seg + 1]);
        t0 + (l - l0) * (t1 - t0) / (l1 - l0)
    }

    /// The curve's first cosine: below it almost every impostor scores higher, so the rate
    /// says nothing more and confidence falls linearly to 0 at cosine −1 instead.
    fn floor(&self) -> f32 {
        self.curve[0].0
    }

    /// `anchors`' confidence for a cosine whose false-accept rate is `offset + log10 FMR`,
    /// tapered linearly to 0 at cosine −1 below the curve.
    fn confidence(&self, anchors: &Anchors, cosine: f32, offset: f32) -> f32 {
        if cosine.is_nan() {
            return 0.0;
        }
        let cosine = cosine.clamp(-1.0, 1.0);
        let at = |c: f32| anchors.confidence(-(self.log10_fmr(c) + offset));
        let floor = self.floor();
        if cosine >= floor {
            at(cosine)
        } else {
            at(floor) * (cosine + 1.0) / (floor + 1.0)
        }
    }

    /// The inverse of [`Calibration::confidence`]; None outside (0, 1).
    fn cosine_for(&self, anchors: &Anchors, confidence: f32, offset: f32) -> Option<f32> {
        let x = anchors.x_for(confidence)?;
        let floor = self.floor();
        let at_floor = anchors.confidence(-(self.log10_fmr(floor) + offset));
        Some(if confidence >= at_floor {
            self.cosine_at(-x - offset)
        } else {
            confidence / at_floor * (floor + 1.0) - 1.0
        })
    }

    /// Oz confidence that two faces of cosine `cosine` are the same person (1:1).
    pub fn verify_confidence(&self, cosine: f32) -> f32 {
        self.confidence(&VERIFY_ANCHORS, cosine, 0.0)
    }

    /// The cosine whose 1:1 confidence is `confidence`; None outside (0, 1).
    pub fn verify_cosine(&self, confidence: f32) -> Option<f32> {
        self.cosine_for(&VERIFY_ANCHORS, confidence, 0.0)
    }

    /// Oz confidence that a 1:N hit of cosine `cosine` among `gallery` templates is the person
    /// (FPIR ≈ gallery · FMR).
    pub fn search_confidence(&self, cosine: f32, gallery: usize) -> f32 {
        self.confidence(&SEARCH_ANCHORS, cosine, (gallery.max(1) as f32).log10())
    }

    /// The cosine whose 1:N confidence among `gallery` templates is `confidence`.
    pub fn search_cosine(&self, confidence: f32, gallery: usize) -> Option<f32> {
        self.cosine_for(&SEARCH_ANCHORS, confidence, (gallery.max(1) as f32).log10())
    }
}

/// Measured on faces-dev (every cross-identity pair, the dominant face of each photo, aligned by
/// ONet's points since 2026-12-07: the impostor curve moved by at most 0.001 up to 10⁻⁵), by
/// `bench/accuracy.sh`; see `docs/accuracy.md`.
pub const FUSED_CALIBRATION: Calibration = Calibration {
    curve: &[
        (0.057, -0.5),
        (0.1462, -1.0),
        (0.2142, -1.5),
        (0.2714, -2.0),
        (0.3215, -2.5),
        (0.3655, -3.0),
        (0.4048, -3.5),
        (0.4413, -4.0),
        (0.4741, -4.5),
        (0.5046, -5.0),
        (0.5279, -5.5),
        (0.5707, -6.0),
    ],
};

/// fr_feature alone (see [`FUSED_CALIBRATION`]).
pub const FR_FEATURE_CALIBRATION: Calibration = Calibration {
    curve: &[
        (0.0525, -0.5),
        (0.1333, -1.0),
        (0.1954, -1.5),
        (0.2489, -2.0),
        (0.2971, -2.5),
        (0.3402, -3.0),
        (0.3793, -3.5),
        (0.4171, -4.0),
        (0.4491, -4.5),
        (0.4803, -5.0),
        (0.5043, -5.5),
        (0.531, -6.0),
    ],
};

/// sirius-ai MobileFaceNet alone (see [`FUSED_CALIBRATION`]).
pub const SIRIUS_MFN_CALIBRATION: Calibration = Calibration {
    curve: &[
        (0.0809, -0.5),
        (0.1988, -1.0),
        (0.2822, -1.5),
        (0.3487, -2.0),
        (0.4043, -2.5),
        (0.4514, -3.0),
        (0.495, -3.5),
        (0.533, -4.0),
        (0.5681, -4.5),
        (0.5963, -5.0),
        (0.6255, -5.5),
        (0.6478, -6.0),
    ],
};

/// Cosine (dot product) of two unit vectors of the same length; `None` if lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f32> {
    (a.len() == b.len() && !a.is_empty()).then(|| a.iter().zip(b).map(|(x, y)| x * y).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Calibration; 3] = [FUSED_CALIBRATION, FR_FEATURE_CALIBRATION, SIRIUS_MFN_CALIBRATION];

    #[test]
    fn curves_are_strictly_monotonic() {
        for cal in ALL {
            for w in cal.curve.windows(2) {
                assert!(w[0].0 < w[1].0 && w[0].1 > w[1].1, "{w:?}");
            }
        }
    }

    #[test]
    fn confidences_are_monotonic_and_invert() {
        for cal in ALL {
            let mut prev = (-1.0, -1.0);
            for i in -100..=100 {
                let cos = i as f32 / 100.0;
                let (v, s) = (cal.verify_confidence(cos), cal.search_confidence(cos, 300));
                assert!((0.0..=1.0).contains(&v) && (0.0..=1.0).contains(&s));
                // Strictly increasing until f32 saturates at 1.
                assert!(v > prev.0 || v > 0.9999, "verify not strictly monotonic at {cos}");
                assert!(s > prev.1 || s > 0.9999, "search not strictly monotonic at {cos}");
                prev = (v, s);
                if (0.001..0.99).contains(&v) {
                    let back = cal.verify_cosine(v).expect("in (0, 1)");
                    assert!((back - cos).abs() < 2e-3, "verify inverse at {cos}: {back}");
                }
                if (0.001..0.99).contains(&s) {
                    let back = cal.search_cosine(s, 300).expect("in (0, 1)");
                    assert!((back - cos).abs() < 2e-3, "search inverse at {cos}: {back}");
                }
            }
            assert_eq!(cal.verify_cosine(1.0), None);
        }
    }

    #[test]
    fn the_default_threshold_sits_at_the_stated_operating_points() {
        let cal = FUSED_CALIBRATION;
        // 1:1: 0.85 at FMR 5e-4, i.e. between the measured 1e-3 and 10^-3.5 points.
        let t = cal.verify_cosine(OZ_DEFAULT_THRESHOLD).expect("cosine");
        assert!((cal.log10_fmr(t) - (5e-4f32).log10()).abs() < 1e-3, "{t}");
        assert!(t > 0.3655 && t < 0.4048, "{t}");
        // 1:N: a larger gallery needs a higher cosine for 0.85 (FPIR 3e-3 = 100 · FMR 3e-5).
        let (small, large) = (cal.search_cosine(0.85, 100).unwrap(), cal.search_cosine(0.85, 100_000).unwrap());
        assert!(small < large);
        assert!((cal.log10_fmr(small) - (3e-5f32).log10()).abs() < 1e-3);
        assert!((cal.search_confidence(small, 100) - 0.85).abs() < 1e-4);
    }
}
