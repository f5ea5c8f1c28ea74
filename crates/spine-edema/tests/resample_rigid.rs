//! Rigid refinement on synthetic two-contrast volumes: tissue classes with T1 and STIR
//! intensities (fat bright on one and dark on the other), a known small motion between
//! the series, different grids for the two.

use nalgebra::{Isometry3, Point3, Vector3};
use ndarray::Array3;
use spine_edema::volume::register::{RigidConfig, refine_rigid};
use spine_edema::volume::resample::resample_trilinear;
use spine_edema::{Affine, Volume};
use std::time::Instant;

#[derive(Clone, Copy)]
enum Weighting {
    T1,
    Stir,
}

/// Tissue intensities (T1, STIR): fat bright on T1 and dark on STIR, fluid the reverse.
const BACKGROUND: (f32, f32) = (0.02, 0.02);
const FAT: (f32, f32) = (1.0, 0.06);
const MUSCLE: (f32, f32) = (0.3, 0.22);
const MARROW: (f32, f32) = (0.7, 0.15);
const DISC: (f32, f32) = (0.35, 0.55);
const CSF: (f32, f32) = (0.12, 1.0);

/// Soft inside-ness of an ellipsoid (semi-axes in mm; a huge axis makes a cylinder),
/// with a ~1 mm partial-volume edge.
fn ellipsoid(p: &Point3<f64>, centre: [f64; 3], semi: [f64; 3]) -> f32 {
    let r = ((p.x - centre[0]) / semi[0]).powi(2)
        + ((p.y - centre[1]) / semi[1]).powi(2)
        + ((p.z - centre[2]) / semi[2]).powi(2);
    let smallest = semi[0].min(semi[1]).min(semi[2]);
    let distance_mm = (r.sqrt() - 1.0) * smallest;
    (1.0 / (1.0 + (distance_mm / 0.8).exp())) as f32
}

/// A lumbar-like phantom: body outline (fat over muscle), five vertebral bodies with
/// discs, a CSF canal, and an asymmetric fat pad so every rotation is observable.
fn phantom(p: &Point3<f64>, w: Weighting) -> f32 {
    let pick = |t: (f32, f32)| match w {
        Weighting::T1 => t.0,
        Weighting::Stir => t.1,
    };
    let mut v = pick(BACKGROUND);
    let mut layer = |m: f32, tissue: (f32, f32)| v = v * (1.0 - m) + pick(tissue) * m;
    layer(ellipsoid(p, [0.0, 0.0, 0.0], [95.0, 75.0, 1e6]), FAT);
    layer(ellipsoid(p, [0.0, 5.0, 0.0], [80.0, 60.0, 1e6]), MUSCLE);
    for n in -2..=2 {
        let z = f64::from(n) * 34.0 + 3.0 * f64::from(n * n);
        layer(
            ellipsoid(p, [0.0, -12.0 + 2.0 * f64::from(n), z], [21.0, 16.0, 13.0]),
            MARROW,
        );
        layer(
            ellipsoid(p, [0.0, -12.0, z + 17.0], [18.0, 15.0, 4.0]),
            DISC,
        );
    }
    layer(ellipsoid(p, [0.0, 16.0, 0.0], [8.0, 7.0, 1e6]), CSF);
    layer(ellipsoid(p, [14.0, 34.0, 12.0], [9.0, 12.0, 20.0]), FAT);
    layer(ellipsoid(p, [-10.0, -40.0, -30.0], [7.0, 6.0, 15.0]), CSF);
    v
}

/// Deterministic ±2 % noise.
fn noise(i: usize, j: usize, k: usize) -> f32 {
    let h = (i as u64).wrapping_mul(0x9E37_79B9)
        ^ (j as u64).wrapping_mul(0x85EB_CA6B)
        ^ (k as u64).wrapping_mul(0xC2B2_AE35);
    ((h.wrapping_mul(0x27D4_EB2F) >> 40) % 1000) as f32 / 1000.0 * 0.04 - 0.02
}

