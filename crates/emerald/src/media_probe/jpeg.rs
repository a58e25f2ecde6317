//! A JPEG's marker structure walked from SOI to EOI (ITU-T T.81 annex B) as its bytes arrive, in
//! chunks of any size: the upload path feeds it the chunks it receives, so a JPEG is checked
//! without reading the stored file back. Written here because the decoders on crates.io either
//! decode every pixel (zune-jpeg, jpeg-decoder) or stop at the first scan (img-parts); none checks
//! the whole file without decoding it, and none takes its input in pieces.
//!
//! What is checked: every segment's length; one frame header the engine can decode (baseline,
//! extended or progressive Huffman; sides within [`IMAGE_MAX_SIDE`]); scans only after it; entropy
//! coded data that holds no stray marker; and the end-of-image marker (a cut file has none).
//! Bytes after EOI (camera trailers) are allowed.

use super::IMAGE_MAX_SIDE;

/// Bytes of a frame header kept to check it: precision, height, width, component count and
/// three bytes per component, at most four components.
const FRAME_HEADER_KEPT: usize = 6 + 3 * 4;

/// The walk over one JPEG. [`JpegWalk::feed`] the bytes in order, then [`JpegWalk::finish`].
#[derive(Debug)]
pub struct JpegWalk {
    state: State,
    /// Bytes fed so far: positions in messages are offsets in the file.
    pos: u64,
    frame: Option<(u32, u32)>,
    scans: usize,
    /// The first error; the rest of the input is ignored.
    error: Option<String>,
}

#[derive(Debug)]
enum State {
    /// The first two bytes (FF D8), `matched` of them seen.
    Start { matched: u8 },
    /// Where a marker must begin: a 0xFF.
    MarkerStart,
    /// After a marker's 0xFF: fill bytes (0xFF) or the marker code. `at`: offset of the last 0xFF.
    MarkerCode { at: u64 },
    /// The two bytes of a segment's length.
    Length { code: u8, at: u64, first: Option<u8> },
    /// Inside a segment of `len` bytes (the length field included), `left` of them unread.
    Segment { code: u8, at: u64, len: usize, left: usize, kept: Vec<u8> },
    /// Entropy-coded data of a scan; `after_ff` when the last byte was a 0xFF (or fill byte).
    Entropy { after_ff: bool, ff_at: u64 },
    /// After EOI.
    End,
}

const CUT_SHORT: &str = "the file is cut short (no end-of-image marker)";

impl Default for JpegWalk {
    fn default() -> Self {
        JpegWalk { state: State::Start { matched: 0 }, pos: 0, frame: None, scans: 0, error: None }
    }
}

impl JpegWalk {
    pub fn new() -> JpegWalk {
        JpegWalk::default()
    }

