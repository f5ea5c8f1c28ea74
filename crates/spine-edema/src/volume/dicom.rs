//! Slice geometry of a DICOM series: ordering slices along the slice normal, measuring
//! their spacing from positions, and the affine of the resulting `[slice, row, column]`
//! volume. Pure geometry on header values, so it is tested without writing DICOM; the
//! pixels are filled in by [`crate::ingest::decode_series`].

#![deny(clippy::indexing_slicing)]

use crate::error::{Error, Result};
use crate::geometry::{Affine, PointMm};
use nalgebra::Vector3;
use serde::{Deserialize, Serialize};

/// The header geometry of one slice (frame).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SliceGeometry {
    /// ImagePositionPatient, LPS mm.
    pub position_mm: [f64; 3],
    /// ImageOrientationPatient: row direction then column direction cosines.
    pub orientation: [f64; 6],
    /// PixelSpacing: between rows, then between columns, mm.
    pub pixel_spacing_mm: [f64; 2],
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub cols: u32,
}

/// How regular the slice stack is, measured from slice positions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceGeometryReport {
    /// Number of slices.
    pub slice_count: usize,
    /// Mean distance between consecutive slices along the normal (first to last
    /// position divided by `slice_count - 1`); for one slice, the assumed thickness.
    pub spacing_mm: f64,
    /// Median consecutive distance along the normal.
    pub median_spacing_mm: f64,
    /// Smallest consecutive distance.
    pub min_spacing_mm: f64,
    /// Largest consecutive distance.
    pub max_spacing_mm: f64,
    /// Largest deviation of a consecutive distance from the median.
    pub max_deviation_mm: f64,
    /// Consecutive distances longer than [`GAP_FACTOR`] × median: missing slices.
    pub gaps: usize,
    /// Largest in-plane offset of a slice from the straight stack through the first one
    /// (a sheared stack, e.g. gantry tilt; the affine cannot represent it).
    pub max_in_plane_offset_mm: f64,
    /// True when every consecutive distance is within the uniformity tolerance of the
    /// median and no slice is offset in plane; only then is the affine exact for every
    /// slice. Otherwise the affine uses the mean step and callers should warn or refuse.
    pub uniform: bool,
}

/// Slices in volume order and the affine of the volume.
#[derive(Clone, Debug, PartialEq)]
pub struct SlicePlan {
    /// `order[k]` is the index (into the input) of the slice placed at array index `k`,
    /// sorted by position along the slice normal (row × column direction).
    pub order: Vec<usize>,
    /// `[slice, row, column]` index → LPS mm.
    pub affine: Affine,
    /// Spacing regularity.
    pub report: SliceGeometryReport,
}

/// Two orientations differing by more than this in any direction cosine (≈0.06°) are
/// different orientations. IOP is a DS (at most 16 characters), so rounding stays far
/// below it.
pub const ORIENTATION_TOLERANCE: f64 = 1e-3;
/// Pixel spacings differing by more than this (mm) are different spacings.
pub const PIXEL_SPACING_TOLERANCE_MM: f64 = 1e-3;
/// Two slices closer than this along the normal are at the same position.
pub const DUPLICATE_POSITION_MM: f64 = 1e-2;
/// A consecutive distance may deviate from the median by this fraction of it (or by
/// [`UNIFORM_ABSOLUTE_MM`], whichever is larger) and still count as uniform: DS rounding
/// of positions stays well below it, and one missing slice (100 %) is far above it.
pub const UNIFORM_RELATIVE: f64 = 0.01;
/// Absolute floor of the uniformity tolerance, mm.
pub const UNIFORM_ABSOLUTE_MM: f64 = 0.01;
/// A consecutive distance over this multiple of the median is a gap (≥ 1 missing slice).
pub const GAP_FACTOR: f64 = 1.5;

