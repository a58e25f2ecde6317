//! Identity documents for Emerald: the ICAO 9303 machine-readable zone ([`mrz`]) and its
//! reading from a photo ([`reader`]). No HTTP, no SQL.

pub mod mrz;
pub mod reader;

pub use mrz::{Date, Format, Mrz};
pub use reader::{read_mrz, MrzReading, ReadError};