/// Sagittal grid: slices along x, rows down (−z), columns along y.
fn sagittal(shape: [usize; 3], slice_mm: f64, pixel_mm: f64, x0: f64) -> Affine {
    let half_rows = (shape[1] as f64 - 1.0) * pixel_mm / 2.0;
    let half_cols = (shape[2] as f64 - 1.0) * pixel_mm / 2.0;
    Affine::from_steps(
        Point3::new(x0, -half_cols, half_rows),
        [
            Vector3::new(slice_mm, 0.0, 0.0),
            Vector3::new(0.0, 0.0, -pixel_mm),
            Vector3::new(0.0, pixel_mm, 0.0),
        ],
    )
}

/// Images the phantom in weighting `w` on `affine`, after the patient moved by `motion`
/// (a tissue point at x is at motion(x) during this series).
fn image(shape: [usize; 3], affine: Affine, w: Weighting, motion: &Isometry3<f64>) -> Volume<f32> {
    let back = motion.inverse();
    Volume::new(
        Array3::from_shape_fn(shape, |(i, j, k)| {
            let y = affine.index_to_mm([i as f64, j as f64, k as f64]);
            phantom(&back.transform_point(&y), w) + noise(i, j, k)
        }),
        affine,
    )
}

fn t1_volume() -> Volume<f32> {
    let shape = [20, 200, 160];
    image(
        shape,
        sagittal(shape, 3.0, 1.0, -28.5),
        Weighting::T1,
        &Isometry3::identity(),
    )
}

fn stir_volume(motion: &Isometry3<f64>) -> Volume<f32> {
    // Another grid: slices offset by 1 mm, coarser in-plane pixels.
    let shape = [20, 160, 128];
    image(
        shape,
        sagittal(shape, 3.0, 1.25, -27.5),
        Weighting::Stir,
        motion,
    )
}

/// Rotation angle (degrees) and displacement (mm) at the spine of `fit⁻¹ ∘ truth`.
fn error(found: &Isometry3<f64>, truth: &Isometry3<f64>) -> (f64, f64) {
    let e = found.inverse() * truth;
    let spine = Point3::new(0.0, -12.0, 0.0);
    (
        e.rotation.angle().to_degrees(),
        (e.transform_point(&spine) - spine).norm(),
    )
}

#[test]
fn recovers_a_known_two_contrast_motion() {
    let fixed = t1_volume();
    let cases = [
        Isometry3::new(
            Vector3::new(2.0, -1.5, 2.5),
            Vector3::new(0.035, -0.026, 0.052),
        ),
        Isometry3::new(
            Vector3::new(-3.2, 0.8, -1.1),
            Vector3::new(-0.02, 0.045, -0.03),
        ),
        Isometry3::new(Vector3::new(0.6, 0.3, -0.4), Vector3::new(0.0, 0.0, 0.0)),
    ];
    for truth in cases {
        let moving = stir_volume(&truth);
        let started = Instant::now();
        let fit = refine_rigid(&fixed, &moving, &RigidConfig::default()).unwrap();
        let elapsed = started.elapsed();
        let (angle_deg, shift_mm) = error(&fit.transform, &truth);
        eprintln!(
            "truth {:?}: error {angle_deg:.3}° {shift_mm:.3} mm, NMI {:.4} → {:.4}, \
             residual {:.3} mm, correction {:.2} mm, {} evaluations, {elapsed:?}",
            truth.translation.vector.as_slice(),
            fit.metric_before,
            fit.metric_after,
            fit.residual_mm,
            fit.correction_mm,
            fit.evaluations
        );
        assert!(angle_deg < 0.5, "rotation error {angle_deg}°");
        assert!(shift_mm < 0.5, "translation error {shift_mm} mm");
        assert!(fit.metric_after > fit.metric_before);
        assert!(
            fit.residual_mm > 0.0 && fit.residual_mm < 0.5,
            "{}",
            fit.residual_mm
        );

        // The fitted transform brings the STIR onto the T1 grid where the truth would.
        let aligned =
            resample_trilinear(&moving, fixed.shape(), &fixed.affine, Some(&fit.transform));
        let ideal = resample_trilinear(&moving, fixed.shape(), &fixed.affine, Some(&truth));
        let mean_abs: f32 = aligned
            .voxels
            .iter()
            .zip(ideal.voxels.iter())
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / aligned.len() as f32;
        assert!(mean_abs < 0.02, "mean |aligned − ideal| = {mean_abs}");
    }
}

