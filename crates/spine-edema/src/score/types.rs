//! The values scoring hands on: per-vertebra numbers, the exam's marrow reference and the
//! voxel masks. Serde spellings are the `vertebrae.csv` contract of SPEC §4.

use crate::exam::ScoringMode;
use crate::level::Level;
use crate::volume::Volume;
use ndarray::Array3;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Dansie et al. (AJNR 2006) edema score: 1 none, 2 > 0 and < 1/3, 3 from 1/3 to 2/3,
/// 4 over 2/3 of the marrow volume. Serialises as the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum DansieScore {
    /// No edema (below the detection floor).
    None = 1,
    /// More than 0 and under a third of the marrow.
    UnderOneThird = 2,
    /// One third to two thirds.
    OneToTwoThirds = 3,
    /// Over two thirds.
    OverTwoThirds = 4,
}

impl From<DansieScore> for u8 {
    fn from(score: DansieScore) -> u8 {
        score as u8
    }
}

impl TryFrom<u8> for DansieScore {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(DansieScore::None),
            2 => Ok(DansieScore::UnderOneThird),
            3 => Ok(DansieScore::OneToTwoThirds),
            4 => Ok(DansieScore::OverTwoThirds),
            other => Err(format!("Dansie score must be 1–4, got {other}")),
        }
    }
}

/// Voormolen et al. (AJNR 2006) edema class: none 0 %, minor 1–24 %, moderate 25–74 %,
/// severe 75–100 %.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VoormolenGrade {
    /// Below the detection floor.
    None,
    /// From the floor to under 25 %.
    Minor,
    /// 25 % to under 75 %.
    Moderate,
    /// 75 % and over.
    Severe,
}

impl VoormolenGrade {
    /// The CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VoormolenGrade::None => "none",
            VoormolenGrade::Minor => "minor",
            VoormolenGrade::Moderate => "moderate",
            VoormolenGrade::Severe => "severe",
        }
    }
}

impl fmt::Display for VoormolenGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Cement fill of the marrow volume in quartiles (Dansie et al. 2006): 1 = 0–25 %,
/// 2 = 25–50 %, 3 = 50–75 %, 4 = 75–100 %. Serialises as the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum CementQuartile {
    /// 0–25 %.
    First = 1,
    /// 25–50 %.
    Second = 2,
    /// 50–75 %.
    Third = 3,
    /// 75–100 %.
    Fourth = 4,
}

impl From<CementQuartile> for u8 {
    fn from(q: CementQuartile) -> u8 {
        q as u8
    }
}

impl TryFrom<u8> for CementQuartile {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(CementQuartile::First),
            2 => Ok(CementQuartile::Second),
            3 => Ok(CementQuartile::Third),
            4 => Ok(CementQuartile::Fourth),
            other => Err(format!("cement quartile must be 1–4, got {other}")),
        }
    }
}

/// Genant semiquantitative grade: 0 normal (< 20 % height reduction), 1 mild (20–25 %),
/// 2 moderate (25–40 %), 3 severe (> 40 %). Serialises as the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum GenantGrade {
    /// Under 20 %.
    Normal = 0,
    /// 20 % to under 25 %.
    Mild = 1,
    /// 25 % to 40 %.
    Moderate = 2,
    /// Over 40 %.
    Severe = 3,
}

impl From<GenantGrade> for u8 {
    fn from(g: GenantGrade) -> u8 {
        g as u8
    }
}

impl TryFrom<u8> for GenantGrade {
    type Error = String;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(GenantGrade::Normal),
            1 => Ok(GenantGrade::Mild),
            2 => Ok(GenantGrade::Moderate),
            3 => Ok(GenantGrade::Severe),
            other => Err(format!("Genant grade must be 0–3, got {other}")),
        }
    }
}

/// Genant fracture shape: which height is reduced most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GenantShape {
    /// Not fractured (grade 0).
    None,
    /// Anterior height reduced most.
    Wedge,
    /// Middle height reduced most.
    Biconcave,
    /// Posterior height, or the whole body, reduced.
    Crush,
}

