//! ZIP "shots sets": still frames in file-name order, with the archive's frame count and
//! decompressed size bounded so that a zip bomb is rejected before it is inflated. A set that
//! holds no image but a video (some SDKs zip their recording) is that video: its frames are
//! sampled as for an uploaded video.

use std::io::{Cursor, Read};

use image::RgbImage;
use zip::ZipArchive;

use crate::decode::{decode_image, sniff, MediaKind};
use crate::error::VisionError;
use crate::video::decode_video;

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
    // What each entry is, from its first bytes.
    let mut images = Vec::with_capacity(entries.len());
    let mut first_video = None;
    for (name, index) in &entries {
        let f = archive.by_index(*index).map_err(|e| VisionError::Decode(format!("zip: {e}")))?;
        let mut head = Vec::with_capacity(16);
        f.take(16).read_to_end(&mut head).map_err(|e| VisionError::Decode(format!("zip entry {name}: {e}")))?;
        match sniff(&head) {
            Some(MediaKind::Image) => images.push((name.clone(), *index)),
            Some(MediaKind::Video) if first_video.is_none() => first_video = Some((name.clone(), *index)),
            _ => {}
        }
    }
    if images.is_empty() {
        if let Some((name, index)) = first_video {
            let data = read_entry(&mut archive, &name, index)?;
            return decode_video(&data, max_frames).map(|v| v.frames).map_err(|e| match e {
                VisionError::Decode(m) => VisionError::Decode(format!("zip entry {name}: {m}")),
                VisionError::Unsupported(m) => VisionError::Unsupported(format!("zip entry {name}: {m}")),
                VisionError::TooLarge(m) => VisionError::TooLarge(format!("zip entry {name}: {m}")),
                other => other,
            });
        }
    }
    let entries = images;
    let picked = pick_evenly(entries.len(), max_frames.max(1));
    let mut frames = Vec::with_capacity(picked.len());
    let mut inflated_total = 0u64;
    for k in picked {
        let (name, index) = &entries[k];
        let data = read_entry(&mut archive, name, *index)?;
        inflated_total += data.len() as u64;
        if inflated_total > MAX_SHOTS_TOTAL_BYTES {
            return Err(VisionError::TooLarge(format!("zip entry {name} inflates beyond the limit")));
        }
        if sniff(&data) != Some(MediaKind::Image) {
            continue;
        }
        frames.push(decode_image(&data)?);
    }
    if frames.is_empty() {
        return Err(VisionError::Decode("shots set holds no JPEG, PNG, WebP or BMP image and no video".into()));
    }
    Ok(frames)
}

/// One entry's bytes. Declared sizes can lie: never more than the limit, whatever the header says.
fn read_entry(archive: &mut ZipArchive<Cursor<&[u8]>>, name: &str, index: usize) -> Result<Vec<u8>, VisionError> {
    let f = archive.by_index(index).map_err(|e| VisionError::Decode(format!("zip: {e}")))?;
    let mut data = Vec::new();
    f.take(MAX_SHOT_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| VisionError::Decode(format!("zip entry {name}: {e}")))?;
    if data.len() as u64 > MAX_SHOT_BYTES {
        return Err(VisionError::TooLarge(format!("zip entry {name} inflates beyond the limit")));
    }
    Ok(data)
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
