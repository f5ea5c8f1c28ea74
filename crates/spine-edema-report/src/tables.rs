//! The tidy CSV tables of SPEC §4: `vertebrae.csv` (one row per vertebra per exam),
//! `changes.csv` (one row per level per baseline/follow-up pair) and `failures.csv`.
//! Column names are a stable contract; columns may be added, never renamed or removed.
//! Enumerations are spelt exactly as in the JSON (one serde spelling for both).

use anyhow::Result;
use serde::Serialize;
use spine_edema::compare::LevelChange;
use spine_edema::pipeline::ExamReport;

/// The spelling of a value as serde writes it in JSON, without quotes; empty for `None`.
pub fn spell<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) | Err(_) => String::new(),
        Ok(other) => other.to_string(),
    }
}

fn num(value: Option<f64>, decimals: usize) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// One row of `vertebrae.csv`.
#[derive(Debug, Serialize)]
pub struct VertebraRow {
    exam_id: String,
    patient_id: String,
    study_date: String,
    level: String,
    label: u16,
    bme_percent: String,
    bme_percent_low: String,
    bme_percent_high: String,
    dansie_score: String,
    voormolen_grade: String,
    custom_grade: String,
    cement_percent: String,
    cement_ml: String,
    cement_quartile: String,
    rim_present: bool,
    rim_ml: String,
    cleft_fluid: bool,
    height_anterior_mm: String,
    height_middle_mm: String,
    height_posterior_mm: String,
    height_loss_percent: String,
    posterior_wall_loss_percent: String,
    genant_grade: String,
    genant_shape: String,
    body_volume_ml: String,
    fracture_activity: String,
    partial: bool,
    fluid_series: String,
    mode: String,
    confidence: String,
    level_confidence: String,
    flags: String,
}

/// Rows of one exam.
pub fn vertebra_rows(exam_id: &str, report: &ExamReport) -> Vec<VertebraRow> {
    let fluid_series = report
        .info
        .fluid
        .as_ref()
        .map(|f| spell(&f.contrast))
        .unwrap_or_default();
    report
        .vertebrae
        .iter()
        .map(|v| {
            let body = report.bodies.iter().find(|b| b.label == v.label);
            VertebraRow {
                exam_id: exam_id.to_string(),
                patient_id: report.info.patient_id.clone(),
                study_date: report
                    .info
                    .study_date
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                level: v.level.map(|l| l.to_string()).unwrap_or_default(),
                label: v.label,
                bme_percent: num(v.bme_percent, 2),
                bme_percent_low: num(v.bme_percent_range.map(|r| r[0]), 2),
                bme_percent_high: num(v.bme_percent_range.map(|r| r[1]), 2),
                dansie_score: spell(&v.dansie_score),
                voormolen_grade: spell(&v.voormolen_grade),
                custom_grade: v.custom_grade.clone().unwrap_or_default(),
                cement_percent: num(Some(v.cement_percent), 2),
                cement_ml: num(Some(v.cement_ml), 3),
                cement_quartile: spell(&v.cement_quartile),
                rim_present: v.rim_present,
                rim_ml: num(Some(v.rim_ml), 3),
                cleft_fluid: v.cleft_fluid,
                height_anterior_mm: num(v.height_anterior_mm, 2),
                height_middle_mm: num(v.height_middle_mm, 2),
                height_posterior_mm: num(v.height_posterior_mm, 2),
                height_loss_percent: num(v.height_loss_percent, 2),
                posterior_wall_loss_percent: num(v.posterior_wall_loss_percent, 2),
                genant_grade: spell(&v.genant_grade),
                genant_shape: spell(&v.genant_shape),
                body_volume_ml: num(Some(v.body_volume_ml), 3),
                fracture_activity: spell(&v.fracture_activity),
                partial: v.partial,
                fluid_series: fluid_series.clone(),
                mode: report.mode.as_str().to_string(),
                confidence: num(Some(v.confidence), 3),
                level_confidence: num(body.map(|b| b.level_confidence), 3),
                flags: v.flags.iter().map(spell).collect::<Vec<_>>().join(";"),
            }
        })
        .collect()
}

