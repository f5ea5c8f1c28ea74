//! Vertebral-body segmentation (body only, cortical shell included) on the exam's
//! reference grid. Method for radiologists: `docs/segmentation.md`.

use crate::geometry::PointMm;
use crate::level::Level;
use crate::volume::Volume;
use serde::{Deserialize, Serialize};

/// One segmented vertebral body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VertebralBody {
    /// Value of this body in [`Segmentation::labels`] (1-based, cranial to caudal).
    pub label: u16,
    /// Named level, when labelling could name it.
    pub level: Option<Level>,
    /// Confidence in `level`, 0–1.
    pub level_confidence: f64,
    /// Centroid in LPS mm.
    pub centroid_mm: PointMm,
    /// Body volume in mL.
    pub volume_ml: f64,
    /// True when the body touches the edge of the field of view (partly outside it).
    pub partial: bool,
}

/// All bodies of one exam.
#[derive(Clone, Debug)]
pub struct Segmentation {
    /// Label map on the reference grid: 0 background, otherwise a [`VertebralBody::label`].
    pub labels: Volume<u16>,
    /// Bodies, cranial to caudal.
    pub bodies: Vec<VertebralBody>,
}
