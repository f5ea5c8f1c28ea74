//! Vertebral heights on the mid-sagittal plane, height loss, and the Genant grade.
//!
//! Dansie et al. (AJNR 2006) measure three endplate-to-endplate heights — anterior, middle,
//! posterior — on the midline sagittal image and compare them with an adjacent normal body;
//! Voormolen et al. (AJNR 2006) include fractures with ≥ 15 % height loss relative to the
//! posterior wall. Heights are measured along the **local spine axis** (the line through the
//! neighbouring bodies' centroids), not along image rows, because the spine curves and
//! slabs can be oblique. Method:
//! 1. the plane through the centroid spanned by the local axis `u` and the anterior
//!    direction `a = n × u` (n = left–right slice normal); samples take the nearest
//!    sagittal slice (the "midline image") and interpolate bilinearly within it;
//! 2. the anterior and posterior margins are where the mask ends along `a` through the centroid;
//! 3. heights are the mask's extent along `u` (0.5 crossing, sub-voxel) at
//!    `height_margin_fraction` of the depth inside each margin, and at the middle, each
//!    the mean over a short strip of parallel lines (see [`STRIP_STEP_MM`]);
//! 4. a line that leaves the field of view before leaving the body makes the heights
//!    unmeasurable: a body cut by the edge of the images is not a crushed body.

use super::grade::{genant_grade, genant_shape};
use super::morphology::BoxGrid;
use super::types::{GenantGrade, GenantShape};
use crate::geometry::Affine;
use nalgebra::{Matrix4, Vector3, Vector4};
use serde::{Deserialize, Serialize};

/// Anterior, middle and posterior heights of one body, mm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heights {
    /// Anterior height.
    pub anterior_mm: f64,
    /// Middle height.
    pub middle_mm: f64,
    /// Posterior height.
    pub posterior_mm: f64,
}

impl Heights {
    fn as_array(self) -> [f64; 3] {
        [self.anterior_mm, self.middle_mm, self.posterior_mm]
    }

    /// Loss (%) of min(anterior, middle) against the posterior wall (study B's criterion).
    pub fn posterior_wall_loss_percent(self) -> f64 {
        let front = self.anterior_mm.min(self.middle_mm);
        (100.0 * (1.0 - front / self.posterior_mm)).max(0.0)
    }
}

/// Step of the line sampling, mm: well under a voxel, so the 0.5 crossing is interpolated
/// within one step.
const STEP_MM: f64 = 0.2;
/// Longest half-line searched, mm (a lumbar body is ~45 mm deep and ~30 mm high).
const REACH_MM: f64 = 60.0;

/// Each height is the mean over a strip of parallel lines this far apart (mm, along the
/// anterior direction). A binary mask puts each endplate at a whole pixel (up to 1.5 mm on
/// a 256 matrix); where the endplate crosses the pixel rows at an angle (oblique slabs, a
/// curved spine) neighbouring lines fall on different pixels and their mean is finer than
/// one. The strip is symmetric, so a wedge's linear height profile keeps its value at the
/// centre line.
const STRIP_STEP_MM: f64 = 0.5;
/// Half-width of the strip at the anterior and posterior heights, mm: narrow, because the
/// endplates round off towards the corners and a wider strip reaches the rounding.
const EDGE_STRIP_HALF_MM: f64 = 1.0;
/// Half-width of the strip at the middle height, mm: the central endplates are flat enough
/// for 6 mm of a 30–45 mm deep body. (On fresh phantoms with true masks, these two widths
/// took the interval height-loss error within 1 mm from 93 % to 98 % of heights.)
const MIDDLE_STRIP_HALF_MM: f64 = 3.0;

/// The image grid a body's heights are measured in.
pub(crate) struct SagittalGrid {
    /// Index → LPS mm.
    pub affine: Affine,
    /// The array axis across sagittal slices.
    pub slice_axis: usize,
    /// Shape of the image array: where the field of view ends.
    pub shape: [usize; 3],
}

/// Samples one body's mask on its mid-sagittal plane.
struct PlaneSampler<'a> {
    grid: &'a BoxGrid,
    inside: &'a [bool],
    to_index: Matrix4<f64>,
    slice_axis: usize,
    shape: [usize; 3],
}

