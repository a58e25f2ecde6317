//! Identity documents for Emerald: the ICAO 9303 machine-readable zone ([`mrz`]) and its
//! reading from a photo ([`reader`]), the printed fields of the visual zone read by PP-OCRv4 in
//! process ([`ppocr`]) or Tesseract and compared with the MRZ ([`visual`]), and the document's
//! portrait ([`portrait`]). No HTTP, no SQL.

pub mod mrz;
mod par;
pub mod portrait;
pub mod ppocr;
pub mod reader;
pub mod visual;

pub use mrz::{Date, Format, Mrz};
pub use ppocr::PpOcr;
pub use reader::{read_mrz, MrzReading, Photo, ReadError};
pub use visual::{Tesseract, VisualFields, VisualOcr};

/// Where `scripts/make-test-documents.sh` puts the synthetic documents the tests, examples and
/// benchmarks read: `EMERALD_TEST_DOCUMENTS_DIR`, else `$XDG_CACHE_HOME` (or `~/.cache`)
/// `/emerald/test-documents/v2`. The second layout's corpus is beside it, with `-columns`
/// appended to the directory's name ([`test_corpus_dir_columns`]).
pub fn test_corpus_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("EMERALD_TEST_DOCUMENTS_DIR").filter(|d| !d.is_empty()) {
        return d.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
    cache.join("emerald/test-documents/v2")
}

/// The corpus of the other layout (labels side by side, bilingual labels): [`test_corpus_dir`]
/// with `-columns` appended.
pub fn test_corpus_dir_columns() -> std::path::PathBuf {
    let mut d = test_corpus_dir().into_os_string();
    d.push("-columns");
    d.into()
}
