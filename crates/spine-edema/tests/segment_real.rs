//! Segmentation and level naming on the 17 real lumbar T2 exams (`lumbar-t2/`, manual
//! body masks T11–L5). Targets (issue 4): mean body Dice ≥ 0.90 and the seven levels
//! named correctly in every exam. The method does not reach them yet; the assertions
//! below are regression floors at what it reaches today (see docs/segmentation.md),
//! and the printed table is the measurement.

use spine_edema::exam::{ExamImages, FluidImage};
use spine_edema::nifti::{read_labels, read_volume};
use spine_edema::segment::{SegmentConfig, segment, truth_agreement};
use spine_edema::series::Contrast;
use std::path::PathBuf;

/// The real-data folder: `SPINE_EDEMA_REAL_DATA`, else (outside CI) `/work/shared/real`.
fn real_data() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("SPINE_EDEMA_REAL_DATA") {
        return Some(PathBuf::from(dir));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but SPINE_EDEMA_REAL_DATA is not"
    );
    let fallback = PathBuf::from("/work/shared/real");
    fallback.exists().then_some(fallback)
}

/// Per exam: (case, Dice per level T11–L5, levels named correctly).
fn evaluate(dir: &std::path::Path, case: &str) -> spine_edema::Result<(Vec<(u16, f64)>, bool)> {
    let volume = read_volume(&dir.join(format!("{case}_T2w.nii.gz")))?;
    let truth = read_labels(&dir.join(format!("{case}_bodies.nii.gz")))?;
    let truth = truth.with_voxels(truth.voxels.mapv(|v| v as u16));
    let images = ExamImages {
        t1: None,
        fluid: Some(FluidImage {
            contrast: Contrast::T2,
            volume,
        }),
    };
    let seg = segment(&images, &SegmentConfig::default())?;
    let agreement = truth_agreement(&truth, &seg.level_map())?;
    let found = |code: u16| agreement.iter().find(|b| b.code == code);
    let per_level: Vec<(u16, f64)> = (18u16..=24)
        .map(|code| (code, found(code).map_or(0.0, |b| b.dice)))
        .collect();
    let named = (18u16..=24).all(|code| found(code).is_some_and(|b| b.named_correctly));
    Ok((per_level, named))
}

/// Regression floor under the measured mean (0.894 over the 17 exams, 0.884 over the
/// five the embedded network was not fitted on); raise as the method improves.
const MEAN_DICE_FLOOR: f64 = 0.87;
/// Exams with all seven levels named correctly: 17 of 17 when measured, one spare.
const NAMED_FLOOR: usize = 16;

#[test]
fn real_lumbar_t2_dice_and_levels() {
    let Some(root) = real_data() else {
        eprintln!("no real data folder; nothing to evaluate");
        return;
    };
    let dir = root.join("lumbar-t2");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix("_T2w.nii.gz").map(str::to_string)
        })
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 17, "expected the 17 lumbar exams in {dir:?}");
    let results: Vec<_> = cases
        .iter()
        .map(|c| (c, evaluate(&dir, c).unwrap()))
        .collect();
    let mut all = Vec::new();
    let mut named_ok = 0;
    for (case, (per_level, named)) in &results {
        let mean = per_level.iter().map(|d| d.1).sum::<f64>() / per_level.len() as f64;
        let cells: Vec<String> = per_level.iter().map(|d| format!("{:.2}", d.1)).collect();
        println!(
            "{case}: mean {mean:.3} [{}] named {}",
            cells.join(" "),
            if *named { "ok" } else { "WRONG" }
        );
        all.extend(per_level.iter().map(|d| d.1));
        named_ok += usize::from(*named);
    }
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    println!(
        "mean body Dice {mean:.3}; exams named correctly {named_ok}/{}",
        results.len()
    );
    // Regression floors (targets: 0.90 and 17/17).
    assert!(
        mean >= MEAN_DICE_FLOOR,
        "mean body Dice {mean:.3} < {MEAN_DICE_FLOOR}"
    );
    assert!(
        named_ok >= NAMED_FLOOR,
        "only {named_ok} exams named correctly"
    );
}
