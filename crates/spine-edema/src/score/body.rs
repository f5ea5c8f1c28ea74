//! One body's voxels, cut out of the exam once: its bounding box, mask, eroded interior,
//! the nearest interior voxel of every border voxel, and the intensities of both series.

use super::morphology::{BoxGrid, NO_SEED, erode, nearest_seed_within};
use super::reference::{BodyStats, median_f32, series_stats};
use crate::geometry::Affine;
use crate::volume::resample::OUTSIDE_FILL;
use ndarray::{Array3, Axis, Slice};
use rayon::prelude::*;

/// Per-label bounding box and centroid, from one pass over the label map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LabelExtent {
    /// Smallest index per axis.
    pub lo: [usize; 3],
    /// Largest index per axis (inclusive).
    pub hi: [usize; 3],
    /// Number of voxels.
    pub count: usize,
    /// Sum of voxel indices (for the centroid).
    pub index_sum: [f64; 3],
}

impl LabelExtent {
    fn empty() -> Self {
        LabelExtent {
            lo: [usize::MAX; 3],
            hi: [0; 3],
            count: 0,
            index_sum: [0.0; 3],
        }
    }

    fn add(&mut self, index: [usize; 3]) {
        for (a, &v) in index.iter().enumerate() {
            self.lo[a] = self.lo[a].min(v);
            self.hi[a] = self.hi[a].max(v);
            self.index_sum[a] += v as f64;
        }
        self.count += 1;
    }

    fn merge(mut self, other: &LabelExtent) -> Self {
        for a in 0..3 {
            self.lo[a] = self.lo[a].min(other.lo[a]);
            self.hi[a] = self.hi[a].max(other.hi[a]);
            self.index_sum[a] += other.index_sum[a];
        }
        self.count += other.count;
        self
    }
}

/// Extents of the labels in `wanted` (by position), in one parallel pass over axis 0.
/// Also returns how many voxels carry a label that is not wanted.
pub(crate) fn label_extents(labels: &Array3<u16>, wanted: &[u16]) -> (Vec<LabelExtent>, usize) {
    let max_label = wanted.iter().copied().max().unwrap_or(0) as usize;
    let mut slot = vec![u32::MAX; max_label + 1];
    for (position, &label) in wanted.iter().enumerate() {
        slot[label as usize] = position as u32;
    }
    let empty = || (vec![LabelExtent::empty(); wanted.len()], 0usize);
    labels
        .axis_iter(Axis(0))
        .into_par_iter()
        .enumerate()
        .fold(empty, |(mut extents, mut stray), (i, plane)| {
            for (j, row) in plane.outer_iter().enumerate() {
                let copy: Vec<u16>;
                let row = match row.to_slice() {
                    Some(row) => row,
                    None => {
                        // Only a non-standard layout gets here; volumes are C order.
                        copy = row.to_vec();
                        &copy
                    }
                };
                // Most of the grid is background: test 32 labels at a time (an OR the
                // compiler vectorises) and look at single voxels only where one is set.
                for (c, chunk) in row.chunks(32).enumerate() {
                    if chunk.iter().fold(0, |acc, &l| acc | l) == 0 {
                        continue;
                    }
                    for (o, &label) in chunk.iter().enumerate() {
                        if label == 0 {
                            continue;
                        }
                        match slot.get(label as usize) {
                            Some(&s) if s != u32::MAX => {
                                extents[s as usize].add([i, j, c * 32 + o]);
                            }
                            _ => stray += 1,
                        }
                    }
                }
            }
            (extents, stray)
        })
        .reduce(empty, |(a, sa), (b, sb)| {
            (a.iter().zip(&b).map(|(x, y)| x.merge(y)).collect(), sa + sb)
        })
}

/// How far (voxels per axis) a border voxel looks for the interior voxel whose decision it
/// copies: border voxels are within the erosion width of the interior except at thin
/// protrusions; twice the width plus one reaches those too.
pub(crate) fn border_reach(erosion_radius: [usize; 3]) -> [usize; 3] {
    erosion_radius.map(|r| 2 * r + 1)
}

/// Target size of the interior sample the body statistics are taken from.
const STATS_SAMPLE: usize = 4096;

