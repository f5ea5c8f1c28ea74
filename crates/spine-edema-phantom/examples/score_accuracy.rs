//! Scoring and comparison accuracy on fresh phantoms: the phantom tables of
//! `docs/scoring.md` and `docs/comparison.md`.
//!
//! ```sh
//! cargo run --release -p spine-edema-phantom --example score_accuracy -- 9000 7
//! ```
//!
//! Arguments: first seed (default 9000, far from the seeds of `testdata`, of the tests
//! and of the segmenter's fitting set), patients per preset (default 7) and optionally a
//! configuration TOML (as `spine-edema score --config`) to try other settings. Every
//! patient gets a baseline and one follow-up, written as DICOM to a temporary folder and
//! read back through the product's own loader. Each exam is scored twice: with the
//! phantom's true body masks (`truth/bodies.nii.gz`, read as external masks — the
//! accuracy of the scoring method alone) and with the automatic segmentation (the
//! accuracy a user gets). Each pair of exams is then compared, and the change figures
//! are checked against `changes_truth.json`.
//!
//! `SCORE_ACCURACY_TRUE_MASKS_ONLY=1` scores with the true masks only.
//!
//! Bodies only partly inside the field of view are left out of the per-body measures
//! (they are kept and flagged by the product, but their truth is of the whole body).

use spine_edema::compare::{IntervalBinA, LevelChange, compare_exams};
use spine_edema::masks::{MaskCodes, read_external_masks};
use spine_edema::pipeline::{Config, ExamReport, analyze_exam};
use spine_edema::score::VertebraScore;
use spine_edema::score::grade::{dansie_score, voormolen_grade};
use spine_edema_phantom::{IntervalTruth, LevelTruth, Preset, read_changes, read_truth};
use std::path::Path;

mod common;
use common::{BoxResult, load_phantom_exam, write_phantom};

/// The two ways an exam is scored.
const MASKS: [&str; 2] = ["true masks", "automatic"];

/// One truth body and what the product reported for the same level.
struct BodyRow {
    masks: usize,
    preset: Preset,
    exam: String,
    truth: LevelTruth,
    score: Option<VertebraScore>,
}

/// One truth level change and what the comparison reported.
struct ChangeRow {
    masks: usize,
    exam: String,
    interval_days: u32,
    truth: spine_edema_phantom::LevelChangeTruth,
    found: Option<LevelChange>,
}