/// Orders `slices` along their normal and computes the volume affine and spacing report.
///
/// Rejects, with [`Error::Geometry`] in `context`: no slices, mixed matrix sizes, mixed
/// or degenerate orientations, mixed pixel spacing, and two slices at one position.
/// `single_slice_step_mm` is the slice step used when there is only one slice
/// (SpacingBetweenSlices or SliceThickness; 1 mm when `None`).
pub fn plan_slices(
    context: &str,
    slices: &[SliceGeometry],
    single_slice_step_mm: Option<f64>,
) -> Result<SlicePlan> {
    let first = slices
        .first()
        .ok_or_else(|| Error::geometry(context, "no slices"))?;
    for slice in slices {
        if (slice.rows, slice.cols) != (first.rows, first.cols) {
            return Err(Error::geometry(
                context,
                format!(
                    "mixed matrix sizes: {}×{} and {}×{}",
                    first.rows, first.cols, slice.rows, slice.cols
                ),
            ));
        }
        if max_abs_diff(&slice.orientation, &first.orientation) > ORIENTATION_TOLERANCE {
            return Err(Error::geometry(
                context,
                format!(
                    "mixed orientations: {:?} and {:?}",
                    first.orientation, slice.orientation
                ),
            ));
        }
        if max_abs_diff(&slice.pixel_spacing_mm, &first.pixel_spacing_mm)
            > PIXEL_SPACING_TOLERANCE_MM
        {
            return Err(Error::geometry(
                context,
                format!(
                    "mixed pixel spacing: {:?} and {:?} mm",
                    first.pixel_spacing_mm, slice.pixel_spacing_mm
                ),
            ));
        }
    }
    let [row_spacing, col_spacing] = first.pixel_spacing_mm;
    if !(row_spacing > 0.0 && col_spacing > 0.0) {
        return Err(Error::geometry(
            context,
            format!(
                "pixel spacing {:?} mm is not positive",
                first.pixel_spacing_mm
            ),
        ));
    }
    let (row_dir, col_dir) = directions(context, &first.orientation)?;
    let normal = row_dir.cross(&col_dir);

    let distance = |s: &SliceGeometry| Vector3::from(s.position_mm).dot(&normal);
    let mut order: Vec<usize> = (0..slices.len()).collect();
    let along: Vec<f64> = slices.iter().map(distance).collect();
    order.sort_by(|&a, &b| {
        let da = along.get(a).copied().unwrap_or(0.0);
        let db = along.get(b).copied().unwrap_or(0.0);
        da.total_cmp(&db)
    });
    let sorted: Vec<&SliceGeometry> = order.iter().filter_map(|&i| slices.get(i)).collect();
    let steps: Vec<f64> = sorted
        .windows(2)
        .filter_map(|pair| match pair {
            [a, b] => Some(distance(b) - distance(a)),
            _ => None,
        })
        .collect();
    if let Some(pos) = steps.iter().position(|&d| d < DUPLICATE_POSITION_MM) {
        let at = sorted.get(pos).map(|s| s.position_mm).unwrap_or_default();
        return Err(Error::geometry(
            context,
            format!("two slices at the same position {at:?} mm"),
        ));
    }

    let origin = Vector3::from(sorted.first().copied().unwrap_or(first).position_mm);
    let last = Vector3::from(sorted.last().copied().unwrap_or(first).position_mm);
    let n = sorted.len();
    let (slice_step, report) = if n < 2 {
        let thickness = single_slice_step_mm
            .filter(|t| *t > 0.0 && t.is_finite())
            .unwrap_or(1.0);
        (normal * thickness, single_slice_report(thickness))
    } else {
        let step = (last - origin) / (n - 1) as f64;
        let in_plane = sorted
            .iter()
            .map(|s| {
                let d = Vector3::from(s.position_mm) - origin;
                (d - normal * d.dot(&normal)).norm()
            })
            .fold(0.0_f64, f64::max);
        (
            step,
            spacing_report(
                &steps,
                step.dot(&normal),
                in_plane,
                row_spacing.min(col_spacing),
            ),
        )
    };
    let affine = Affine::from_steps(
        PointMm::from(origin),
        [slice_step, col_dir * row_spacing, row_dir * col_spacing],
    );
    Ok(SlicePlan {
        order,
        affine,
        report,
    })
}

fn single_slice_report(thickness_mm: f64) -> SliceGeometryReport {
    SliceGeometryReport {
        slice_count: 1,
        spacing_mm: thickness_mm,
        median_spacing_mm: thickness_mm,
        min_spacing_mm: thickness_mm,
        max_spacing_mm: thickness_mm,
        max_deviation_mm: 0.0,
        gaps: 0,
        max_in_plane_offset_mm: 0.0,
        uniform: true,
    }
}

/// Spacing statistics of the consecutive distances `steps` (all positive).
fn spacing_report(
    steps: &[f64],
    mean_spacing_mm: f64,
    in_plane_offset_mm: f64,
    pixel_size_mm: f64,
) -> SliceGeometryReport {
    let mut sorted = steps.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => mean_spacing_mm,
        len if len % 2 == 1 => sorted.get(len / 2).copied().unwrap_or(mean_spacing_mm),
        len => {
            let lo = sorted.get(len / 2 - 1).copied().unwrap_or(mean_spacing_mm);
            let hi = sorted.get(len / 2).copied().unwrap_or(mean_spacing_mm);
            (lo + hi) / 2.0
        }
    };
    let max_deviation = steps
        .iter()
        .map(|s| (s - median).abs())
        .fold(0.0_f64, f64::max);
    let tolerance = (median * UNIFORM_RELATIVE).max(UNIFORM_ABSOLUTE_MM);
    // A shear of more than a tenth of a pixel moves anatomy visibly across the stack.
    let sheared = in_plane_offset_mm > 0.1 * pixel_size_mm;
    SliceGeometryReport {
        slice_count: steps.len() + 1,
        spacing_mm: mean_spacing_mm,
        median_spacing_mm: median,
        min_spacing_mm: sorted.first().copied().unwrap_or(median),
        max_spacing_mm: sorted.last().copied().unwrap_or(median),
        max_deviation_mm: max_deviation,
        gaps: steps.iter().filter(|&&s| s > GAP_FACTOR * median).count(),
        max_in_plane_offset_mm: in_plane_offset_mm,
        uniform: max_deviation <= tolerance && !sheared,
    }
}

/// Unit row and column directions from IOP, checked to be unit length and orthogonal.
fn directions(context: &str, iop: &[f64; 6]) -> Result<(Vector3<f64>, Vector3<f64>)> {
    let [r0, r1, r2, c0, c1, c2] = *iop;
    let row = Vector3::new(r0, r1, r2);
    let col = Vector3::new(c0, c1, c2);
    // DS rounding and scanner float output leave cosines a few 1e-4 off unit/orthogonal.
    const TOLERANCE: f64 = 1e-2;
    let unit = |v: &Vector3<f64>| (v.norm() - 1.0).abs() < TOLERANCE;
    if !(unit(&row) && unit(&col) && row.dot(&col).abs() < TOLERANCE) {
        return Err(Error::geometry(
            context,
            format!("ImageOrientationPatient {iop:?} is not two orthogonal unit vectors"),
        ));
    }
    let row = row.normalize();
    // Re-orthogonalise the column direction so the affine is exactly orthogonal.
    let col = (col - row * row.dot(&col)).normalize();
    Ok((row, col))
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0_f64, f64::max)
}
