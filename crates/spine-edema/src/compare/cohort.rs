//! Cohort summaries in the form of the reference studies' figures and tables.
//!
//! - Study B (Voormolen) figure: distribution of BME grades at baseline and at 3, 6 and 12
//!   months; text: share of treated bodies whose BME resolved completely at each visit
//!   (35 %, 54 %, 71 %); table: decrease / similar / increase per interval.
//! - Study A (Dansie) figure: share of vertebrae with moderate or severe edema (score 3–4)
//!   per follow-up interval bin; text: share of levels losing further height.

use super::{ChangeClass, CompareConfig, IntervalBinA, LevelChange};
use crate::score::DansieScore;
use crate::score::grade::{dansie_score, voormolen_grade};
use serde::{Deserialize, Serialize};

/// Name of the baseline time point in summaries.
pub const BASELINE: &str = "baseline";

/// Counts of each grade (ranked 0–3: none, minor, moderate, severe) at one time point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradeDistribution {
    /// `baseline`, or a study-B visit name.
    pub time_point: String,
    /// Bodies per grade rank 0..=3.
    pub counts: [usize; 4],
}

impl GradeDistribution {
    /// Number of bodies.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }
}

/// A share of bodies with some property in one group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// Group name (time point or interval bin).
    pub group: String,
    /// Bodies with the property.
    pub count: usize,
    /// Bodies in the group.
    pub total: usize,
}

impl Share {
    /// count / total, or None for an empty group.
    pub fn fraction(&self) -> Option<f64> {
        (self.total > 0).then(|| self.count as f64 / self.total as f64)
    }
}

/// Less / same / more counts at one time point (study B's change table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// Study-B visit name.
    pub time_point: String,
    /// Decrease.
    pub less: usize,
    /// Similar.
    pub same: usize,
    /// Increase.
    pub more: usize,
}

/// All cohort summaries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CohortSummary {
    /// Grade distribution at baseline and each visit (study B's stacked bars).
    pub grade_distribution: Vec<GradeDistribution>,
    /// Share with moderate or severe edema (Dansie 3–4) per study-A interval bin.
    pub moderate_or_severe_by_interval: Vec<Share>,
    /// Share of bodies with edema at baseline whose edema resolved, per visit.
    pub resolved_by_time_point: Vec<Share>,
    /// Share of levels that lost at least the configured height, per visit.
    pub further_height_loss_by_time_point: Vec<Share>,
    /// Less / same / more per visit.
    pub change_by_time_point: Vec<ChangeCounts>,
}

/// Which bodies a summary counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CohortSelection {
    /// Only treated (cemented) levels, as both studies report.
    Treated,
    /// Every matched level.
    All,
}

/// Summarises baseline-to-follow-up changes (one [`LevelChange`] per level and follow-up,
/// each against the patient's baseline exam). Grades are recomputed from BME % with the
/// configured detection floor, so the summary uses the same scales as `vertebrae.csv`.
pub fn summarize(
    changes: &[LevelChange],
    selection: CohortSelection,
    cfg: &CompareConfig,
) -> CohortSummary {
    let grade_rank = |bme: f64| voormolen_grade(bme, cfg.edema_floor_percent) as u8;
    let moderate_or_severe =
        |bme: f64| dansie_score(bme, cfg.edema_floor_percent) >= DansieScore::OneToTwoThirds;
    let rows: Vec<&LevelChange> = changes
        .iter()
        .filter(|c| selection == CohortSelection::All || c.treated)
        .collect();
    let visit_names: Vec<String> = cfg.time_points.iter().map(|t| t.name.clone()).collect();

    // Baseline: each (patient, level) once, from its earliest comparison.
    let mut baseline_seen = std::collections::BTreeSet::new();
    let mut baseline = GradeDistribution {
        time_point: BASELINE.into(),
        counts: [0; 4],
    };
    for c in &rows {
        if let Some(b) = c.bme_percent_before {
            if baseline_seen.insert((c.patient_id.clone(), c.level, c.baseline_exam_id.clone())) {
                baseline.counts[usize::from(grade_rank(b).min(3))] += 1;
            }
        }
    }
    let mut grade_distribution = vec![baseline];
    let mut resolved = Vec::new();
    let mut height = Vec::new();
    let mut change_counts = Vec::new();
    for name in &visit_names {
        let at: Vec<&&LevelChange> = rows
            .iter()
            .filter(|c| c.interval_bin_b.as_deref() == Some(name))
            .collect();
        let mut dist = GradeDistribution {
            time_point: name.clone(),
            counts: [0; 4],
        };
        for c in &at {
            if let Some(a) = c.bme_percent_after {
                dist.counts[usize::from(grade_rank(a).min(3))] += 1;
            }
        }
        grade_distribution.push(dist);
        let with_edema: Vec<_> = at
            .iter()
            .filter(|c| {
                c.bme_percent_before
                    .is_some_and(|b| b >= cfg.edema_floor_percent)
                    && c.bme_percent_after.is_some()
            })
            .collect();
        resolved.push(Share {
            group: name.clone(),
            count: with_edema
                .iter()
                .filter(|c| {
                    c.bme_percent_after
                        .is_some_and(|a| a < cfg.edema_floor_percent)
                })
                .count(),
            total: with_edema.len(),
        });
        let measured: Vec<_> = at
            .iter()
            .filter(|c| c.height_loss_max_mm.is_some())
            .collect();
        height.push(Share {
            group: name.clone(),
            count: measured
                .iter()
                .filter(|c| {
                    c.height_loss_max_mm
                        .is_some_and(|h| h >= cfg.further_height_loss_mm)
                })
                .count(),
            total: measured.len(),
        });
        let count = |class| at.iter().filter(|c| c.change == Some(class)).count();
        change_counts.push(ChangeCounts {
            time_point: name.clone(),
            less: count(ChangeClass::Less),
            same: count(ChangeClass::Same),
            more: count(ChangeClass::More),
        });
    }
    let moderate_or_severe_by_interval = IntervalBinA::ALL
        .iter()
        .map(|bin| {
            let at: Vec<_> = rows
                .iter()
                .filter(|c| c.interval_bin_a == Some(*bin) && c.bme_percent_after.is_some())
                .collect();
            Share {
                group: bin.as_str().to_string(),
                count: at
                    .iter()
                    .filter(|c| c.bme_percent_after.is_some_and(moderate_or_severe))
                    .count(),
                total: at.len(),
            }
        })
        .collect();
    CohortSummary {
        grade_distribution,
        moderate_or_severe_by_interval,
        resolved_by_time_point: resolved,
        further_height_loss_by_time_point: height,
        change_by_time_point: change_counts,
    }
}
