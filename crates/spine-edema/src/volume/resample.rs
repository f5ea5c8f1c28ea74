//! Bringing a volume onto another grid by geometry: trilinear for images, nearest
//! neighbour for label maps.
//!
//! Every target voxel index is mapped to LPS mm by the target affine, optionally through a
//! rigid transform (target mm → source mm), then into the source's fractional index space.
//! The whole chain is one affine index → index map, so along a row of the target the source
//! position advances by a constant step: the inner loop adds that step instead of
//! multiplying a matrix per voxel, and the columns that fall inside the source are found
//! once per row so the loop body has no bounds branch.
//!
//! **Outside the source:** a target point more than half a voxel beyond the outermost
//! source voxel centre gets [`OUTSIDE_FILL`] (images) or `T::default()` (labels). Within
//! that half voxel — the outermost voxel's own footprint — the edge value is used, so two
//! grids that cover the same slab do not lose their first or last slice to rounding.

use crate::geometry::Affine;
use crate::volume::Volume;
use nalgebra::{Isometry3, Matrix4};
use ndarray::{Array3, Axis};
use rayon::prelude::*;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// Value of image voxels that fall outside the source volume.
pub const OUTSIDE_FILL: f32 = 0.0;

/// How far (in source voxels) beyond the outermost voxel centre a point still takes the
/// edge value: half a voxel, the outermost voxel's footprint.
pub(crate) const EDGE_VOXELS: f64 = 0.5;

/// Entries of the index → index matrix this close to an integer are snapped to it, so an
/// identity or integer-shift mapping is exact rather than off by 1e-16 (which would turn a
/// copy into an interpolation). 1e-9 voxel over a 1024-voxel row is 1e-6 voxel.
const SNAP: f64 = 1e-9;

/// Resamples `source` onto the grid (`target_shape`, `target_affine`) by trilinear
/// interpolation.
///
/// `transform_mm`, when given, maps a point of the target's patient space to the
/// corresponding point of the source's patient space (the convention of
/// [`crate::volume::register::RigidFit::transform`]: fixed/target mm → moving/source mm).
/// Points outside the source get [`OUTSIDE_FILL`]; see the module documentation.
pub fn resample_trilinear(
    source: &Volume<f32>,
    target_shape: [usize; 3],
    target_affine: &Affine,
    transform_mm: Option<&Isometry3<f64>>,
) -> Volume<f32> {
    let map = IndexMap::new(&source.affine, target_affine, transform_mm);
    let grid = SourceGrid::new(&source.voxels);
    let voxels = map_rows(&map, grid.dims, target_shape, OUTSIDE_FILL, |p| {
        grid.trilinear(p)
    });
    Volume::new(voxels, *target_affine)
}

/// Resamples a label map onto the grid (`target_shape`, `target_affine`) by nearest
/// neighbour, so labels are never blended. Used to bring external masks onto the T1 grid.
/// `transform_mm` as in [`resample_trilinear`]; outside the source → `T::default()`.
pub fn resample_labels<T: Copy + Default + Send + Sync>(
    source: &Volume<T>,
    target_shape: [usize; 3],
    target_affine: &Affine,
    transform_mm: Option<&Isometry3<f64>>,
) -> Volume<T> {
    let map = IndexMap::new(&source.affine, target_affine, transform_mm);
    let grid = SourceGrid::new(&source.voxels);
    let voxels = map_rows(&map, grid.dims, target_shape, T::default(), |p| {
        grid.nearest(p)
    });
    Volume::new(voxels, *target_affine)
}

/// Target index → source fractional index, as an affine map.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IndexMap {
    /// Rows of the 3×4 matrix.
    rows: [[f64; 4]; 3],
}

impl IndexMap {
    /// `source⁻¹ ∘ transform ∘ target`.
    pub(crate) fn new(
        source: &Affine,
        target: &Affine,
        transform_mm: Option<&Isometry3<f64>>,
    ) -> Self {
        let transform = transform_mm.map_or_else(Matrix4::identity, Isometry3::to_homogeneous);
        let full = source.inverse().matrix() * transform * target.matrix();
        let mut rows = [[0.0; 4]; 3];
        for (r, row) in rows.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                let x = full[(r, c)];
                *v = if (x - x.round()).abs() < SNAP {
                    x.round()
                } else {
                    x
                };
            }
        }
        IndexMap { rows }
    }

    /// Source position of target voxel `[i0, i1, 0]`.
    fn row_start(&self, i0: usize, i1: usize) -> [f64; 3] {
        let (a, b) = (i0 as f64, i1 as f64);
        self.rows.map(|r| r[3] + a * r[0] + b * r[1])
    }

    /// Source step per target column.
    fn column_step(&self) -> [f64; 3] {
        self.rows.map(|r| r[2])
    }

    /// Source position of a target index (per-voxel form, for references and tests).
    #[cfg(test)]
    fn apply(&self, index: [f64; 3]) -> [f64; 3] {
        self.rows
            .map(|r| r[3] + index[0] * r[0] + index[1] * r[1] + index[2] * r[2])
    }
}

