//! Active liveness: when a video's tags say a gesture was asked for (`video_selfie_eyes`,
//! `_smile`, `_left`, `_right`, `_down`, `_high`), check from the face's landmarks and aligned
//! crops across frames that it happened. A gesture that did not happen is an attack signal.
//!
//! These are heuristics over 5 landmarks, not a trained model; the thresholds below are named
//! so they can be tuned, and `docs/vision.md` states their limits. Turns are judged by their
//! size, not their side, because front cameras may or may not mirror the picture.

use crate::quality::Quality;

/// Head turn (yaw ratio range) that counts as a left/right turn.
pub const TURN_MIN: f32 = 0.22;
/// Nod (pitch ratio change) that counts as looking down or up.
pub const NOD_MIN: f32 = 0.12;
/// Relative growth of mouth width that counts as a smile.
pub const SMILE_MIN: f32 = 0.12;
/// Relative drop of eye-region contrast that counts as a blink.
pub const BLINK_MIN: f32 = 0.22;

/// A gesture the user was asked to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gesture {
    Blink,
    Smile,
    TurnLeft,
    TurnRight,
    HeadDown,
    HeadUp,
}

impl Gesture {
    /// The gesture an Oz media tag asks for, if any.
    pub fn from_tag(tag: &str) -> Option<Gesture> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "video_selfie_eyes" | "video_selfie_blink" => Some(Gesture::Blink),
            "video_selfie_smile" => Some(Gesture::Smile),
            "video_selfie_left" => Some(Gesture::TurnLeft),
            "video_selfie_right" => Some(Gesture::TurnRight),
            "video_selfie_down" => Some(Gesture::HeadDown),
            "video_selfie_high" => Some(Gesture::HeadUp),
            _ => None,
        }
    }

    /// The first gesture named by any of `tags`.
    pub fn from_tags<S: AsRef<str>>(tags: &[S]) -> Option<Gesture> {
        tags.iter().find_map(|t| Gesture::from_tag(t.as_ref()))
    }
}

/// The outcome of a gesture check.
#[derive(Debug, Clone, PartialEq)]
pub struct GestureCheck {
    pub gesture: Gesture,
    /// Whether the gesture was seen.
    pub performed: bool,
    /// The observed change (same unit as `threshold`).
    pub evidence: f32,
    pub threshold: f32,
    /// Frames with a face that the check looked at.
    pub frames: usize,
}

/// Check `gesture` over the main face's quality measures, one per frame with a face.
pub fn check(gesture: Gesture, frames: &[Quality]) -> GestureCheck {
    let range = |f: fn(&Quality) -> f32| {
        let vals: Vec<f32> = frames.iter().map(f).collect();
        let min = vals.iter().copied().fold(f32::INFINITY, f32::min);
        let max = vals.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        (min, max)
    };
    let (evidence, threshold) = if frames.len() < 2 {
        (0.0, 0.0)
    } else {
        match gesture {
            Gesture::TurnLeft | Gesture::TurnRight => {
                let (min, max) = range(|q| q.yaw);
                (max - min, TURN_MIN)
            }
            Gesture::HeadDown => {
                let (min, max) = range(|q| q.pitch);
                (max - min.min(0.0), NOD_MIN)
            }
            Gesture::HeadUp => {
                let (min, max) = range(|q| q.pitch);
                (max.max(0.0) - min, NOD_MIN)
            }
            Gesture::Smile => {
                let (min, max) = range(|q| q.mouth_ratio);
                (if min > 0.0 { max / min - 1.0 } else { 0.0 }, SMILE_MIN)
            }
            Gesture::Blink => {
                let (min, max) = range(|q| q.eye_contrast);
                (if max > 0.0 { 1.0 - min / max } else { 0.0 }, BLINK_MIN)
            }
        }
    };
    GestureCheck {
        gesture,
        performed: frames.len() >= 2 && evidence >= threshold,
        evidence,
        threshold,
        frames: frames.len(),
    }
}
