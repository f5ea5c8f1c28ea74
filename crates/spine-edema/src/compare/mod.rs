//! Exam-to-exam comparison of one patient (SPEC §3.6), in the terms of the two reference
//! studies: change class (less / same / more), study A's voxel-wise "newly edematous /
//! newly normal marrow", interval height loss, follow-up interval bins of both studies,
//! and the events the studies reason about (new fracture, recurrent edema at a treated
//! level). Cohort summaries are in [`cohort`].

pub mod align;
pub mod cohort;
pub mod crop;
pub mod interval;

use crate::error::{Error, Result};
use crate::level::Level;
use crate::score::VoormolenGrade;
use align::align_bodies;
use chrono::NaiveDate;
use crop::BodyCrop;
pub use interval::{IntervalBinA, TimePoint, default_time_points, time_point_of_days};
use serde::{Deserialize, Serialize};

/// Thresholds of the comparison. Defaults are documented in `docs/comparison.md`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareConfig {
    /// BME % change (percentage points) within which a level counts as `same`.
    pub same_tolerance_pp: f64,
    /// BME % at or above which a body has edema (the Voormolen "none" floor).
    pub edema_floor_percent: f64,
    /// Interval height loss (% of the baseline height, largest of the three heights) at or
    /// above which an untreated level is a new-fracture candidate. 20 % is the Genant
    /// grade-1 threshold.
    pub new_fracture_height_loss_percent: f64,
    /// Interval height loss (mm, largest of the three) that counts as "further height loss"
    /// in cohort summaries. Study A reports a mean of 1.2 mm; 1 mm is above the measurement
    /// noise of a 1 mm-pixel image.
    pub further_height_loss_mm: f64,
    /// Study B's visits and their windows.
    pub time_points: Vec<TimePoint>,
    /// Largest translation (mm) searched when aligning a body between exams.
    pub max_shift_mm: f64,
    /// Largest rotation (degrees) searched when aligning a body between exams.
    pub max_rotation_deg: f64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            same_tolerance_pp: 5.0,
            edema_floor_percent: 1.0,
            new_fracture_height_loss_percent: 20.0,
            further_height_loss_mm: 1.0,
            time_points: default_time_points(),
            max_shift_mm: 10.0,
            max_rotation_deg: 10.0,
        }
    }
}

/// What comparison needs to know about one body of one exam.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelObservation {
    /// The named level (bodies without a level cannot be matched and are left out).
    pub level: Level,
    /// BME % of marrow (None when it could not be scored).
    pub bme_percent: Option<f64>,
    /// Voormolen grade.
    pub grade: Option<VoormolenGrade>,
    /// Cement % of the body; > 0 means a treated level.
    pub cement_percent: f64,
    /// Body volume, mL.
    pub body_volume_ml: f64,
    /// Anterior, middle, posterior heights (mm).
    pub heights_mm: [Option<f64>; 3],
    /// The body's voxels, for voxel-wise change.
    pub crop: Option<BodyCrop>,
}

/// One exam as seen by the comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExamObservation {
    /// Exam identifier.
    pub exam_id: String,
    /// Patient identifier (possibly pseudonymised).
    pub patient_id: String,
    /// Exam date.
    pub date: Option<NaiveDate>,
    /// Bodies, any order.
    pub levels: Vec<LevelObservation>,
}

/// Direction of change of a level's edema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeClass {
    /// Less edema.
    Less,
    /// No change beyond the tolerance.
    Same,
    /// More edema.
    More,
}

impl ChangeClass {
    /// CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeClass::Less => "less",
            ChangeClass::Same => "same",
            ChangeClass::More => "more",
        }
    }
}

/// Events the studies reason about, reported in the `flags` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeFlag {
    /// An untreated level gained edema or lost height: the usual cause of new pain after
    /// vertebroplasty.
    NewFractureCandidate,
    /// The level is next to a cemented level (adjacent-level fractures after PV).
    AdjacentToTreated,
    /// Edema increased or reappeared in a cemented body: the situation in which a level is
    /// treated again.
    RecurrentEdemaTreated,
    /// Edema resolved completely (Voormolen's "BME resolved").
    Resolved,
    /// The body could not be aligned well between the exams; voxel-wise figures are unreliable.
    PoorAlignment,
}

impl ChangeFlag {
    /// CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeFlag::NewFractureCandidate => "new_fracture_candidate",
            ChangeFlag::AdjacentToTreated => "adjacent_to_treated",
            ChangeFlag::RecurrentEdemaTreated => "recurrent_edema_treated",
            ChangeFlag::Resolved => "resolved",
            ChangeFlag::PoorAlignment => "poor_alignment",
        }
    }
}

