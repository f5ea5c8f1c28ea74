//! `spine-edema inspect`: the patient → study → series tree with each series'
//! classification and the reason for it, and which series scoring would use.

use crate::cli::InspectArgs;
use anyhow::Result;
use serde::Serialize;
use spine_edema::ingest::Limits;
use spine_edema::load::{ExamSource, candidates, discover};
use spine_edema::series::choose_series;
use std::io::Write;

#[derive(Serialize)]
struct SeriesRow {
    number: Option<i32>,
    uid: String,
    description: Option<String>,
    frames: usize,
    plane: String,
    contrast: String,
    confidence: f64,
    reason: String,
    role: Option<&'static str>,
}

#[derive(Serialize)]
struct StudyRow {
    patient_id: String,
    study_uid: String,
    date: Option<String>,
    date_source: Option<String>,
    description: Option<String>,
    choice: String,
    series: Vec<SeriesRow>,
}

#[derive(Serialize)]
struct SkippedRow {
    path: String,
    category: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct Listing {
    studies: Vec<StudyRow>,
    nifti_exams: Vec<spine_edema::bids::NiftiExamFiles>,
    skipped: Vec<SkippedRow>,
}

/// Runs `inspect`; returns the process exit code.
pub fn run(args: &InspectArgs) -> Result<i32> {
    let discovery = discover(&args.paths, &Limits::default());
    let mut listing = Listing {
        studies: Vec::new(),
        nifti_exams: Vec::new(),
        skipped: Vec::new(),
    };
    for exam in &discovery.exams {
        match exam {
            ExamSource::Dicom { patient_id, study } => {
                let candidates = candidates(study);
                let choice = choose_series(&candidates, None, None);
                let series = study
                    .series
                    .iter()
                    .zip(candidates.iter().map(|c| c.classification.clone()))
                    .enumerate()
                    .map(|(i, (s, c))| SeriesRow {
                        number: s.series_number,
                        uid: s.series_uid.clone(),
                        description: s.params.series_description.clone(),
                        frames: s.frames.len(),
                        plane: c.plane.to_string(),
                        contrast: c.contrast.to_string(),
                        confidence: c.confidence,
                        reason: c.reason,
                        role: if choice.t1 == Some(i) {
                            Some("T1")
                        } else if choice.fluid == Some(i) {
                            Some("fluid")
                        } else {
                            None
                        },
                    })
                    .collect();
                listing.studies.push(StudyRow {
                    patient_id: patient_id.clone(),
                    study_uid: study.study_uid.clone(),
                    date: study.study_date.map(|d| d.to_string()),
                    date_source: study.date_source.map(|d| format!("{d:?}")),
                    description: study.study_description.clone(),
                    choice: choice.reason,
                    series,
                });
            }
            ExamSource::Nifti(n) => listing.nifti_exams.push(n.clone()),
        }
    }
    listing.skipped = discovery
        .skipped
        .iter()
        .map(|s| SkippedRow {
            path: s.path.display().to_string(),
            category: s.reason.category(),
            reason: s.reason.to_string(),
        })
        .collect();

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &listing)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &listing)?;
    }
    Ok(
        if listing.studies.is_empty() && listing.nifti_exams.is_empty() {
            1
        } else {
            0
        },
    )
}

fn print_table(out: &mut impl Write, listing: &Listing) -> Result<()> {
    let mut last_patient = None;
    for study in &listing.studies {
        if last_patient != Some(&study.patient_id) {
            writeln!(out, "Patient {}", study.patient_id)?;
            last_patient = Some(&study.patient_id);
        }
        writeln!(
            out,
            "  Study {}  {}{}",
            study.date.as_deref().unwrap_or("(no date)"),
            study.description.as_deref().unwrap_or(""),
            if study.study_uid.is_empty() {
                String::new()
            } else {
                format!("  [{}]", study.study_uid)
            }
        )?;
        writeln!(
            out,
            "    {:<5} {:<6} {:>3} {:<9} {:<10} {:<4} description — reason",
            "role", "series", "img", "plane", "contrast", "conf"
        )?;
        for s in &study.series {
            writeln!(
                out,
                "    {:<5} {:<6} {:>3} {:<9} {:<10} {:<4.2} {} — {}",
                s.role.unwrap_or(""),
                s.number.map_or("?".into(), |n| n.to_string()),
                s.frames,
                s.plane,
                s.contrast,
                s.confidence,
                s.description.as_deref().unwrap_or("(no description)"),
                s.reason
            )?;
        }
        writeln!(out, "    choice: {}", study.choice)?;
    }
    for n in &listing.nifti_exams {
        writeln!(out, "NIfTI exam {} (patient {})", n.exam_id, n.patient_id)?;
        for (role, path) in [
            ("T1", &n.t1),
            ("STIR", &n.stir),
            ("T2-FS", &n.t2fs),
            ("T2", &n.t2),
        ] {
            if let Some(p) = path {
                writeln!(out, "    {role:<6} {}", p.display())?;
            }
        }
    }
    if !listing.skipped.is_empty() {
        writeln!(out, "Skipped {} file(s):", listing.skipped.len())?;
        for s in listing.skipped.iter().take(50) {
            writeln!(out, "    [{}] {}", s.category, s.reason)?;
        }
        if listing.skipped.len() > 50 {
            writeln!(
                out,
                "    … and {} more (use --json for all)",
                listing.skipped.len() - 50
            )?;
        }
    }
    if listing.studies.is_empty() && listing.nifti_exams.is_empty() {
        writeln!(out, "No exams found.")?;
    }
    Ok(())
}
