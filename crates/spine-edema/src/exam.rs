//! The images of one exam, on one grid, ready for segmentation and scoring.

use crate::series::Contrast;
use crate::volume::Volume;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A fluid-sensitive (or T2) image with the contrast it was classified as.
#[derive(Clone, Debug)]
pub struct FluidImage {
    /// STIR, T2 fat-sat, Dixon water or plain T2.
    pub contrast: Contrast,
    /// Voxels on the exam's reference grid.
    pub volume: Volume<f32>,
}

/// The images of one exam, all on the same reference grid (the T1 grid when there is a T1).
///
/// Both reference studies read T1 together with a fluid-sensitive series; either may be
/// missing in a real archive, which lowers confidence but should not stop the analysis.
#[derive(Clone, Debug)]
pub struct ExamImages {
    /// Sagittal T1, the reference grid when present.
    pub t1: Option<Volume<f32>>,
    /// Sagittal fluid-sensitive series, resampled onto the T1 grid when both exist.
    pub fluid: Option<FluidImage>,
}

impl ExamImages {
    /// The volume whose grid the exam's masks live on: T1 if present, else the fluid series.
    pub fn reference(&self) -> Option<&Volume<f32>> {
        self.t1.as_ref().or(self.fluid.as_ref().map(|f| &f.volume))
    }

    /// Which series the analysis can use.
    pub fn mode(&self) -> Option<ScoringMode> {
        let fluid = self.fluid.as_ref().map(|f| f.contrast);
        match (self.t1.is_some(), fluid) {
            (true, Some(Contrast::Stir)) => Some(ScoringMode::T1Stir),
            (true, Some(Contrast::T2FatSat | Contrast::DixonWater)) => Some(ScoringMode::T1T2Fs),
            (true, Some(_)) => Some(ScoringMode::T1T2),
            (true, None) => Some(ScoringMode::T1Only),
            (false, Some(Contrast::Stir)) => Some(ScoringMode::StirOnly),
            (false, Some(Contrast::T2FatSat | Contrast::DixonWater)) => Some(ScoringMode::T2FsOnly),
            (false, Some(_)) => Some(ScoringMode::T2Only),
            (false, None) => None,
        }
    }
}

/// Which series were combined to score an exam (the `mode` column of `vertebrae.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScoringMode {
    /// T1 and STIR: the definition of both reference studies.
    #[serde(rename = "t1+stir")]
    T1Stir,
    /// T1 and a fat-suppressed T2 (or Dixon water): study A's usual pair.
    #[serde(rename = "t1+t2fs")]
    T1T2Fs,
    /// T1 and a T2 without fat suppression: edema is only weakly separable from fat.
    #[serde(rename = "t1+t2")]
    T1T2,
    /// T1 alone: hypointensity only, no fluid confirmation.
    #[serde(rename = "t1-only")]
    T1Only,
    /// STIR alone: hyperintensity only.
    #[serde(rename = "stir-only")]
    StirOnly,
    /// Fat-suppressed T2 alone.
    #[serde(rename = "t2fs-only")]
    T2FsOnly,
    /// T2 alone (segmentation only; edema cannot be scored).
    #[serde(rename = "t2-only")]
    T2Only,
}

impl ScoringMode {
    /// The CSV spelling (`t1+stir`, `stir-only`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ScoringMode::T1Stir => "t1+stir",
            ScoringMode::T1T2Fs => "t1+t2fs",
            ScoringMode::T1T2 => "t1+t2",
            ScoringMode::T1Only => "t1-only",
            ScoringMode::StirOnly => "stir-only",
            ScoringMode::T2FsOnly => "t2fs-only",
            ScoringMode::T2Only => "t2-only",
        }
    }

    /// True only for the pairing both reference studies define edema with.
    pub fn is_reference_definition(self) -> bool {
        matches!(self, ScoringMode::T1Stir)
    }
}

impl fmt::Display for ScoringMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
