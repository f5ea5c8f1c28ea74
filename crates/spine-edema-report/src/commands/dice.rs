//! `spine-edema dice A B`: per-level Dice overlap of two label maps (e.g. ours against
//! SPINEPS or a manual mask). B is brought onto A's grid by geometry (nearest neighbour).

use crate::cli::DiceArgs;
use anyhow::{Context, Result};
use serde::Serialize;
use spine_edema::Level;
use spine_edema::segment::dice_per_label;
use spine_edema::volume::resample::resample_labels;

#[derive(Serialize)]
struct Row {
    label: u16,
    level: Option<String>,
    dice: f64,
    voxels_a: u64,
    voxels_b: u64,
}

fn to_u16(v: spine_edema::Volume<u32>) -> Result<spine_edema::Volume<u16>> {
    let max = v.voxels.iter().copied().max().unwrap_or(0);
    anyhow::ensure!(
        max <= u32::from(u16::MAX),
        "label {max} is larger than 65535"
    );
    Ok(v.with_voxels(v.voxels.mapv(|x| x as u16)))
}

/// Runs `dice`; returns the process exit code.
pub fn run(args: &DiceArgs) -> Result<i32> {
    let a = to_u16(
        spine_edema::nifti::read_labels(&args.a)
            .with_context(|| format!("reading {}", args.a.display()))?,
    )?;
    let b = to_u16(
        spine_edema::nifti::read_labels(&args.b)
            .with_context(|| format!("reading {}", args.b.display()))?,
    )?;
    let b = resample_labels(&b, a.shape(), &a.affine, None);
    let rows: Vec<Row> = dice_per_label(&a, &b)?
        .into_iter()
        .map(|d| Row {
            label: d.label,
            level: Level::from_code(u32::from(d.label)).map(|l| l.to_string()),
            dice: d.dice,
            voxels_a: d.voxels_a,
            voxels_b: d.voxels_b,
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "{:<6} {:<6} {:>7} {:>10} {:>10}",
            "label", "level", "Dice", "voxels A", "voxels B"
        );
        for r in &rows {
            println!(
                "{:<6} {:<6} {:>7.3} {:>10} {:>10}",
                r.label,
                r.level.as_deref().unwrap_or("-"),
                r.dice,
                r.voxels_a,
                r.voxels_b
            );
        }
        let both: Vec<f64> = rows
            .iter()
            .filter(|r| r.voxels_a > 0 && r.voxels_b > 0)
            .map(|r| r.dice)
            .collect();
        if !both.is_empty() {
            println!(
                "mean Dice over {} labels present in both: {:.3}",
                both.len(),
                both.iter().sum::<f64>() / both.len() as f64
            );
        }
    }
    Ok(0)
}
