//! Resampling by geometry: identity, known integer and sub-voxel shifts, oblique grids,
//! nearest-neighbour labels.

use nalgebra::{Isometry3, Point3, Rotation3, Translation3, Vector3};
use ndarray::Array3;
use spine_edema::volume::resample::{OUTSIDE_FILL, resample_labels, resample_trilinear};
use spine_edema::{Affine, Volume};

/// A sagittal-like grid: slices along x (3.3 mm), rows along −z, columns along y, at
/// in-plane spacings that are not exact binary fractions.
fn sagittal_affine(origin: [f64; 3]) -> Affine {
    Affine::from_steps(
        Point3::from(origin),
        [
            Vector3::new(3.3, 0.0, 0.0),
            Vector3::new(0.0, 0.0, -0.683_593_75),
            Vector3::new(0.0, 0.703_125, 0.0),
        ],
    )
}

fn oblique(origin: [f64; 3], angles: [f64; 3], spacing: [f64; 3]) -> Affine {
    let rot = Rotation3::from_euler_angles(angles[0], angles[1], angles[2]);
    let m = rot.matrix();
    Affine::from_steps(
        Point3::from(origin),
        [
            m.column(0) * spacing[0],
            m.column(1) * spacing[1],
            m.column(2) * spacing[2],
        ],
    )
}

fn noise_volume(shape: [usize; 3], affine: Affine) -> Volume<f32> {
    let voxels = Array3::from_shape_fn(shape, |(i, j, k)| {
        let h = (i as u64 * 73_856_093) ^ (j as u64 * 19_349_663) ^ (k as u64 * 83_492_791);
        (h % 1000) as f32 * 0.37
    });
    Volume::new(voxels, affine)
}

#[test]
fn identity_is_exact() {
    for affine in [
        sagittal_affine([-40.0, -120.5, 60.25]),
        oblique([12.0, -3.0, 7.0], [0.3, -0.2, 0.7], [3.7, 0.77, 0.81]),
    ] {
        let source = noise_volume([6, 20, 24], affine);
        let out = resample_trilinear(&source, source.shape(), &source.affine, None);
        assert_eq!(out.voxels, source.voxels);
        assert!(out.same_grid(&source));
        let labels = source.with_voxels(source.voxels.mapv(|v| v as u16));
        let out = resample_labels(&labels, labels.shape(), &labels.affine, None);
        assert_eq!(out.voxels, labels.voxels);
    }
}

#[test]
fn integer_shift_by_grid_and_by_transform() {
    let source = noise_volume([5, 16, 18], sagittal_affine([-30.0, -100.0, 50.0]));
    let shift = 3usize;
    // Target grid starts `shift` rows further along axis 1.
    let origin = source.affine.index_to_mm([0.0, shift as f64, 0.0]);
    let target = Affine::from_steps(origin, [0, 1, 2].map(|a| source.affine.step_mm(a)));
    let by_grid = resample_trilinear(&source, source.shape(), &target, None);
    // Same grid, but a transform that maps target mm to source mm `shift` rows on.
    let t = source.affine.step_mm(1) * shift as f64;
    let iso = Isometry3::from_parts(Translation3::from(t), Default::default());
    let by_transform = resample_trilinear(&source, source.shape(), &source.affine, Some(&iso));
    let [n0, n1, n2] = source.shape();
    for i in 0..n0 {
        for j in 0..n1 {
            for k in 0..n2 {
                let expected = if j + shift < n1 {
                    source.voxels[[i, j + shift, k]]
                } else {
                    OUTSIDE_FILL
                };
                assert_eq!(by_grid.voxels[[i, j, k]], expected, "grid [{i},{j},{k}]");
                assert!(
                    (by_transform.voxels[[i, j, k]] - expected).abs() < 1e-3,
                    "transform [{i},{j},{k}]"
                );
            }
        }
    }
}