/// The change of one level between two exams: one row of `changes.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelChange {
    /// Patient.
    pub patient_id: String,
    /// Level.
    pub level: Level,
    /// Baseline exam id.
    pub baseline_exam_id: String,
    /// Follow-up exam id.
    pub followup_exam_id: String,
    /// Baseline date.
    pub baseline_date: Option<NaiveDate>,
    /// Follow-up date.
    pub followup_date: Option<NaiveDate>,
    /// Days between the exams.
    pub interval_days: Option<i64>,
    /// Study A's interval bin.
    pub interval_bin_a: Option<IntervalBinA>,
    /// Study B's visit (e.g. `3m`), or None outside every window.
    pub interval_bin_b: Option<String>,
    /// BME % at baseline.
    pub bme_percent_before: Option<f64>,
    /// BME % at follow-up.
    pub bme_percent_after: Option<f64>,
    /// Less / same / more.
    pub change: Option<ChangeClass>,
    /// % of marrow (present in both exams) edematous at follow-up but not at baseline.
    pub newly_edematous_percent: Option<f64>,
    /// % of marrow (present in both exams) edematous at baseline but not at follow-up.
    pub newly_normal_percent: Option<f64>,
    /// Interval height loss, anterior (mm; positive = lost height).
    pub height_loss_anterior_mm: Option<f64>,
    /// Interval height loss, middle (mm).
    pub height_loss_middle_mm: Option<f64>,
    /// Interval height loss, posterior (mm).
    pub height_loss_posterior_mm: Option<f64>,
    /// Largest of the three interval height losses (mm).
    pub height_loss_max_mm: Option<f64>,
    /// Largest of the three interval height losses, each as % of its baseline height.
    pub height_loss_max_percent: Option<f64>,
    /// Overlap of the aligned bodies (0–1), a quality measure for the voxel-wise figures.
    pub alignment_overlap: Option<f64>,
    /// True when the level holds cement in either exam (a treated level).
    pub treated: bool,
    /// Events.
    pub flags: Vec<ChangeFlag>,
}

/// Compares two exams of one patient level by level. Exams are put in date order (the
/// earlier is the baseline). Fails when the exams belong to different patients or when
/// the level names disagree with the bodies' geometry (a level shift), rather than pair
/// the wrong bodies silently.
pub fn compare_exams(
    a: &ExamObservation,
    b: &ExamObservation,
    cfg: &CompareConfig,
) -> Result<Vec<LevelChange>> {
    if a.patient_id != b.patient_id {
        return Err(Error::analysis(
            format!("{} vs {}", a.exam_id, b.exam_id),
            format!("different patients ({} and {})", a.patient_id, b.patient_id),
        ));
    }
    let (base, follow) = match (a.date, b.date) {
        (Some(da), Some(db)) if db < da => (b, a),
        _ => (a, b),
    };
    check_level_consistency(base, follow)?;
    let interval_days = match (base.date, follow.date) {
        (Some(d0), Some(d1)) => Some((d1 - d0).num_days()),
        _ => None,
    };
    let treated: Vec<Level> = base
        .levels
        .iter()
        .chain(&follow.levels)
        .filter(|l| l.cement_percent > 0.0)
        .map(|l| l.level)
        .collect();
    let mut rows = Vec::new();
    for before in ordered_levels(base) {
        let Some(after) = follow.levels.iter().find(|l| l.level == before.level) else {
            continue;
        };
        rows.push(compare_level(
            base,
            follow,
            before,
            after,
            interval_days,
            &treated,
            cfg,
        ));
    }
    Ok(rows)
}