impl PlaneSampler<'_> {
    fn index_of(&self, p: Vector3<f64>) -> [f64; 3] {
        let h = self.to_index * Vector4::new(p.x, p.y, p.z, 1.0);
        [h.x, h.y, h.z]
    }

    /// Whether an LPS point lies within the imaged voxels (their outer faces, in-plane).
    fn in_view(&self, p: Vector3<f64>) -> bool {
        let idx = self.index_of(p);
        (0..3)
            .filter(|&a| a != self.slice_axis)
            .all(|a| idx[a] >= -0.5 && idx[a] <= self.shape[a] as f64 - 0.5)
    }

    /// Mask value (0–1) at continuous grid index `idx`: nearest along the slice axis,
    /// bilinear in-plane.
    fn value(&self, idx: [f64; 3]) -> f64 {
        let mut local = [0.0; 3];
        for a in 0..3 {
            local[a] = idx[a] - self.grid.lo[a] as f64;
        }
        local[self.slice_axis] = local[self.slice_axis].round();
        let (a0, a1) = match self.slice_axis {
            0 => (1, 2),
            1 => (0, 2),
            _ => (0, 1),
        };
        let f0 = local[a0].floor();
        let f1 = local[a1].floor();
        let (w0, w1) = (local[a0] - f0, local[a1] - f1);
        let mut total = 0.0;
        for (d0, wt0) in [(0.0, 1.0 - w0), (1.0, w0)] {
            for (d1, wt1) in [(0.0, 1.0 - w1), (1.0, w1)] {
                let mut c = local;
                c[a0] = f0 + d0;
                c[a1] = f1 + d1;
                if self.at(c) {
                    total += wt0 * wt1;
                }
            }
        }
        total
    }

    fn at(&self, c: [f64; 3]) -> bool {
        if c.iter().any(|&v| v < 0.0) {
            return false;
        }
        let i = [c[0] as usize, c[1] as usize, c[2] as usize];
        if (0..3).any(|a| i[a] >= self.grid.dims[a]) {
            return false;
        }
        self.inside[self.grid.index(i[0], i[1], i[2])]
    }

    /// Extent of the mask along `dir` through `origin`: the run containing (or nearest to)
    /// the origin, as (start, end) offsets in mm with sub-step 0.5 crossings. `None` when
    /// there is no mask on the line, or the run reaches the edge of the field of view or
    /// runs longer than [`REACH_MM`] (no vertebral body is that long).
    fn run(&self, origin: Vector3<f64>, dir: Vector3<f64>) -> Option<(f64, f64)> {
        let n = (REACH_MM / STEP_MM) as i64;
        // The index is affine in the point: step it along the line instead of mapping
        // every sample through the inverse affine.
        let start = self.index_of(origin);
        let beyond = self.index_of(origin + dir * STEP_MM);
        let step: [f64; 3] = std::array::from_fn(|a| beyond[a] - start[a]);
        let at = |i: i64| {
            let t = i as f64;
            self.value(std::array::from_fn(|a| start[a] + t * step[a]))
        };
        // Walk outwards from the origin: only the run itself and one sample past each end
        // are evaluated.
        let seed = (0..=n).find_map(|d| {
            [-d, d]
                .into_iter()
                .map(|i| (i, at(i)))
                .find(|&(_, v)| v >= 0.5)
        })?;
        // The last sample inside, its value and the value of the first one outside.
        let walk = |step: i64| {
            let (mut i, mut inside) = seed;
            loop {
                let next = i + step;
                if next.abs() > n {
                    return None;
                }
                let v = at(next);
                if v < 0.5 {
                    return Some((i, inside, v));
                }
                (i, inside) = (next, v);
            }
        };
        let offset = |i: i64| i as f64 * STEP_MM;
        let mut ends = [0.0; 2];
        for (end, sign) in ends.iter_mut().zip([-1i64, 1]) {
            let (last, inside, outside) = walk(sign)?;
            if !self.in_view(origin + dir * offset(last + sign)) {
                return None;
            }
            let frac = if inside > outside {
                (inside - 0.5) / (inside - outside)
            } else {
                0.5
            };
            *end = offset(last) + sign as f64 * frac * STEP_MM;
        }
        Some((ends[0], ends[1]))
    }
}