/// True when `p` lies within the source's extended footprint.
pub(crate) fn inside(dims: [usize; 3], p: [f64; 3]) -> bool {
    (0..3).all(|a| p[a] >= -EDGE_VOXELS && p[a] <= dims[a] as f64 - 1.0 + EDGE_VOXELS)
}

/// The target columns of one row whose source position is inside, or `None`.
fn inside_columns(
    dims: [usize; 3],
    start: [f64; 3],
    step: [f64; 3],
    n_columns: usize,
) -> Option<RangeInclusive<usize>> {
    if n_columns == 0 || dims.contains(&0) {
        return None;
    }
    let (mut lo, mut hi) = (0.0f64, (n_columns - 1) as f64);
    for a in 0..3 {
        let (min, max) = (-EDGE_VOXELS, dims[a] as f64 - 1.0 + EDGE_VOXELS);
        if step[a].abs() < 1e-12 {
            if start[a] < min || start[a] > max {
                return None;
            }
            continue;
        }
        let (t0, t1) = ((min - start[a]) / step[a], (max - start[a]) / step[a]);
        lo = lo.max(t0.min(t1));
        hi = hi.min(t0.max(t1));
    }
    if lo.is_nan() || hi.is_nan() || lo > hi {
        return None;
    }
    let at = |k: usize| std::array::from_fn(|a| start[a] + k as f64 * step[a]);
    // The analytic bounds can be a rounding step off; settle them on the exact test the
    // reference uses, so fast and reference paths include the same voxels.
    let last = n_columns - 1;
    let mut k_lo = (lo.ceil().max(0.0) as usize).min(last);
    let mut k_hi = (hi.floor().max(0.0) as usize).min(last);
    while k_lo > 0 && inside(dims, at(k_lo - 1)) {
        k_lo -= 1;
    }
    while k_lo <= k_hi && !inside(dims, at(k_lo)) {
        k_lo += 1;
    }
    while k_hi < last && inside(dims, at(k_hi + 1)) {
        k_hi += 1;
    }
    while k_hi >= k_lo && !inside(dims, at(k_hi)) {
        if k_hi == 0 {
            return None;
        }
        k_hi -= 1;
    }
    (k_lo <= k_hi).then_some(k_lo..=k_hi)
}

/// Fills a target array row by row, slices in parallel.
fn map_rows<T: Copy + Send + Sync>(
    map: &IndexMap,
    source_dims: [usize; 3],
    target_shape: [usize; 3],
    fill: T,
    sample: impl Fn([f64; 3]) -> T + Sync,
) -> Array3<T> {
    let mut out = Array3::from_elem(target_shape, fill);
    let step = map.column_step();
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(i0, mut slice)| {
            for (i1, mut row) in slice.outer_iter_mut().enumerate() {
                let start = map.row_start(i0, i1);
                let Some(columns) = inside_columns(source_dims, start, step, target_shape[2])
                else {
                    continue;
                };
                let (k_lo, k_hi) = (*columns.start(), *columns.end());
                for (k, v) in row.iter_mut().enumerate().skip(k_lo).take(k_hi + 1 - k_lo) {
                    let kf = k as f64;
                    *v = sample([
                        start[0] + kf * step[0],
                        start[1] + kf * step[1],
                        start[2] + kf * step[2],
                    ]);
                }
            }
        });
    out
}

/// Source voxels as one contiguous C-order slice with its strides.
pub(crate) struct SourceGrid<'a, T: Clone> {
    data: Cow<'a, [T]>,
    dims: [usize; 3],
    /// Element offset of the next voxel along each axis, 0 on a 1-voxel axis so the
    /// interpolation never reads past it.
    next: [usize; 3],
    strides: [usize; 3],
}

impl<'a, T: Copy> SourceGrid<'a, T> {
    pub(crate) fn new(voxels: &'a Array3<T>) -> Self {
        let s = voxels.shape();
        let dims = [s[0], s[1], s[2]];
        let strides = [dims[1] * dims[2], dims[2], 1];
        let data = match voxels.as_slice() {
            Some(slice) => Cow::Borrowed(slice),
            // Non-standard layouts (views, transposes) are copied once into C order.
            None => Cow::Owned(voxels.iter().copied().collect()),
        };
        let next = std::array::from_fn(|a| if dims[a] > 1 { strides[a] } else { 0 });
        SourceGrid {
            data,
            dims,
            next,
            strides,
        }
    }

    /// Nearest voxel to an inside position.
    fn nearest(&self, p: [f64; 3]) -> T {
        let offset: usize = (0..3)
            .map(|a| {
                let i = p[a].round().clamp(0.0, (self.dims[a] - 1) as f64) as usize;
                i * self.strides[a]
            })
            .sum();
        self.data[offset]
    }
}

