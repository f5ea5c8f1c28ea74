//! A simple synthetic sagittal exam (not the phantom generator): stacked rounded blocks
//! with a dark cortical shell, discs, a canal and textured soft tissue, on a DICOM-like
//! `[slice, row, column]` grid. Used for the T1-only / STIR-only tests and the bench.

use ndarray::Array3;
use spine_edema::geometry::{Affine, PointMm};
use spine_edema::volume::Volume;

/// Tissue intensities of one sequence.
pub struct Contrasts {
    pub marrow: f32,
    pub disc: f32,
    pub tissue: f32,
    pub canal: f32,
}

/// T1: fatty marrow bright, discs and CSF dark.
pub const T1: Contrasts = Contrasts {
    marrow: 0.7,
    disc: 0.35,
    tissue: 0.5,
    canal: 0.15,
};
/// STIR: marrow suppressed, discs and CSF bright.
pub const STIR: Contrasts = Contrasts {
    marrow: 0.25,
    disc: 0.7,
    tissue: 0.35,
    canal: 0.95,
};

/// Number of bodies in the synthetic column.
pub const BODIES: usize = 7;

/// Builds the image and the truth label map (1..=BODIES, cranial to caudal).
pub fn exam(slices: usize, matrix: usize, c: &Contrasts, seed: u64) -> (Volume<f32>, Volume<u16>) {
    let (slice_mm, pixel_mm) = (4.0f64, 300.0 / matrix as f64);
    // DICOM sagittal: slice axis → patient left, rows → feet, columns → posterior.
    let affine = Affine::from_steps(
        PointMm::new(-(slices as f64) * slice_mm / 2.0, -150.0, 150.0),
        [
            nalgebra::Vector3::x() * slice_mm,
            -nalgebra::Vector3::z() * pixel_mm,
            nalgebra::Vector3::y() * pixel_mm,
        ],
    );
    let mut img = Array3::<f32>::zeros((slices, matrix, matrix));
    let mut lab = Array3::<u16>::zeros((slices, matrix, matrix));
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
    };
    let (height, disc, depth, half_width) = (27.0, 9.0, 36.0, 22.0);
    for s in 0..slices {
        let x = (s as f64 + 0.5) * slice_mm - slices as f64 * slice_mm / 2.0;
        for r in 0..matrix {
            let si = r as f64 * pixel_mm;
            for col in 0..matrix {
                let ap = col as f64 * pixel_mm;
                // Gentle lordosis: the column's anterior wall drifts with depth.
                let front = 110.0 + 0.0006 * (si - 150.0).powi(2);
                let mut v =
                    c.tissue * (1.0 + 0.15 * ((si * 0.21).sin() * (ap * 0.17).cos()) as f32);
                let k = ((si - 20.0) / (height + disc)).floor();
                let within = si - 20.0 - k * (height + disc);
                let rel_ap = ap - front;
                let lateral = (x / half_width).powi(2);
                if (0.0..BODIES as f64).contains(&k) && lateral < 1.0 {
                    // Body cross-section narrows laterally like a cylinder.
                    let d = depth * (1.0 - lateral).sqrt().max(0.3);
                    let a0 = depth - d;
                    let in_body = within < height && rel_ap >= a0 && rel_ap <= depth;
                    let in_disc = within >= height && rel_ap >= a0 && rel_ap <= depth;
                    if in_body {
                        let edge = within
                            .min(height - within)
                            .min(rel_ap - a0)
                            .min(depth - rel_ap);
                        v = if edge < 1.5 { 0.05 } else { c.marrow };
                        lab[[s, r, col]] = k as u16 + 1;
                    } else if in_disc {
                        v = c.disc;
                    }
                }
                if (depth + 2.0..depth + 16.0).contains(&rel_ap) && x.abs() < 9.0 {
                    v = c.canal;
                }
                img[[s, r, col]] = (v + 0.03 * noise()).max(0.0) * 1000.0;
            }
        }
    }
    (Volume::new(img, affine), Volume::new(lab, affine))
}
