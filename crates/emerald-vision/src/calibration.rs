//! Cosine similarity → Oz 0..1 confidence.
//!
//! A logistic curve, monotonic in the cosine, anchored so that the cosine chosen as the decision
//! point on faces-dev (`MATCH_COSINE`) maps to Oz's default threshold 0.85. The same mapping
//! serves 1:1 biometry and blacklist search. How it was chosen and its limits: `docs/vision.md`.

/// Oz's default decision threshold on the confidence scale.
pub const OZ_DEFAULT_THRESHOLD: f32 = 0.85;
/// The cosine taken as "same person" (maps to `OZ_DEFAULT_THRESHOLD`).
pub const MATCH_COSINE: f32 = 0.45;
/// Steepness of the logistic, per unit cosine.
pub const SLOPE: f32 = 12.0;

/// Oz confidence for a cosine similarity between two unit embeddings. Monotonic increasing,
/// in (0, 1), and `similarity_to_confidence(MATCH_COSINE) == 0.85`.
pub fn similarity_to_confidence(cosine: f32) -> f32 {
    if cosine.is_nan() {
        return 0.0;
    }
    // Offset so that the curve passes through (MATCH_COSINE, 0.85).
    let logit_at_threshold = (OZ_DEFAULT_THRESHOLD / (1.0 - OZ_DEFAULT_THRESHOLD)).ln();
    let z = SLOPE * (cosine.clamp(-1.0, 1.0) - MATCH_COSINE) + logit_at_threshold;
    1.0 / (1.0 + (-z).exp())
}

/// The cosine whose confidence is `confidence` (the inverse of [`similarity_to_confidence`]),
/// for turning a confidence threshold into a cosine floor for 1:N search. `None` outside (0, 1).
pub fn confidence_to_similarity(confidence: f32) -> Option<f32> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return None;
    }
    let logit = |p: f32| (p / (1.0 - p)).ln();
    Some(MATCH_COSINE + (logit(confidence) - logit(OZ_DEFAULT_THRESHOLD)) / SLOPE)
}

/// Cosine (dot product) of two unit vectors of the same length; `None` if lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f32> {
    (a.len() == b.len() && !a.is_empty()).then(|| a.iter().zip(b).map(|(x, y)| x * y).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_maps_to_oz_default_and_curve_is_monotonic() {
        assert!((similarity_to_confidence(MATCH_COSINE) - OZ_DEFAULT_THRESHOLD).abs() < 1e-5);
        let mut prev = -1.0;
        for i in -100..=100 {
            let c = similarity_to_confidence(i as f32 / 100.0);
            assert!(c > prev && (0.0..=1.0).contains(&c));
            prev = c;
            let back = confidence_to_similarity(c).expect("in (0, 1)");
            assert!((back - i as f32 / 100.0).abs() < 1e-3, "inverse at {i}: {back}");
        }
        assert_eq!(confidence_to_similarity(1.0), None);
    }
}
