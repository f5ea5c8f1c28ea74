//! # spine-edema
//!
//! Measures vertebral bone-marrow edema (BME) on sagittal spine MRI read straight from
//! DICOM, and reports it on the scales of the vertebroplasty studies it replaces the
//! visual reading of (Dansie et al., AJNR 2006; Voormolen et al., AJNR 2006).
//!
//! The pipeline reads one way: files → [`series`] (classified headers) → [`volume`]
//! (voxels in patient space) → [`segment`] (labelled bodies) → [`score`] (per-vertebra
//! numbers) → comparison across exams.

pub mod bids;
pub mod compare;
pub mod error;
pub mod exam;
pub mod geometry;
pub mod ingest;
pub mod level;
pub mod load;
pub mod masks;
pub mod nifti;
pub mod pipeline;
pub mod score;
pub mod segment;
pub mod series;
pub mod volume;

/// The README's Rust examples, compiled and run as doctests so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

pub use error::{Error, Result};
pub use exam::{ExamImages, FluidImage, ScoringMode};
pub use geometry::{Affine, PointMm};
pub use level::Level;
pub use volume::Volume;
