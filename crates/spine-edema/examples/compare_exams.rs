//! Compares two exams of one patient level by level with the library: the change of
//! edema (BME %), the marrow that became edematous or normal voxel by voxel, and the
//! height lost in between.
//!
//! ```sh
//! # our segmentation
//! cargo run --release -p spine-edema --example compare_exams -- \
//!     testdata/PHX000011/20180622_baseline testdata/PHX000011/20180829_fu1
//! # body masks from another tool (VerSe / SPINEPS codes), one per exam
//! cargo run --release -p spine-edema --example compare_exams -- \
//!     testdata/PHX000011/20180622_baseline testdata/PHX000011/20180829_fu1 \
//!     testdata/PHX000011/20180622_baseline/truth/bodies.nii.gz \
//!     testdata/PHX000011/20180829_fu1/truth/bodies.nii.gz
//! ```

use spine_edema::compare::{LevelChange, compare_exams};
use spine_edema::load::{discover, load_exam};
use spine_edema::masks::{MaskCodes, read_external_masks};
use spine_edema::pipeline::{Config, ExamReport, analyze_exam};
use std::io::Write;
use std::path::{Path, PathBuf};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BoxResult<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (baseline, followup, masks) = match args.as_slice() {
        [a, b] => (a, b, [None, None]),
        [a, b, ma, mb] => (a, b, [Some(ma.as_path()), Some(mb.as_path())]),
        _ => {
            return Err(
                "usage: compare_exams BASELINE FOLLOWUP [BASELINE_MASKS FOLLOWUP_MASKS]".into(),
            );
        }
    };
    let changes = compare_folders(
        [
            (baseline.as_path(), masks[0]),
            (followup.as_path(), masks[1]),
        ],
        &Config::default(),
        &mut std::io::stdout().lock(),
    )?;
    eprintln!("{} level(s) compared", changes.len());
    Ok(())
}

/// Scores the single exam under `folder`, with external body masks when given.
fn score_one(folder: &Path, masks: Option<&Path>, cfg: &Config) -> BoxResult<ExamReport> {
    let mut found = discover(&[folder.to_path_buf()], &cfg.load.limits).exams;
    if found.len() != 1 {
        return Err(format!("{} holds {} exams, not one", folder.display(), found.len()).into());
    }
    let exam = load_exam(&found.remove(0), &cfg.load)?;
    let masks = masks
        .map(|m| read_external_masks(m, MaskCodes::Verse))
        .transpose()?;
    Ok(analyze_exam(&exam, masks.as_ref(), cfg)?.report)
}

/// Scores both exams, compares them and prints one line per level to `out`.
fn compare_folders(
    exams: [(&Path, Option<&Path>); 2],
    cfg: &Config,
    out: &mut impl Write,
) -> BoxResult<Vec<LevelChange>> {
    let [a, b] = exams.map(|(folder, masks)| {
        let report = score_one(folder, masks, cfg)?;
        // The comparison matches bodies by level name; the exam id is only a label here.
        let name = folder.display().to_string();
        Ok::<_, Box<dyn std::error::Error>>(report.observation(&name, &report.info.patient_id))
    });
    let changes = compare_exams(&a?, &b?, &cfg.compare)?;
    let dash = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |x| format!("{x:.1}"));
    writeln!(
        out,
        "{:<5} {:>5} {:>7} {:>7} {:<6} {:>9} {:>10}  flags",
        "level", "days", "BME % 1", "BME % 2", "change", "new BME %", "height mm"
    )?;
    for c in &changes {
        writeln!(
            out,
            "{:<5} {:>5} {:>7} {:>7} {:<6} {:>9} {:>10}  {}",
            c.level.to_string(),
            c.interval_days
                .map_or_else(|| "–".to_string(), |d| d.to_string()),
            dash(c.bme_percent_before),
            dash(c.bme_percent_after),
            c.change.map_or("–", |x| x.as_str()),
            dash(c.newly_edematous_percent),
            dash(c.height_loss_max_mm),
            c.flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(","),
        )?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// With the phantom's true body masks the levels compared are exactly the levels of
    /// the phantom's change truth, over its interval.
    #[test]
    fn compares_the_levels_of_the_phantom_truth() {
        let patient = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/PHX000011");
        let truth: serde_json::Value =
            serde_json::from_slice(&std::fs::read(patient.join("changes_truth.json")).unwrap())
                .unwrap();
        let interval = &truth["intervals"][0];
        let folder = |key: &str| patient.join(interval[key].as_str().unwrap());
        let (base, follow) = (folder("from_exam_id"), folder("to_exam_id"));
        let (mask_a, mask_b) = (
            base.join("truth/bodies.nii.gz"),
            follow.join("truth/bodies.nii.gz"),
        );
        let mut out = Vec::new();
        let changes = compare_folders(
            [(&base, Some(&mask_a)), (&follow, Some(&mask_b))],
            &Config::default(),
            &mut out,
        )
        .unwrap();
        let mut expected: Vec<String> = interval["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["level"].as_str().unwrap().to_string())
            .collect();
        let mut got: Vec<String> = changes.iter().map(|c| c.level.to_string()).collect();
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
        let days = interval["interval_days"].as_i64();
        assert!(changes.iter().all(|c| c.interval_days == days));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), changes.len() + 1);
    }
}
