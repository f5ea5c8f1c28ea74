//! Per-exam image files: overlay PNGs (kept for the HTML report, optionally copied for
//! papers with `--png`) and NIfTI masks (`--save-masks`) that open in ITK-SNAP or 3D Slicer.

use crate::atomic::write_atomic;
use crate::overlay::{BodyStyle, OverlayInput, render};
use anyhow::{Context, Result};
use spine_edema::ExamImages;
use spine_edema::pipeline::ExamAnalysis;
use spine_edema::score::{VoormolenGrade, mask_class};
use std::path::{Path, PathBuf};

/// Outline colour of a body by its Voormolen grade (grey when not graded).
pub fn grade_colour(grade: Option<VoormolenGrade>) -> [u8; 3] {
    match grade {
        Some(VoormolenGrade::None) => [60, 200, 60],
        Some(VoormolenGrade::Minor) => [250, 220, 40],
        Some(VoormolenGrade::Moderate) => [255, 140, 0],
        Some(VoormolenGrade::Severe) => [230, 20, 20],
        None => [160, 160, 160],
    }
}

/// The overlay files of an exam, in display order: (file name, caption).
pub const OVERLAYS: [(&str, &str); 2] = [("t1.png", "T1"), ("fluid.png", "fluid-sensitive series")];

/// Renders the mid-sagittal overlays of the T1 and the fluid series into `exam_dir`
/// (and copies them into `copy_dir` as `<exam_id>_t1.png` … when given).
pub fn write_overlays(
    exam_dir: &Path,
    images: &ExamImages,
    analysis: &ExamAnalysis,
    copy_dir: Option<PathBuf>,
    exam_id: &str,
) -> Result<()> {
    let styles: Vec<BodyStyle> = analysis
        .report
        .vertebrae
        .iter()
        .map(|v| BodyStyle {
            label: v.label,
            name: v.level.map_or_else(|| "?".to_string(), |l| l.to_string()),
            colour: grade_colour(v.voormolen_grade),
        })
        .collect();
    let volumes = [images.t1.as_ref(), images.fluid.as_ref().map(|f| &f.volume)];
    for ((file, _), volume) in OVERLAYS.iter().zip(volumes) {
        let Some(volume) = volume else { continue };
        let (picture, _slice) = render(&OverlayInput {
            image: volume,
            labels: Some(&analysis.segmentation.labels),
            classes: Some(&analysis.masks.classes),
            bodies: &styles,
        });
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .context("encoding an overlay PNG")?;
        write_atomic(&exam_dir.join(file), &png)?;
        if let Some(dir) = &copy_dir {
            write_atomic(&dir.join(format!("{exam_id}_{file}")), &png)?;
        }
    }
    Ok(())
}

/// Code of an unnamed region in `bodies.nii.gz`: 100 + its label, above every level code
/// of the VerSe / SPINEPS convention (1–28) so it cannot be mistaken for a level.
const UNNAMED_REGION_BASE: u16 = 100;

/// Writes `bodies.nii.gz` (level codes C1=1 … L5=24, S1=26, T13=28; unnamed regions
/// 100 + label), `edema.nii.gz` and `cement.nii.gz` (binary) on the exam's reference grid.
pub fn write_masks(exam_dir: &Path, analysis: &ExamAnalysis) -> Result<()> {
    std::fs::create_dir_all(exam_dir)
        .with_context(|| format!("creating {}", exam_dir.display()))?;
    let seg = &analysis.segmentation;
    let mut code_of =
        vec![0u8; usize::from(seg.bodies.iter().map(|b| b.label).max().unwrap_or(0)) + 1];
    for b in &seg.bodies {
        let code = b
            .level
            .map_or(UNNAMED_REGION_BASE.saturating_add(b.label), |l| {
                u16::from(l.code())
            });
        if let Some(slot) = code_of.get_mut(usize::from(b.label)) {
            *slot = u8::try_from(code).unwrap_or(u8::MAX);
        }
    }
    let bodies = seg
        .labels
        .voxels
        .mapv(|v| code_of.get(usize::from(v)).copied().unwrap_or(0));
    spine_edema::nifti::write_volume(
        &exam_dir.join("bodies.nii.gz"),
        &seg.labels.with_voxels(bodies),
    )?;
    for (name, class) in [
        ("edema.nii.gz", mask_class::EDEMA),
        ("cement.nii.gz", mask_class::CEMENT),
    ] {
        spine_edema::nifti::write_volume(&exam_dir.join(name), &analysis.masks.mask_of(class))?;
    }
    Ok(())
}
