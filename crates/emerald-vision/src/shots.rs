//! ZIP "shots sets": still frames in file-name order, with the archive's frame count and
//! decompressed size bounded so that a zip bomb is rejected before it is inflated.

use std::io::{Cursor, Read};

use image::RgbImage;
use zip::ZipArchive;

use crate::decode::{decode_image, sniff, MediaKind};
use crate::error::VisionError;

/// Most image entries a shots set may hold.
pub const MAX_SHOTS: usize = 100;
/// Most bytes one entry may inflate to.
pub const MAX_SHOT_BYTES: u64 = 32 << 20;
/// Most bytes all entries together may inflate to.
pub const MAX_SHOTS_TOTAL_BYTES: u64 = 256 << 20;
/// Most entries of any kind an archive may list.
pub const MAX_ENTRIES: usize = 1_000;

/// Decode up to `max_frames` frames, chosen evenly across the archive's images in name order.
pub fn decode_shots(bytes: &[u8], max_frames: usize) -> Result<Vec<RgbImage>, VisionError> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| VisionError::Decode(format!("zip: {e}")))?;
    if archive.len() > MAX_ENTRIES {
        return Err(VisionError::TooLarge(format!("zip lists {} entries (limit {MAX_ENTRIES})", archive.len())));
    }
    // Name, index and declared size of every plausible image entry.
    let mut entries = Vec::new();
    let mut declared_total = 0u64;
    for i in 0..archive.len() {
        let f = archive.by_index(i).map_err(|e| VisionError::Decode(format!("zip: {e}")))?;
        let name = f.name().to_owned();
        let hidden = name.rsplit('/').next().is_some_and(|base| base.starts_with('.')) || name.starts_with("__MACOSX");
        if f.is_dir() || hidden {
            continue;
        }
        if f.size() > MAX_SHOT_BYTES {
            return Err(VisionError::TooLarge(format!(
                "zip entry {name} inflates to {} bytes (limit {MAX_SHOT_BYTES})",
                f.size()
            )));
        }
        declared_total += f.size();
        entries.push((name, i));
    }
    if entries.len() > MAX_SHOTS {
        return Err(VisionError::TooLarge(format!("zip holds {} files (limit {MAX_SHOTS} frames)", entries.len())));
    }
    if declared_total > MAX_SHOTS_TOTAL_BYTES {
        return Err(VisionError::TooLarge(format!(
            "zip inflates to {declared_total} bytes (limit {MAX_SHOTS_TOTAL_BYTES})"
        )));
    }
    entries.sort();
    let picked = pick_evenly(entries.len(), max_frames.max(1));
    let mut frames = Vec::with_capacity(picked.len());
    let mut inflated_total = 0u64;
    for k in picked {
        let (name, index) = &entries[k];
        let f = archive.by_index(*index).map_err(|e| VisionError::Decode(format!("zip: {e}")))?;
        // Declared sizes can lie: never read more than the limit, whatever the header says.
        let mut data = Vec::new();
        f.take(MAX_SHOT_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| VisionError::Decode(format!("zip entry {name}: {e}")))?;
        inflated_total += data.len() as u64;
        if data.len() as u64 > MAX_SHOT_BYTES || inflated_total > MAX_SHOTS_TOTAL_BYTES {
            return Err(VisionError::TooLarge(format!("zip entry {name} inflates beyond the limit")));
        }
        if sniff(&data) != Some(MediaKind::Image) {
            continue;
        }
        frames.push(decode_image(&data)?);
    }
    if frames.is_empty() {
        return Err(VisionError::Decode("shots set holds no JPEG, PNG, WebP or BMP image".into()));
    }
    Ok(frames)
}

/// `k` indices spread evenly over `0..n` (all of them when `n ≤ k`).
pub fn pick_evenly(n: usize, k: usize) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    let mut v: Vec<usize> = (0..k).map(|j| ((2 * j + 1) * n) / (2 * k)).collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_evenly_spreads_and_bounds() {
        assert_eq!(pick_evenly(3, 6), vec![0, 1, 2]);
        assert_eq!(pick_evenly(10, 2), vec![2, 7]);
        assert_eq!(pick_evenly(100, 4).len(), 4);
    }

    #[test]
    fn not_a_zip_is_a_decode_error() {
        assert!(matches!(decode_shots(b"PK\x03\x04garbage", 4), Err(VisionError::Decode(_))));
    }
}