fn compare_level(
    base: &ExamObservation,
    follow: &ExamObservation,
    before: &LevelObservation,
    after: &LevelObservation,
    interval_days: Option<i64>,
    treated: &[Level],
    cfg: &CompareConfig,
) -> LevelChange {
    let change = match (before.bme_percent, after.bme_percent) {
        (Some(b), Some(a)) => Some(change_class(b, a, before.grade, after.grade, cfg)),
        _ => None,
    };
    let voxelwise = match (&before.crop, &after.crop) {
        (Some(cb), Some(ca)) => Some(voxelwise_change(cb, ca, cfg)),
        _ => None,
    };
    let losses: [Option<f64>; 3] =
        [0, 1, 2].map(|i| match (before.heights_mm[i], after.heights_mm[i]) {
            (Some(h0), Some(h1)) => Some(h0 - h1),
            _ => None,
        });
    // The maximum of the three, in mm and in % separately (study A reports both maxima).
    let height_loss_max_mm = losses.iter().flatten().copied().reduce(f64::max);
    let height_loss_max_percent = (0..3)
        .filter_map(|i| {
            let h0 = before.heights_mm[i]?;
            let loss = losses[i]?;
            (h0 > 0.0).then(|| 100.0 * loss / h0)
        })
        .reduce(f64::max);

    let mut flags = Vec::new();
    let is_treated = before.cement_percent > 0.0 || after.cement_percent > 0.0;
    let had_edema = before
        .bme_percent
        .is_some_and(|b| b >= cfg.edema_floor_percent);
    let has_edema = after
        .bme_percent
        .is_some_and(|a| a >= cfg.edema_floor_percent);
    if !is_treated {
        let new_edema = !had_edema && has_edema;
        let new_collapse =
            height_loss_max_percent.is_some_and(|p| p >= cfg.new_fracture_height_loss_percent);
        if new_edema || new_collapse {
            flags.push(ChangeFlag::NewFractureCandidate);
        }
    } else if (!had_edema && has_edema) || change == Some(ChangeClass::More) {
        flags.push(ChangeFlag::RecurrentEdemaTreated);
    }
    if treated
        .iter()
        .any(|t| t.ordinal().abs_diff(before.level.ordinal()) == 1)
        && !is_treated
    {
        flags.push(ChangeFlag::AdjacentToTreated);
    }
    if had_edema
        && after
            .bme_percent
            .is_some_and(|a| a < cfg.edema_floor_percent)
    {
        flags.push(ChangeFlag::Resolved);
    }
    if voxelwise
        .as_ref()
        .is_some_and(|v| v.overlap < POOR_ALIGNMENT_OVERLAP)
    {
        flags.push(ChangeFlag::PoorAlignment);
    }
    flags.sort();

    LevelChange {
        patient_id: base.patient_id.clone(),
        level: before.level,
        baseline_exam_id: base.exam_id.clone(),
        followup_exam_id: follow.exam_id.clone(),
        baseline_date: base.date,
        followup_date: follow.date,
        interval_days,
        interval_bin_a: interval_days.and_then(IntervalBinA::of_days),
        interval_bin_b: interval_days
            .and_then(|d| time_point_of_days(d, &cfg.time_points))
            .map(|p| p.name.clone()),
        bme_percent_before: before.bme_percent,
        bme_percent_after: after.bme_percent,
        change,
        newly_edematous_percent: voxelwise.as_ref().map(|v| v.newly_edematous_percent),
        newly_normal_percent: voxelwise.as_ref().map(|v| v.newly_normal_percent),
        height_loss_anterior_mm: losses[0],
        height_loss_middle_mm: losses[1],
        height_loss_posterior_mm: losses[2],
        height_loss_max_mm,
        height_loss_max_percent,
        alignment_overlap: voxelwise.as_ref().map(|v| v.overlap),
        treated: is_treated,
        flags,
    }
}

/// Below this overlap of the aligned bodies, voxel-wise figures are flagged: a body that
/// collapsed further still overlaps by ≥ 0.8, so lower values mean a failed alignment.
const POOR_ALIGNMENT_OVERLAP: f64 = 0.7;

/// Less / same / more: a change of BME % beyond the tolerance, or — within it — a change of
/// Voormolen grade in the same direction (so "minor → none" reads as less even when only
/// 3 points apart, as a reader comparing grades would say).
pub fn change_class(
    before: f64,
    after: f64,
    grade_before: Option<VoormolenGrade>,
    grade_after: Option<VoormolenGrade>,
    cfg: &CompareConfig,
) -> ChangeClass {
    let delta = after - before;
    if delta > cfg.same_tolerance_pp {
        return ChangeClass::More;
    }
    if delta < -cfg.same_tolerance_pp {
        return ChangeClass::Less;
    }
    match (grade_before, grade_after) {
        (Some(g0), Some(g1)) if g1 > g0 && delta > 0.0 => ChangeClass::More,
        (Some(g0), Some(g1)) if g1 < g0 && delta < 0.0 => ChangeClass::Less,
        _ => ChangeClass::Same,
    }
}

/// Voxel-wise change of one body after alignment.
#[derive(Clone, Debug, PartialEq)]
pub struct VoxelwiseChange {
    /// % of common marrow edematous at follow-up only.
    pub newly_edematous_percent: f64,
    /// % of common marrow edematous at baseline only.
    pub newly_normal_percent: f64,
    /// Overlap of the aligned bodies (0–1).
    pub overlap: f64,
}

