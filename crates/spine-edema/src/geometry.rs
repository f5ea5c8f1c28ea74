//! Voxel ↔ patient-space geometry.
//!
//! All coordinates in this library are DICOM patient coordinates, **LPS** millimetres
//! (x grows to the patient's Left, y to Posterior, z to Superior). NIfTI files store
//! RAS; the conversion happens once, in [`crate::nifti`], and nowhere else.
//!
//! An [`Affine`] maps an array index `[i0, i1, i2]` — in the order of the
//! `ndarray::Array3` axes, i.e. `[slice, row, column]` for volumes built from DICOM —
//! to a point in LPS mm. Keeping the index order equal to the array axis order means
//! no code ever has to remember a permutation.

use nalgebra::{Matrix3, Matrix4, Point3, Vector3};
use serde::{Deserialize, Serialize};

/// A point in patient space, LPS millimetres.
pub type PointMm = Point3<f64>;

/// An affine map from array index space to LPS millimetres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    /// Homogeneous 4×4 matrix; column `a` is the LPS step (mm) of one voxel along array axis `a`,
    /// column 3 is the LPS position of voxel `[0, 0, 0]`.
    matrix: Matrix4<f64>,
}

impl Affine {
    /// Builds an affine from the LPS position of voxel `[0,0,0]` and the LPS step vector (mm)
    /// of one voxel along each array axis.
    pub fn from_steps(origin_mm: PointMm, steps_mm: [Vector3<f64>; 3]) -> Self {
        let mut matrix = Matrix4::identity();
        for (axis, step) in steps_mm.iter().enumerate() {
            matrix.fixed_view_mut::<3, 1>(0, axis).copy_from(step);
        }
        matrix
            .fixed_view_mut::<3, 1>(0, 3)
            .copy_from(&origin_mm.coords);
        Affine { matrix }
    }

    /// An axis-aligned affine: array axis `a` runs along LPS axis `a` with the given spacing.
    pub fn axis_aligned(origin_mm: PointMm, spacing_mm: [f64; 3]) -> Self {
        Self::from_steps(
            origin_mm,
            [
                Vector3::x() * spacing_mm[0],
                Vector3::y() * spacing_mm[1],
                Vector3::z() * spacing_mm[2],
            ],
        )
    }

    /// Wraps a homogeneous matrix. Returns `None` when its linear part is singular or its
    /// last row is not `[0, 0, 0, 1]`.
    pub fn from_matrix(matrix: Matrix4<f64>) -> Option<Self> {
        let last_row_ok = matrix[(3, 0)] == 0.0
            && matrix[(3, 1)] == 0.0
            && matrix[(3, 2)] == 0.0
            && matrix[(3, 3)] == 1.0;
        let affine = Affine { matrix };
        let det = affine.linear().determinant();
        (last_row_ok && det.is_finite() && det.abs() > 1e-12).then_some(affine)
    }

    /// The homogeneous matrix.
    pub fn matrix(&self) -> &Matrix4<f64> {
        &self.matrix
    }

    /// The 3×3 linear part (columns are per-axis steps in mm).
    pub fn linear(&self) -> Matrix3<f64> {
        self.matrix.fixed_view::<3, 3>(0, 0).into_owned()
    }

    /// The LPS position of voxel `[0, 0, 0]`.
    pub fn origin_mm(&self) -> PointMm {
        Point3::from(self.matrix.fixed_view::<3, 1>(0, 3).into_owned())
    }

    /// The LPS step (mm) of one voxel along array axis `axis` (0, 1 or 2).
    pub fn step_mm(&self, axis: usize) -> Vector3<f64> {
        self.matrix.fixed_view::<3, 1>(0, axis.min(2)).into_owned()
    }

    /// Voxel spacing in mm along each array axis.
    pub fn spacing_mm(&self) -> [f64; 3] {
        [0, 1, 2].map(|a| self.step_mm(a).norm())
    }

    /// Unit direction (LPS) of each array axis.
    pub fn directions(&self) -> [Vector3<f64>; 3] {
        [0, 1, 2].map(|a| {
            let s = self.step_mm(a);
            let n = s.norm();
            if n > 0.0 { s / n } else { s }
        })
    }

    /// Volume of one voxel in mm³.
    pub fn voxel_volume_mm3(&self) -> f64 {
        self.linear().determinant().abs()
    }

    /// Maps a (possibly fractional) array index to LPS mm.
    pub fn index_to_mm(&self, index: [f64; 3]) -> PointMm {
        let p = self.matrix * nalgebra::Vector4::new(index[0], index[1], index[2], 1.0);
        Point3::new(p.x, p.y, p.z)
    }

    /// Maps an LPS point to a fractional array index.
    pub fn mm_to_index(&self, point: &PointMm) -> [f64; 3] {
        let inv = self.inverse();
        let p = inv.matrix * point.to_homogeneous();
        [p.x, p.y, p.z]
    }

    /// The inverse map (LPS mm → index), as an `Affine` whose "index" side is mm.
    pub fn inverse(&self) -> Affine {
        // The constructors guarantee a non-singular linear part; fall back to identity
        // rather than panic if a caller built a degenerate matrix by hand.
        let matrix = self.matrix.try_inverse().unwrap_or_else(Matrix4::identity);
        Affine { matrix }
    }

    /// The affine that maps indices of `self` to indices of `target`:
    /// `target⁻¹ ∘ self`. Used to resample one grid onto another.
    pub fn index_to_index(&self, target: &Affine) -> Matrix4<f64> {
        target.inverse().matrix * self.matrix
    }

    /// Composes a rigid/affine transform applied in patient space (mm → mm) before this map:
    /// returns the affine `transform ∘ self`.
    pub fn transformed(&self, transform_mm: &Matrix4<f64>) -> Affine {
        Affine {
            matrix: transform_mm * self.matrix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn oblique(origin: [f64; 3], angle: f64, spacing: [f64; 3]) -> Affine {
        let rot = nalgebra::Rotation3::from_euler_angles(angle, angle * 0.5, -angle);
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

    proptest! {
        #[test]
        fn index_mm_round_trip(
            ox in -300.0..300.0f64, oy in -300.0..300.0f64, oz in -300.0..300.0f64,
            angle in -1.5..1.5f64,
            s0 in 0.3..6.0f64, s1 in 0.3..6.0f64, s2 in 0.3..6.0f64,
            i in -10.0..600.0f64, j in -10.0..600.0f64, k in -10.0..40.0f64,
        ) {
            let a = oblique([ox, oy, oz], angle, [s0, s1, s2]);
            let p = a.index_to_mm([i, j, k]);
            let back = a.mm_to_index(&p);
            prop_assert!((back[0] - i).abs() < 1e-6);
            prop_assert!((back[1] - j).abs() < 1e-6);
            prop_assert!((back[2] - k).abs() < 1e-6);
            let sp = a.spacing_mm();
            prop_assert!((sp[0] - s0).abs() < 1e-9 && (sp[1] - s1).abs() < 1e-9 && (sp[2] - s2).abs() < 1e-9);
            prop_assert!((a.voxel_volume_mm3() - s0 * s1 * s2).abs() < 1e-6);
        }
    }

    #[test]
    fn singular_matrix_is_rejected() {
        assert!(Affine::from_matrix(Matrix4::zeros()).is_none());
        assert!(Affine::from_matrix(Matrix4::identity()).is_some());
    }
}
