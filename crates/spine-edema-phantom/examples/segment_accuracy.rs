//! Segmentation and level-naming accuracy on fresh phantoms: the table of
//! `docs/segmentation.md` ("Phantoms").
//!
//! ```sh
//! cargo run --release -p spine-edema-phantom --example segment_accuracy -- 1000 8
//! ```
//!
//! Arguments: first seed (default 1000, far from the seeds of `testdata` and of the
//! tests) and patients per preset (default 8). Every patient's baseline exam is written
//! as DICOM to a temporary folder, read back through the product's own loader, and
//! segmented three times (the loader puts the fluid series on the T1 grid, where
//! the truth lives): from T1 and the fluid-sensitive series together, from T1
//! alone, and from the fluid-sensitive series alone. Each truth body is compared with
//! the body of the same level (a body named one level off counts as Dice 0); "outline
//! Dice" compares it with the body that overlaps it most, whatever its name.

use spine_edema::exam::ExamImages;
use spine_edema::load::LoadConfig;
use spine_edema::segment::{BodyAgreement, SegmentConfig, segment, truth_agreement};
use spine_edema_phantom::{LevelTruth, Preset, read_truth};
use std::time::{Duration, Instant};

mod common;
use common::{BoxResult, load_phantom_exam, write_phantom};

/// The three inputs the segmenter must work from.
const INPUTS: [&str; 3] = ["T1 + fluid", "T1 alone", "fluid alone"];

/// One truth body as segmented from one input.
struct Row {
    preset: Preset,
    input: usize,
    truth: LevelTruth,
    found: Option<BodyAgreement>,
}

fn main() -> BoxResult<()> {
    let mut args = std::env::args().skip(1);
    let first_seed: u64 = args.next().map_or(Ok(1000), |s| s.parse())?;
    let per_preset: u64 = args.next().map_or(Ok(8), |s| s.parse())?;
    let scratch = tempfile::tempdir()?;
    let mut rows = Vec::new();
    let mut time = [Duration::ZERO; 3];
    let mut exams = 0u32;
    for preset in Preset::ALL {
        for seed in first_seed..first_seed + per_preset {
            let written = write_phantom(scratch.path(), preset, seed, 0)?;
            let exam = &written.exams[0];
            let truth = read_truth(&exam.truth_json)?;
            let truth_map = spine_edema::nifti::read_labels(&exam.dir.join("truth/bodies.nii.gz"))?;
            let truth_map = truth_map.with_voxels(truth_map.voxels.mapv(|v| v as u16));
            let loaded = load_phantom_exam(&exam.dir.join("dicom"), &LoadConfig::default())?;
            exams += 1;
            for (input, images) in inputs(&loaded.images).into_iter().enumerate() {
                let Some(images) = images else { continue };
                let start = Instant::now();
                let agreement = match segment(&images, &SegmentConfig::default()) {
                    Ok(seg) => truth_agreement(&truth_map, &seg.level_map())?,
                    Err(e) => {
                        eprintln!("{preset} seed {seed} {}: {e}", INPUTS[input]);
                        Vec::new()
                    }
                };
                time[input] += start.elapsed();
                for level in &truth.levels {
                    rows.push(Row {
                        preset,
                        input,
                        truth: level.clone(),
                        found: agreement
                            .iter()
                            .find(|b| b.code == u16::from(level.label_code))
                            .copied(),
                    });
                }
            }
            eprintln!("{preset} seed {seed}: done");
        }
    }
    print_tables(&rows, &time, exams);
    Ok(())
}

/// The exam's images as T1 + fluid, T1 alone and fluid alone (when present).
fn inputs(images: &ExamImages) -> [Option<ExamImages>; 3] {
    [
        Some(images.clone()),
        images.t1.as_ref().map(|t1| ExamImages {
            t1: Some(t1.clone()),
            fluid: None,
        }),
        images.fluid.as_ref().map(|f| ExamImages {
            t1: None,
            fluid: Some(f.clone()),
        }),
    ]
}