    /// Whether the walk has already failed (the remaining bytes need not be fed).
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The next bytes of the file.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.error.is_none() {
            let used = match self.step(bytes) {
                Ok(used) => used,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            };
            self.pos += used as u64;
            bytes = &bytes[used..];
        }
    }

    /// The end of the file: the frame's (width, height), or why the file is not an acceptable JPEG.
    pub fn finish(self) -> Result<(u32, u32), String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.state {
            State::End => match (self.frame, self.scans) {
                (None, _) => Err("no frame header".into()),
                (_, 0) => Err("no image data (no scan)".into()),
                (Some(size), _) => Ok(size),
            },
            State::Start { .. } => Err("not a JPEG (no start-of-image marker)".into()),
            State::MarkerStart | State::MarkerCode { .. } | State::Entropy { .. } => Err(CUT_SHORT.into()),
            State::Length { .. } => Err("the file is cut short inside a header".into()),
            State::Segment { code, at, .. } => {
                Err(format!("segment 0x{code:02X} at byte {at} runs past the end of the file"))
            }
        }
    }

    /// Consume a prefix of `b` (never empty) and return its length.
    fn step(&mut self, b: &[u8]) -> Result<usize, String> {
        let pos = self.pos;
        match &mut self.state {
            State::Start { matched } => {
                let want = [0xFF, 0xD8][*matched as usize];
                if b[0] != want {
                    return Err("not a JPEG (no start-of-image marker)".into());
                }
                *matched += 1;
                if *matched == 2 {
                    self.state = State::MarkerStart;
                }
                Ok(1)
            }
            State::MarkerStart => {
                if b[0] != 0xFF {
                    return Err(format!("expected a marker at byte {pos}"));
                }
                self.state = State::MarkerCode { at: pos };
                Ok(1)
            }
            State::MarkerCode { at } => {
                let code = b[0];
                if code == 0xFF {
                    *at = pos;
                    return Ok(1);
                }
                let at = *at;
                self.marker(code, at)?;
                Ok(1)
            }
            State::Length { code, at, first } => match *first {
                None => {
                    *first = Some(b[0]);
                    Ok(1)
                }
                Some(hi) => {
                    let (code, at) = (*code, *at);
                    let len = u16::from_be_bytes([hi, b[0]]) as usize;
                    if len < 2 {
                        return Err(format!("segment 0x{code:02X} at byte {at} runs past the end of the file"));
                    }
                    self.state = State::Segment { code, at, len, left: len - 2, kept: Vec::new() };
                    self.end_segment_if_read()?;
                    Ok(1)
                }
            },
            State::Segment { code, left, kept, .. } => {
                let take = (*left).min(b.len());
                if matches!(*code, 0xC0..=0xC2) && kept.len() < FRAME_HEADER_KEPT {
                    let room = FRAME_HEADER_KEPT - kept.len();
                    kept.extend_from_slice(&b[..take.min(room)]);
                }
                *left -= take;
                self.end_segment_if_read()?;
                Ok(take)
            }
            State::Entropy { after_ff, ff_at } => {
                if *after_ff {
                    match b[0] {
                        0xFF => *ff_at = pos,
                        0x00 | 0xD0..=0xD7 => *after_ff = false,
                        code => {
                            // The end of the scan: this 0xFF began the next marker.
                            let at = *ff_at;
                            self.marker(code, at)?;
                        }
                    }
                    return Ok(1);
                }
                match memchr::memchr(0xFF, b) {
                    Some(i) => {
                        self.state = State::Entropy { after_ff: true, ff_at: pos + i as u64 };
                        Ok(i + 1)
                    }
                    None => Ok(b.len()),
                }
            }
            State::End => Ok(b.len()),
        }
    }

    /// A marker code read after its 0xFF at `at`.
    fn marker(&mut self, code: u8, at: u64) -> Result<(), String> {
        self.state = match code {
            0xD9 => State::End,
            0x01 => State::MarkerStart,
            0xD8 => return Err(format!("a second start-of-image marker at byte {at}")),
            0xD0..=0xD7 | 0x00 => return Err(format!("a stray marker 0x{code:02X} at byte {at}")),
            _ => State::Length { code, at, first: None },
        };
        Ok(())
    }

    /// When the segment has been read whole, check it and move on.
    fn end_segment_if_read(&mut self) -> Result<(), String> {
        if !matches!(self.state, State::Segment { left: 0, .. }) {
            return Ok(());
        }
        let State::Segment { code, len, kept, .. } = std::mem::replace(&mut self.state, State::MarkerStart) else {
            return Ok(());
        };
        match code {
            // Frame headers the engine decodes: baseline, extended, progressive (Huffman).
            0xC0..=0xC2 => {
                if self.frame.is_some() {
                    return Err("more than one frame header".into());
                }
                let [_precision, h0, h1, w0, w1, components, ..] = kept[..] else {
                    return Err("the frame header is too short".into());
                };
                let (w, h) = (u16::from_be_bytes([w0, w1]) as u32, u16::from_be_bytes([h0, h1]) as u32);
                if w == 0 || h == 0 {
                    return Err(format!("the frame is {w}x{h} pixels"));
                }
                if w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE {
                    return Err(format!(
                        "the picture is {w}x{h} pixels; at most {IMAGE_MAX_SIDE} pixels a side are allowed"
                    ));
                }
                if !(1..=4).contains(&components) || len - 2 < 6 + 3 * components as usize {
                    return Err("the frame header is malformed".into());
                }
                self.frame = Some((w, h));
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err("unsupported JPEG coding (lossless, hierarchical or arithmetic)".into());
            }
            0xDA => {
                if self.frame.is_none() {
                    return Err("a scan before the frame header".into());
                }
                self.scans += 1;
                self.state = State::Entropy { after_ff: false, ff_at: 0 };
            }
            _ => {}
        }
        Ok(())
    }
}

/// Walk a whole JPEG held in memory: the frame's (width, height).
pub fn jpeg_structure(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut walk = JpegWalk::new();
    walk.feed(bytes);
    walk.finish()
}
