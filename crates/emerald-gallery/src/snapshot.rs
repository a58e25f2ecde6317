//! The snapshot file: the whole gallery (codes, ids, graphs, version) in one checksummed file that
//! loads with large sequential reads straight into the final buffers.
//!
//! Layout (native little-endian; the endian mark refuses anything else):
//! ```text
//! "EMGALSNP" | format u32 = 1 | endian mark u32 | version u64 | dim u32 | shard count u32
//! per shard:
//!   model id: len u32, UTF-8 | collection id 16 B | slots n u64
//!   template ids n·16 B (nil = removed) | person ids n·16 B | scales n·f32 | codes n·dim·i8
//!   graph flag u8; if 2: m u32 | ef_construction u32 | segment count u32, then per segment
//!                        (slots in order): nodes k u64 | entry u32 (u32::MAX = none)
//!                        levels k·u8 | layer 0 k·(2m+1)·u32 | upper links of nodes with level>0
//!                  (flag 1, written before segments: m | ef_construction | one segment of n
//!                  nodes without its count)
//! crc32 of everything above u32 | "EMGALEND"
//! ```
//! Removed templates are written as nil ids and zero codes: a snapshot never holds the vector of
//! a template removed before it was taken.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::codes::Codes;
use crate::error::GalleryError;
use crate::hnsw::Hnsw;
use crate::segments::Segments;
use crate::shard::Shard;
use crate::types::{GalleryConfig, HnswParams, ModelId};

const MAGIC: &[u8; 8] = b"EMGALSNP";
const END: &[u8; 8] = b"EMGALEND";
const FORMAT: u32 = 1;
const ENDIAN_MARK: u32 = 0x0102_0304;
const NO_ENTRY: u32 = u32::MAX;
/// Bounds a corrupt header cannot push an allocation past.
const MAX_MODEL_ID: usize = 4096;
const MAX_DIM: usize = 65_536;

struct Crc<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(name)
}

pub(crate) fn save<'a>(
    path: &Path,
    version: u64,
    dim: usize,
    shards: impl Iterator<Item = &'a Shard> + Clone,
) -> Result<(), GalleryError> {
    let tmp = tmp_path(path);
    let result = (|| -> Result<(), GalleryError> {
        let file = File::create(&tmp)?;
        let mut w = Crc { inner: BufWriter::with_capacity(1 << 20, file), crc: crc32fast::Hasher::new() };
        let live: Vec<&Shard> = shards.filter(|s| s.live() > 0).collect();
        w.write_all(MAGIC)?;
        w.write_all(&FORMAT.to_le_bytes())?;
        w.write_all(&ENDIAN_MARK.to_ne_bytes())?;
        w.write_all(&version.to_le_bytes())?;
        w.write_all(&(dim as u32).to_le_bytes())?;
        w.write_all(&(live.len() as u32).to_le_bytes())?;
        for s in live {
            write_shard(&mut w, s)?;
        }
        let crc = w.crc.clone().finalize();
        let mut inner = w.inner;
        inner.write_all(&crc.to_le_bytes())?;
        inner.write_all(END)?;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)?;
    // Make the rename itself durable.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn write_shard<W: Write>(w: &mut W, s: &Shard) -> Result<(), GalleryError> {
    let model = s.model_id.as_str().as_bytes();
    w.write_all(&(model.len() as u32).to_le_bytes())?;
    w.write_all(model)?;
    w.write_all(s.collection_id.as_bytes())?;
    w.write_all(&(s.codes.len() as u64).to_le_bytes())?;
    w.write_all(bytemuck::cast_slice(&s.template_ids))?;
    w.write_all(bytemuck::cast_slice(&s.person_ids))?;
    w.write_all(bytemuck::cast_slice(&s.codes.scales))?;
    s.codes.for_each_code(|c| w.write_all(bytemuck::cast_slice(c)))?;
    match &s.graph {
        None => w.write_all(&[0])?,
        Some(segments) => {
            w.write_all(&[2])?;
            w.write_all(&(segments.params.m as u32).to_le_bytes())?;
            w.write_all(&(segments.params.ef_construction as u32).to_le_bytes())?;
            w.write_all(&(segments.graphs.len() as u32).to_le_bytes())?;
            for g in &segments.graphs {
                w.write_all(&(g.len() as u64).to_le_bytes())?;
                w.write_all(&g.entry.unwrap_or(NO_ENTRY).to_le_bytes())?;
                w.write_all(&g.levels)?;
                w.write_all(bytemuck::cast_slice(&g.layer0))?;
                for u in g.upper.iter().filter(|u| !u.is_empty()) {
                    w.write_all(bytemuck::cast_slice(u))?;
                }
            }
        }
    }
    Ok(())
}

fn corrupt(msg: impl Into<String>) -> GalleryError {
    GalleryError::CorruptSnapshot(msg.into())
}

/// `read_exact` with a short file reported as corruption rather than as an i/o failure.
fn read_exact<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<(), GalleryError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => corrupt("truncated"),
        _ => GalleryError::Io(e),
    })
}