fn print_tables(rows: &[Row], time: &[Duration; 3], exams: u32) {
    println!(
        "| preset | input | bodies | mean Dice | outline Dice | min Dice (fully visible) | fully visible < 0.85 | named correctly | s/exam |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for input in 0..3 {
        for preset in Preset::ALL {
            let sel: Vec<&Row> = rows
                .iter()
                .filter(|r| r.input == input && r.preset == preset)
                .collect();
            line(&format!("{preset} | {}", INPUTS[input]), &sel, None);
        }
        let per_exam = time[input].as_secs_f64() / f64::from(exams.max(1));
        let all: Vec<&Row> = rows.iter().filter(|r| r.input == input).collect();
        line(
            &format!("**all** | {}", INPUTS[input]),
            &all,
            Some(per_exam),
        );
    }
    println!();
    println!(
        "| pathology | input | bodies | mean Dice | outline Dice | min Dice | named correctly |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let classes: [(&str, PathologyTest); 4] = [
        ("fractured, Genant grade 3", |t| t.genant_grade == 3),
        ("fractured, grade 1–2", |t| {
            (1..3).contains(&t.genant_grade)
        }),
        ("edematous (BME > 0)", |t| t.bme_percent > 0.0),
        ("cemented", |t| t.cement_ml > 0.0),
    ];
    for (name, test) in classes {
        for (input, input_name) in INPUTS.iter().enumerate() {
            let sel: Vec<&Row> = rows
                .iter()
                .filter(|r| r.input == input && test(&r.truth))
                .collect();
            let (n, mean, min, named) = stats(&sel);
            if n == 0 {
                println!("| {name} | {input_name} | 0 | – | – | – | – |");
                continue;
            }
            let outline = outline_mean(&sel);
            println!(
                "| {name} | {input_name} | {n} | {mean:.3} | {outline:.3} | {min:.3} | {named:.1} % |"
            );
        }
    }
}

/// Whether a truth body belongs to a pathology class.
type PathologyTest = fn(&LevelTruth) -> bool;

fn line(label: &str, sel: &[&Row], per_exam_s: Option<f64>) {
    let (n, mean, _, named) = stats(sel);
    let visible: Vec<&Row> = sel
        .iter()
        .copied()
        .filter(|r| !r.truth.partial_in_fov)
        .collect();
    let (_, _, min_visible, _) = stats(&visible);
    let below = visible.iter().filter(|r| dice(r) < 0.85).count();
    let time = per_exam_s.map_or(String::new(), |s| format!("{s:.2}"));
    let outline = outline_mean(sel);
    println!(
        "| {label} | {n} | {mean:.3} | {outline:.3} | {min_visible:.3} | {below} | {named:.1} % | {time} |"
    );
}

/// Mean Dice against the best-overlapping body whatever its name (outline quality).
fn outline_mean(sel: &[&Row]) -> f64 {
    let n = sel.len().max(1) as f64;
    sel.iter()
        .map(|r| r.found.map_or(0.0, |b| b.outline_dice))
        .sum::<f64>()
        / n
}

fn dice(r: &Row) -> f64 {
    r.found.map_or(0.0, |b| b.dice)
}

/// (bodies, mean Dice, min Dice, % named correctly).
fn stats(sel: &[&Row]) -> (usize, f64, f64, f64) {
    if sel.is_empty() {
        return (0, f64::NAN, f64::NAN, f64::NAN);
    }
    let n = sel.len();
    let mean = sel.iter().map(|r| dice(r)).sum::<f64>() / n as f64;
    let min = sel.iter().map(|r| dice(r)).fold(f64::INFINITY, f64::min);
    let named = sel
        .iter()
        .filter(|r| r.found.is_some_and(|b| b.named_correctly))
        .count();
    (n, mean, min, 100.0 * named as f64 / n as f64)
}
