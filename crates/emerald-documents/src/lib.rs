//! Identity documents for Emerald: the ICAO 9303 machine-readable zone ([`mrz`]) and its
//! reading from a photo ([`reader`]), the printed fields of the visual zone read by PP-OCRv4 in
//! process ([`ppocr`]) or Tesseract and compared with the MRZ ([`visual`]), and the document's
//! portrait ([`portrait`]). No HTTP, no SQL.

pub mod mrz;
pub mod portrait;
pub mod ppocr;
pub mod reader;
pub mod visual;

pub use mrz::{Date, Format, Mrz};
pub use ppocr::PpOcr;
pub use reader::{read_mrz, MrzReading, Photo, ReadError};
pub use visual::{Tesseract, VisualFields, VisualOcr};
