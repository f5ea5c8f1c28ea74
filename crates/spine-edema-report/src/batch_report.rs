//! Batch-level outputs built from every exam of a run: the per-patient change table and
//! the HTML report with its cohort plots.

use crate::commands::score::StoredExam;
use crate::html::{self, ExamSection, Figure, PatientSection, Table};
use crate::overlay_files::OVERLAYS;
use crate::plots::{grade_distribution_svg, share_svg};
use crate::tables::{self, FailureRow};
use anyhow::Result;
use spine_edema::compare::cohort::{CohortSelection, summarize};
use spine_edema::compare::{CompareConfig, LevelChange, compare_exams};
use std::collections::BTreeMap;
use std::path::Path;

/// Compares each patient's first exam (by date) with each later one. Exams that cannot be
/// compared (level mismatch) are reported as failures, never silently paired.
pub fn patient_changes(
    stored: &[&StoredExam],
    cfg: &CompareConfig,
) -> (Vec<LevelChange>, Vec<FailureRow>) {
    let mut by_patient: BTreeMap<&str, Vec<&StoredExam>> = BTreeMap::new();
    for s in stored {
        by_patient
            .entry(s.report.info.patient_id.as_str())
            .or_default()
            .push(s);
    }
    let mut changes = Vec::new();
    let mut failures = Vec::new();
    for (patient, mut exams) in by_patient {
        if exams.len() < 2 {
            continue;
        }
        exams.sort_by_key(|e| {
            (
                e.report.info.study_date.is_none(),
                e.report.info.study_date,
                e.exam_id.clone(),
            )
        });
        let Some((baseline, later)) = exams.split_first() else {
            continue;
        };
        let base = baseline.report.observation(&baseline.exam_id, patient);
        for follow in later {
            match compare_exams(
                &base,
                &follow.report.observation(&follow.exam_id, patient),
                cfg,
            ) {
                Ok(rows) => changes.extend(rows),
                Err(e) => failures.push(FailureRow {
                    path: String::new(),
                    exam_id: follow.exam_id.clone(),
                    category: e.category().to_string(),
                    reason: format!("not compared with {}: {e}", baseline.exam_id),
                }),
            }
        }
    }
    (changes, failures)
}

fn fmt(v: Option<f64>, decimals: usize) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(|| "–".to_string(), |x| format!("{x:.decimals$}"))
}

/// The CSV spelling of a value, or a dash for "not measured" in the HTML tables.
fn spell<T: serde::Serialize>(v: &T) -> String {
    let s = tables::spell(v);
    if s.is_empty() { "–".to_string() } else { s }
}