fn main() -> BoxResult<()> {
    let mut args = std::env::args().skip(1);
    let first_seed: u64 = args.next().map_or(Ok(9000), |s| s.parse())?;
    let per_preset: u64 = args.next().map_or(Ok(7), |s| s.parse())?;
    let cfg: Config = match args.next() {
        Some(path) => toml::from_str(&std::fs::read_to_string(path)?)?,
        None => Config::default(),
    };
    // `SCORE_ACCURACY_TRUE_MASKS_ONLY=1` skips the automatic segmentation (for tuning
    // the scoring alone, three times faster).
    let scorings = if std::env::var_os("SCORE_ACCURACY_TRUE_MASKS_ONLY").is_some() {
        1
    } else {
        MASKS.len()
    };
    let scratch = tempfile::tempdir()?;
    let mut bodies = Vec::new();
    let mut changes = Vec::new();
    let mut exams = 0usize;
    for preset in Preset::ALL {
        for seed in first_seed..first_seed + per_preset {
            let written = write_phantom(scratch.path(), preset, seed, 1)?;
            let mut reports: [Vec<(String, ExamReport)>; 2] = [Vec::new(), Vec::new()];
            for exam in &written.exams {
                let truth = read_truth(&exam.truth_json)?;
                for (masks, reports) in reports.iter_mut().enumerate().take(scorings) {
                    let report = match score(&exam.dir, masks == 0, &cfg) {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("{} {}: {e}", exam.exam_id, MASKS[masks]);
                            continue;
                        }
                    };
                    for level in &truth.levels {
                        bodies.push(BodyRow {
                            masks,
                            preset,
                            exam: format!("{preset}{seed}/{}", exam.exam_id),
                            truth: level.clone(),
                            score: report
                                .vertebrae
                                .iter()
                                .find(|v| v.level == Some(level.level))
                                .cloned(),
                        });
                    }
                    reports.push((exam.exam_id.clone(), report));
                }
                exams += 1;
            }
            if let Some(path) = &written.changes_json {
                let truth = read_changes(path)?;
                for (masks, reports) in reports.iter().enumerate() {
                    for interval in &truth.intervals {
                        let label = format!("{preset}{seed} {}", interval.to_exam_id);
                        compare_pair(reports, interval, &cfg, masks, &label, &mut changes);
                    }
                }
            }
            eprintln!("{preset} seed {seed}: done");
        }
    }
    println!("{exams} exams, {} patients\n", exams / 2);
    if let Some(path) = std::env::var_os("SCORE_ACCURACY_CSV") {
        write_rows(Path::new(&path), &bodies)?;
    }
    if let Some(path) = std::env::var_os("SCORE_ACCURACY_CHANGES_CSV") {
        write_change_rows(Path::new(&path), &changes)?;
    }
    for (masks, name) in MASKS.iter().enumerate().take(scorings) {
        println!("### Scoring, {name}\n");
        let sel: Vec<&BodyRow> = bodies.iter().filter(|b| b.masks == masks).collect();
        score_table(&sel, cfg.score.detection_floor_percent);
        worst_bodies(&sel);
        println!("### Comparison, {name}\n");
        let sel: Vec<&ChangeRow> = changes.iter().filter(|c| c.masks == masks).collect();
        change_table(&sel);
    }
    Ok(())
}