/// Target size of the interior sample of [`BodyVoxels::rough_medians`].
const ROUGH_SAMPLE: usize = 1024;

/// One body cut out of the exam.
#[derive(Clone, Debug)]
pub(crate) struct BodyVoxels {
    /// Label.
    pub label: u16,
    /// Bounding box (with a one-voxel margin where the grid allows).
    pub grid: BoxGrid,
    /// Voxels of the body.
    pub inside: Vec<bool>,
    /// Voxels of the body away from its border: where the voxel decision is made.
    pub interior: Vec<bool>,
    /// For border voxels, the flat index of the nearest interior voxel (`NO_SEED` elsewhere or when none).
    pub nearest_interior: Vec<u32>,
    /// Flat indices of the border voxels (body, not interior); empty when `no_interior`.
    pub border: Vec<u32>,
    /// Flat indices of the interior voxels, in order.
    pub interior_voxels: Vec<u32>,
    /// T1 intensities in the box (empty when no T1).
    pub t1: Vec<f32>,
    /// Fluid-series intensities in the box (empty when no fluid series).
    pub fluid: Vec<f32>,
    /// Number of body voxels.
    pub voxel_count: usize,
    /// Body voxels outside the resampled fluid series (0 without resampling): neither
    /// interior nor border, and left out of the percentages.
    pub unobserved: usize,
    /// True when erosion left too little and every body voxel is classified directly.
    pub no_interior: bool,
    /// The box touches the edge of the grid.
    pub touches_edge: bool,
    /// Robust statistics of the interior, for the reference (series statistics `None`
    /// until [`BodyVoxels::compute_stats`]).
    pub stats: BodyStats,
}

/// Copies the box of one body out of the label map and the series.
#[allow(clippy::too_many_arguments)]
pub(crate) fn cut_out(
    label: u16,
    extent: &LabelExtent,
    labels: &Array3<u16>,
    t1: Option<&Array3<f32>>,
    fluid: Option<&Array3<f32>>,
    affine: &Affine,
    erosion_radius: [usize; 3],
) -> BodyVoxels {
    let shape = labels.shape();
    let lo: [usize; 3] = std::array::from_fn(|a| extent.lo[a].saturating_sub(1));
    let hi: [usize; 3] = std::array::from_fn(|a| (extent.hi[a] + 2).min(shape[a]));
    let grid = BoxGrid {
        lo,
        dims: std::array::from_fn(|a| hi[a] - lo[a]),
    };
    let touches_edge = (0..3).any(|a| extent.lo[a] == 0 || extent.hi[a] + 1 >= shape[a]);
    let range =
        |ax: ndarray::AxisDescription| Slice::from(lo[ax.axis.index()]..hi[ax.axis.index()]);
    let window = |v: &Array3<f32>| -> Vec<f32> {
        let mut out = Vec::with_capacity(grid.len());
        for row in v.slice_each_axis(range).rows() {
            match row.to_slice() {
                Some(row) => out.extend_from_slice(row),
                None => out.extend(row.iter().copied()),
            }
        }
        out
    };
    let mut inside: Vec<bool> = Vec::with_capacity(grid.len());
    for row in labels.slice_each_axis(range).rows() {
        inside.extend(row.iter().map(|&l| l == label));
    }
    let t1_box = t1.map(window).unwrap_or_default();
    let fluid_box = fluid.map(window).unwrap_or_default();
    let voxel_count = inside.iter().filter(|&&v| v).count();
    // Where the fluid series was resampled onto the T1 grid, voxels outside its slab or
    // field of view carry the fill value: nothing is known there about edema, so they are
    // neither decided nor counted (a STIR slab narrower than the T1's cuts lateral bodies).
    let unseen: Vec<bool> = if t1.is_some() && fluid_box.len() == inside.len() {
        fluid_box.iter().map(|&f| f == OUTSIDE_FILL).collect()
    } else {
        vec![false; inside.len()]
    };
    let seen: Vec<bool> = inside.iter().zip(&unseen).map(|(&b, &u)| b & !u).collect();
    let unobserved = voxel_count - seen.iter().filter(|&&v| v).count();
    let mut interior: Vec<bool> = erode(&grid, &inside, erosion_radius)
        .iter()
        .zip(&unseen)
        .map(|(&i, &u)| i & !u)
        .collect();
    let interior_count = interior.iter().filter(|&&v| v).count();
    // Too small to erode (a sliver at the edge of the field of view, or a tiny external
    // region): classify every voxel rather than extrapolate from a handful.
    let no_interior = interior_count < 20.max((voxel_count - unobserved) / 10);
    if no_interior {
        interior.clone_from(&seen);
    }
    let interior_voxels = indices_of(&interior);
    let spacing = affine.spacing_mm();
    let (nearest_interior, border) = if no_interior {
        (vec![NO_SEED; inside.len()], Vec::new())
    } else {
        let is_border: Vec<bool> = seen.iter().zip(&interior).map(|(&b, &i)| b & !i).collect();
        let nearest = nearest_seed_within(
            &grid,
            spacing,
            &interior,
            &is_border,
            border_reach(erosion_radius),
        );
        (nearest, indices_of(&is_border))
    };
    let centroid_index: [f64; 3] =
        std::array::from_fn(|a| extent.index_sum[a] / extent.count.max(1) as f64);
    let c = affine.index_to_mm(centroid_index);
    let stats = BodyStats {
        label,
        centroid_mm: [c.x, c.y, c.z],
        t1: None,
        fluid: None,
    };
    BodyVoxels {
        label,
        grid,
        inside,
        interior,
        nearest_interior,
        border,
        interior_voxels,
        t1: t1_box,
        fluid: fluid_box,
        voxel_count,
        unobserved,
        no_interior,
        touches_edge,
        stats,
    }
}

