//! Identity documents for Emerald: the ICAO 9303 machine-readable zone ([`mrz`]), read from a
//! photo by Tesseract run as a bounded child process ([`ocr`]). No HTTP, no SQL.

pub mod mrz;

pub use mrz::{Date, Format, Mrz};