/// One line per truth body and scoring (`SCORE_ACCURACY_CSV=file`), for looking into errors.
fn write_rows(path: &Path, rows: &[BodyRow]) -> BoxResult<()> {
    let mut out = String::from(
        "masks,exam,level,partial,pattern,truth_bme,found_bme,truth_cement,found_cement,truth_rim,found_rim,truth_genant,found_genant,truth_shape,found_shape,truth_heights,found_heights,flags,confounders\n",
    );
    for r in rows {
        let s = r.score.as_ref();
        let t = &r.truth;
        out.push_str(&format!(
            "{},{},{},{},{:?},{:.2},{},{:.2},{},{},{},{},{},{:?},{},{},{},{},{}\n",
            MASKS[r.masks],
            r.exam,
            t.level,
            t.partial_in_fov,
            t.edema_pattern,
            t.bme_percent,
            s.and_then(|s| s.bme_percent)
                .map_or(String::new(), |b| format!("{b:.2}")),
            t.cement_percent,
            s.map_or(String::new(), |s| format!("{:.2}", s.cement_percent)),
            t.rim_present,
            s.is_some_and(|s| s.rim_present),
            t.genant_grade,
            s.and_then(|s| s.genant_grade)
                .map_or(String::new(), |g| u8::from(g).to_string()),
            t.genant_shape,
            s.and_then(|s| s.genant_shape)
                .map_or(String::new(), |g| format!("{g:?}")),
            mm_triple(
                [
                    t.height_anterior_mm,
                    t.height_middle_mm,
                    t.height_posterior_mm
                ]
                .map(Some)
            ),
            s.map_or(String::new(), |s| mm_triple([
                s.height_anterior_mm,
                s.height_middle_mm,
                s.height_posterior_mm
            ])),
            s.map_or(String::new(), |s| format!("{:?}", s.flags)
                .replace(',', ";")),
            t.confounders.join(";"),
        ));
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// One line per truth level change and scoring (`SCORE_ACCURACY_CHANGES_CSV=file`).
fn write_change_rows(path: &Path, rows: &[ChangeRow]) -> BoxResult<()> {
    let mut out = String::from(
        "masks,exam,level,days,truth_new_edema,found_new_edema,truth_new_normal,found_new_normal,truth_loss_mm,found_loss_mm\n",
    );
    for r in rows {
        let t = &r.truth;
        let f = r.found.as_ref();
        out.push_str(&format!(
            "{},{},{},{},{:.2},{},{:.2},{},{},{}\n",
            MASKS[r.masks],
            r.exam,
            t.level,
            r.interval_days,
            t.newly_edematous_percent,
            optional(f.and_then(|f| f.newly_edematous_percent)),
            t.newly_normal_percent,
            optional(f.and_then(|f| f.newly_normal_percent)),
            mm_triple(
                [
                    t.height_loss_anterior_mm,
                    t.height_loss_middle_mm,
                    t.height_loss_posterior_mm
                ]
                .map(Some)
            ),
            f.map_or(String::new(), |f| mm_triple([
                f.height_loss_anterior_mm,
                f.height_loss_middle_mm,
                f.height_loss_posterior_mm
            ])),
        ));
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// A value with two decimals, `-` when missing.
fn optional(x: Option<f64>) -> String {
    x.map_or(String::from("-"), |x| format!("{x:.2}"))
}

/// Anterior, middle and posterior values (mm) as one space-separated CSV field.
fn mm_triple(values: [Option<f64>; 3]) -> String {
    values.map(optional).join(" ")
}

/// Scores the single exam under `dir`, with its true body masks or automatically.
fn score(dir: &Path, true_masks: bool, cfg: &Config) -> BoxResult<ExamReport> {
    let loaded = load_phantom_exam(&dir.join("dicom"), &cfg.load)?;
    let masks = true_masks
        .then(|| read_external_masks(&dir.join("truth/bodies.nii.gz"), MaskCodes::Verse))
        .transpose()?;
    Ok(analyze_exam(&loaded, masks.as_ref(), cfg)?.report)
}

/// Compares the two exams of `interval` and pairs each truth level with its change.
fn compare_pair(
    reports: &[(String, ExamReport)],
    interval: &IntervalTruth,
    cfg: &Config,
    masks: usize,
    label: &str,
    out: &mut Vec<ChangeRow>,
) {
    let by_id = |id: &str| reports.iter().find(|(e, _)| e == id).map(|(_, r)| r);
    let (Some(a), Some(b)) = (by_id(&interval.from_exam_id), by_id(&interval.to_exam_id)) else {
        eprintln!("{label} {}: an exam was not scored", MASKS[masks]);
        return;
    };
    let found = match compare_exams(
        &a.observation(&interval.from_exam_id, "p"),
        &b.observation(&interval.to_exam_id, "p"),
        &cfg.compare,
    ) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("{label} {}: comparison refused: {e}", MASKS[masks]);
            Vec::new()
        }
    };
    for level in &interval.levels {
        out.push(ChangeRow {
            masks,
            exam: label.to_string(),
            interval_days: interval.interval_days,
            truth: level.clone(),
            found: found.iter().find(|c| c.level == level.level).cloned(),
        });
    }
}

/// Mean of `values`, NaN when empty.
fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// `hits / n` as a percentage with the counts.
fn share(hits: usize, n: usize) -> String {
    if n == 0 {
        return "– (0)".to_string();
    }
    format!("{:.1} % ({hits}/{n})", 100.0 * hits as f64 / n as f64)
}

/// Linearly weighted Cohen's κ between two gradings on `k` ordered classes.
fn weighted_kappa(pairs: &[(usize, usize)], k: usize) -> f64 {
    let n = pairs.len() as f64;
    if pairs.is_empty() || k < 2 {
        return f64::NAN;
    }
    let mut joint = vec![vec![0.0; k]; k];
    let (mut rows, mut cols) = (vec![0.0; k], vec![0.0; k]);
    for &(a, b) in pairs {
        joint[a][b] += 1.0 / n;
        rows[a] += 1.0 / n;
        cols[b] += 1.0 / n;
    }
    let weight = |i: usize, j: usize| 1.0 - (i as f64 - j as f64).abs() / (k - 1) as f64;
    let (mut observed, mut expected) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            observed += weight(i, j) * joint[i][j];
            expected += weight(i, j) * rows[i] * cols[j];
        }
    }
    (observed - expected) / (1.0 - expected)
}