fn read_u32<R: Read>(r: &mut R) -> Result<u32, GalleryError> {
    let mut b = [0u8; 4];
    read_exact(r, &mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64<R: Read>(r: &mut R) -> Result<u64, GalleryError> {
    let mut b = [0u8; 8];
    read_exact(r, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// Reads `n` plain values straight into their final buffer, refusing sizes past the file's end.
fn read_vec<T: bytemuck::Pod + Default, R: Read>(r: &mut R, n: usize, remaining: u64) -> Result<Vec<T>, GalleryError> {
    let bytes = n.checked_mul(std::mem::size_of::<T>()).ok_or_else(|| corrupt("size overflow"))?;
    if bytes as u64 > remaining {
        return Err(corrupt("section runs past the end of the file"));
    }
    let mut v = crate::mem::zeroed_vec::<T>(n);
    read_exact(r, bytemuck::cast_slice_mut(&mut v))?;
    Ok(v)
}

pub(crate) fn load(path: &Path, cfg: &GalleryConfig) -> Result<(u64, Vec<Shard>), GalleryError> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut r = Crc { inner: BufReader::with_capacity(1 << 20, file), crc: crc32fast::Hasher::new() };
    let mut magic = [0u8; 8];
    read_exact(&mut r, &mut magic)?;
    if &magic != MAGIC {
        return Err(corrupt("not a gallery snapshot"));
    }
    let format = read_u32(&mut r)?;
    if format != FORMAT {
        return Err(corrupt(format!("format {format}, this build reads {FORMAT}")));
    }
    let mut mark = [0u8; 4];
    read_exact(&mut r, &mut mark)?;
    if u32::from_ne_bytes(mark) != ENDIAN_MARK {
        return Err(corrupt("written on a machine of the other byte order"));
    }
    let version = read_u64(&mut r)?;
    let dim = read_u32(&mut r)? as usize;
    if dim == 0 || dim > MAX_DIM {
        return Err(corrupt(format!("dimension {dim}")));
    }
    if dim != cfg.dim {
        return Err(GalleryError::SnapshotDimension { expected: cfg.dim, found: dim });
    }
    let count = read_u32(&mut r)?;
    let mut consumed: u64 = 8 + 4 + 4 + 8 + 4 + 4;
    let mut shards = Vec::new();
    for _ in 0..count {
        let (shard, bytes) = read_shard(&mut r, dim, cfg, size.saturating_sub(consumed))?;
        consumed += bytes;
        shards.push(shard);
    }
    let crc = r.crc.clone().finalize();
    let stored = read_u32(&mut r.inner).map_err(|_| corrupt("truncated"))?;
    let mut end = [0u8; 8];
    r.inner.read_exact(&mut end).map_err(|_| corrupt("truncated"))?;
    if stored != crc || &end != END {
        return Err(corrupt("checksum mismatch"));
    }
    let mut extra = [0u8; 1];
    if r.inner.read(&mut extra)? != 0 {
        return Err(corrupt("trailing bytes"));
    }
    Ok((version, shards))
}

fn read_shard<R: Read>(
    r: &mut R,
    dim: usize,
    cfg: &GalleryConfig,
    remaining: u64,
) -> Result<(Shard, u64), GalleryError> {
    let model_len = read_u32(r)? as usize;
    if model_len > MAX_MODEL_ID {
        return Err(corrupt("model id too long"));
    }
    let model: Vec<u8> = read_vec(r, model_len, remaining)?;
    let model = String::from_utf8(model).map_err(|_| corrupt("model id is not UTF-8"))?;
    let mut cid = [0u8; 16];
    read_exact(r, &mut cid)?;
    let n = usize::try_from(read_u64(r)?).map_err(|_| corrupt("slot count"))?;
    if n > u32::MAX as usize - 1 {
        return Err(corrupt("slot count"));
    }
    let template_ids: Vec<Uuid> = read_vec(r, n, remaining)?;
    let person_ids: Vec<Uuid> = read_vec(r, n, remaining)?;
    let scales: Vec<f32> = read_vec(r, n, remaining)?;
    let codes: Vec<i8> = read_vec(r, n.checked_mul(dim).ok_or_else(|| corrupt("size"))?, remaining)?;
    if codes.contains(&i8::MIN) {
        return Err(corrupt("code -128 (codes are -127..=127)"));
    }
    if scales.iter().any(|s| !s.is_finite() || *s < 0.0) {
        return Err(corrupt("invalid scale"));
    }
    let mut codes = Codes::from_parts(dim, codes, scales);
    let mut bytes = 4 + model_len as u64 + 16 + 8 + n as u64 * (32 + 4 + dim as u64) + 1;
    let mut flag = [0u8; 1];
    read_exact(r, &mut flag)?;
    let graph = match flag[0] {
        0 => None,
        flag @ (1 | 2) => {
            let m = read_u32(r)? as usize;
            let ef_construction = read_u32(r)? as usize;
            if !(2..=128).contains(&m) {
                return Err(corrupt(format!("graph m = {m}")));
            }
            let params = HnswParams { m, ef_construction, ef_search: cfg.hnsw.ef_search };
            let count = if flag == 1 { 1 } else { read_u32(r)? as usize };
            bytes += 8 + if flag == 2 { 4 } else { 0 };
            if count == 0 || count > n.max(1) {
                return Err(corrupt(format!("{count} graph segments for {n} slots")));
            }
            let mut graphs = Vec::with_capacity(count);
            let mut base = 0usize;
            for _ in 0..count {
                let k =
                    if flag == 1 { n } else { usize::try_from(read_u64(r)?).map_err(|_| corrupt("segment size"))? };
                if k > n - base {
                    return Err(corrupt("graph segments cover more slots than the shard has"));
                }
                let (g, b) = read_graph(r, params, base as u32, k, remaining)?;
                bytes += b + if flag == 2 { 8 } else { 0 };
                graphs.push(g);
                base += k;
            }
            if base != n {
                return Err(corrupt("graph segments do not cover the shard"));
            }
            Some(Segments::from_graphs(graphs, params, cfg.graph_segment, &codes, cfg.scan_threads))
        }
        _ => return Err(corrupt("graph flag")),
    };
    let mut shard = Shard::new(ModelId::new(&model), Uuid::from_bytes(cid), dim);
    shard.slots.reserve(n);
    shard.persons.reserve(n);
    for (slot, (t, p)) in template_ids.iter().zip(&person_ids).enumerate() {
        if t.is_nil() {
            shard.dead += 1;
            continue;
        }
        if shard.slots.insert(*t, slot as u32).is_some() {
            return Err(corrupt(format!("template {t} appears twice")));
        }
        shard.persons.entry(*p).or_default().push(slot as u32);
    }
    if shard.dead > 0 && graph.is_none() {
        return Err(corrupt("removed slots in a shard without a graph"));
    }
    // Shards without a graph answer with the exact scan, which reads nibble planes.
    codes.keep_coarse(graph.is_none() && crate::coarse::enabled());
    shard.codes = codes;
    shard.template_ids = template_ids;
    shard.person_ids = person_ids;
    shard.graph = graph;
    Ok((shard, bytes))
}

/// One graph segment of `k` nodes starting at store slot `base`; also its size in bytes.
fn read_graph<R: Read>(
    r: &mut R,
    params: HnswParams,
    base: u32,
    k: usize,
    remaining: u64,
) -> Result<(Hnsw, u64), GalleryError> {
    let m = params.m;
    let entry = read_u32(r)?;
    let levels: Vec<u8> = read_vec(r, k, remaining)?;
    let layer0: Vec<u32> = read_vec(r, k * (2 * m + 1), remaining)?;
    let mut bytes = 4 + k as u64 + layer0.len() as u64 * 4;
    let mut upper = Vec::with_capacity(k);
    for &l in &levels {
        if l > 15 {
            return Err(corrupt("graph level"));
        }
        let links: Vec<u32> = read_vec(r, l as usize * (m + 1), remaining)?;
        bytes += links.len() as u64 * 4;
        upper.push(links.into_boxed_slice());
    }
    let entry = if entry == NO_ENTRY { None } else { Some(entry) };
    if k > 0 && entry.is_none() {
        return Err(corrupt("graph without entry point"));
    }
    let g = Hnsw::from_parts(params, base, levels, layer0, upper, entry);
    g.validate().map_err(corrupt)?;
    Ok((g, bytes))
}