impl GenantShape {
    /// The CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            GenantShape::None => "none",
            GenantShape::Wedge => "wedge",
            GenantShape::Biconcave => "biconcave",
            GenantShape::Crush => "crush",
        }
    }
}

/// Whether a fractured body still shows edema on the fluid series: the criterion by which
/// vertebroplasty candidates are selected (no edema on STIR, no treatment; SPEC §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FractureActivity {
    /// Edema at or above the detection floor.
    Active,
    /// Fractured but no edema.
    Inactive,
}

/// Something a reader of one vertebra's numbers should know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreFlag {
    /// The body touches the edge of the field of view.
    Partial,
    /// The body was used as normal-marrow reference.
    ReferenceBody,
    /// Edema scored from one series only (hypo- or hyperintensity, not both).
    SingleSeries,
    /// The body was too small to erode; every voxel was classified directly.
    NoInterior,
    /// Heights could not be measured (not sagittal, not a vertebral body, no clear endplates,
    /// or a height line reaches the edge of the images).
    HeightsUnavailable,
    /// Cement is surrounded by edema extending beyond the rim distance: no separate rim.
    RimMaskedByEdema,
    /// A CSF-bright collection was found but the body is not collapsed: counted as edema.
    BrightFluidNotCleft,
    /// The Voormolen grade changes when thresholds move within their uncertainty.
    GradeUnstable,
    /// Edema-like signal in a band along one endplate next to a narrowed disc, in an
    /// undeformed body: Modic type-1 endplate change, not counted as BME.
    EndplateSignal,
    /// Part of the body lies outside the fluid-sensitive series (its slab or field of view
    /// is smaller than the T1's): BME and cement % are of the part both series see.
    OutsideFluidSeries,
}

/// All scores of one vertebral body (or one externally supplied region).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VertebraScore {
    /// Value in the label map.
    pub label: u16,
    /// Named level, when known.
    pub level: Option<Level>,
    /// Edematous marrow / (body − cement) × 100; `None` when no series can show edema.
    pub bme_percent: Option<f64>,
    /// BME % with thresholds moved to the lenient and strict ends of their uncertainty.
    pub bme_percent_range: Option<[f64; 2]>,
    /// Edematous volume, mL.
    pub edema_ml: Option<f64>,
    /// Dansie score 1–4.
    pub dansie_score: Option<DansieScore>,
    /// Voormolen grade.
    pub voormolen_grade: Option<VoormolenGrade>,
    /// Name of the user cut-point class (config `custom_grades`), when any are configured.
    pub custom_grade: Option<String>,
    /// Cement volume, mL (0 when none).
    pub cement_ml: f64,
    /// Cement volume as % of the body volume.
    pub cement_percent: f64,
    /// Cement fill quartile; `None` when there is no cement.
    pub cement_quartile: Option<CementQuartile>,
    /// A thin fluid-signal shell hugs the cement.
    pub rim_present: bool,
    /// Volume of that shell, mL (0 when absent).
    pub rim_ml: f64,
    /// A CSF-like fluid collection in a collapsed body.
    pub cleft_fluid: bool,
    /// Volume of that collection, mL (0 when absent).
    pub cleft_ml: f64,
    /// Anterior endplate-to-endplate height, mm.
    pub height_anterior_mm: Option<f64>,
    /// Middle height, mm.
    pub height_middle_mm: Option<f64>,
    /// Posterior height, mm.
    pub height_posterior_mm: Option<f64>,
    /// Largest of the three heights' loss against the nearest normal neighbours (study A), %.
    pub height_loss_percent: Option<f64>,
    /// Loss of min(anterior, middle) against the posterior wall (study B, ≥ 15 % = fracture), %.
    pub posterior_wall_loss_percent: Option<f64>,
    /// Genant grade.
    pub genant_grade: Option<GenantGrade>,
    /// Genant shape (`none` when grade 0).
    pub genant_shape: Option<GenantShape>,
    /// Body volume, mL (all voxels of the label, cement included).
    pub body_volume_ml: f64,
    /// Active / inactive for fractured bodies, `None` otherwise.
    pub fracture_activity: Option<FractureActivity>,
    /// The body is partly outside the field of view.
    pub partial: bool,
    /// Confidence in `bme_percent` and its grades, 0–1 (see `docs/scoring.md`).
    pub confidence: f64,
    /// Caveats.
    pub flags: Vec<ScoreFlag>,
}