/// Measures the three heights of one body (its mask `inside` on the box `grid` of the
/// image `view`). `spine_dir` is the local spine axis (any sign).
pub(crate) fn measure_heights(
    grid: &BoxGrid,
    inside: &[bool],
    view: &SagittalGrid,
    centroid_mm: Vector3<f64>,
    spine_dir: Vector3<f64>,
    margin_fraction: f64,
) -> Option<Heights> {
    let normal = view.affine.directions()[view.slice_axis];
    let mut u = spine_dir - normal * spine_dir.dot(&normal);
    if u.norm() < 1e-6 {
        return None;
    }
    u = u.normalize();
    if u.z < 0.0 {
        u = -u;
    }
    let mut a = normal.cross(&u).normalize();
    // LPS: +y is posterior, so the anterior direction has negative y.
    if a.y > 0.0 {
        a = -a;
    }
    let sampler = PlaneSampler {
        grid,
        inside,
        to_index: *view.affine.inverse().matrix(),
        slice_axis: view.slice_axis,
        shape: view.shape,
    };
    let (posterior, anterior) = sampler.run(centroid_mm, a)?;
    let depth = anterior - posterior;
    if depth <= 2.0 * STEP_MM {
        return None;
    }
    let height_at = |t: f64, half_mm: f64| -> Option<f64> {
        let n = (half_mm / STRIP_STEP_MM).round() as i64;
        let mut total = 0.0;
        for i in -n..=n {
            let (lo, hi) = sampler.run(centroid_mm + a * (t + i as f64 * STRIP_STEP_MM), u)?;
            total += hi - lo;
        }
        Some(total / (2 * n + 1) as f64)
    };
    Some(Heights {
        anterior_mm: height_at(anterior - margin_fraction * depth, EDGE_STRIP_HALF_MM)?,
        middle_mm: height_at(0.5 * (anterior + posterior), MIDDLE_STRIP_HALF_MM)?,
        posterior_mm: height_at(posterior + margin_fraction * depth, EDGE_STRIP_HALF_MM)?,
    })
}

/// A body is a normal height reference when its front is within this ratio of its posterior
/// wall: below it, study B would already call it fractured (15 % loss).
const NORMAL_WALL_RATIO: f64 = 0.85;
/// How far along the list of bodies (in positions) a normal neighbour is looked for.
const NEIGHBOUR_REACH: usize = 2;

/// Per-height loss (%) of each body against the mean of its nearest normal neighbours
/// above and below (study A). Two passes: bodies that lose ≥ 20 % against their neighbours
/// in the first pass (crush fractures keep their wall ratio) stop serving as references.
pub(crate) fn neighbour_losses(heights: &[Option<Heights>]) -> Vec<Option<[f64; 3]>> {
    let mut normal: Vec<bool> = heights
        .iter()
        .map(|h| {
            h.is_some_and(|h| 1.0 - h.posterior_wall_loss_percent() / 100.0 >= NORMAL_WALL_RATIO)
        })
        .collect();
    let mut losses = losses_against(heights, &normal);
    for (n, loss) in normal.iter_mut().zip(&losses) {
        if loss.is_some_and(|l| l.iter().any(|&v| v >= 20.0)) {
            *n = false;
        }
    }
    losses = losses_against(heights, &normal);
    losses
}

fn losses_against(heights: &[Option<Heights>], normal: &[bool]) -> Vec<Option<[f64; 3]>> {
    (0..heights.len())
        .map(|i| {
            let own = heights[i]?.as_array();
            let above = (1..=NEIGHBOUR_REACH)
                .filter_map(|d| i.checked_sub(d))
                .find(|&j| normal[j]);
            let below = (1..=NEIGHBOUR_REACH)
                .map(|d| i + d)
                .find(|&j| j < heights.len() && normal[j]);
            let refs: Vec<[f64; 3]> = [above, below]
                .into_iter()
                .flatten()
                .filter_map(|j| heights[j].map(Heights::as_array))
                .collect();
            if refs.is_empty() {
                return None;
            }
            let n = refs.len() as f64;
            Some(std::array::from_fn(|k| {
                let expected = refs.iter().map(|r| r[k]).sum::<f64>() / n;
                100.0 * (1.0 - own[k] / expected)
            }))
        })
        .collect()
}

