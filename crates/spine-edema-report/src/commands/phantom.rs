//! `spine-edema phantom`: synthetic exams with exact ground truth (see docs/phantom.md).

use crate::cli::PhantomArgs;
use anyhow::Result;
use spine_edema_phantom::{PhantomOptions, Preset, generate_patient, write_patient, write_suite};

/// Runs `phantom`; returns the process exit code.
pub fn run(args: &PhantomArgs) -> Result<i32> {
    if let Some(n) = args.suite {
        let written = write_suite(&args.out, n, args.seed)?;
        let exams: usize = written.iter().map(|p| p.exams.len()).sum();
        eprintln!(
            "spine-edema: {} patient(s), {exams} exam(s) written to {}",
            written.len(),
            args.out.display()
        );
        return Ok(0);
    }
    let preset: Preset = args.preset.parse()?;
    let opts = PhantomOptions {
        preset,
        seed: args.seed,
        followups: args.followups,
        matrix: args.matrix,
        fluid_matrix: args.fluid_matrix,
        slices: args.slices,
        extra_series: !args.no_extra_series,
        ..Default::default()
    };
    let patient = generate_patient(&opts)?;
    let written = write_patient(&patient, &args.out)?;
    for exam in &written.exams {
        eprintln!(
            "{}: {} DICOM files, truth {}",
            exam.exam_id,
            exam.dicom_files.len(),
            exam.truth_json.display()
        );
    }
    Ok(0)
}