fn score_table(rows: &[&BodyRow], floor: f64) {
    let visible: Vec<&&BodyRow> = rows.iter().filter(|r| !r.truth.partial_in_fov).collect();
    let scored: Vec<(&LevelTruth, &VertebraScore)> = visible
        .iter()
        .filter_map(|r| r.score.as_ref().map(|s| (&r.truth, s)))
        .collect();
    let with_bme: Vec<(&LevelTruth, &VertebraScore, f64)> = scored
        .iter()
        .filter_map(|&(t, s)| s.bme_percent.map(|b| (t, s, b)))
        .collect();
    let bme_err: Vec<f64> = with_bme
        .iter()
        .map(|(t, _, b)| (b - t.bme_percent).abs())
        .collect();
    let voormolen: Vec<(usize, usize)> = with_bme
        .iter()
        .map(|(t, _, b)| {
            (
                voormolen_grade(t.bme_percent, floor) as usize,
                voormolen_grade(*b, floor) as usize,
            )
        })
        .collect();
    let voormolen_exact = voormolen.iter().filter(|(a, b)| a == b).count();
    let dansie_exact = with_bme
        .iter()
        .filter(|(t, _, b)| dansie_score(t.bme_percent, floor) == dansie_score(*b, floor))
        .count();
    let cement_err: Vec<f64> = scored
        .iter()
        .map(|(t, s)| (s.cement_percent - t.cement_percent).abs())
        .collect();
    let cemented_err: Vec<f64> = scored
        .iter()
        .filter(|(t, _)| t.cement_ml > 0.0)
        .map(|(t, s)| (s.cement_percent - t.cement_percent).abs())
        .collect();
    let detection = |truth: fn(&LevelTruth) -> bool, found: fn(&VertebraScore) -> bool| {
        let pos: Vec<bool> = scored
            .iter()
            .filter(|(t, _)| truth(t))
            .map(|(_, s)| found(s))
            .collect();
        let neg: Vec<bool> = scored
            .iter()
            .filter(|(t, _)| !truth(t))
            .map(|(_, s)| !found(s))
            .collect();
        (
            share(pos.iter().filter(|&&x| x).count(), pos.len()),
            share(neg.iter().filter(|&&x| x).count(), neg.len()),
        )
    };
    let rim = detection(|t| t.rim_present, |s| s.rim_present);
    let cleft = detection(|t| t.cleft_fluid, |s| s.cleft_fluid);
    let mut height_err = Vec::new();
    for (t, s) in &scored {
        let pairs = [
            (t.height_anterior_mm, s.height_anterior_mm),
            (t.height_middle_mm, s.height_middle_mm),
            (t.height_posterior_mm, s.height_posterior_mm),
        ];
        height_err.extend(
            pairs
                .iter()
                .filter_map(|&(truth, found)| found.map(|f| (f - truth).abs())),
        );
    }
    let graded: Vec<(&LevelTruth, u8)> = scored
        .iter()
        .filter_map(|(t, s)| s.genant_grade.map(|g| (*t, u8::from(g))))
        .collect();
    let genant_exact = graded.iter().filter(|(t, g)| t.genant_grade == *g).count();
    let fractured: Vec<&(&LevelTruth, &VertebraScore)> =
        scored.iter().filter(|(t, _)| t.genant_grade >= 1).collect();
    let shape_exact = fractured
        .iter()
        .filter(|(t, s)| s.genant_shape == Some(t.genant_shape))
        .count();
    let normal: Vec<f64> = with_bme
        .iter()
        .filter(|(t, _, _)| t.bme_percent == 0.0)
        .map(|(_, _, b)| *b)
        .collect();
    let normal_below = normal.iter().filter(|&&b| b < 1.0).count();
    let missing = visible.len() - scored.len();
    println!("| measure | target (issue 5) | result |");
    println!("|---|---|---|");
    println!(
        "| bodies fully in view / scored under their level | | {} / {} ({missing} not found) |",
        visible.len(),
        scored.len()
    );
    println!(
        "| BME % MAE | ≤ 3 pp | {:.2} pp over {} bodies (edematous only: {:.2} pp) |",
        mean(&bme_err),
        bme_err.len(),
        mean(
            &with_bme
                .iter()
                .filter(|(t, _, _)| t.bme_percent > 0.0)
                .map(|(t, _, b)| (b - t.bme_percent).abs())
                .collect::<Vec<_>>()
        )
    );
    println!(
        "| Voormolen exact | ≥ 95 % | {}, linear weighted κ {:.3} |",
        share(voormolen_exact, voormolen.len()),
        weighted_kappa(&voormolen, 4)
    );
    println!(
        "| Dansie exact | ≥ 95 % | {} |",
        share(dansie_exact, with_bme.len())
    );
    println!(
        "| cement % MAE | ≤ 3 pp | {:.2} pp over all, {:.2} pp over {} cemented |",
        mean(&cement_err),
        mean(&cemented_err),
        cemented_err.len()
    );
    println!(
        "| rim sensitivity / specificity | ≥ 0.9 | {} / {} |",
        rim.0, rim.1
    );
    println!(
        "| cleft sensitivity / specificity | ≥ 0.9 | {} / {} |",
        cleft.0, cleft.1
    );
    println!(
        "| heights MAE | ≤ 1.0 mm | {:.2} mm over {} heights |",
        mean(&height_err),
        height_err.len()
    );
    println!(
        "| Genant grade exact | ≥ 90 % | {} |",
        share(genant_exact, graded.len())
    );
    println!(
        "| Genant shape exact (fractured) | ≥ 90 % | {} |",
        share(shape_exact, fractured.len())
    );
    println!(
        "| edema-free bodies with BME < 1 % | ≥ 95 % | {} |",
        share(normal_below, normal.len())
    );
    println!();
    for preset in Preset::ALL {
        let errs: Vec<f64> = with_bme_of(&visible, preset)
            .iter()
            .map(|(t, b)| (b - t.bme_percent).abs())
            .collect();
        println!(
            "{preset}: BME % MAE {:.2} pp over {} bodies",
            mean(&errs),
            errs.len()
        );
    }
    println!();
}