/// Flat indices of the set voxels of `mask`, in order.
fn indices_of(mask: &[bool]) -> Vec<u32> {
    let mut out = Vec::with_capacity(mask.len() / 2);
    // Whole 64-voxel chunks of background are skipped at once; inside a chunk the index
    // is written unconditionally and the count advanced only for a set voxel, which keeps
    // the loop free of unpredictable branches.
    let mut buffer = [0u32; 64];
    for (c, chunk) in mask.chunks(64).enumerate() {
        if !chunk.contains(&true) {
            continue;
        }
        let mut n = 0;
        for (o, &set) in chunk.iter().enumerate() {
            buffer[n] = (c * 64 + o) as u32;
            n += usize::from(set);
        }
        out.extend_from_slice(&buffer[..n]);
    }
    out
}

/// `values` at a regular subsample of `indices` of about `target` voxels (all of them when
/// fewer); `None` when the series is absent (`values` empty).
fn subsample(indices: &[u32], values: &[f32], target: usize) -> Option<Vec<f32>> {
    if values.is_empty() {
        return None;
    }
    let stride = (indices.len() / target).max(1);
    Some(
        indices
            .iter()
            .step_by(stride)
            .map(|&i| values[i as usize])
            .collect(),
    )
}

/// Signal levels below which a voxel is a void (cement) on each series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct VoidLevels {
    /// T1 below this is void.
    pub t1_below: f32,
    /// Fluid-series signal below this is void.
    pub fluid_below: f32,
}

impl BodyVoxels {
    /// Medians of the T1 and fluid series over a sparse sample of the interior, cement
    /// included: enough to tell marrow from void across bodies (see `void_levels`).
    pub(crate) fn rough_medians(&self) -> (Option<f32>, Option<f32>) {
        let sample =
            |values: &[f32]| median_f32(&subsample(&self.interior_voxels, values, ROUGH_SAMPLE)?);
        (sample(&self.t1), sample(&self.fluid))
    }

