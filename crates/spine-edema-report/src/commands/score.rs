//! `spine-edema score`: batch-score every exam under some folders.
//!
//! Per exam (in parallel): load → analyse → write overlays, masks and finally the exam
//! JSON (its presence marks the exam complete). Then, for the whole batch:
//! `vertebrae.csv`, `changes.csv`, `failures.csv` and `report.html`, rebuilt from every
//! exam JSON of this batch, so a resumed run writes exactly what an uninterrupted one would.

use crate::atomic::{remove_stale_partials, write_atomic};
use crate::cli::ScoreArgs;
use crate::exam_id::exam_id;
use crate::fingerprint::fingerprint;
use crate::privacy::Pseudonymizer;
use crate::settings::{AnalysisSettings, resolve, settings_text};
use crate::tables::{self, FailureRow};
use crate::{batch_report, overlay_files};
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use spine_edema::bids::NiftiExamFiles;
use spine_edema::load::{ExamSource, discover, load_exam};
use spine_edema::masks::{ExternalMasks, MaskCodes, read_external_masks};
use spine_edema::pipeline::{ExamReport, MaskSource, analyze_exam};
use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What `exams/<exam_id>.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredExam {
    /// Identifier used in every output.
    pub exam_id: String,
    /// Fingerprint of the inputs and settings that produced it.
    pub fingerprint: String,
    /// The analysis.
    pub report: ExamReport,
}

/// The outcome for one exam of the batch.
enum Outcome {
    Scored(StoredExam),
    UpToDate(StoredExam),
    Failed(FailureRow),
}

struct Job {
    source: ExamSource,
    exam_id: String,
    files: Vec<PathBuf>,
}

/// Runs `score`; returns the process exit code.
pub fn run(args: &ScoreArgs) -> Result<i32> {
    let settings = resolve(&args.analysis)?;
    let out = &args.out;
    let exams_dir = out.join("exams");
    std::fs::create_dir_all(&exams_dir)
        .with_context(|| format!("creating {}", exams_dir.display()))?;
    remove_stale_partials(out);

    let (sources, skipped) = find_exams(args, &settings)?;
    let external = match &args.masks {
        Some(path) => {
            if sources.len() != 1 {
                anyhow::bail!(
                    "--masks gives the bodies of one exam, but {} exams were found",
                    sources.len()
                );
            }
            let codes: MaskCodes = args.mask_codes.parse()?;
            Some(read_external_masks(path, codes)?)
        }
        None => None,
    };
    let p = &settings.pseudonymizer;
    let settings_key = format!(
        "{}|masks={}",
        settings_text(&settings.config),
        args.masks
            .as_ref()
            .map(|m| m.display().to_string())
            .unwrap_or_default()
    );
    let jobs: Vec<Job> = sources
        .into_iter()
        .map(|source| {
            let date = match &source {
                ExamSource::Dicom { study, .. } => study.study_date,
                ExamSource::Nifti(_) => None,
            };
            let id = exam_id(p, source.patient_id(), date, source.key());
            let files = source.files();
            Job {
                source,
                exam_id: id,
                files,
            }
        })
        .collect();

    let mut failures: Vec<FailureRow> = skipped;
    if jobs.is_empty() {
        eprintln!("spine-edema: no exams found under {}", describe_paths(args));
        write_tables(out, &[], &failures, &settings)?;
        return Ok(1);
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("starting the worker threads")?;
    let progress = Progress::new(jobs.len());
    let outcomes: Vec<Outcome> = pool.install(|| {
        jobs.par_iter()
            .map(|job| {
                // A bug hit by one unusual exam must not end an overnight batch: the panic
                // (already printed by the panic hook) becomes this exam's failure row.
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    score_one(
                        job,
                        args,
                        &settings,
                        &settings_key,
                        external.as_ref(),
                        &exams_dir,
                    )
                }))
                .unwrap_or_else(|panic| internal_failure(job, &settings.pseudonymizer, &*panic));
                progress.report(job, &outcome);
                outcome
            })
            .collect()
    });
    progress.finish();

    let mut stored = Vec::new();
    let (mut scored, mut up_to_date) = (0, 0);
    for outcome in outcomes {
        match outcome {
            Outcome::Scored(s) => {
                scored += 1;
                stored.push(s);
            }
            Outcome::UpToDate(s) => {
                up_to_date += 1;
                stored.push(s);
            }
            Outcome::Failed(f) => failures.push(f),
        }
    }
    let failed_exams = failures.iter().filter(|f| !f.exam_id.is_empty()).count();
    write_tables(out, &stored, &failures, &settings)?;
    eprintln!(
        "spine-edema: {scored} exam(s) scored, {up_to_date} unchanged since the last run, {failed_exams} failed, {} file(s) skipped; results in {}",
        failures.len() - failed_exams,
        out.display()
    );
    Ok(if stored.is_empty() { 1 } else { 0 })
}

fn describe_paths(args: &ScoreArgs) -> String {
    args.paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Known document types that are not DICOM and are not worth reporting when found beside
/// exams (truth files, notes, previous outputs).
fn is_expected_non_dicom(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    [
        ".json", ".nii", ".nii.gz", ".png", ".jpg", ".txt", ".md", ".csv", ".html", ".xml", ".pdf",
        ".toml",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
        || name.starts_with('.')
}

fn find_exams(
    args: &ScoreArgs,
    settings: &AnalysisSettings,
) -> Result<(Vec<ExamSource>, Vec<FailureRow>)> {
    let p = &settings.pseudonymizer;
    if args.t1.is_some() || args.stir.is_some() || args.t2fs.is_some() {
        let first = args
            .t1
            .as_ref()
            .or(args.stir.as_ref())
            .or(args.t2fs.as_ref());
        let name = first
            .and_then(|f| f.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = name
            .trim_end_matches(".gz")
            .trim_end_matches(".nii")
            .to_string();
        let files = NiftiExamFiles {
            exam_id: stem.clone(),
            patient_id: stem,
            session: None,
            t1: args.t1.clone(),
            stir: args.stir.clone(),
            t2fs: args.t2fs.clone(),
            t2: None,
        };
        return Ok((vec![ExamSource::Nifti(files)], Vec::new()));
    }
    if args.paths.is_empty() {
        anyhow::bail!(
            "give folders to score (e.g. `spine-edema score testdata --out out`) or --t1/--stir files"
        );
    }
    for path in &args.paths {
        if !path.exists() {
            anyhow::bail!("{} does not exist", path.display());
        }
    }
    let discovery = discover(&args.paths, &settings.config.load.limits);
    let out = args.out.canonicalize().unwrap_or_else(|_| args.out.clone());
    let skipped = discovery
        .skipped
        .iter()
        .filter(|s| !is_expected_non_dicom(&s.path))
        .filter(|s| {
            !s.path
                .canonicalize()
                .unwrap_or_else(|_| s.path.clone())
                .starts_with(&out)
        })
        .map(|s| FailureRow {
            path: shown_path(p, &s.path),
            exam_id: String::new(),
            category: s.reason.category().to_string(),
            reason: scrub(p, &s.reason.to_string(), &[&s.path.display().to_string()]),
        })
        .collect();
    Ok((discovery.exams, skipped))
}

/// A path as written to outputs: as is, or a keyed token when pseudonymising (folder names
/// in archives often carry patient names or IDs).
fn shown_path(p: &Pseudonymizer, path: &Path) -> String {
    let text = path.display().to_string();
    if p.is_active() {
        p.apply("file", &text)
    } else {
        text
    }
}

/// Replaces identifier strings inside free text (error messages) by their pseudonyms.
fn scrub(p: &Pseudonymizer, text: &str, identifiers: &[&str]) -> String {
    if !p.is_active() {
        return text.to_string();
    }
    let mut out = text.to_string();
    for id in identifiers.iter().filter(|id| id.len() >= 3) {
        out = out.replace(id, &p.apply("id", id));
    }
    out
}

fn score_one(
    job: &Job,
    args: &ScoreArgs,
    settings: &AnalysisSettings,
    settings_key: &str,
    external: Option<&ExternalMasks>,
    exams_dir: &Path,
) -> Outcome {
    let fp = fingerprint(job.files.iter().map(PathBuf::as_path), settings_key);
    let json_path = exams_dir.join(format!("{}.json", job.exam_id));
    if !args.force {
        if let Some(stored) = read_stored(&json_path).filter(|s| s.fingerprint == fp) {
            return Outcome::UpToDate(stored);
        }
    }
    let p = &settings.pseudonymizer;
    let identifiers = identifiers_of(job);
    let fail = |e: &dyn std::fmt::Display, category: &str| {
        Outcome::Failed(FailureRow {
            path: shown_path(p, &common_folder(&job.files)),
            exam_id: job.exam_id.clone(),
            category: category.to_string(),
            reason: scrub(
                p,
                &e.to_string(),
                &identifiers.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
        })
    };
    let loaded = match load_exam(&job.source, &settings.config.load) {
        Ok(l) => l,
        Err(e) => return fail(&e, e.category()),
    };
    let analysis = match analyze_exam(&loaded, external, &settings.config) {
        Ok(a) => a,
        Err(e) => return fail(&e, e.category()),
    };
    let mut report = analysis.report.clone();
    pseudonymize_report(&mut report, p, &identifiers);
    let exam_dir = exams_dir.join(&job.exam_id);
    let written = (|| -> Result<Vec<u8>> {
        overlay_files::write_overlays(
            &exam_dir,
            &loaded.images,
            &analysis,
            args.png.then(|| args.out.join("png")),
            &job.exam_id,
        )?;
        if args.save_masks {
            overlay_files::write_masks(&exam_dir, &analysis)?;
        }
        let stored = StoredExam {
            exam_id: job.exam_id.clone(),
            fingerprint: fp.clone(),
            report,
        };
        let json = serde_json::to_vec_pretty(&stored)?;
        write_atomic(&json_path, &json)?;
        Ok(json)
    })();
    let json = match written {
        Ok(json) => json,
        Err(e) => return fail(&format!("{e:#}"), "io"),
    };
    // The batch tables are built from the exam as its JSON reads back, exactly as a resumed
    // run builds them from the file: a value that prints differently after the round trip
    // (a confidence of 0.425 shown to 2 decimals) cannot make the two runs differ.
    match serde_json::from_slice(&json) {
        Ok(stored) => Outcome::Scored(stored),
        Err(e) => fail(
            &format!("{} does not read back: {e}", json_path.display()),
            "internal",
        ),
    }
}

/// The failure row of an exam whose scoring panicked (a bug, not a property of the input).
fn internal_failure(job: &Job, p: &Pseudonymizer, panic: &(dyn std::any::Any + Send)) -> Outcome {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    let identifiers = identifiers_of(job);
    Outcome::Failed(FailureRow {
        path: shown_path(p, &common_folder(&job.files)),
        exam_id: job.exam_id.clone(),
        category: "internal".to_string(),
        reason: scrub(
            p,
            &format!("internal error (please report it): {message}"),
            &identifiers.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
    })
}

fn read_stored(path: &Path) -> Option<StoredExam> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The identifier strings of an exam that must not survive pseudonymisation.
fn identifiers_of(job: &Job) -> Vec<String> {
    let mut ids = vec![
        job.source.patient_id().to_string(),
        job.source.key().to_string(),
    ];
    if let ExamSource::Dicom { study, .. } = &job.source {
        ids.extend(study.series.iter().map(|s| s.series_uid.clone()));
        ids.extend(
            study
                .series
                .iter()
                .flat_map(|s| s.frame_of_reference_uid.clone()),
        );
    }
    ids.extend(job.files.iter().map(|f| f.display().to_string()));
    // Longest first, so a UID is replaced before any shorter identifier inside it.
    ids.sort_by_key(|s| std::cmp::Reverse(s.len()));
    ids.dedup();
    ids
}

fn pseudonymize_report(report: &mut ExamReport, p: &Pseudonymizer, identifiers: &[String]) {
    if !p.is_active() {
        return;
    }
    let info = &mut report.info;
    info.patient_id = p.apply("patient", &info.patient_id);
    info.exam_key = p.apply("study", &info.exam_key);
    info.study_description = None;
    for series in [&mut info.t1, &mut info.fluid].into_iter().flatten() {
        series.series_uid = p.apply("series", &series.series_uid);
    }
    if let MaskSource::External { path } = &mut report.masks {
        *path = p.apply("file", path);
    }
    let ids: Vec<&str> = identifiers.iter().map(String::as_str).collect();
    for w in &mut report.warnings {
        *w = scrub(p, w, &ids);
    }
}

/// The deepest folder holding all of an exam's files (for failure messages).
fn common_folder(files: &[PathBuf]) -> PathBuf {
    let mut iter = files.iter();
    let Some(first) = iter.next() else {
        return PathBuf::new();
    };
    let mut common: PathBuf = first.parent().map(Path::to_path_buf).unwrap_or_default();
    for f in iter {
        while !f.starts_with(&common) {
            if !common.pop() {
                return PathBuf::new();
            }
        }
    }
    common
}

fn write_tables(
    out: &Path,
    stored: &[StoredExam],
    failures: &[FailureRow],
    settings: &AnalysisSettings,
) -> Result<()> {
    let mut stored: Vec<&StoredExam> = stored.iter().collect();
    stored.sort_by(|a, b| {
        (
            &a.report.info.patient_id,
            a.report.info.study_date,
            &a.exam_id,
        )
            .cmp(&(
                &b.report.info.patient_id,
                b.report.info.study_date,
                &b.exam_id,
            ))
    });
    let rows: Vec<_> = stored
        .iter()
        .flat_map(|s| tables::vertebra_rows(&s.exam_id, &s.report))
        .collect();
    write_atomic(
        &out.join("vertebrae.csv"),
        &tables::to_csv(&rows, tables::VERTEBRA_COLUMNS)?,
    )?;

    let (changes, compare_failures) =
        batch_report::patient_changes(&stored, &settings.config.compare);
    let mut failures: Vec<&FailureRow> = failures.iter().chain(compare_failures.iter()).collect();
    failures
        .sort_by(|a, b| (&a.exam_id, &a.path, &a.reason).cmp(&(&b.exam_id, &b.path, &b.reason)));
    if !changes.is_empty() {
        let rows: Vec<tables::ChangeRow> = changes.iter().map(tables::ChangeRow::from).collect();
        write_atomic(
            &out.join("changes.csv"),
            &tables::to_csv(&rows, tables::CHANGE_COLUMNS)?,
        )?;
    }
    write_atomic(
        &out.join("failures.csv"),
        &tables::to_csv(&failures, tables::FAILURE_COLUMNS)?,
    )?;
    let html = batch_report::html(out, &stored, &changes, &failures, &settings.config.compare)?;
    write_atomic(&out.join("report.html"), html.as_bytes())?;
    Ok(())
}

/// A progress bar on a terminal, plain lines otherwise (logs, CI).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    done: AtomicUsize,
    total: usize,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} exams  {elapsed} elapsed, ETA {eta}  {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            done: AtomicUsize::new(0),
            total,
        }
    }

    fn report(&self, job: &Job, outcome: &Outcome) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let what = match outcome {
            Outcome::Scored(s) => format!(
                "scored {} ({} vertebrae)",
                job.exam_id,
                s.report.vertebrae.len()
            ),
            Outcome::UpToDate(_) => format!("unchanged {}", job.exam_id),
            Outcome::Failed(f) => format!("FAILED {}: {}", job.exam_id, f.reason),
        };
        match &self.bar {
            Some(bar) => {
                if matches!(outcome, Outcome::Failed(_)) {
                    bar.println(&what);
                }
                bar.set_message(job.exam_id.clone());
                bar.inc(1);
            }
            None => eprintln!("[{n}/{}] {what}", self.total),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    /// Regression: a resumed batch printed a confidence of 0.43 as 0.42, because the
    /// default float parser of serde_json may land one unit in the last place off and the
    /// first run used the in-memory value. Exam JSONs must read back bit for bit.
    #[test]
    fn floats_read_back_from_exam_json_bit_for_bit() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut mismatches = Vec::new();
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Values like the report's: fractions and percentages with long mantissas.
            let value = (state >> 11) as f64 / (1u64 << 53) as f64 * 100.0;
            let text = serde_json::to_string(&value).unwrap_or_default();
            let back: f64 = serde_json::from_str(&text).unwrap_or(f64::NAN);
            if back.to_bits() != value.to_bits() {
                mismatches.push(text);
            }
        }
        assert!(
            mismatches.is_empty(),
            "{} e.g. {:?}",
            mismatches.len(),
            &mismatches[..1]
        );
    }
}