/// Builds the HTML report.
pub fn html(
    out: &Path,
    stored: &[&StoredExam],
    changes: &[LevelChange],
    failures: &[&FailureRow],
    cfg: &CompareConfig,
) -> Result<String> {
    let vertebrae: usize = stored.iter().map(|s| s.report.vertebrae.len()).sum();
    let mut report = html::Report {
        title: "spine-edema report".to_string(),
        subtitle: format!(
            "{} exam(s), {vertebrae} vertebrae; spine-edema {}. Outlines: green none, yellow minor, orange moderate, red severe edema (Voormolen); red tint = edema voxels, cyan = cement.",
            stored.len(),
            env!("CARGO_PKG_VERSION")
        ),
        ..Default::default()
    };
    if !changes.is_empty() {
        let treated = changes.iter().any(|c| c.treated);
        let selection = if treated {
            CohortSelection::Treated
        } else {
            CohortSelection::All
        };
        let summary = summarize(changes, selection, cfg);
        let who = if treated {
            "treated vertebrae"
        } else {
            "all vertebrae"
        };
        report.plots.push((
            "grade distribution".into(),
            grade_distribution_svg(&summary),
        ));
        report.plots.push((
            "moderate or severe by interval".into(),
            share_svg(
                &format!("Moderate or severe edema by interval ({who})"),
                "share (Dansie 3–4)",
                &summary.moderate_or_severe_by_interval,
            ),
        ));
        report.plots.push((
            "resolved by visit".into(),
            share_svg(
                &format!("Edema resolved by visit ({who})"),
                "share resolved",
                &summary.resolved_by_time_point,
            ),
        ));
    }
    let mut by_patient: BTreeMap<&str, Vec<&LevelChange>> = BTreeMap::new();
    for c in changes {
        by_patient.entry(&c.patient_id).or_default().push(c);
    }
    for (patient, rows) in by_patient {
        let mut table = Table {
            headers: [
                "level",
                "follow-up",
                "days",
                "bin A",
                "bin B",
                "BME % before",
                "BME % after",
                "change",
                "newly edematous %",
                "newly normal %",
                "max height loss mm",
                "flags",
            ]
            .map(String::from)
            .to_vec(),
            ..Default::default()
        };
        for c in rows {
            table.rows.push(vec![
                c.level.to_string(),
                c.followup_date
                    .map_or_else(|| c.followup_exam_id.clone(), |d| d.to_string()),
                c.interval_days
                    .map_or_else(|| "–".into(), |d| d.to_string()),
                spell(&c.interval_bin_a),
                c.interval_bin_b.clone().unwrap_or_else(|| "–".into()),
                fmt(c.bme_percent_before, 1),
                fmt(c.bme_percent_after, 1),
                spell(&c.change),
                fmt(c.newly_edematous_percent, 1),
                fmt(c.newly_normal_percent, 1),
                fmt(c.height_loss_max_mm, 1),
                c.flags
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ]);
        }
        report.patients.push(PatientSection {
            patient_id: patient.to_string(),
            changes: table,
        });
    }
    for s in stored {
        let r = &s.report;
        let series = |u: &Option<spine_edema::load::SeriesUsed>| {
            u.as_ref().map_or_else(
                || "none".to_string(),
                |u| {
                    format!(
                        "{} ({}, {} slices)",
                        u.description
                            .clone()
                            .unwrap_or_else(|| "no description".into()),
                        spell(&u.contrast),
                        u.slices
                    )
                },
            )
        };
        let mut facts = vec![
            ("patient".to_string(), r.info.patient_id.clone()),
            (
                "date".to_string(),
                r.info
                    .study_date
                    .map_or_else(|| "unknown".into(), |d| d.to_string()),
            ),
            ("mode".to_string(), r.mode.as_str().to_string()),
            ("T1".to_string(), series(&r.info.t1)),
            ("fluid".to_string(), series(&r.info.fluid)),
        ];
        if let Some(a) = &r.info.alignment {
            facts.push((
                "alignment".into(),
                format!("{} ({:.1} mm correction)", a.method, a.correction_mm),
            ));
        }
        let mut figures = Vec::new();
        for (file, caption) in OVERLAYS {
            if let Ok(png) = std::fs::read(out.join("exams").join(&s.exam_id).join(file)) {
                figures.push(Figure {
                    caption: caption.to_string(),
                    png,
                });
            }
        }
        let mut table = Table {
            headers: [
                "level",
                "BME %",
                "Dansie",
                "Voormolen",
                "cement %",
                "rim",
                "cleft",
                "H ant mm",
                "H mid mm",
                "H post mm",
                "height loss %",
                "Genant",
                "shape",
                "activity",
                "confidence",
            ]
            .map(String::from)
            .to_vec(),
            ..Default::default()
        };
        for v in &r.vertebrae {
            table.rows.push(vec![
                v.level
                    .map_or_else(|| format!("region {}", v.label), |l| l.to_string()),
                fmt(v.bme_percent, 1),
                spell(&v.dansie_score),
                spell(&v.voormolen_grade),
                fmt(Some(v.cement_percent), 1),
                if v.rim_present { "yes" } else { "" }.to_string(),
                if v.cleft_fluid { "yes" } else { "" }.to_string(),
                fmt(v.height_anterior_mm, 1),
                fmt(v.height_middle_mm, 1),
                fmt(v.height_posterior_mm, 1),
                fmt(v.height_loss_percent, 1),
                spell(&v.genant_grade),
                spell(&v.genant_shape),
                spell(&v.fracture_activity),
                fmt(Some(v.confidence), 2),
            ]);
            table.row_classes.push(
                v.voormolen_grade
                    .map(|g| g.as_str().to_string())
                    .unwrap_or_default(),
            );
        }
        report.exams.push(ExamSection {
            exam_id: s.exam_id.clone(),
            facts,
            notes: r.warnings.clone(),
            figures,
            vertebrae: table,
        });
    }
    report.failures = Table {
        headers: ["path", "exam", "category", "reason"]
            .map(String::from)
            .to_vec(),
        rows: failures
            .iter()
            .map(|f| {
                vec![
                    f.path.clone(),
                    f.exam_id.clone(),
                    f.category.clone(),
                    f.reason.clone(),
                ]
            })
            .collect(),
        row_classes: Vec::new(),
    };
    Ok(html::render(&report))
}
