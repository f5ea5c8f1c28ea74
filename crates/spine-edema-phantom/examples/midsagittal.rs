//! Writes mid-sagittal PNGs of the T1 and fluid series of a phantom (for docs/phantom.md)
//! and prints generation times.
//!
//! `cargo run --release -p spine-edema-phantom --example midsagittal -- OUT_DIR [PRESET SEED MATRIX]`

use spine_edema_phantom::{PhantomOptions, Preset, generate_patient};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(args.get(1).map_or("docs/img", String::as_str));
    let preset: Preset = args.get(2).map_or("lumbar", String::as_str).parse()?;
    let seed: u64 = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let matrix: usize = args.get(4).map_or(Ok(384), |s| s.parse())?;
    let opts = PhantomOptions {
        preset,
        seed,
        matrix: Some(matrix),
        extra_series: false,
        ..Default::default()
    };
    let start = Instant::now();
    let patient = generate_patient(&opts)?;
    println!(
        "generated {preset} seed {seed} at {matrix}² in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(&out)?;
    let exam = &patient.exams[0];
    for image in &exam.series {
        let v = &image.volume.voxels;
        let (n, rows, cols) = v.dim();
        let mid = v.index_axis(ndarray::Axis(0), n / 2);
        let mut sorted: Vec<u16> = mid.iter().copied().collect();
        sorted.sort_unstable();
        let hi = f64::from(sorted[(sorted.len() as f64 * 0.995) as usize].max(1));
        let png = image::GrayImage::from_fn(cols as u32, rows as u32, |x, y| {
            let value = f64::from(mid[[y as usize, x as usize]]) / hi * 255.0;
            image::Luma([value.clamp(0.0, 255.0) as u8])
        });
        let role = serde_json::to_string(&image.role)?.replace('"', "");
        let path = out.join(format!("phantom-{preset}-{role}.png"));
        png.save(&path)?;
        println!("{}", path.display());
        if std::env::var_os("PHANTOM_ZOOM").is_some() {
            // 2× nearest-neighbour zoom of the central half, for close inspection.
            let (w, h) = (png.width(), png.height());
            let zoom = image::GrayImage::from_fn(w, h, |x, y| {
                *png.get_pixel(w / 4 + x / 2, h / 4 + y / 2)
            });
            zoom.save(out.join(format!("zoom-{preset}-{role}.png")))?;
        }
    }
    for l in &exam.truth.levels {
        println!(
            "{:>4} vol {:5.1} mL bme {:5.1}% cement {:4.1}% heights {:4.1}/{:4.1}/{:4.1} loss {:4.1}% grade {} {:?}{}",
            l.level.to_string(),
            l.body_volume_ml,
            l.bme_percent,
            l.cement_percent,
            l.height_anterior_mm,
            l.height_middle_mm,
            l.height_posterior_mm,
            l.height_loss_percent,
            l.genant_grade,
            l.genant_shape,
            if l.partial_in_fov { " partial" } else { "" }
        );
    }
    Ok(())
}