/// A robust line `ln(intensity) = intercept + slope · s` along the spine coordinate `s` (mm).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogLinearModel {
    /// ln(intensity) at s = 0.
    pub intercept: f64,
    /// Change of ln(intensity) per mm along the spine.
    pub slope_per_mm: f64,
    /// Robust relative SD of normal-marrow voxels around their body's median (noise + texture).
    pub relative_sd: f64,
    /// Robust SD of reference bodies' ln-medians around the line (the reference's own uncertainty).
    pub residual_sd: f64,
}

impl LogLinearModel {
    /// Normal-marrow intensity at spine coordinate `s_mm`.
    pub fn at(&self, s_mm: f64) -> f64 {
        (self.intercept + self.slope_per_mm * s_mm).exp()
    }
}

/// What "normal marrow" was in this exam, per series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarrowReference {
    /// Unit LPS direction of the spine coordinate `s` (principal axis of the body centroids).
    pub axis: [f64; 3],
    /// T1 normal-marrow model, when there is a T1.
    pub t1: Option<LogLinearModel>,
    /// Fluid-series normal-marrow model, when there is a fluid series.
    pub fluid: Option<LogLinearModel>,
    /// Background (noise floor) level of T1, from the darkest voxels of the volume.
    pub t1_floor: Option<f64>,
    /// Background level of the fluid series.
    pub fluid_floor: Option<f64>,
    /// Bright-fluid (CSF) level of the fluid series.
    pub fluid_csf_level: Option<f64>,
    /// Labels of the bodies taken as normal marrow.
    pub reference_labels: Vec<u16>,
    /// True when no body looked normal and the reference fell back to all bodies.
    pub fallback: bool,
}

/// Voxel class codes of [`ScoreMasks::classes`].
pub mod mask_class {
    /// Nothing scored (outside bodies, or normal marrow).
    pub const NONE: u8 = 0;
    /// Edematous marrow.
    pub const EDEMA: u8 = 1;
    /// Cement.
    pub const CEMENT: u8 = 2;
    /// Peri-cement rim.
    pub const RIM: u8 = 3;
    /// Cleft fluid (used while scoring; not kept in [`super::ScoreMasks`]).
    pub const CLEFT: u8 = 4;
}

/// What scoring decided for every voxel of the reference grid, for `--save-masks`, the
/// overlays and the voxel-wise comparison. One class per voxel ([`mask_class`] codes): a
/// voxel cannot be both edema and cement, and one volume is a third of the memory (and of
/// the zeroing) of three.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreMasks {
    /// [`mask_class`] code per voxel: edema (rim, and cleft fluid in collapsed bodies,
    /// excluded), cement, peri-cement rim, or nothing.
    pub classes: Volume<u8>,
}

impl ScoreMasks {
    /// Empty masks on the grid of `like`.
    pub(crate) fn empty<T>(like: &Volume<T>) -> Self {
        ScoreMasks {
            classes: like.with_voxels(Array3::<u8>::zeros(like.voxels.raw_dim())),
        }
    }

    /// One class as a 0/1 volume (as `--save-masks` writes it).
    pub fn mask_of(&self, class: u8) -> Volume<u8> {
        self.classes
            .with_voxels(self.classes.voxels.mapv(|c| u8::from(c == class)))
    }
}

/// Everything scoring found in one exam.
#[derive(Clone, Debug)]
pub struct ExamScores {
    /// Series actually used for the edema decision.
    pub mode: ScoringMode,
    /// Normal-marrow reference.
    pub reference: MarrowReference,
    /// One entry per body, in the order of the segmentation.
    pub vertebrae: Vec<VertebraScore>,
    /// Voxel masks.
    pub masks: ScoreMasks,
    /// Exam-level caveats in words.
    pub warnings: Vec<String>,
}
