//! Writing an upload's file into its spool file as the body arrives.
//!
//! Received bytes are copied into a 1 MiB buffer; each full buffer is written by one call on
//! the blocking pool, one write in flight while the next buffer fills, so a file is held in
//! memory two buffers at a time at most, whatever its size. The buffers are reused.
//!
//! On Linux the file is written with **direct I/O** (`O_DIRECT`) where the filesystem allows it,
//! as MinIO writes its objects: the device reads the buffer itself, and the kernel does not copy
//! every byte into the page cache. That copy was most of an upload's CPU time: 39 % of the
//! server's cycles under the upload benchmark, 2.2 ms per MB on a 2-vCPU VM, where freshly used
//! page-cache memory is also first touched by the guest (docs/folders.md). Uploaded originals are
//! read back rarely (analyses, a download), so the page cache gains little from holding them.
//! Direct writes need aligned memory, lengths and offsets ([`ALIGN`]): every write but the last
//! is a whole buffer; the last is padded to the alignment and the file then cut to its size.
//! Where the filesystem refuses direct I/O (tmpfs, some network or overlay filesystems), or a
//! direct write fails as unaligned, the file is written through the page cache as before.

use std::fs::File;
use std::io::{self, Write};
use std::sync::Mutex;

use tokio::task::JoinHandle;

/// Bytes per write (and per buffer).
pub const BATCH_BYTES: usize = 1 << 20;
/// Alignment of direct writes: memory address, length and file offset. 4096 covers devices
/// with 512-byte and 4 KiB logical blocks.
pub const ALIGN: usize = 4096;
/// Idle buffers kept for reuse (a fresh buffer costs page faults on first touch).
const POOL_MAX: usize = 16;

static POOL: Mutex<Vec<Buffer>> = Mutex::new(Vec::new());

/// A [`BATCH_BYTES`] buffer whose start is [`ALIGN`]-aligned.
struct Buffer {
    mem: Vec<u8>,
    /// Offset of the aligned start in `mem`.
    start: usize,
    /// Bytes filled.
    len: usize,
}

impl Buffer {
    fn take() -> Buffer {
        if let Some(b) = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return b;
        }
        let mem = vec![0u8; BATCH_BYTES + ALIGN];
        let start = mem.as_ptr().align_offset(ALIGN);
        Buffer { mem, start, len: 0 }
    }

    fn give_back(mut self) {
        self.len = 0;
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_MAX {
            pool.push(self);
        }
    }

    fn room(&self) -> usize {
        BATCH_BYTES - self.len
    }

    fn fill(&mut self, bytes: &[u8]) {
        let at = self.start + self.len;
        self.mem[at..at + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn filled(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }

    /// The filled bytes and zeros up to the next multiple of [`ALIGN`].
    fn padded(&mut self) -> &[u8] {
        let end = self.len.next_multiple_of(ALIGN);
        self.mem[self.start + self.len..self.start + end].fill(0);
        &self.mem[self.start..self.start + end]
    }
}

/// The file and how it is written, moved to the blocking pool for each write.
struct Target {
    file: File,
    direct: bool,
    /// Bytes written so far (the file's size).
    size: u64,
}

impl Target {
    /// Write a full buffer (or, with `last`, the final one, padded when direct).
    fn write(&mut self, buf: &mut Buffer, last: bool) -> io::Result<()> {
        let real = buf.len as u64;
        if self.direct {
            let padded = last && !buf.len.is_multiple_of(ALIGN);
            let bytes = if padded { buf.padded() } else { buf.filled() };
            match self.file.write_all(bytes) {
                Ok(()) => {
                    if padded {
                        self.file.set_len(self.size + real)?;
                    }
                    self.size += real;
                    return Ok(());
                }
                Err(e) if is_unaligned(&e) => self.stop_direct()?,
                Err(e) => return Err(e),
            }
        }
        self.file.write_all(buf.filled())?;
        self.size += real;
        Ok(())
    }

    /// Write through the page cache from here on, from where the direct writes ended.
    fn stop_direct(&mut self) -> io::Result<()> {
        set_direct(&self.file, false)?;
        self.direct = false;
        use std::io::Seek;
        self.file.set_len(self.size)?;
        self.file.seek(io::SeekFrom::Start(self.size)).map(drop)
    }
}

/// `EINVAL` is how Linux refuses a direct write (unaligned, or unsupported after all).
fn is_unaligned(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidInput
}

#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    let flags = fcntl_getfl(file)?;
    fcntl_setfl(file, if on { flags | OFlags::DIRECT } else { flags - OFlags::DIRECT })?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, on: bool) -> io::Result<()> {
    if on {
        Err(io::ErrorKind::Unsupported.into())
    } else {
        Ok(())
    }
}

/// Writes one file of an upload into its spool file; see the module documentation.
pub struct SpoolWriter {
    /// The file, when no write is in flight.
    target: Option<Target>,
    /// The write in flight; it hands back the file and its buffer.
    writing: Option<JoinHandle<io::Result<(Target, Buffer)>>>,
    /// The buffer being filled.
    buf: Buffer,
}

impl SpoolWriter {
    /// Direct I/O where the file's filesystem takes it.
    pub fn new(file: File) -> SpoolWriter {
        let direct = set_direct(&file, true).is_ok();
        SpoolWriter::with(file, direct)
    }