fn with_bme_of<'a>(rows: &[&&'a BodyRow], preset: Preset) -> Vec<(&'a LevelTruth, f64)> {
    rows.iter()
        .filter(|r| r.preset == preset)
        .filter_map(|r| {
            r.score
                .as_ref()
                .and_then(|s| s.bme_percent)
                .map(|b| (&r.truth, b))
        })
        .collect()
}

/// The ten bodies with the largest BME % error, for diagnosis.
fn worst_bodies(rows: &[&BodyRow]) {
    let mut errs: Vec<(f64, &BodyRow)> = rows
        .iter()
        .filter(|r| !r.truth.partial_in_fov)
        .filter_map(|r| {
            let b = r.score.as_ref()?.bme_percent?;
            Some(((b - r.truth.bme_percent).abs(), *r))
        })
        .collect();
    errs.sort_by(|a, b| b.0.total_cmp(&a.0));
    for r in rows.iter().filter(|r| !r.truth.partial_in_fov) {
        let Some(s) = &r.score else { continue };
        if s.rim_present != r.truth.rim_present || s.cleft_fluid != r.truth.cleft_fluid {
            println!(
                "  {} {}: rim {} found {} ({:.2} mL), cleft {} found {} ({:.2} mL), cement {:.0} % found {:.0} %, BME {:.0} % found {:.0} %, flags {:?}",
                r.exam,
                r.truth.level,
                r.truth.rim_present,
                s.rim_present,
                s.rim_ml,
                r.truth.cleft_fluid,
                s.cleft_fluid,
                s.cleft_ml,
                r.truth.cement_percent,
                s.cement_percent,
                r.truth.bme_percent,
                s.bme_percent.unwrap_or(f64::NAN),
                s.flags
            );
        }
    }
    println!("largest BME % errors:");
    for (err, r) in errs.iter().take(10) {
        let s = r.score.as_ref();
        println!(
            "  {} {}: truth {:.1} % ({:?}, cement {:.0} %, grade {}), found {:.1} % (err {err:.1})",
            r.exam,
            r.truth.level,
            r.truth.bme_percent,
            r.truth.edema_pattern,
            r.truth.cement_percent,
            r.truth.genant_grade,
            s.and_then(|s| s.bme_percent).unwrap_or(f64::NAN),
        );
    }
    println!();
}

