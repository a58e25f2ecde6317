//! The `ffmpeg` child process that decodes videos: where the binary is, and one bounded run of it.
//!
//! Decoding untrusted video happens in a separate process, so that a decoder crash, hang or
//! memory blow-up costs that process and never the server: the run is killed after a wall-clock
//! limit, FFmpeg's own `-timelimit` caps its CPU time (`RLIMIT_CPU`) and `-max_alloc` any single
//! allocation, its output is read only up to a fixed number of frames of a bounded size, and its
//! environment is emptied. Which inputs, protocols, demuxers and decoders it may use is set by
//! the caller (`video.rs`).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use image::RgbImage;

use crate::error::VisionError;

/// Environment variable naming the `ffmpeg` binary to use.
pub const FFMPEG_ENV: &str = "EMERALD_FFMPEG";

/// How to get a decoder when none is found.
pub const FFMPEG_HINT: &str = "run `scripts/fetch-ffmpeg.sh` (fetches FFmpeg 9.0.2 from the PyPI package \
     imageio-ffmpeg==0.8.1 into ~/.cache/emerald/ffmpeg; no root needed), or `apt-get install ffmpeg`, or set \
     EMERALD_FFMPEG (--ffmpeg) to an ffmpeg binary, version 5.1 or later";

/// Oldest FFmpeg whose command line (`-fps_mode`, the select filter's variables) we use.
const MIN_VERSION: (u32, u32) = (5, 1);
/// Most bytes of FFmpeg's log kept (the rest is read and dropped).
const MAX_LOG_BYTES: usize = 256 << 10;

/// A usable `ffmpeg` binary.
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    pub path: PathBuf,
    /// As it prints it (`9.0.2`, `5.1.6-0+deb12u1`, …).
    pub version: String,
}

static CONFIGURED: OnceLock<Option<PathBuf>> = OnceLock::new();
static RESOLVED: OnceLock<Result<Ffmpeg, String>> = OnceLock::new();

/// Choose the `ffmpeg` binary of this process (the server's `--ffmpeg`); `None` looks in the usual
/// places: `EMERALD_FFMPEG`, `~/.cache/emerald/ffmpeg/ffmpeg` (from `scripts/fetch-ffmpeg.sh`),
/// then `ffmpeg` on `PATH`. Only the first call counts, and only if no video was decoded before.
/// Returns the binary found, or why there is none and how to get one.
pub fn configure_ffmpeg(path: Option<PathBuf>) -> Result<Ffmpeg, String> {
    let _ = CONFIGURED.set(path);
    ffmpeg_status()
}

/// The `ffmpeg` this process uses, or why there is none and how to get one.
pub fn ffmpeg_status() -> Result<Ffmpeg, String> {
    resolved().clone()
}

pub(crate) fn ffmpeg() -> Result<&'static Ffmpeg, VisionError> {
    resolved().as_ref().map_err(|why| VisionError::DecoderMissing(why.clone()))
}

fn resolved() -> &'static Result<Ffmpeg, String> {
    RESOLVED.get_or_init(|| {
        let configured = CONFIGURED.get_or_init(|| None).clone();
        let env = std::env::var_os(FFMPEG_ENV).filter(|p| !p.is_empty()).map(PathBuf::from);
        if let Some(path) = configured.or(env) {
            return check(&path).map_err(|why| format!("{why}; {FFMPEG_HINT}"));
        }
        let mut tried = Vec::new();
        let cache = cache_dir().join("ffmpeg").join("ffmpeg");
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).map(|d| d.join("ffmpeg")).find(|f| f.is_file()))
            .unwrap_or_default();
        for candidate in std::iter::once(cache.clone()).chain(on_path) {
            if !candidate.exists() {
                continue;
            }
            match check(&candidate) {
                Ok(found) => return Ok(found),
                Err(why) => tried.push(why),
            }
        }
        if tried.is_empty() {
            tried.push(format!("no ffmpeg at {} nor on PATH", cache.display()));
        }
        Err(format!("{}; {FFMPEG_HINT}", tried.join("; ")))
    })
}

fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("emerald");
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("emerald")
}

/// Run `path -version` and check the version.
fn check(path: &Path) -> Result<Ffmpeg, String> {
    let args = ["-hide_banner", "-version"].map(OsString::from);
    let (out, run) = spawn_bounded(path, &args, Duration::from_secs(20), |stdout| Ok(read_log(stdout)))
        .map_err(|e| format!("ffmpeg at {} cannot be run: {e}", path.display()))?;
    let out = out?;
    if !run.success {
        return Err(format!("ffmpeg at {} cannot be run: {}", path.display(), run.log.trim()));
    }
    let version = out
        .lines()
        .find_map(|l| l.strip_prefix("ffmpeg version "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .ok_or_else(|| format!("{} does not look like ffmpeg (no version line)", path.display()))?;
    if let Some(found) = parse_version(&version) {
        if found < MIN_VERSION {
            return Err(format!(
                "ffmpeg at {} is version {version}; {}.{} or later is needed",
                path.display(),
                MIN_VERSION.0,
                MIN_VERSION.1
            ));
        }
    }
    Ok(Ffmpeg { path: path.to_path_buf(), version })
}

/// `9.0.2` → (9, 0); `n7.1` → (7, 1); `5.1.6-0+deb12u1` → (5, 1); git builds (`N-1234-g…`) → None.
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let v = v.strip_prefix('n').unwrap_or(v);
    let mut parts = v.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// How a run ended.
pub(crate) struct Run {
    /// Its log (standard error), at most `MAX_LOG_BYTES`.
    pub log: String,
    /// It was killed at the wall-clock limit.
    pub timed_out: bool,
    pub success: bool,
}

impl Ffmpeg {
    /// Run with `args`, reading at most `max_frames` binary PPM frames from its standard output;
    /// killed after `wall`. `Err` when it cannot be started; the frames are `Err` when it wrote
    /// something else (or was killed in the middle of a frame).
    pub(crate) fn frames(
        &self,
        args: &[OsString],
        max_frames: usize,
        wall: Duration,
    ) -> Result<(Result<Vec<RgbImage>, String>, Run), String> {
        self.frames_up_to(args, max_frames, MAX_OUTPUT_SIDE, wall)
    }

    /// As [`Ffmpeg::frames`], with frames of at most `max_side` pixels a side.
    pub(crate) fn frames_up_to(
        &self,
        args: &[OsString],
        max_frames: usize,
        max_side: u32,
        wall: Duration,
    ) -> Result<(Result<Vec<RgbImage>, String>, Run), String> {
        spawn_bounded(&self.path, args, wall, |stdout| read_frames(stdout, max_frames, max_side))
    }

    /// Run with `args` for its log alone (standard output is read and dropped); killed after
    /// `wall`. `Err` when it cannot be started.
    pub(crate) fn log(&self, args: &[OsString], wall: Duration) -> Result<Run, String> {
        let drain = |stdout: std::process::ChildStdout| {
            std::io::copy(&mut stdout.take(MAX_LOG_BYTES as u64), &mut std::io::sink()).map_err(|e| e.to_string())
        };
        spawn_bounded(&self.path, args, wall, drain).map(|(_, run)| run)
    }
}

/// Spawn `path args` with an empty environment, hand its standard output to `read`, keep its log,
/// and kill it if it runs longer than `wall` (or if `read` fails). `Err` when it cannot be started.
fn spawn_bounded<T>(
    path: &Path,
    args: &[OsString],
    wall: Duration,
    read: impl FnOnce(std::process::ChildStdout) -> Result<T, String>,
) -> Result<(Result<T, String>, Run), String> {
    let mut child = Command::new(path)
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("no pipes to the child process".into());
    };
    let child = Arc::new(Mutex::new(child));
    let log = std::thread::spawn(move || read_log(stderr));
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = {
        let child = child.clone();
        std::thread::spawn(move || match finished.recv_timeout(wall) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Not waited for yet, so the process id still names our child.
                let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
                true
            }
            _ => false,
        })
    };
    let out = read(stdout);
    if out.is_err() {
        let _ = child.lock().unwrap_or_else(|p| p.into_inner()).kill();
    }
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let status = child.lock().unwrap_or_else(|p| p.into_inner()).wait().map_err(|e| e.to_string())?;
    let log = log.join().unwrap_or_default();
    Ok((out, Run { log, timed_out, success: status.success() }))
}

