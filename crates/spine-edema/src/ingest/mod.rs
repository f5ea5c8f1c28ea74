//! Reading DICOM folder trees: a header-only index pass, grouping into
//! patient → study → series, and pixel decoding of the series that are used.
//!
//! ```text
//! index_paths(paths, limits) ─► Index { patients → studies → series, skipped }
//! decode_series(series, limits) ─► DecodedSeries { volume, geometry report }
//! ```
//!
//! Everything here reads hostile data: sizes are checked against [`Limits`] before
//! allocating, nothing indexes a slice unchecked, and a bad file becomes a
//! [`Skipped`] entry or an error naming it, never a panic. Details: `docs/ingest.md`.

#![deny(clippy::indexing_slicing)]

mod decode;
mod header;
mod index;
mod lengths;
mod limits;
mod open;
mod walk;

pub use decode::{DecodedSeries, decode_frames, decode_series};
pub use index::{
    DateSource, FrameEntry, Index, Patient, PixelFormat, SeriesEntry, Skipped, Study, index_paths,
};
pub use limits::Limits;