fn change_table(rows: &[&ChangeRow]) {
    let found: Vec<(&ChangeRow, &LevelChange)> = rows
        .iter()
        .filter_map(|r| r.found.as_ref().map(|f| (*r, f)))
        .collect();
    let pp = |pick: fn(&ChangeRow, &LevelChange) -> Option<(f64, f64)>| {
        let errs: Vec<f64> = found
            .iter()
            .filter_map(|(r, f)| pick(r, f).map(|(t, x)| (x - t).abs()))
            .collect();
        let within = errs.iter().filter(|&&e| e <= 5.0).count();
        (mean(&errs), share(within, errs.len()))
    };
    let new_edema = pp(|r, f| {
        f.newly_edematous_percent
            .map(|x| (r.truth.newly_edematous_percent, x))
    });
    let new_normal = pp(|r, f| {
        f.newly_normal_percent
            .map(|x| (r.truth.newly_normal_percent, x))
    });
    let mut height_err = Vec::new();
    for (r, f) in &found {
        let pairs = [
            (r.truth.height_loss_anterior_mm, f.height_loss_anterior_mm),
            (r.truth.height_loss_middle_mm, f.height_loss_middle_mm),
            (r.truth.height_loss_posterior_mm, f.height_loss_posterior_mm),
        ];
        height_err.extend(pairs.iter().filter_map(|&(t, x)| x.map(|x| (x - t).abs())));
    }
    let height_within = height_err.iter().filter(|&&e| e <= 1.0).count();
    let days_exact = found
        .iter()
        .filter(|(r, f)| f.interval_days == Some(i64::from(r.interval_days)))
        .count();
    let bin_exact = found
        .iter()
        .filter(|(r, f)| f.interval_bin_a == IntervalBinA::of_days(i64::from(r.interval_days)))
        .count();
    let refused: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.found.is_none())
        .map(|r| r.exam.as_str())
        .collect();
    println!("| measure | target (issue 6) | result |");
    println!("|---|---|---|");
    println!(
        "| truth levels compared | | {} of {} (unmatched in: {}) |",
        found.len(),
        rows.len(),
        refused.into_iter().collect::<Vec<_>>().join(", ")
    );
    println!(
        "| newly edematous % error | ≤ 5 pp | MAE {:.2} pp, within 5 pp: {} |",
        new_edema.0, new_edema.1
    );
    println!(
        "| newly normal % error | ≤ 5 pp | MAE {:.2} pp, within 5 pp: {} |",
        new_normal.0, new_normal.1
    );
    println!(
        "| interval height loss error | ≤ 1.0 mm | MAE {:.2} mm, within 1 mm: {} |",
        mean(&height_err),
        share(height_within, height_err.len())
    );
    println!(
        "| interval days / study-A bin exact | exact | {} / {} |",
        share(days_exact, found.len()),
        share(bin_exact, found.len())
    );
    println!();
}