/// Study A's descriptive change on voxels. The denominator is marrow present in both exams:
/// baseline body voxels (not cement) whose aligned position is inside the follow-up body
/// and not cement there. Marrow replaced by cement at vertebroplasty is neither "newly
/// normal" nor "newly edematous" — it is gone, as Voormolen excludes cement from the
/// denominator.
pub fn voxelwise_change(
    baseline: &BodyCrop,
    followup: &BodyCrop,
    cfg: &CompareConfig,
) -> VoxelwiseChange {
    let alignment = align_bodies(baseline, followup, cfg.max_shift_mm, cfg.max_rotation_deg);
    let base_body = baseline.decode(&baseline.body);
    let base_edema = baseline.decode(&baseline.edema);
    let base_cement = baseline.decode(&baseline.cement);
    let f_body = followup.decode(&followup.body);
    let f_edema = followup.decode(&followup.edema);
    let f_cement = followup.decode(&followup.cement);
    let to_follow_index = followup.affine.inverse();
    let (mut common, mut new_edema, mut new_normal) = (0usize, 0usize, 0usize);
    for ((i, j, k), &in_body) in base_body.indexed_iter() {
        if !in_body || base_cement[[i, j, k]] {
            continue;
        }
        let p = baseline.affine.index_to_mm([i as f64, j as f64, k as f64]);
        let q = to_follow_index.index_to_mm((alignment.baseline_to_followup * p).coords.into());
        let idx = [q.x.round(), q.y.round(), q.z.round()];
        if idx.iter().any(|&v| v < 0.0) {
            continue;
        }
        let at = (idx[0] as usize, idx[1] as usize, idx[2] as usize);
        if !f_body.get(at).copied().unwrap_or(false) || f_cement.get(at).copied().unwrap_or(false) {
            continue;
        }
        common += 1;
        let before = base_edema[[i, j, k]];
        let after = f_edema.get(at).copied().unwrap_or(false);
        match (before, after) {
            (false, true) => new_edema += 1,
            (true, false) => new_normal += 1,
            _ => {}
        }
    }
    let pct = |n: usize| {
        if common == 0 {
            0.0
        } else {
            100.0 * n as f64 / common as f64
        }
    };
    VoxelwiseChange {
        newly_edematous_percent: pct(new_edema),
        newly_normal_percent: pct(new_normal),
        overlap: alignment.overlap,
    }
}

/// Refuses to pair levels whose names disagree with the bodies' geometry.
///
/// Bodies are ordered head to foot in each exam and paired by name. If pairing them with
/// the names shifted by one level matches their volumes, cement and heights clearly better
/// than the names do, one exam was counted differently (e.g. the sacrum was out of view):
/// pairing by name would compare L2 with L3, so the comparison stops and says so.
fn check_level_consistency(base: &ExamObservation, follow: &ExamObservation) -> Result<()> {
    let (b, f) = (ordered_levels(base), ordered_levels(follow));
    let cost_for_shift = |shift: i32| -> Option<(f64, usize)> {
        let mut cost = 0.0;
        let mut n = 0usize;
        for lb in &b {
            let Some(target) = lb.level.offset(shift) else {
                continue;
            };
            let Some(lf) = f.iter().find(|l| l.level == target) else {
                continue;
            };
            cost += pair_cost(lb, lf);
            n += 1;
        }
        (n >= 3).then(|| (cost / n as f64, n))
    };
    let Some((named_cost, _)) = cost_for_shift(0) else {
        return Ok(());
    };
    for shift in [-2, -1, 1, 2] {
        if let Some((cost, _)) = cost_for_shift(shift) {
            // A clear margin is required: adjacent lumbar bodies differ by only ~5–10 % in
            // volume, so only distinctive bodies (cemented, fractured) can overrule names.
            if cost < 0.5 * named_cost && named_cost - cost > 0.15 {
                return Err(Error::analysis(
                    format!("{} vs {}", base.exam_id, follow.exam_id),
                    format!(
                        "level labels disagree with anatomy: the bodies match best when shifted by {shift} level(s) \
                         (mismatch {cost:.2} vs {named_cost:.2} as labelled); check the level anchor of one exam \
                         (--anchor) before comparing"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn ordered_levels(exam: &ExamObservation) -> Vec<&LevelObservation> {
    let mut v: Vec<&LevelObservation> = exam.levels.iter().collect();
    v.sort_by_key(|l| l.level.ordinal());
    v
}

/// Dissimilarity of two bodies thought to be the same vertebra: relative volume
/// difference, relative posterior-height difference (the posterior wall rarely collapses),
/// and a large penalty when only one of them holds cement (cement does not disappear).
fn pair_cost(a: &LevelObservation, b: &LevelObservation) -> f64 {
    let rel = |x: f64, y: f64| {
        if x + y > 0.0 {
            2.0 * (x - y).abs() / (x + y)
        } else {
            0.0
        }
    };
    let mut cost = rel(a.body_volume_ml, b.body_volume_ml);
    if let (Some(ha), Some(hb)) = (a.heights_mm[2], b.heights_mm[2]) {
        cost += rel(ha, hb);
    }
    let cemented = |l: &LevelObservation| l.cement_percent > 0.0;
    // Cement can be added between exams (treatment) but never removed.
    if cemented(a) && !cemented(b) {
        cost += 1.0;
    }
    cost
}
