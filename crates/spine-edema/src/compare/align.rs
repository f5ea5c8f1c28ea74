//! Rigid alignment of a vertebral body between two exams.
//!
//! The patient lies differently at each visit and the slab is placed anew, so the same
//! body sits at another place and angle in the scanner. Before asking which marrow voxels
//! changed, the follow-up body is moved onto the baseline body: start from the centroid
//! offset, then search the six rigid parameters for the largest overlap of the two body
//! masks. Overlap, rather than intensities, because marrow signal is exactly what changed.

use super::crop::BodyCrop;
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use ndarray::Array3;

/// A body's voxels as points in mm, and a lookup of the other body's mask.
struct MaskLookup {
    bits: Array3<bool>,
    inverse: nalgebra::Matrix4<f64>,
}

impl MaskLookup {
    fn new(crop: &BodyCrop) -> Self {
        MaskLookup {
            bits: crop.decode(&crop.body),
            inverse: crop.affine.inverse().matrix().to_owned(),
        }
    }

    /// Nearest-neighbour lookup of the mask at an LPS point.
    fn contains(&self, p: &Point3<f64>) -> bool {
        let q = self.inverse * p.to_homogeneous();
        let idx = [q.x.round(), q.y.round(), q.z.round()];
        if idx.iter().any(|&v| v < 0.0) {
            return false;
        }
        self.bits
            .get((idx[0] as usize, idx[1] as usize, idx[2] as usize))
            .copied()
            .unwrap_or(false)
    }
}

/// Body voxel centres of a crop in LPS mm.
pub(crate) fn body_points(crop: &BodyCrop, mask: &Array3<bool>) -> Vec<Point3<f64>> {
    mask.indexed_iter()
        .filter(|(_, b)| **b)
        .map(|((i, j, k), _)| crop.affine.index_to_mm([i as f64, j as f64, k as f64]))
        .collect()
}

/// The result of aligning one body.
#[derive(Clone, Debug)]
pub struct BodyAlignment {
    /// Maps baseline LPS mm to follow-up LPS mm.
    pub baseline_to_followup: Isometry3<f64>,
    /// Fraction of baseline body voxels that land inside the follow-up body (0–1).
    pub overlap: f64,
}

fn overlap(points: &[Point3<f64>], target: &MaskLookup, t: &Isometry3<f64>) -> f64 {
    if points.is_empty() {
        return 0.0;
    }
    let hits = points.iter().filter(|p| target.contains(&(t * *p))).count();
    hits as f64 / points.len() as f64
}

fn centroid(points: &[Point3<f64>]) -> Point3<f64> {
    let n = points.len().max(1) as f64;
    Point3::from(
        points
            .iter()
            .fold(Vector3::zeros(), |acc, p| acc + p.coords)
            / n,
    )
}

/// Aligns the follow-up body onto the baseline body. Translation is searched within
/// ±`max_shift_mm` of the centroid offset and rotations within ±`max_rotation_deg`.
pub fn align_bodies(
    baseline: &BodyCrop,
    followup: &BodyCrop,
    max_shift_mm: f64,
    max_rotation_deg: f64,
) -> BodyAlignment {
    let base_mask = baseline.decode(&baseline.body);
    let follow_mask = followup.decode(&followup.body);
    let all_points = body_points(baseline, &base_mask);
    let follow_points = body_points(followup, &follow_mask);
    // Every second point is plenty to locate the optimum and halves the cost.
    let points: Vec<_> = all_points.iter().step_by(2).copied().collect();
    let target = MaskLookup::new(followup);
    let c_base = centroid(&all_points);
    let c_follow = centroid(&follow_points);

    // Parameters: translation (mm) applied after rotation about the baseline centroid.
    let make = |p: &[f64; 6]| {
        let rot = UnitQuaternion::from_euler_angles(
            p[3].to_radians(),
            p[4].to_radians(),
            p[5].to_radians(),
        );
        let to_origin = Translation3::from(-c_base.coords);
        let back = Translation3::from(c_follow.coords + Vector3::new(p[0], p[1], p[2]));
        Isometry3::from_parts(back, UnitQuaternion::identity())
            * Isometry3::from_parts(Translation3::identity(), rot)
            * Isometry3::from_parts(to_origin, UnitQuaternion::identity())
    };
    let mut best = [0.0f64; 6];
    let mut best_score = overlap(&points, &target, &make(&best));
    let mut step = [2.0, 2.0, 2.0, 4.0, 4.0, 4.0];
    let limits = [
        max_shift_mm,
        max_shift_mm,
        max_shift_mm,
        max_rotation_deg,
        max_rotation_deg,
        max_rotation_deg,
    ];
    // Coordinate search with step halving: cheap, deterministic, and the overlap surface
    // of two near-identical bodies is smooth and single-peaked near the centroid match.
    for _round in 0..6 {
        let mut improved = true;
        while improved {
            improved = false;
            for axis in 0..6 {
                for sign in [-1.0, 1.0] {
                    let mut cand = best;
                    cand[axis] =
                        (cand[axis] + sign * step[axis]).clamp(-limits[axis], limits[axis]);
                    let score = overlap(&points, &target, &make(&cand));
                    if score > best_score + 1e-9 {
                        best = cand;
                        best_score = score;
                        improved = true;
                    }
                }
            }
        }
        step = step.map(|s| s * 0.5);
    }
    let transform = make(&best);
    BodyAlignment {
        overlap: overlap(&all_points, &target, &transform),
        baseline_to_followup: transform,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::crop::RunLengthMask;
    use crate::geometry::Affine;

    fn box_crop(origin: Point3<f64>, rotation: &UnitQuaternion<f64>) -> BodyCrop {
        let steps =
            [Vector3::x() * 1.0, Vector3::y() * 1.0, Vector3::z() * 1.0].map(|v| rotation * v);
        let affine = Affine::from_steps(origin, steps);
        let shape = [40, 40, 40];
        // An asymmetric block (20 × 28 × 16 voxels) so rotation is observable.
        let bits = Array3::from_shape_fn((40, 40, 40), |(i, j, k)| {
            (10..30).contains(&i) && (6..34).contains(&j) && (12..28).contains(&k)
        });
        let mask = RunLengthMask::encode(bits.iter().copied());
        BodyCrop {
            affine,
            shape,
            body: mask.clone(),
            edema: RunLengthMask::default(),
            cement: RunLengthMask::default(),
        }
    }

    #[test]
    fn recovers_a_known_shift_and_rotation() {
        let base = box_crop(Point3::new(0.0, 0.0, 0.0), &UnitQuaternion::identity());
        let rot = UnitQuaternion::from_euler_angles(0.0, 0.0, 6f64.to_radians());
        let follow = box_crop(Point3::new(12.0, -7.0, 30.0), &rot);
        let fit = align_bodies(&base, &follow, 10.0, 10.0);
        assert!(fit.overlap > 0.93, "overlap {}", fit.overlap);
    }

    #[test]
    fn identical_bodies_align_fully() {
        let base = box_crop(Point3::new(5.0, 5.0, 5.0), &UnitQuaternion::identity());
        let fit = align_bodies(&base, &base.clone(), 10.0, 10.0);
        assert!(fit.overlap > 0.999);
    }
}