impl SourceGrid<'_, f32> {
    /// Trilinear value at an inside position (clamped to the outermost voxel centres).
    pub(crate) fn trilinear(&self, p: [f64; 3]) -> f32 {
        let mut offset = 0;
        let mut frac = [0.0f32; 3];
        for a in 0..3 {
            let top = (self.dims[a] - 1) as f64;
            let x = p[a].clamp(0.0, top);
            // The lower corner stays ≤ n − 2 so its neighbour exists; on the last centre
            // the fraction is then exactly 1.
            let i = (x as usize).min(self.dims[a].saturating_sub(2));
            frac[a] = (x - i as f64) as f32;
            offset += i * self.strides[a];
        }
        let [n0, n1, n2] = self.next;
        let d = &self.data;
        // Weighted form, not a + (b − a)·t: exact at t = 0 and at t = 1 (the last centre).
        let lerp = |a: f32, b: f32, t: f32| a * (1.0 - t) + b * t;
        let c00 = lerp(d[offset], d[offset + n2], frac[2]);
        let c01 = lerp(d[offset + n1], d[offset + n1 + n2], frac[2]);
        let c10 = lerp(d[offset + n0], d[offset + n0 + n2], frac[2]);
        let c11 = lerp(d[offset + n0 + n1], d[offset + n0 + n1 + n2], frac[2]);
        lerp(lerp(c00, c01, frac[1]), lerp(c10, c11, frac[1]), frac[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Point3, Rotation3, Translation3, UnitQuaternion};
    use proptest::prelude::*;

    /// Plain per-voxel reference: index → mm → transform → mm → source index with the
    /// library's affine methods, the same inside test and the same interpolation.
    fn reference(
        source: &Volume<f32>,
        target_shape: [usize; 3],
        target_affine: &Affine,
        transform_mm: Option<&Isometry3<f64>>,
    ) -> Array3<f32> {
        let grid = SourceGrid::new(&source.voxels);
        Array3::from_shape_fn(target_shape, |(i, j, k)| {
            let mm = target_affine.index_to_mm([i as f64, j as f64, k as f64]);
            let mm = transform_mm.map_or(mm, |t| t.transform_point(&mm));
            let p = source.affine.mm_to_index(&mm);
            if inside(grid.dims, p) {
                grid.trilinear(p)
            } else {
                OUTSIDE_FILL
            }
        })
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn fast_path_agrees_with_reference(
            seed in 0u64..1000,
            a in -0.4..0.4f64, b in -0.4..0.4f64, c in -0.4..0.4f64,
            ox in -8.0..8.0f64, oy in -8.0..8.0f64, oz in -8.0..8.0f64,
            s0 in 0.7..3.0f64, s1 in 0.5..2.0f64, s2 in 0.5..2.0f64,
            rx in -0.1..0.1f64, ry in -0.1..0.1f64, tx in -3.0..3.0f64,
        ) {
            let shape = [5, 11, 13];
            let voxels = Array3::from_shape_fn(shape, |(i, j, k)| {
                ((i * 31 + j * 17 + k * 7) as u64 ^ seed) as f32 % 97.0
            });
            let source = Volume::new(voxels, oblique([0.0, 0.0, 0.0], [0.1, -0.05, 0.2], [3.0, 1.0, 1.0]));
            let target_affine = oblique([ox, oy, oz], [a, b, c], [s0, s1, s2]);
            let rigid = Isometry3::from_parts(
                Translation3::new(tx, -tx, 0.5 * tx),
                UnitQuaternion::from_euler_angles(rx, ry, 0.0),
            );
            for t in [None, Some(&rigid)] {
                let fast = resample_trilinear(&source, [7, 9, 12], &target_affine, t);
                let slow = reference(&source, [7, 9, 12], &target_affine, t);
                for (x, y) in fast.voxels.iter().zip(slow.iter()) {
                    prop_assert!((x - y).abs() <= 1e-3 * (1.0 + y.abs()), "{x} vs {y}");
                }
            }
        }

        #[test]
        fn row_position_equals_per_voxel_map(
            a in -1.0..1.0f64, i0 in 0usize..40, i1 in 0usize..600, k in 0usize..600,
        ) {
            let target = oblique([3.0, -7.0, 11.0], [a, 0.3 * a, -a], [4.0, 0.7, 0.7]);
            let source = oblique([-1.0, 2.0, 5.0], [0.2, 0.0, -0.1], [3.3, 0.9, 0.9]);
            let map = IndexMap::new(&source, &target, None);
            let start = map.row_start(i0, i1);
            let step = map.column_step();
            let full = map.apply([i0 as f64, i1 as f64, k as f64]);
            for ax in 0..3 {
                let inc = start[ax] + k as f64 * step[ax];
                prop_assert!((inc - full[ax]).abs() < 1e-9 * (1.0 + full[ax].abs()));
            }
        }
    }

    #[test]
    fn inside_columns_matches_the_point_test() {
        let dims = [4, 6, 8];
        let start = [1.2, -3.1, 9.4];
        let step = [0.01, 0.37, -0.55];
        let range = inside_columns(dims, start, step, 40);
        for k in 0..40 {
            let p = std::array::from_fn(|a| start[a] + k as f64 * step[a]);
            let expected = inside(dims, p);
            let got = range.as_ref().is_some_and(|r| r.contains(&k));
            assert_eq!(got, expected, "column {k}");
        }
    }
}
