//! Writing phantoms to disk in the layout the scorer and the evaluation expect:
//! `<out>/<patient_id>/<exam_id>/dicom/*` (all series mixed, random names) and
//! `<out>/<patient_id>/<exam_id>/truth/{truth.json, bodies.nii.gz, edema.nii.gz,
//! cement.nii.gz}`, plus `<out>/<patient_id>/changes_truth.json` when there are follow-ups.

use crate::dicom_out::{instance, write_file};
use crate::error::{PhantomError, Result};
use crate::generate::{PatientPhantom, generate_patient};
use crate::rng::Rng;
use crate::truth::{ChangesTruth, ExamTruth};
use crate::{PhantomOptions, Preset};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Files written for one exam.
#[derive(Clone, Debug, PartialEq)]
pub struct WrittenExam {
    /// Exam folder name.
    pub exam_id: String,
    /// Exam folder.
    pub dir: PathBuf,
    /// DICOM files, in the order written.
    pub dicom_files: Vec<PathBuf>,
    /// `truth/truth.json`.
    pub truth_json: PathBuf,
}

/// Files written for one patient.
#[derive(Clone, Debug, PartialEq)]
pub struct WrittenPatient {
    /// PatientID (also the folder name).
    pub patient_id: String,
    /// Patient folder.
    pub dir: PathBuf,
    /// Exams, oldest first.
    pub exams: Vec<WrittenExam>,
    /// `changes_truth.json`, when the patient has follow-ups.
    pub changes_json: Option<PathBuf>,
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| PhantomError::io(path, e))
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|source| PhantomError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, text + "\n").map_err(|e| PhantomError::io(path, e))
}

/// Writes a generated patient under `out`.
pub fn write_patient(p: &PatientPhantom, out: &Path) -> Result<WrittenPatient> {
    let dir = out.join(&p.patient_id);
    let mut exams = Vec::new();
    for exam in &p.exams {
        let exam_dir = dir.join(&exam.exam_id);
        let dicom_dir = exam_dir.join("dicom");
        let truth_dir = exam_dir.join("truth");
        create_dir(&dicom_dir)?;
        create_dir(&truth_dir)?;
        let w = &exam.write;
        let jobs: Vec<(usize, usize)> = w
            .files
            .iter()
            .enumerate()
            .flat_map(|(s, files)| (0..files.len()).map(move |k| (s, k)))
            .collect();
        let dicom_files: Vec<PathBuf> = jobs
            .par_iter()
            .map(|&(s, k)| {
                let plan = &w.acquisition.series[s];
                let (name, sop_uid) = &w.files[s][k];
                let path = dicom_dir.join(name);
                let image = &exam.series[s].volume.voxels;
                let slice: Vec<u16> = image
                    .index_axis(ndarray::Axis(0), k)
                    .iter()
                    .copied()
                    .collect();
                let number = if plan.reverse_instances {
                    plan.n_slices - k
                } else {
                    k + 1
                };
                let obj = instance(
                    &w.identity,
                    &w.acquisition,
                    plan,
                    k,
                    number,
                    sop_uid,
                    &slice,
                    w.syntaxes[s],
                );
                write_file(obj, w.syntaxes[s], &path)?;
                Ok(path)
            })
            .collect::<Result<_>>()?;
        let truth_json = truth_dir.join("truth.json");
        write_json(&truth_json, &exam.truth)?;
        spine_edema::nifti::write_volume(&truth_dir.join("bodies.nii.gz"), &exam.labels.bodies)?;
        spine_edema::nifti::write_volume(&truth_dir.join("edema.nii.gz"), &exam.labels.edema)?;
        spine_edema::nifti::write_volume(&truth_dir.join("cement.nii.gz"), &exam.labels.cement)?;
        exams.push(WrittenExam {
            exam_id: exam.exam_id.clone(),
            dir: exam_dir,
            dicom_files,
            truth_json,
        });
    }
    let changes_json = if p.changes.intervals.is_empty() {
        None
    } else {
        let path = dir.join("changes_truth.json");
        write_json(&path, &p.changes)?;
        Some(path)
    };
    Ok(WrittenPatient {
        patient_id: p.patient_id.clone(),
        dir,
        exams,
        changes_json,
    })
}

/// Reads a `truth.json`.
pub fn read_truth(path: &Path) -> Result<ExamTruth> {
    let text = std::fs::read_to_string(path).map_err(|e| PhantomError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| PhantomError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a `changes_truth.json`.
pub fn read_changes(path: &Path) -> Result<ChangesTruth> {
    let text = std::fs::read_to_string(path).map_err(|e| PhantomError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| PhantomError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `n` varied patients (presets, pathology, scanners, matrices, 0–2 follow-ups,
/// some compressed) for accuracy work.
pub fn write_suite(out: &Path, n: usize, seed: u64) -> Result<Vec<WrittenPatient>> {
    let mut rng = Rng::new(seed, 0x5017E);
    let mut written = Vec::with_capacity(n);
    for _ in 0..n {
        let opts = PhantomOptions {
            preset: rng.weighted(&[
                (Preset::Lumbar, 0.5),
                (Preset::Thoracolumbar, 0.3),
                (Preset::Thoracic, 0.2),
            ]),
            seed: rng.next_u64() % 1_000_000_000,
            followups: rng.weighted(&[(0usize, 0.3), (1, 0.5), (2, 0.2)]),
            matrix: None,
            fluid_matrix: None,
            slices: None,
            compressed: rng.chance(0.25),
            extra_series: true,
        };
        written.push(write_patient(&generate_patient(&opts)?, out)?);
    }
    Ok(written)
}

/// The options of the committed `testdata/` patients.
pub fn testdata_options() -> [PhantomOptions; 2] {
    [
        PhantomOptions {
            preset: Preset::Lumbar,
            seed: 11,
            followups: 1,
            matrix: Some(256),
            fluid_matrix: None,
            slices: None,
            compressed: false,
            extra_series: false,
        },
        PhantomOptions {
            preset: Preset::Thoracolumbar,
            seed: 12,
            followups: 1,
            matrix: Some(256),
            fluid_matrix: None,
            slices: None,
            compressed: true,
            extra_series: false,
        },
    ]
}

/// Writes the small committed set: 2 patients × (baseline + follow-up), 256 matrices.
pub fn write_testdata(out: &Path) -> Result<()> {
    for opts in testdata_options() {
        write_patient(&generate_patient(&opts)?, out)?;
    }
    Ok(())
}