/// Largest side of a frame read back (the caller scales frames down to fit).
const MAX_OUTPUT_SIDE: u32 = 4096;

fn read_log(stderr: impl Read) -> String {
    let mut kept = Vec::new();
    let mut reader = BufReader::new(stderr);
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = MAX_LOG_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// Binary PPM frames (`P6`, 8-bit) one after another, until the end of the stream.
fn read_frames(stdout: impl Read, max_frames: usize, max_side: u32) -> Result<Vec<RgbImage>, String> {
    let mut r = BufReader::with_capacity(1 << 20, stdout);
    let mut frames = Vec::new();
    loop {
        if r.fill_buf().map_err(|e| e.to_string())?.is_empty() {
            return Ok(frames);
        }
        if frames.len() == max_frames {
            return Err(format!("the decoder wrote more than the {max_frames} frames asked for"));
        }
        let magic = token(&mut r)?;
        let (w, h, maxval) = (token(&mut r)?, token(&mut r)?, token(&mut r)?);
        if magic != "P6" || maxval != "255" {
            return Err(format!("unexpected frame header {magic} … {maxval}"));
        }
        let (w, h): (u32, u32) = match (w.parse(), h.parse()) {
            (Ok(w), Ok(h)) if (1..=max_side).contains(&w) && (1..=max_side).contains(&h) => (w, h),
            _ => return Err(format!("frame of {w}×{h} pixels")),
        };
        let mut data = vec![0u8; w as usize * h as usize * 3];
        r.read_exact(&mut data).map_err(|e| format!("frame cut short: {e}"))?;
        frames.push(RgbImage::from_raw(w, h, data).ok_or("frame buffer size")?);
    }
}

/// One whitespace-delimited header token, and the single whitespace after it.
fn token(r: &mut impl BufRead) -> Result<String, String> {
    let mut t = String::new();
    let mut byte = [0u8; 1];
    loop {
        r.read_exact(&mut byte).map_err(|e| format!("frame header cut short: {e}"))?;
        let c = byte[0];
        if c.is_ascii_whitespace() {
            if t.is_empty() {
                continue;
            }
            return Ok(t);
        }
        if t.len() >= 16 {
            return Err("frame header token too long".into());
        }
        t.push(c as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("9.0.2"), Some((9, 0)));
        assert_eq!(parse_version("n7.1"), Some((7, 1)));
        assert_eq!(parse_version("5.1.6-0+deb12u1"), Some((5, 1)));
        assert_eq!(parse_version("4.4.2-0ubuntu0.22.04.1"), Some((4, 4)));
        assert_eq!(parse_version("N-112233-gabcdef"), None);
        assert!(parse_version("4.4").unwrap() < MIN_VERSION);
    }

    #[test]
    fn ppm_frames_are_read_and_bounded() {
        let mut stream = b"P6\n2 1\n255\n".to_vec();
        stream.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        stream.extend_from_slice(b"P6 1 1 255 ");
        stream.extend_from_slice(&[9, 9, 9]);
        let frames = read_frames(&stream[..], 2, 8).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].get_pixel(1, 0).0, [4, 5, 6]);
        assert!(read_frames(&stream[..], 1, 8).unwrap_err().contains("more than"));
        assert!(read_frames(&stream[..stream.len() - 1], 2, 8).unwrap_err().contains("cut short"));
        assert!(read_frames(&b"P6\n9999 1\n255\n"[..], 2, 8).is_err());
        assert!(read_frames(&b"P5\n1 1\n255\n\0"[..], 2, 8).is_err());
        assert!(read_frames(&b""[..], 2, 8).unwrap().is_empty());
    }
}