/// Genant grade and shape from the heights and the neighbour losses: the reduction is the
/// largest of the neighbour losses and the posterior-wall loss (a wedge shows on both, a
/// crush only against neighbours); the shape compares per-height reductions.
pub(crate) fn genant(
    heights: Heights,
    neighbour_loss: Option<[f64; 3]>,
) -> (GenantGrade, GenantShape, f64) {
    let wall = heights.posterior_wall_loss_percent();
    let ratios = [
        100.0 * (1.0 - heights.anterior_mm / heights.posterior_mm),
        100.0 * (1.0 - heights.middle_mm / heights.posterior_mm),
        0.0,
    ];
    let per_height = neighbour_loss.unwrap_or(ratios);
    let reduction = per_height.iter().copied().fold(wall, f64::max).max(0.0);
    let grade = genant_grade(reduction);
    let shape = genant_shape(grade, per_height[0], per_height[1], per_height[2]);
    (grade, shape, reduction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::PointMm;

    /// Slice spacing (mm) and in-plane pixel (mm) of the test grid.
    const SPACING_MM: [f64; 3] = [4.0, 1.0, 1.0];

    /// A rectangular body `height_mm` × 35 mm in the sagittal plane, its endplates tilted by
    /// `tilt_deg` against the pixel rows, centred at `centre_mm` (y, z), on 3 of 5 sagittal
    /// slices of an 80 × `rows` pixel grid. Returns the box grid (the whole volume), the
    /// voxel mask, its centroid and the body's axis.
    fn tilted_body(
        height_mm: f64,
        tilt_deg: f64,
        centre_mm: [f64; 2],
        rows: usize,
    ) -> (BoxGrid, Vec<bool>, Vector3<f64>, Vector3<f64>) {
        let t = tilt_deg.to_radians();
        let axis = Vector3::new(0.0, t.sin(), t.cos());
        let across = Vector3::new(0.0, t.cos(), -t.sin());
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [5, 80, rows],
        };
        let centre = Vector3::new(8.0, centre_mm[0], centre_mm[1]);
        let mut inside = vec![false; grid.len()];
        let (mut sum, mut n) = (Vector3::zeros(), 0.0);
        for i in 1..4 {
            for j in 0..80 {
                for k in 0..rows {
                    let p = Vector3::new(
                        i as f64 * SPACING_MM[0],
                        j as f64 * SPACING_MM[1],
                        k as f64 * SPACING_MM[2],
                    );
                    let d = p - centre;
                    if d.dot(&axis).abs() <= 0.5 * height_mm && d.dot(&across).abs() <= 17.5 {
                        inside[grid.index(i, j, k)] = true;
                        sum += p;
                        n += 1.0;
                    }
                }
            }
        }
        (grid, inside, sum / n, axis)
    }

    fn measure(
        grid: &BoxGrid,
        inside: &[bool],
        centroid: Vector3<f64>,
        axis: Vector3<f64>,
    ) -> Option<Heights> {
        let affine = Affine::axis_aligned(PointMm::origin(), SPACING_MM);
        let view = SagittalGrid {
            affine,
            slice_axis: 0,
            shape: grid.dims,
        };
        measure_heights(grid, inside, &view, centroid, axis, 0.1)
    }

    #[test]
    fn the_middle_strip_is_finer_than_a_pixel_on_tilted_endplates() {
        let height = 25.3;
        let (mut worst_middle, mut worst_edge) = (0.0f64, 0.0f64);
        for shift in [0.0, 0.25, 0.5, 0.75] {
            for tilt in [5.0, 9.0, -7.0] {
                let (grid, inside, centroid, axis) =
                    tilted_body(height, tilt, [40.0 + shift, 40.0 + shift], 80);
                let h = measure(&grid, &inside, centroid, axis)
                    .unwrap_or_else(|| panic!("no heights at shift {shift}, tilt {tilt}"));
                worst_middle = worst_middle.max((h.middle_mm - height).abs());
                for v in [h.anterior_mm, h.posterior_mm] {
                    worst_edge = worst_edge.max((v - height).abs());
                }
            }
        }
        // One line through a 1 mm pixel mask is off by up to half a pixel per endplate; the
        // 6 mm middle strip crosses enough pixel rows at 5–9° to average that out, the 2 mm
        // edge strips only partly.
        assert!(
            worst_middle < 0.25,
            "middle height error {worst_middle:.3} mm"
        );
        assert!(worst_edge <= 1.0, "edge height error {worst_edge:.3} mm");
    }

    #[test]
    fn a_body_cut_by_the_edge_of_the_images_has_no_heights() {
        let (grid, inside, centroid, axis) = tilted_body(25.3, 5.0, [40.0, 40.0], 80);
        assert!(measure(&grid, &inside, centroid, axis).is_some());
        // The same body with the images ending 8 mm above its centre.
        let (grid, inside, centroid, axis) = tilted_body(25.3, 5.0, [40.0, 40.0], 48);
        assert_eq!(measure(&grid, &inside, centroid, axis), None);
    }
}