    /// A new spool file in `dir` (deleted when the path is dropped), created on the blocking
    /// pool: creating a file can take the filesystem a while (on ext4, an inode search).
    /// `direct`: try direct I/O ([`SpoolWriter::new`]); otherwise [`SpoolWriter::buffered`].
    pub async fn create(dir: std::path::PathBuf, direct: bool) -> io::Result<(SpoolWriter, tempfile::TempPath)> {
        tokio::task::spawn_blocking(move || {
            let (file, path) =
                tempfile::Builder::new().prefix(crate::UPLOAD_SPOOL_PREFIX).tempfile_in(dir)?.into_parts();
            Ok((if direct { SpoolWriter::new(file) } else { SpoolWriter::buffered(file) }, path))
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Through the page cache.
    pub fn buffered(file: File) -> SpoolWriter {
        SpoolWriter::with(file, false)
    }

    fn with(file: File, direct: bool) -> SpoolWriter {
        SpoolWriter { target: Some(Target { file, direct, size: 0 }), writing: None, buf: Buffer::take() }
    }

    /// Whether the file is being written with direct I/O.
    pub fn is_direct(&self) -> bool {
        self.target.as_ref().is_some_and(|t| t.direct)
    }

    pub async fn push(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = self.buf.room().min(bytes.len());
            self.buf.fill(&bytes[..n]);
            bytes = &bytes[n..];
            if self.buf.room() == 0 {
                self.write(false).await?;
            }
        }
        Ok(())
    }

    /// Start writing the filled buffer once the previous write is done.
    async fn write(&mut self, last: bool) -> io::Result<()> {
        let mut target = self.take_target().await?;
        let mut buf = std::mem::replace(&mut self.buf, Buffer::take());
        self.writing = Some(tokio::task::spawn_blocking(move || {
            let r = target.write(&mut buf, last);
            r.map(|()| (target, buf))
        }));
        Ok(())
    }

    async fn take_target(&mut self) -> io::Result<Target> {
        match (self.writing.take(), self.target.take()) {
            (Some(writing), _) => {
                let (target, buf) = writing.await.map_err(io::Error::other)??;
                buf.give_back();
                Ok(target)
            }
            (None, Some(target)) => Ok(target),
            (None, None) => Err(io::Error::other("spool file lost after a failed write")),
        }
    }

    /// Write what is left and wait for every write; the file's size.
    pub async fn finish(mut self) -> io::Result<u64> {
        if self.buf.len > 0 {
            self.write(true).await?;
        }
        let size = self.take_target().await?.size;
        self.buf.give_back();
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spool(chunks: &[Vec<u8>], direct: bool) -> (Vec<u8>, bool) {
        let (file, path) = tempfile::NamedTempFile::new().unwrap().into_parts();
        let mut w = if direct { SpoolWriter::new(file) } else { SpoolWriter::buffered(file) };
        let used_direct = w.is_direct();
        for c in chunks {
            w.push(c).await.unwrap();
        }
        let size = w.finish().await.unwrap();
        let stored = std::fs::read(&path).unwrap();
        assert_eq!(size, stored.len() as u64);
        (stored, used_direct)
    }

    /// Uneven chunks adding up to `total` bytes, all different.
    fn chunks(total: usize, seed: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let (mut sent, mut i) = (0, seed);
        while sent < total {
            let n = ((i * 7919) % 150_001).min(total - sent);
            out.push((0..n).map(|j| (j ^ i ^ (j >> 8)) as u8).collect());
            sent += n;
            i += 1;
        }
        out
    }

    #[tokio::test]
    async fn every_byte_lands_in_order_whatever_the_size_direct_or_not() {
        let mut direct_seen = false;
        for total in [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            BATCH_BYTES - 1,
            BATCH_BYTES,
            BATCH_BYTES + 1,
            1_058_845,
            3 * BATCH_BYTES + 12_345,
        ] {
            let sent = chunks(total, total);
            for direct in [true, false] {
                let (stored, used_direct) = spool(&sent, direct).await;
                assert!(stored == sent.concat(), "{total} bytes, direct {direct}: {} bytes stored", stored.len());
                direct_seen |= used_direct;
            }
        }
        // Where the temporary directory's filesystem takes direct I/O (ext4, XFS …), it was used.
        eprintln!("direct I/O used: {direct_seen}");
    }

    #[test]
    fn a_refused_direct_write_is_written_through_the_page_cache() {
        let (file, path) = tempfile::NamedTempFile::new().unwrap().into_parts();
        let direct = set_direct(&file, true).is_ok();
        let mut target = Target { file, direct, size: 0 };
        let mut first = Buffer::take();
        first.fill(&[7u8; BATCH_BYTES]);
        target.write(&mut first, false).unwrap();
        // A buffer that starts one byte past the alignment: Linux refuses it for direct I/O.
        let mem = vec![0u8; BATCH_BYTES + 2 * ALIGN];
        let start = mem.as_ptr().align_offset(ALIGN) + 1;
        let mut odd = Buffer { mem, start, len: 0 };
        odd.fill(&[9u8; 10_000]);
        target.write(&mut odd, false).unwrap();
        match (direct, target.direct) {
            (false, _) => {
                eprintln!("direct I/O is not available in the temporary directory: only the page-cache path ran")
            }
            // tmpfs (Linux 6.6+) takes O_DIRECT without any alignment rule.
            (true, true) => eprintln!("this filesystem took an unaligned direct write: the fallback did not run"),
            (true, false) => eprintln!("the refused direct write went through the page cache"),
        }
        drop(target);
        let stored = std::fs::read(&path).unwrap();
        assert_eq!(stored.len(), BATCH_BYTES + 10_000);
        assert!(stored[..BATCH_BYTES].iter().all(|&b| b == 7) && stored[BATCH_BYTES..].iter().all(|&b| b == 9));
    }
}