#[test]
fn sub_voxel_shift_of_a_ramp() {
    // Intensity rises 2 per column: trilinear reproduces a linear function exactly.
    let affine = sagittal_affine([0.0, 0.0, 0.0]);
    let [n0, n1, n2] = [3, 4, 10];
    let source = Volume::new(
        Array3::from_shape_fn([n0, n1, n2], |(_, _, k)| 2.0 * k as f32),
        affine,
    );
    let origin = affine.index_to_mm([0.0, 0.0, 0.25]);
    let target = Affine::from_steps(origin, [0, 1, 2].map(|a| affine.step_mm(a)));
    let out = resample_trilinear(&source, [n0, n1, n2], &target, None);
    for k in 0..n2 - 1 {
        let expected = 2.0 * (k as f32 + 0.25);
        assert!(
            (out.voxels[[1, 2, k]] - expected).abs() < 1e-4,
            "column {k}"
        );
    }
    // The last column lands 0.25 voxel beyond the last centre: inside the outermost
    // voxel's footprint, so it takes the edge value (documented behaviour).
    assert_eq!(out.voxels[[1, 2, n2 - 1]], 2.0 * (n2 - 1) as f32);
    // Shift by 0.75 voxel: the last column is beyond the footprint → fill.
    let origin = affine.index_to_mm([0.0, 0.0, 0.75]);
    let target = Affine::from_steps(origin, [0, 1, 2].map(|a| affine.step_mm(a)));
    let out = resample_trilinear(&source, [n0, n1, n2], &target, None);
    assert_eq!(out.voxels[[1, 2, n2 - 1]], OUTSIDE_FILL);
    assert!((out.voxels[[1, 2, 3]] - 7.5).abs() < 1e-4);
}

#[test]
fn oblique_target_samples_a_linear_field_exactly() {
    // f(mm) = 2x − 0.5y + 0.3z + 7, sampled on an oblique source; any target point inside
    // the source must read f at its own mm position.
    let f = |p: &Point3<f64>| 2.0 * p.x - 0.5 * p.y + 0.3 * p.z + 7.0;
    let source_affine = oblique([-20.0, -20.0, -20.0], [0.2, -0.1, 0.15], [2.0, 1.5, 1.25]);
    let shape = [24, 30, 36];
    let source = Volume::new(
        Array3::from_shape_fn(shape, |(i, j, k)| {
            f(&source_affine.index_to_mm([i as f64, j as f64, k as f64])) as f32
        }),
        source_affine,
    );
    let target_affine = oblique([0.0, 0.0, 0.0], [-0.35, 0.4, 0.9], [1.1, 0.9, 1.7]);
    let rigid = Isometry3::new(
        Vector3::new(1.5, -2.0, 0.7),
        Vector3::new(0.05, -0.03, 0.08),
    );
    for transform in [None, Some(&rigid)] {
        let out = resample_trilinear(&source, [12, 14, 10], &target_affine, transform);
        let mut checked = 0;
        for ((i, j, k), v) in out.voxels.indexed_iter() {
            let mm = target_affine.index_to_mm([i as f64, j as f64, k as f64]);
            let mm = transform.map_or(mm, |t| t.transform_point(&mm));
            let p = source.affine.mm_to_index(&mm);
            let strictly_inside = (0..3).all(|a| p[a] >= 0.0 && p[a] <= (shape[a] - 1) as f64);
            let beyond = (0..3).any(|a| p[a] < -0.5 || p[a] > shape[a] as f64 - 0.5);
            if strictly_inside {
                assert!((f64::from(*v) - f(&mm)).abs() < 1e-3 * (1.0 + f(&mm).abs()));
                checked += 1;
            } else if beyond {
                assert_eq!(*v, OUTSIDE_FILL);
            }
        }
        assert!(checked > 500, "only {checked} voxels inside");
    }
}

#[test]
fn labels_stay_labels() {
    let affine = sagittal_affine([0.0, 0.0, 0.0]);
    let labels = Volume::new(
        Array3::from_shape_fn([4, 12, 12], |(i, j, k)| {
            ((i + j / 3 + k / 4) % 5) as u8 * 10
        }),
        affine,
    );
    // 0.4 voxel shift: nearest neighbour keeps every voxel's own label.
    let origin = affine.index_to_mm([0.0, 0.4, -0.4]);
    let target = Affine::from_steps(origin, [0, 1, 2].map(|a| affine.step_mm(a)));
    let out = resample_labels(&labels, labels.shape(), &target, None);
    assert_eq!(out.voxels, labels.voxels);
    // 0.6 voxel shift: the next voxel's label.
    let origin = affine.index_to_mm([0.0, 0.6, 0.0]);
    let target = Affine::from_steps(origin, [0, 1, 2].map(|a| affine.step_mm(a)));
    let out = resample_labels(&labels, labels.shape(), &target, None);
    for ((i, j, k), v) in out.voxels.indexed_iter() {
        let expected = if j + 1 < 12 {
            labels.voxels[[i, j + 1, k]]
        } else {
            0
        };
        assert_eq!(*v, expected);
    }
    // Oblique target onto finer grid: only values that exist in the source.
    let fine = oblique([5.0, 2.0, -3.0], [0.3, 0.2, -0.4], [1.0, 0.5, 0.5]);
    let out = resample_labels(&labels, [10, 16, 16], &fine, None);
    assert!(out.voxels.iter().all(|v| v % 10 == 0 && *v <= 40));
    assert!(out.voxels.iter().any(|v| *v != 0));
}