    /// Computes the interior statistics, leaving out voxels void on both series when
    /// `void` is given: in a treated body the cement pulls the median of both series
    /// down, and a half-cemented edematous body otherwise ranks among the most normal
    /// (its fluid/T1 median ratio is that of the cement) and becomes a reference body.
    pub(crate) fn compute_stats(&mut self, void: Option<VoidLevels>) {
        let both = !self.t1.is_empty() && !self.fluid.is_empty();
        let without_void: Vec<u32>;
        let keep: &[u32] = match void.filter(|_| both) {
            Some(v) => {
                without_void = self
                    .interior_voxels
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let i = i as usize;
                        !(self.t1[i] < v.t1_below && self.fluid[i] < v.fluid_below)
                    })
                    .collect();
                &without_void
            }
            None => &self.interior_voxels,
        };
        // A regular subsample of ≤ ~4096 voxels: the median and MAD of a body's interior
        // change by well under 1 % while the selection cost drops fivefold.
        let sample = |values: &[f32]| series_stats(&subsample(keep, values, STATS_SAMPLE)?);
        self.stats.t1 = sample(&self.t1);
        self.stats.fluid = sample(&self.fluid);
    }
}

impl BodyVoxels {
    /// Extends an interior decision to the border: each border voxel takes the decision of
    /// its nearest interior voxel, so the decision ignores the cortical / partial-volume
    /// shell while the count still covers the whole body.
    pub fn extend_to_border(&self, decision: &mut [bool]) {
        self.extend_to_border_with(decision, &self.nearest_interior);
    }

    /// [`Self::extend_to_border`] with another border → interior map (see
    /// [`Self::nearest_marrow`]).
    pub(crate) fn extend_to_border_with(&self, decision: &mut [bool], nearest: &[u32]) {
        for &index in &self.border {
            let n = nearest[index as usize];
            decision[index as usize] = n != NO_SEED && decision[n as usize];
        }
    }

    /// Body voxels that both series see: the denominator of the percentages.
    pub(crate) fn observed_count(&self) -> usize {
        self.voxel_count - self.unobserved
    }

    /// Interior voxels that are marrow: not `excluded` (cement, cleft candidates).
    pub(crate) fn marrow_interior(&self, excluded: &[bool]) -> Vec<bool> {
        self.interior
            .iter()
            .zip(excluded)
            .map(|(&i, &e)| i & !e)
            .collect()
    }

    /// A test body filling its whole `grid`, every voxel interior, with the given series
    /// (empty for none) and centroid; statistics not computed.
    #[cfg(test)]
    pub(crate) fn whole_box(
        grid: BoxGrid,
        t1: Vec<f32>,
        fluid: Vec<f32>,
        centroid_mm: [f64; 3],
    ) -> Self {
        let n = grid.len();
        BodyVoxels {
            label: 1,
            grid,
            inside: vec![true; n],
            interior: vec![true; n],
            nearest_interior: vec![NO_SEED; n],
            border: Vec::new(),
            interior_voxels: (0..n as u32).collect(),
            t1,
            fluid,
            voxel_count: n,
            unobserved: 0,
            no_interior: false,
            touches_edge: false,
            stats: BodyStats {
                label: 1,
                centroid_mm,
                t1: None,
                fluid: None,
            },
        }
    }

