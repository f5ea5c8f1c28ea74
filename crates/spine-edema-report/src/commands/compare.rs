//! `spine-edema compare BASELINE FOLLOWUP --out DIR`: score one exam from each folder and
//! write their level-by-level change (`changes.csv`) and both exam JSONs.

use crate::atomic::write_atomic;
use crate::cli::CompareArgs;
use crate::commands::score::StoredExam;
use crate::exam_id::exam_id;
use crate::settings::resolve;
use crate::tables::{self, ChangeRow};
use anyhow::{Context, Result, bail};
use spine_edema::compare::compare_exams;
use spine_edema::load::{ExamSource, discover, load_exam};
use spine_edema::pipeline::analyze_exam;
use std::path::Path;

fn single_exam(path: &Path, limits: &spine_edema::ingest::Limits) -> Result<ExamSource> {
    if !path.exists() {
        bail!("{} does not exist", path.display());
    }
    let mut found = discover(&[path.to_path_buf()], limits).exams;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => bail!("no exam found under {}", path.display()),
        n => bail!(
            "{} holds {n} exams; give one exam folder each (or use `score`, which compares every patient's exams)",
            path.display()
        ),
    }
}

/// Runs `compare`; returns the process exit code.
pub fn run(args: &CompareArgs) -> Result<i32> {
    let settings = resolve(&args.analysis)?;
    let p = &settings.pseudonymizer;
    let cfg = &settings.config;
    let mut stored = Vec::new();
    for path in [&args.baseline, &args.followup] {
        let source = single_exam(path, &cfg.load.limits)?;
        let loaded =
            load_exam(&source, &cfg.load).with_context(|| format!("loading {}", path.display()))?;
        let analysis = analyze_exam(&loaded, None, cfg)
            .with_context(|| format!("analysing {}", path.display()))?;
        let mut report = analysis.report;
        if p.is_active() {
            report.info.patient_id = p.apply("patient", &report.info.patient_id);
            report.info.exam_key = p.apply("study", &report.info.exam_key);
            report.info.study_description = None;
        }
        let id = exam_id(p, source.patient_id(), report.info.study_date, source.key());
        stored.push(StoredExam {
            exam_id: id,
            fingerprint: String::new(),
            report,
        });
    }
    let [base, follow] = [&stored[0], &stored[1]];
    let patient = base.report.info.patient_id.clone();
    if follow.report.info.patient_id != patient {
        bail!("the two exams belong to different patients");
    }
    let changes = compare_exams(
        &base.report.observation(&base.exam_id, &patient),
        &follow.report.observation(&follow.exam_id, &patient),
        &cfg.compare,
    )?;
    std::fs::create_dir_all(args.out.join("exams"))?;
    for s in &stored {
        write_atomic(
            &args.out.join("exams").join(format!("{}.json", s.exam_id)),
            &serde_json::to_vec_pretty(s)?,
        )?;
    }
    let rows: Vec<ChangeRow> = changes.iter().map(ChangeRow::from).collect();
    write_atomic(
        &args.out.join("changes.csv"),
        &tables::to_csv(&rows, tables::CHANGE_COLUMNS)?,
    )?;
    eprintln!(
        "spine-edema: {} level(s) compared; {}",
        rows.len(),
        args.out.join("changes.csv").display()
    );
    Ok(0)
}
