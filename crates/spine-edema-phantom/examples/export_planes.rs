//! Writes the training planes of the body network (`scripts/fit-segmenter/`): every
//! sagittal plane of an exam at the network's pixel size, through the product's own
//! loader and [`PlaneGrid`], so that training sees exactly the pixels inference sees.
//!
//! ```sh
//! # phantoms: first seed, patients per preset, output folder (baseline + 1 follow-up each)
//! cargo run --release -p spine-edema-phantom --example export_planes -- phantom 20000 13 planes_ph
//! # the real lumbar T2 exams (manual masks T11–L5)
//! cargo run --release -p spine-edema-phantom --example export_planes -- real ../shared/real/lumbar-t2 planes_real
//! ```
//!
//! Per exam a folder with `t1.npy` and/or `fluid.npy` (planes × rows × columns, f32,
//! intensity-scaled), `body.npy` and `s1.npy` (fraction of each working pixel inside a
//! lumbar/thoracic body, resp. the S1 body) and `meta.json`.

use ndarray::{Array3, Axis, stack};
use spine_edema::level::Level;
use spine_edema::load::LoadConfig;
use spine_edema::nifti::{read_labels, read_volume};
use spine_edema::segment::DEFAULT_PIXEL_MM;
use spine_edema::segment::orient::Orientation;
use spine_edema::segment::planes::{IntensityScale, PlaneGrid};
use spine_edema::volume::Volume;
use spine_edema_phantom::Preset;
use std::io::Write;
use std::path::Path;

mod common;
use common::{BoxResult, load_phantom_exam, write_phantom};

fn main() -> BoxResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["phantom", seed, count, out] => phantoms(seed.parse()?, count.parse()?, Path::new(out)),
        ["real", dir, out] => real(Path::new(dir), Path::new(out)),
        _ => Err("usage: export_planes phantom SEED COUNT OUT | real DIR OUT".into()),
    }
}

fn phantoms(first: u64, count: u64, out: &Path) -> BoxResult<()> {
    let scratch = tempfile::tempdir()?;
    for preset in Preset::ALL {
        for seed in first..first + count {
            let written = write_phantom(scratch.path(), preset, seed, 1)?;
            for (k, exam) in written.exams.iter().enumerate() {
                let loaded = load_phantom_exam(&exam.dir.join("dicom"), &LoadConfig::default())?;
                let truth = read_labels(&exam.dir.join("truth/bodies.nii.gz"))?;
                let truth = truth.with_voxels(truth.voxels.mapv(|v| v as u16));
                let dest = out.join(format!("{preset}{seed}_{k}"));
                let t1 = loaded.images.t1.as_ref();
                let fluid = loaded.images.fluid.as_ref().map(|f| &f.volume);
                export(&dest, t1, fluid, &truth, true)?;
                eprintln!("{}", dest.display());
            }
            std::fs::remove_dir_all(scratch.path().join(format!("{preset}{seed}")))?;
        }
    }
    Ok(())
}

fn real(dir: &Path, out: &Path) -> BoxResult<()> {
    let mut cases: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix("_T2w.nii.gz").map(str::to_string)
        })
        .collect();
    cases.sort();
    for case in cases {
        let image = read_volume(&dir.join(format!("{case}_T2w.nii.gz")))?;
        let truth = read_labels(&dir.join(format!("{case}_bodies.nii.gz")))?;
        let truth = truth.with_voxels(truth.voxels.mapv(|v| v as u16));
        export(&out.join(&case), None, Some(&image), &truth, false)?;
        eprintln!("{case}");
    }
    Ok(())
}

/// Writes one exam's planes and targets.
fn export(
    dest: &Path,
    t1: Option<&Volume<f32>>,
    fluid: Option<&Volume<f32>>,
    truth: &Volume<u16>,
    s1_labelled: bool,
) -> BoxResult<()> {
    std::fs::create_dir_all(dest)?;
    let reference = t1.or(fluid).ok_or("no image")?;
    let o = Orientation::from_affine(&reference.affine)?;
    let shape = reference.shape();
    let grid = PlaneGrid::new(o, shape, DEFAULT_PIXEL_MM);
    let lateral = grid.dims[0];
    let unit = IntensityScale {
        low: 0.0,
        high: 1.0,
    };
    let planes = |v: &Array3<f32>, scale: &IntensityScale| -> BoxResult<Array3<f32>> {
        let p: Vec<_> = (0..lateral)
            .map(|l| grid.working_plane(v, scale, l))
            .collect();
        let views: Vec<_> = p.iter().map(|a| a.view()).collect();
        Ok(stack(Axis(0), &views)?)
    };
    for (name, v) in [("t1", t1), ("fluid", fluid)] {
        if let Some(v) = v {
            write_npy(
                &dest.join(format!("{name}.npy")),
                &planes(&v.voxels, &IntensityScale::of(&v.voxels))?,
            )?;
        }
    }
    let s1 = u16::from(Level::S1.code());
    let body = truth
        .voxels
        .mapv(|c| f32::from(u8::from(c != 0 && c != s1 && c < 100)));
    let sacral = truth.voxels.mapv(|c| f32::from(u8::from(c == s1)));
    let body = planes(&body, &unit)?;
    write_npy(&dest.join("body.npy"), &body)?;
    write_npy(&dest.join("s1.npy"), &planes(&sacral, &unit)?)?;
    // Real masks label T11–L5 only: rows above the top of the highest body are unknown.
    let top = body
        .axis_iter(Axis(1))
        .position(|row| row.iter().any(|&v| v > 0.5))
        .unwrap_or(0);
    let meta = serde_json::json!({
        "pixel_mm": DEFAULT_PIXEL_MM,
        "s1_labelled": s1_labelled,
        "unlabelled_above_row": if s1_labelled { serde_json::Value::Null } else { top.into() },
    });
    std::fs::write(dest.join("meta.json"), serde_json::to_string_pretty(&meta)?)?;
    Ok(())
}

/// A little-endian f32 `.npy` (format 1.0) file.
fn write_npy(path: &Path, a: &Array3<f32>) -> BoxResult<()> {
    let (l, h, w) = a.dim();
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({l}, {h}, {w}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(b"\x93NUMPY\x01\x00")?;
    f.write_all(&(header.len() as u16).to_le_bytes())?;
    f.write_all(header.as_bytes())?;
    for v in a.iter() {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()?;
    Ok(())
}
