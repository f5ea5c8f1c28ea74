//! Anatomical directions of an arbitrary grid, from its affine (LPS), and extraction of
//! sagittal working planes at a coarser in-plane resolution.
//!
//! DICOM sagittal stacks come as `[slice, row, column]`, NIfTI files in any axis order
//! (the real lumbar set is `[sup→inf, ant→post, left-right]`). Nothing downstream may
//! assume an order: every array axis is matched to the patient axis it runs closest to.

use crate::error::{Error, Result};
use crate::geometry::Affine;
use crate::segment::kernels::Plane;
use ndarray::Array3;

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

/// How a working plane's pixels map back onto the source grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkGrid {
    /// Source voxels averaged per working pixel along SI.
    pub si_factor: usize,
    /// Source voxels averaged per working pixel along AP.
    pub ap_factor: usize,
    /// Working pixel size along SI (mm).
    pub si_mm: f64,
    /// Working pixel size along AP (mm).
    pub ap_mm: f64,
    /// Working plane height (SI pixels).
    pub height: usize,
    /// Working plane width (AP pixels).
    pub width: usize,
}

impl WorkGrid {
    /// The coarsest integer box-averaging that keeps pixels at or below `target_mm`.
    pub fn new(orientation: &Orientation, shape: [usize; 3], target_mm: f64) -> Self {
        let d = orientation.dims(shape);
        let factor = |spacing: f64| ((target_mm / spacing).floor() as usize).max(1);
        let si_factor = factor(orientation.spacing_mm[1]);
        let ap_factor = factor(orientation.spacing_mm[2]);
        WorkGrid {
            si_factor,
            ap_factor,
            si_mm: orientation.spacing_mm[1] * si_factor as f64,
            ap_mm: orientation.spacing_mm[2] * ap_factor as f64,
            height: (d[1] / si_factor).max(1),
            width: (d[2] / ap_factor).max(1),
        }
    }
}

/// Sagittal plane `lat` box-averaged onto the working grid: rows head → feet, columns
/// front → back.
pub fn working_plane(
    voxels: &Array3<f32>,
    orientation: &Orientation,
    grid: &WorkGrid,
    lat: usize,
) -> Plane<f32> {
    let shape = [voxels.shape()[0], voxels.shape()[1], voxels.shape()[2]];
    let d = orientation.dims(shape);
    let mut out = Plane::new(grid.width, grid.height);
    let norm = 1.0 / (grid.si_factor * grid.ap_factor) as f32;
    for r in 0..grid.height {
        for c in 0..grid.width {
            let mut acc = 0f32;
            for si in r * grid.si_factor..((r + 1) * grid.si_factor).min(d[1]) {
                for ap in c * grid.ap_factor..((c + 1) * grid.ap_factor).min(d[2]) {
                    acc += voxels[orientation.index(shape, lat, si, ap)];
                }
            }
            out.set(r, c, acc * norm);
        }
    }
    out
}

/// Sagittal plane `lat` at full resolution: rows head → feet, columns front → back.
pub fn full_plane(voxels: &Array3<f32>, orientation: &Orientation, lat: usize) -> Plane<f32> {
    let shape = [voxels.shape()[0], voxels.shape()[1], voxels.shape()[2]];
    let d = orientation.dims(shape);
    let mut out = Plane::new(d[2], d[1]);
    for si in 0..d[1] {
        for ap in 0..d[2] {
            out.set(si, ap, voxels[orientation.index(shape, lat, si, ap)]);
        }
    }
    out
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
        let g = WorkGrid::new(&o, [15, 512, 512], 1.5);
        assert_eq!((g.si_factor, g.height), (2, 256));
    }
}
