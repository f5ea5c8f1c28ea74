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
//!    `height_margin_fraction` of the depth inside each margin, and at the middle.

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

/// Samples one body's mask on its mid-sagittal plane.
struct PlaneSampler<'a> {
    grid: &'a BoxGrid,
    inside: &'a [bool],
    to_index: Matrix4<f64>,
    slice_axis: usize,
}

impl PlaneSampler<'_> {
    /// Mask value (0–1) at an LPS point: nearest along the slice axis, bilinear in-plane.
    fn value(&self, p: Vector3<f64>) -> f64 {
        let h = self.to_index * Vector4::new(p.x, p.y, p.z, 1.0);
        let idx = [h.x, h.y, h.z];
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
    /// the origin, as (start, end) offsets in mm with sub-step 0.5 crossings.
    fn run(&self, origin: Vector3<f64>, dir: Vector3<f64>) -> Option<(f64, f64)> {
        let n = (REACH_MM / STEP_MM) as i64;
        let values: Vec<f64> = (-n..=n)
            .map(|i| self.value(origin + dir * (i as f64 * STEP_MM)))
            .collect();
        let centre = n as usize;
        let seed = (0..=n as usize).find_map(|d| {
            [centre.checked_sub(d), Some(centre + d)]
                .into_iter()
                .flatten()
                .find(|&i| i < values.len() && values[i] >= 0.5)
        })?;
        let mut lo = seed;
        while lo > 0 && values[lo - 1] >= 0.5 {
            lo -= 1;
        }
        let mut hi = seed;
        while hi + 1 < values.len() && values[hi + 1] >= 0.5 {
            hi += 1;
        }
        let offset = |i: usize| (i as f64 - n as f64) * STEP_MM;
        let crossing = |inside: usize, outside: Option<usize>, sign: f64| match outside {
            Some(o) => {
                let (vi, vo) = (values[inside], values[o]);
                let frac = if vi > vo { (vi - 0.5) / (vi - vo) } else { 0.5 };
                offset(inside) + sign * frac * STEP_MM
            }
            None => offset(inside),
        };
        let start = crossing(lo, lo.checked_sub(1), -1.0);
        let end = crossing(hi, (hi + 1 < values.len()).then_some(hi + 1), 1.0);
        Some((start, end))
    }
}

/// Measures the three heights of one body. `spine_dir` is the local spine axis (any sign);
/// `slice_axis` the array axis across sagittal slices.
pub(crate) fn measure_heights(
    grid: &BoxGrid,
    inside: &[bool],
    affine: &Affine,
    slice_axis: usize,
    centroid_mm: Vector3<f64>,
    spine_dir: Vector3<f64>,
    margin_fraction: f64,
) -> Option<Heights> {
    let normal = affine.directions()[slice_axis];
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
        to_index: *affine.inverse().matrix(),
        slice_axis,
    };
    let (posterior, anterior) = sampler.run(centroid_mm, a)?;
    let depth = anterior - posterior;
    if depth <= 2.0 * STEP_MM {
        return None;
    }
    let height_at = |t: f64| -> Option<f64> {
        let (lo, hi) = sampler.run(centroid_mm + a * t, u)?;
        Some(hi - lo)
    };
    Some(Heights {
        anterior_mm: height_at(anterior - margin_fraction * depth)?,
        middle_mm: height_at(0.5 * (anterior + posterior))?,
        posterior_mm: height_at(posterior + margin_fraction * depth)?,
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