/// One row of `changes.csv`.
#[derive(Debug, Serialize)]
pub struct ChangeRow {
    patient_id: String,
    level: String,
    baseline_exam_id: String,
    followup_exam_id: String,
    baseline_date: String,
    followup_date: String,
    interval_days: String,
    interval_bin_a: String,
    interval_bin_b: String,
    bme_percent_before: String,
    bme_percent_after: String,
    change: String,
    newly_edematous_percent: String,
    newly_normal_percent: String,
    height_loss_anterior_mm: String,
    height_loss_middle_mm: String,
    height_loss_posterior_mm: String,
    height_loss_max_mm: String,
    height_loss_max_percent: String,
    treated: bool,
    alignment_overlap: String,
    flags: String,
}

impl From<&LevelChange> for ChangeRow {
    fn from(c: &LevelChange) -> Self {
        ChangeRow {
            patient_id: c.patient_id.clone(),
            level: c.level.to_string(),
            baseline_exam_id: c.baseline_exam_id.clone(),
            followup_exam_id: c.followup_exam_id.clone(),
            baseline_date: c.baseline_date.map(|d| d.to_string()).unwrap_or_default(),
            followup_date: c.followup_date.map(|d| d.to_string()).unwrap_or_default(),
            interval_days: c.interval_days.map(|d| d.to_string()).unwrap_or_default(),
            interval_bin_a: spell(&c.interval_bin_a),
            interval_bin_b: c.interval_bin_b.clone().unwrap_or_default(),
            bme_percent_before: num(c.bme_percent_before, 2),
            bme_percent_after: num(c.bme_percent_after, 2),
            change: spell(&c.change),
            newly_edematous_percent: num(c.newly_edematous_percent, 2),
            newly_normal_percent: num(c.newly_normal_percent, 2),
            height_loss_anterior_mm: num(c.height_loss_anterior_mm, 2),
            height_loss_middle_mm: num(c.height_loss_middle_mm, 2),
            height_loss_posterior_mm: num(c.height_loss_posterior_mm, 2),
            height_loss_max_mm: num(c.height_loss_max_mm, 2),
            height_loss_max_percent: num(c.height_loss_max_percent, 2),
            treated: c.treated,
            alignment_overlap: num(c.alignment_overlap, 3),
            flags: c
                .flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

/// One row of `failures.csv`.
#[derive(Debug, Serialize)]
pub struct FailureRow {
    /// The file or exam that failed.
    pub path: String,
    /// Exam id, when the failure concerns a whole exam.
    pub exam_id: String,
    /// Error category (`decoding`, `geometry`, `limits`, …).
    pub category: String,
    /// What went wrong.
    pub reason: String,
}

/// Serialises rows as CSV with a header (also when there are no rows, so a reader always
/// finds the columns).
pub fn to_csv<T: Serialize>(rows: &[T], empty_header: &[&str]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if rows.is_empty() {
        writer.write_record(empty_header)?;
    }
    for row in rows {
        writer.serialize(row)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}

/// Column names of `vertebrae.csv`, for an empty table.
pub const VERTEBRA_COLUMNS: &[&str] = &[
    "exam_id",
    "patient_id",
    "study_date",
    "level",
    "label",
    "bme_percent",
    "bme_percent_low",
    "bme_percent_high",
    "dansie_score",
    "voormolen_grade",
    "custom_grade",
    "cement_percent",
    "cement_ml",
    "cement_quartile",
    "rim_present",
    "rim_ml",
    "cleft_fluid",
    "height_anterior_mm",
    "height_middle_mm",
    "height_posterior_mm",
    "height_loss_percent",
    "posterior_wall_loss_percent",
    "genant_grade",
    "genant_shape",
    "body_volume_ml",
    "fracture_activity",
    "partial",
    "fluid_series",
    "mode",
    "confidence",
    "level_confidence",
    "flags",
];

/// Column names of `changes.csv`, for an empty table.
pub const CHANGE_COLUMNS: &[&str] = &[
    "patient_id",
    "level",
    "baseline_exam_id",
    "followup_exam_id",
    "baseline_date",
    "followup_date",
    "interval_days",
    "interval_bin_a",
    "interval_bin_b",
    "bme_percent_before",
    "bme_percent_after",
    "change",
    "newly_edematous_percent",
    "newly_normal_percent",
    "height_loss_anterior_mm",
    "height_loss_middle_mm",
    "height_loss_posterior_mm",
    "height_loss_max_mm",
    "height_loss_max_percent",
    "treated",
    "alignment_overlap",
    "flags",
];

/// Column names of `failures.csv`.
pub const FAILURE_COLUMNS: &[&str] = &["path", "exam_id", "category", "reason"];
