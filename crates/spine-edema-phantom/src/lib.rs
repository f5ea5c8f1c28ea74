//! Phantom generator: realistic sagittal T1 / STIR / T2-FS DICOM exams of the
//! thoracolumbar spine with exact per-vertebra ground truth (SPEC §5).
//!
//! The patient is an implicit model in millimetres — a curved spine carrying vertebral
//! bodies, discs, posterior elements, canal, cord and the soft tissues around them — that
//! is rendered by evaluating it at sub-sample points of each voxel, with MR signal
//! equations per tissue, coil bias and Rician noise. Truth (volumes, BME %, cement, rim,
//! cleft, heights, Genant grade, changes between exams) is integrated on the model, not
//! read back from the voxels. Design and parameters: `docs/phantom.md`.
//!
//! ```no_run
//! use spine_edema_phantom::{PhantomOptions, Preset, generate_patient, write_patient};
//! let opts = PhantomOptions { preset: Preset::Lumbar, seed: 7, followups: 1, ..Default::default() };
//! let patient = generate_patient(&opts)?;
//! let written = write_patient(&patient, std::path::Path::new("phantoms"))?;
//! println!("{} exams in {}", written.exams.len(), written.dir.display());
//! # Ok::<(), spine_edema_phantom::PhantomError>(())
//! ```

mod acquisition;
mod anatomy;
mod body;
mod dicom_out;
mod error;
mod generate;
mod noise;
mod output;
mod plan;
mod render;
mod rng;
mod tissue;
mod truth;

pub use acquisition::{HeaderWords, SeriesRole, Vendor};
pub use body::EdemaPattern;
pub use error::{PhantomError, Result};
pub use generate::{ExamPhantom, LabelVolumes, PatientPhantom, SeriesImage, generate_patient};
pub use output::{
    WrittenExam, WrittenPatient, read_changes, read_truth, testdata_options, write_patient,
    write_suite, write_testdata,
};
pub use plan::EdemaEvent;
/// Genant fracture shape: the scoring crate's own type, so truth and scores compare
/// directly.
pub use spine_edema::score::GenantShape;
pub use truth::{
    ChangesTruth, ExamTruth, IntervalTruth, LevelChangeTruth, LevelTruth, MotionTruth, SeriesTruth,
};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Which part of the spine the exam covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Lumbar spine, T11–S1 centred in the field of view.
    Lumbar,
    /// Thoracolumbar spine, T6–S1.
    Thoracolumbar,
    /// Thoracic spine, T3–L1, no sacrum modelled.
    Thoracic,
}

impl Preset {
    /// All presets.
    pub const ALL: [Preset; 3] = [Preset::Lumbar, Preset::Thoracolumbar, Preset::Thoracic];
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Preset::Lumbar => "lumbar",
            Preset::Thoracolumbar => "thoracolumbar",
            Preset::Thoracic => "thoracic",
        })
    }
}

impl FromStr for Preset {
    type Err = PhantomError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lumbar" => Ok(Preset::Lumbar),
            "thoracolumbar" => Ok(Preset::Thoracolumbar),
            "thoracic" => Ok(Preset::Thoracic),
            other => Err(PhantomError::InvalidOption(format!(
                "unknown preset {other:?} (expected lumbar, thoracolumbar or thoracic)"
            ))),
        }
    }
}

/// What to generate for one patient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhantomOptions {
    /// Anatomical coverage.
    pub preset: Preset,
    /// Seed: the same options give byte-identical output.
    pub seed: u64,
    /// Number of follow-up exams after the baseline.
    pub followups: usize,
    /// Force this matrix (rows = columns) on every sagittal series; `None` draws 256–512.
    pub matrix: Option<usize>,
    /// Force this matrix on the fluid-sensitive series (STIR, T2 fat-sat) only, over
    /// `matrix`: scanners often acquire STIR coarser than T1 (e.g. 320² against 512²).
    #[serde(default)]
    pub fluid_matrix: Option<usize>,
    /// Force this number of slices on every sagittal series; `None` draws 11–17.
    #[serde(default)]
    pub slices: Option<usize>,
    /// Write compressed transfer syntaxes (RLE Lossless or Deflated Explicit VR LE).
    pub compressed: bool,
    /// Add distractor series (sagittal T2 without fat suppression, axial T2) at random.
    pub extra_series: bool,
}

impl Default for PhantomOptions {
    fn default() -> Self {
        PhantomOptions {
            preset: Preset::Lumbar,
            seed: 1,
            followups: 0,
            matrix: None,
            fluid_matrix: None,
            slices: None,
            compressed: false,
            extra_series: true,
        }
    }
}

/// Fewest forced slices: a stack with a midline slice between two others.
const MIN_SLICES: usize = 3;
/// Most forced slices: a 4 mm sagittal slab of 64 slices (≈ 26 cm) already covers the
/// whole body width; more only costs generation time.
const MAX_SLICES: usize = 64;

impl PhantomOptions {
    fn validate(&self) -> Result<()> {
        for m in [self.matrix, self.fluid_matrix].into_iter().flatten() {
            if !(64..=1024).contains(&m) {
                return Err(PhantomError::InvalidOption(format!(
                    "matrix {m} outside 64–1024"
                )));
            }
        }
        if let Some(n) = self
            .slices
            .filter(|n| !(MIN_SLICES..=MAX_SLICES).contains(n))
        {
            return Err(PhantomError::InvalidOption(format!(
                "{n} slices outside {MIN_SLICES}–{MAX_SLICES}"
            )));
        }
        if self.followups > 10 {
            return Err(PhantomError::InvalidOption(format!(
                "{} follow-ups (at most 10)",
                self.followups
            )));
        }
        Ok(())
    }
}
