//! Anatomical directions of an arbitrary grid, from its affine (LPS).
//!
//! DICOM sagittal stacks come as `[slice, row, column]`, NIfTI files in any axis order
//! (the real lumbar set is `[sup→inf, ant→post, left-right]`). Nothing downstream may
//! assume an order: every array axis is matched to the patient axis it runs closest to.

use crate::error::{Error, Result};
use crate::geometry::Affine;

/// Which array axis runs along each anatomical direction, and which way.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Orientation {
    /// Array axis closest to left–right (the sagittal slice axis).
    pub lateral_axis: usize,
    /// Array axis closest to superior–inferior.
    pub si_axis: usize,
    /// Array axis closest to anterior–posterior.
    pub ap_axis: usize,
    /// True when increasing the `si_axis` index moves superior (so it must be flipped to
    /// run head → feet).
    pub si_flipped: bool,
    /// True when increasing the `ap_axis` index moves anterior (flipped to run front → back).
    pub ap_flipped: bool,
    /// Voxel spacing (mm) along lateral, SI and AP.
    pub spacing_mm: [f64; 3],
}

impl Orientation {
    /// Matches array axes to patient axes. Fails when the grid is not roughly sagittal
    /// enough for two axes to claim the same direction (it never is for a valid affine).
    pub fn from_affine(affine: &Affine) -> Result<Self> {
        let dirs = affine.directions();
        let spacing = affine.spacing_mm();
        // LPS: x = left, y = posterior, z = superior.
        let best = |component: usize, taken: &[usize]| -> Option<usize> {
            (0..3).filter(|a| !taken.contains(a)).max_by(|&a, &b| {
                dirs[a][component]
                    .abs()
                    .total_cmp(&dirs[b][component].abs())
            })
        };
        let geometry = |reason: &str| Error::Geometry {
            context: "segmentation grid".into(),
            reason: reason.into(),
        };
        let lateral_axis = best(0, &[]).ok_or_else(|| geometry("no lateral axis"))?;
        let si_axis = best(2, &[lateral_axis]).ok_or_else(|| geometry("no S-I axis"))?;
        let ap_axis = best(1, &[lateral_axis, si_axis]).ok_or_else(|| geometry("no A-P axis"))?;
        Ok(Orientation {
            lateral_axis,
            si_axis,
            ap_axis,
            si_flipped: dirs[si_axis][2] > 0.0,
            ap_flipped: dirs[ap_axis][1] < 0.0,
            spacing_mm: [spacing[lateral_axis], spacing[si_axis], spacing[ap_axis]],
        })
    }

    /// Array shape as (lateral, SI, AP) counts.
    pub fn dims(&self, shape: [usize; 3]) -> [usize; 3] {
        [
            shape[self.lateral_axis],
            shape[self.si_axis],
            shape[self.ap_axis],
        ]
    }

    /// Array index of anatomical index (`lat`, `si`, `ap`) where `si` runs head → feet and
    /// `ap` front → back.
    #[inline]
    pub fn index(&self, shape: [usize; 3], lat: usize, si: usize, ap: usize) -> [usize; 3] {
        let d = self.dims(shape);
        let si = if self.si_flipped { d[1] - 1 - si } else { si };
        let ap = if self.ap_flipped { d[2] - 1 - ap } else { ap };
        let mut idx = [0; 3];
        idx[self.lateral_axis] = lat;
        idx[self.si_axis] = si;
        idx[self.ap_axis] = ap;
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Point3, Vector3};

    #[test]
    fn real_lumbar_axis_order_is_recognised() {
        // [sup→inf, ant→post, right→left] at 1 mm, as the real lumbar set is stored.
        let affine = Affine::from_steps(
            Point3::origin(),
            [-Vector3::z(), Vector3::y(), -Vector3::x()],
        );
        let o = Orientation::from_affine(&affine).unwrap();
        assert_eq!((o.lateral_axis, o.si_axis, o.ap_axis), (2, 0, 1));
        assert!(!o.si_flipped && !o.ap_flipped);
    }

    #[test]
    fn dicom_sagittal_is_recognised() {
        // DICOM sagittal: slice along x, rows down (−z), columns toward posterior (+y).
        let affine = Affine::from_steps(
            Point3::origin(),
            [Vector3::x() * 4.0, -Vector3::z() * 0.7, Vector3::y() * 0.7],
        );
        let o = Orientation::from_affine(&affine).unwrap();
        assert_eq!((o.lateral_axis, o.si_axis, o.ap_axis), (0, 1, 2));
        assert_eq!(o.spacing_mm, [4.0, 0.7, 0.7]);
    }
}
