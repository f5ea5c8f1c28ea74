//! Scoring settings, with the defaults a study reproduction should use. Every number is
//! explained in `docs/scoring.md`; changing one changes results, so it is serialised with
//! each report.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One user-defined BME class: bodies with `bme_percent ≥ min_percent` (and below the next
/// cut-point) get `name`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CutPoint {
    /// Class name written to `custom_grade`.
    pub name: String,
    /// Lower bound of the class, % (inclusive).
    pub min_percent: f64,
}

/// Settings of the per-vertebra scoring. `ScoreConfig::default()` is the documented method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoreConfig {
    /// BME % below which a body counts as edema-free ("none" / Dansie 1). Voormolen et al.
    /// start the "minor" class at 1 %.
    pub detection_floor_percent: f64,
    /// A voxel is T1-hypointense / fluid-hyperintense when it departs from normal marrow by
    /// more than this many robust SDs of normal-marrow voxels (and by the minimum fractions below).
    pub threshold_sd: f64,
    /// The same, when only one series decides (stir-only, t2fs-only, t1-only): one criterion
    /// instead of two lets more noise through, so it is stricter.
    pub single_series_threshold_sd: f64,
    /// Minimum relative drop of T1 below normal marrow for "hypointense" (0.15 = 15 %).
    pub min_t1_drop_fraction: f64,
    /// Minimum relative rise of the fluid series above normal marrow for "hyperintense".
    pub min_fluid_rise_fraction: f64,
    /// Relative move of the thresholds used to measure how sensitive BME % is (confidence).
    pub threshold_perturbation_fraction: f64,
    /// In-plane width of the cortical / partial-volume border excluded from the voxel decision, mm.
    pub border_in_plane_mm: f64,
    /// Through-plane border, in slices, on thick-slice axes (partial volume of the lateral slices).
    pub border_through_plane_slices: usize,
    /// Edema clusters smaller than this are not counted, mL: besides noise specks, the
    /// basivertebral vein and partial volume at the body's lateral edge make small
    /// T1-dark, fluid-bright clusters in normal bodies.
    pub min_edema_cluster_ml: f64,
    /// Holes in edema smaller than this are filled, mL (noise punched into edema).
    pub min_edema_hole_ml: f64,
    /// Cement: T1 below floor + this fraction of (normal marrow − floor).
    pub cement_t1_fraction: f64,
    /// Cement when there is no T1: fluid below floor + this fraction of (normal marrow − floor).
    pub cement_fluid_fraction: f64,
    /// Smallest cement blob, mL (smaller dark blobs are cortex, vessels or noise).
    pub min_cement_ml: f64,
    /// Rim: fluid-bright, T1-dark voxels within this distance of the cement, mm.
    pub rim_max_distance_mm: f64,
    /// Smallest rim, mL.
    pub min_rim_ml: f64,
    /// Share of the shell around the cement that must be fluid-bright for a rim.
    pub min_rim_shell_fraction: f64,
    /// Cleft fluid: fluid-series signal at least this fraction of the exam's CSF level.
    pub cleft_csf_fraction: f64,
    /// Cleft fluid is also darker on T1 than the marrow around it, by this factor at least
    /// (surrounding marrow = the body's edematous marrow when it has some, else normal
    /// marrow). Bright edema reaches the CSF fraction on STIR but keeps 55–70 % of normal T1;
    /// a fluid-filled cleft is CSF-dark on T1, but a 1–2 mm line on 4–5 mm slices keeps
    /// only about half of its contrast, hence a margin of 15 %.
    pub cleft_t1_contrast: f64,
    /// … and brighter on the fluid series than the marrow around it by this factor at least
    /// (8 %: the same partial volume).
    pub cleft_fluid_contrast: f64,
    /// Smallest cleft collection, mL.
    pub min_cleft_ml: f64,
    /// Anterior and posterior heights are measured this fraction of the AP depth inside the
    /// anterior and posterior margins (rounded corners and osteophytes are avoided).
    pub height_margin_fraction: f64,
    /// Regions whose label is not a named vertebra (external masks) are vertebral bodies.
    /// Set false for external masks: heights are then measured only on named C/T/L levels.
    pub unnamed_regions_are_bodies: bool,
    /// User cut-points for `custom_grade`, ascending.
    pub custom_grades: Vec<CutPoint>,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            detection_floor_percent: 1.0,
            threshold_sd: 2.5,
            single_series_threshold_sd: 3.0,
            min_t1_drop_fraction: 0.15,
            min_fluid_rise_fraction: 0.30,
            threshold_perturbation_fraction: 0.2,
            border_in_plane_mm: 1.5,
            border_through_plane_slices: 1,
            min_edema_cluster_ml: 0.25,
            min_edema_hole_ml: 0.05,
            cement_t1_fraction: 0.3,
            cement_fluid_fraction: 0.5,
            min_cement_ml: 0.1,
            rim_max_distance_mm: 3.0,
            min_rim_ml: 0.05,
            min_rim_shell_fraction: 0.15,
            cleft_csf_fraction: 0.6,
            cleft_t1_contrast: 0.85,
            cleft_fluid_contrast: 1.08,
            min_cleft_ml: 0.05,
            height_margin_fraction: 0.10,
            unnamed_regions_are_bodies: true,
            custom_grades: Vec::new(),
        }
    }
}