#[test]
fn two_contrasts_without_motion_stay_put() {
    let fit = refine_rigid(
        &t1_volume(),
        &stir_volume(&Isometry3::identity()),
        &RigidConfig::default(),
    )
    .unwrap();
    let (angle_deg, shift_mm) = error(&fit.transform, &Isometry3::identity());
    assert!(
        angle_deg < 0.3 && shift_mm < 0.3,
        "{angle_deg}° {shift_mm} mm"
    );
}

#[test]
fn a_volume_against_itself_is_identity() {
    let fixed = t1_volume();
    let fit = refine_rigid(&fixed, &fixed, &RigidConfig::default()).unwrap();
    assert!(fit.correction_mm < 0.1, "moved {} mm", fit.correction_mm);
    assert!((fit.metric_after - fit.metric_before).abs() < 1e-3);
}

#[test]
fn motion_beyond_the_bounds_is_clamped_not_chased() {
    let truth = Isometry3::new(Vector3::new(15.0, 0.0, 0.0), Vector3::zeros());
    let config = RigidConfig {
        max_shift_mm: 4.0,
        ..RigidConfig::default()
    };
    let fit = refine_rigid(&t1_volume(), &stir_volume(&truth), &config).unwrap();
    assert!(fit.parameters[..3].iter().all(|t| t.abs() <= 4.0 + 1e-9));
    assert!(fit.parameters[3..].iter().all(|r| r.abs() <= 5.0 + 1e-9));
}

#[test]
fn disjoint_volumes_are_an_error() {
    let fixed = t1_volume();
    let far = Volume::new(
        fixed.voxels.clone(),
        sagittal([20, 200, 160], 3.0, 1.0, 500.0),
    );
    let err = refine_rigid(&fixed, &far, &RigidConfig::default()).unwrap_err();
    assert!(err.to_string().contains("barely overlap"), "{err}");
}

/// CPU time (all threads) of this process, seconds, from /proc (10 ms resolution): wall
/// time is meaningless on a shared machine.
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit(')').next()?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Clinical sizes: T1 15×512×512 (0.68 mm, 4 mm slices), STIR 15×320×320 (1.1 mm).
/// Prints CPU time; run with `--ignored --nocapture`. Asserts only accuracy.
#[test]
#[ignore = "measurement: prints CPU time of a clinical-size refinement"]
fn clinical_size_cpu_time() {
    let truth = Isometry3::new(
        Vector3::new(1.5, -2.0, 1.0),
        Vector3::new(0.02, -0.03, 0.035),
    );
    let t1_shape = [15, 512, 512];
    let fixed = image(
        t1_shape,
        sagittal(t1_shape, 4.0, 0.68, -28.0),
        Weighting::T1,
        &Isometry3::identity(),
    );
    let stir_shape = [15, 320, 320];
    let moving = image(
        stir_shape,
        sagittal(stir_shape, 4.0, 1.1, -28.0),
        Weighting::Stir,
        &truth,
    );
    let cpu0 = process_cpu_s();
    let started = Instant::now();
    let fit = refine_rigid(&fixed, &moving, &RigidConfig::default()).unwrap();
    let wall = started.elapsed();
    let cpu = process_cpu_s().zip(cpu0).map(|(a, b)| a - b);
    let cpu1 = process_cpu_s();
    let started = Instant::now();
    let resampled = resample_trilinear(&moving, fixed.shape(), &fixed.affine, Some(&fit.transform));
    let resample_wall = started.elapsed();
    let resample_cpu = process_cpu_s().zip(cpu1).map(|(a, b)| a - b);
    let (angle_deg, shift_mm) = error(&fit.transform, &truth);
    eprintln!(
        "refine: cpu {cpu:?} s, wall {wall:?}, {} evaluations, error {angle_deg:.3}° {shift_mm:.3} mm, \
         residual {:.3} mm; resample 15×512×512: cpu {resample_cpu:?} s, wall {resample_wall:?}",
        fit.evaluations, fit.residual_mm
    );
    assert_eq!(resampled.shape(), t1_shape);
    assert!(angle_deg < 0.5 && shift_mm < 0.5);
}
