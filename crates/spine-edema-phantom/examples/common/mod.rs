//! What the accuracy examples share: writing a phantom patient as DICOM and reading one of
//! its exams back through the product's own loader.

use spine_edema::load::{LoadConfig, LoadedExam, discover, load_exam};
use spine_edema_phantom::{
    PhantomOptions, Preset, WrittenPatient, generate_patient, write_patient,
};
use std::path::Path;

/// Errors of an example, whatever their source.
pub type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Generates the patient of `preset` / `seed` with `followups` follow-up exams (sagittal
/// T1 and fluid series only) and writes it under `scratch/<preset><seed>`.
pub fn write_phantom(
    scratch: &Path,
    preset: Preset,
    seed: u64,
    followups: usize,
) -> BoxResult<WrittenPatient> {
    let opts = PhantomOptions {
        preset,
        seed,
        followups,
        extra_series: false,
        ..PhantomOptions::default()
    };
    let patient = generate_patient(&opts)?;
    Ok(write_patient(
        &patient,
        &scratch.join(format!("{preset}{seed}")),
    )?)
}

/// Discovers and loads the single exam in the DICOM folder `dicom`.
pub fn load_phantom_exam(dicom: &Path, cfg: &LoadConfig) -> BoxResult<LoadedExam> {
    let found = discover(&[dicom.to_path_buf()], &cfg.limits);
    let source = found.exams.first().ok_or("phantom exam not discovered")?;
    Ok(load_exam(source, cfg)?)
}