impl ScoreConfig {
    /// Checks ranges and the order of the cut-points.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("threshold_sd", self.threshold_sd),
            (
                "single_series_threshold_sd",
                self.single_series_threshold_sd,
            ),
            ("rim_max_distance_mm", self.rim_max_distance_mm),
            ("cleft_csf_fraction", self.cleft_csf_fraction),
            ("cleft_t1_contrast", self.cleft_t1_contrast),
            ("cleft_fluid_contrast", self.cleft_fluid_contrast),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(Error::Config(format!("{name} must be > 0, got {value}")));
            }
        }
        let non_negative = [
            ("detection_floor_percent", self.detection_floor_percent),
            ("border_in_plane_mm", self.border_in_plane_mm),
            ("min_edema_cluster_ml", self.min_edema_cluster_ml),
            ("min_edema_hole_ml", self.min_edema_hole_ml),
            ("min_cement_ml", self.min_cement_ml),
            ("min_rim_ml", self.min_rim_ml),
            ("min_cleft_ml", self.min_cleft_ml),
        ];
        for (name, value) in non_negative {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::Config(format!("{name} must be ≥ 0, got {value}")));
            }
        }
        let fractions = [
            ("min_t1_drop_fraction", self.min_t1_drop_fraction),
            ("min_fluid_rise_fraction", self.min_fluid_rise_fraction),
            (
                "threshold_perturbation_fraction",
                self.threshold_perturbation_fraction,
            ),
            ("cement_t1_fraction", self.cement_t1_fraction),
            ("cement_fluid_fraction", self.cement_fluid_fraction),
            ("min_rim_shell_fraction", self.min_rim_shell_fraction),
        ];
        for (name, value) in fractions {
            if !(0.0..1.0).contains(&value) {
                return Err(Error::Config(format!(
                    "{name} must be in [0, 1), got {value}"
                )));
            }
        }
        if !(0.0..0.5).contains(&self.height_margin_fraction) {
            return Err(Error::Config(format!(
                "height_margin_fraction must be in [0, 0.5), got {}",
                self.height_margin_fraction
            )));
        }
        for pair in self.custom_grades.windows(2) {
            if pair[1].min_percent.partial_cmp(&pair[0].min_percent)
                != Some(std::cmp::Ordering::Greater)
            {
                return Err(Error::Config(format!(
                    "custom_grades must ascend: '{}' ({}) then '{}' ({})",
                    pair[0].name, pair[0].min_percent, pair[1].name, pair[1].min_percent
                )));
            }
        }
        if let Some(bad) = self
            .custom_grades
            .iter()
            .find(|c| !c.min_percent.is_finite())
        {
            return Err(Error::Config(format!(
                "custom grade '{}' has a non-finite cut-point",
                bad.name
            )));
        }
        Ok(())
    }
}