    /// The border → interior map for marrow decisions once cement and cleft voxels
    /// (`excluded`) are known: a border voxel that is not excluded itself but whose
    /// nearest interior voxel is, takes the nearest interior voxel that is marrow (within
    /// `reach` voxels; none beyond). In a body 40–50 % full of cement the cast fills most
    /// of the interior, and the marrow of the border, copying the cast, was never edema
    /// (a T12 with 100 % edema around its cement scored 14 %).
    pub(crate) fn nearest_marrow(
        &self,
        excluded: &[bool],
        spacing_mm: [f64; 3],
        reach: [usize; 3],
    ) -> Vec<u32> {
        let mut nearest = self.nearest_interior.clone();
        if self.no_interior || !excluded.iter().any(|&e| e) {
            return nearest;
        }
        let mut targets = vec![false; nearest.len()];
        let mut any = false;
        for &b in &self.border {
            let (b, n) = (b as usize, nearest[b as usize]);
            if !excluded[b] && n != NO_SEED && excluded[n as usize] {
                targets[b] = true;
                any = true;
            }
        }
        if !any {
            return nearest;
        }
        let marrow = self.marrow_interior(excluded);
        let found = nearest_seed_within(&self.grid, spacing_mm, &marrow, &targets, reach);
        for &b in &self.border {
            if targets[b as usize] {
                nearest[b as usize] = found[b as usize];
            }
        }
        nearest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 × 10 × 10 box, all interior: the first `void` voxels are cement (dark on both
    /// series), the rest edematous marrow (T1 50, fluid 300).
    fn half_cemented(void: usize) -> BodyVoxels {
        let n = 100;
        let dark = |i: usize| i < void;
        BodyVoxels::whole_box(
            BoxGrid {
                lo: [0; 3],
                dims: [1, 10, 10],
            },
            (0..n).map(|i| if dark(i) { 10.0 } else { 50.0 }).collect(),
            (0..n).map(|i| if dark(i) { 12.0 } else { 300.0 }).collect(),
            [0.0; 3],
        )
    }

    #[test]
    fn cement_is_left_out_of_the_statistics() {
        let mut body = half_cemented(60);
        body.compute_stats(None);
        // With the cement, the medians are those of the void.
        assert_eq!(body.stats.t1.map(|s| s.median), Some(10.0));
        body.compute_stats(Some(VoidLevels {
            t1_below: 20.0,
            fluid_below: 100.0,
        }));
        assert_eq!(body.stats.t1.map(|s| s.median), Some(50.0));
        assert_eq!(body.stats.fluid.map(|s| s.median), Some(300.0));
    }

    #[test]
    fn border_marrow_next_to_cement_copies_the_nearest_marrow() {
        // 1 × 10 × 10: interior rows and columns 2..8, cement in interior rows 2..5; the
        // whole interior marrow (rows 5..8) is edema.
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [1, 10, 10],
        };
        let n = grid.len();
        let rc = |i: usize| {
            let c = grid.coords(i);
            (c[1], c[2])
        };
        let interior: Vec<bool> = (0..n)
            .map(|i| {
                let (r, c) = rc(i);
                (2..8).contains(&r) && (2..8).contains(&c)
            })
            .collect();
        let cement: Vec<bool> = (0..n).map(|i| interior[i] && rc(i).0 < 5).collect();
        let border: Vec<bool> = interior.iter().map(|&i| !i).collect();
        let spacing = [4.0, 1.0, 1.0];
        let mut body = half_cemented(0);
        body.interior = interior.clone();
        body.interior_voxels = indices_of(&interior);
        body.nearest_interior = nearest_seed_within(&grid, spacing, &interior, &border, [1, 5, 5]);
        body.border = indices_of(&border);
        let decision: Vec<bool> = (0..n).map(|i| interior[i] && !cement[i]).collect();
        let top = grid.index(0, 0, 4);
        let side = grid.index(0, 6, 0);
        // Copying the nearest interior voxel, the border above the cast copies the cast.
        let mut old = decision.clone();
        body.extend_to_border(&mut old);
        assert!(!old[top] && old[side]);
        // Copying the nearest marrow, it is edema like the marrow it borders.
        let nearest = body.nearest_marrow(&cement, spacing, [1, 5, 5]);
        let mut new = decision.clone();
        body.extend_to_border_with(&mut new, &nearest);
        assert!(new[top] && new[side]);
        // Beyond reach: no decision to copy.
        let near = body.nearest_marrow(&cement, spacing, [1, 2, 2]);
        let mut short = decision;
        body.extend_to_border_with(&mut short, &near);
        assert!(!short[top]);
        // Without cement the map is the nearest-interior map.
        assert_eq!(
            body.nearest_marrow(&vec![false; n], spacing, [1, 5, 5]),
            body.nearest_interior
        );
    }

    #[test]
    fn indices_of_lists_the_set_voxels_in_order() {
        let mask: Vec<bool> = (0..300)
            .map(|i| i % 7 == 0 || (130..200).contains(&i))
            .collect();
        let want: Vec<u32> = (0..300u32).filter(|&i| mask[i as usize]).collect();
        assert_eq!(indices_of(&mask), want);
        assert!(indices_of(&[false; 10]).is_empty());
    }

    #[test]
    fn dark_t1_with_bright_fluid_is_not_void() {
        // Edema is T1-dark but fluid-bright: a T1 void level above it removes nothing.
        let mut body = half_cemented(0);
        body.compute_stats(Some(VoidLevels {
            t1_below: 60.0,
            fluid_below: 100.0,
        }));
        assert_eq!(body.stats.t1.map(|s| s.median), Some(50.0));
    }
}
