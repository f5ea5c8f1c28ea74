//! Body Dice and level naming on the real lumbar T2 exams (`lumbar-t2/`), with the
//! embedded network or a given weights file (e.g. one fitted without some exams):
//!
//! ```sh
//! cargo run --release -p spine-edema --example segment_real -- ../shared/real/lumbar-t2 [WEIGHTS] [CASE...]
//! ```
//!
//! Prints one line per exam (Dice T11–L5, whether all seven were named right, seconds).

use spine_edema::exam::{ExamImages, FluidImage};
use spine_edema::nifti::{read_labels, read_volume};
use spine_edema::segment::{BodyNetwork, SegmentConfig, segment_with, truth_agreement};
use spine_edema::series::Contrast;
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(
        args.first()
            .ok_or("usage: segment_real DIR [WEIGHTS] [CASE...]")?,
    );
    let net = match args.get(1).filter(|a| a.ends_with(".safetensors")) {
        Some(w) => BodyNetwork::from_safetensors(&std::fs::read(w)?)?,
        None => BodyNetwork::embedded()?,
    };
    let skip = if args.get(1).is_some_and(|a| a.ends_with(".safetensors")) {
        2
    } else {
        1
    };
    let mut cases: Vec<String> = args.iter().skip(skip).cloned().collect();
    if cases.is_empty() {
        cases = std::fs::read_dir(dir)?
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix("_T2w.nii.gz").map(str::to_string)
            })
            .collect();
        cases.sort();
    }
    let (mut all, mut named_ok) = (Vec::new(), 0);
    for case in &cases {
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
        let start = Instant::now();
        let seg = segment_with(&net, &images, &SegmentConfig::default())?;
        let secs = start.elapsed().as_secs_f64();
        let agreement = truth_agreement(&truth, &seg.level_map())?;
        let found = |code: u16| agreement.iter().find(|b| b.code == code);
        let dice: Vec<f64> = (18u16..=24)
            .map(|c| found(c).map_or(0.0, |b| b.dice))
            .collect();
        let named = (18u16..=24).all(|c| found(c).is_some_and(|b| b.named_correctly));
        let mean = dice.iter().sum::<f64>() / 7.0;
        let cells: Vec<String> = dice.iter().map(|d| format!("{d:.2}")).collect();
        let levels: Vec<String> = seg
            .bodies
            .iter()
            .map(|b| b.level.map_or("?".into(), |l| l.to_string()))
            .collect();
        println!(
            "| {case} | {} | {mean:.3} | {} | {secs:.2} | {}",
            cells.join(" "),
            if named { "yes" } else { "no" },
            levels.join(",")
        );
        if std::env::var_os("SEGMENT_REAL_VERBOSE").is_some() {
            for b in &seg.bodies {
                println!(
                    "    {:>4} z {:7.1} ml {:5.1} partial {}",
                    b.level.map_or("?".into(), |l| l.to_string()),
                    b.centroid_mm.z,
                    b.volume_ml,
                    b.partial
                );
            }
            println!("    {:?}", seg.labelling.warnings);
        }
        all.extend(dice);
        named_ok += usize::from(named);
    }
    let mean = all.iter().sum::<f64>() / all.len().max(1) as f64;
    println!("mean {mean:.3}; named {named_ok}/{}", cases.len());
    Ok(())
}
