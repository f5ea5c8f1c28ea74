//! From the network's body probability (stacked sagittal planes) to separate bodies.
//!
//! Neighbouring bodies touch wherever a disc is thin or collapsed, or on the far-lateral
//! planes where partial volume blurs the disc, so a plain threshold joins them. Each body
//! is therefore grown from its *core* (where the network is sure, p ≥ 0.9, which stops
//! well short of the disc) out to the p ≥ 0.5 outline, every core claiming the voxels it
//! reaches first.

use ndarray::Array3;
use std::collections::VecDeque;

/// Shape and voxel size of the stacked working planes `[lateral, row, column]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// Counts along (lateral, row = head → feet, column = front → back).
    pub dims: [usize; 3],
    /// Voxel size (mm) along the same axes.
    pub voxel_mm: [f64; 3],
}

impl Grid {
    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.dims.iter().product()
    }

    /// True for an empty grid.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (lateral, row, column) of a linear index.
    #[inline]
    pub fn coords(&self, i: usize) -> [usize; 3] {
        let plane = self.dims[1] * self.dims[2];
        [i / plane, (i % plane) / self.dims[2], i % self.dims[2]]
    }

    /// Face neighbours of a linear index.
    fn neighbours(&self, i: usize, out: &mut Vec<usize>) {
        out.clear();
        let [l, r, c] = self.coords(i);
        let plane = self.dims[1] * self.dims[2];
        if l > 0 {
            out.push(i - plane);
        }
        if l + 1 < self.dims[0] {
            out.push(i + plane);
        }
        if r > 0 {
            out.push(i - self.dims[2]);
        }
        if r + 1 < self.dims[1] {
            out.push(i + self.dims[2]);
        }
        if c > 0 {
            out.push(i - 1);
        }
        if c + 1 < self.dims[2] {
            out.push(i + 1);
        }
    }

    /// Volume of one voxel in mL.
    pub fn voxel_ml(&self) -> f64 {
        self.voxel_mm.iter().product::<f64>() / 1000.0
    }
}

/// One body (or S1) found in the working grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    /// Linear indices into the grid, ascending.
    pub voxels: Vec<u32>,
    /// Centre (lateral, row, column) in voxel units.
    pub centre: [f64; 3],
    /// Extent along (lateral, row, column) in mm.
    pub extent_mm: [f64; 3],
    /// First and last index along each axis.
    pub bounds: [[usize; 2]; 3],
    /// Volume (mL).
    pub volume_ml: f64,
}

impl Region {
    /// Statistics of a voxel set.
    pub fn new(mut voxels: Vec<u32>, grid: &Grid) -> Self {
        voxels.sort_unstable();
        let mut sum = [0f64; 3];
        let mut bounds = [[usize::MAX, 0]; 3];
        for &v in &voxels {
            let c = grid.coords(v as usize);
            for a in 0..3 {
                sum[a] += c[a] as f64;
                bounds[a][0] = bounds[a][0].min(c[a]);
                bounds[a][1] = bounds[a][1].max(c[a]);
            }
        }
        let n = voxels.len().max(1) as f64;
        let extent_mm = std::array::from_fn(|a| {
            (bounds[a][1].saturating_sub(bounds[a][0]) + 1) as f64 * grid.voxel_mm[a]
        });
        Region {
            centre: sum.map(|s| s / n),
            extent_mm,
            bounds,
            volume_ml: voxels.len() as f64 * grid.voxel_ml(),
            voxels,
        }
    }

    /// True when the region touches either face of the grid across `axis`.
    fn cut_across(&self, grid: &Grid, axis: usize) -> bool {
        self.bounds[axis][0] == 0 || self.bounds[axis][1] + 1 == grid.dims[axis]
    }

    /// True when the region touches a face of the grid (cut by the slab or the FOV).
    pub fn at_edge(&self, grid: &Grid) -> bool {
        (0..3).any(|axis| self.cut_across(grid, axis))
    }

    /// True when the region touches the top or bottom of the field of view: a body cut
    /// there may be any size, while a small region cut only by the slab's side is a
    /// speck of a far-lateral plane.
    pub fn at_head_feet_edge(&self, grid: &Grid) -> bool {
        self.cut_across(grid, 1)
    }

    /// Takes `voxels` into this region and recomputes its statistics.
    fn absorb(&mut self, voxels: Vec<u32>, grid: &Grid) {
        let mut joined = std::mem::take(&mut self.voxels);
        joined.extend(voxels);
        *self = Region::new(joined, grid);
    }
}

/// Face-connected components of `mask` (6-connectivity), each a list of linear indices.
pub fn components(mask: &[bool], grid: &Grid) -> Vec<Vec<u32>> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut queue = VecDeque::new();
    let mut nb = Vec::with_capacity(6);
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        queue.push_back(start);
        let mut comp = Vec::new();
        while let Some(i) = queue.pop_front() {
            comp.push(i as u32);
            grid.neighbours(i, &mut nb);
            for &j in &nb {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        out.push(comp);
    }
    out
}

/// Probability above which a voxel is body.
pub const BODY_P: f32 = 0.5;
/// Probability above which a voxel is a body's core.
pub const CORE_P: f32 = 0.9;
/// Smallest region kept (mL): the smallest thoracic body seen on one 5 mm slab edge is
/// ~1 mL; false positives (a rib head, a bowel loop) are usually smaller.
pub const MIN_REGION_ML: f64 = 0.8;
/// Smallest core that seeds a body (mL).
const MIN_CORE_ML: f64 = 0.15;

/// Separate bodies of a probability volume on `grid`, in no particular order.
pub fn regions(prob: &Array3<f32>, grid: &Grid) -> Vec<Region> {
    let p: Vec<f32> = prob.iter().copied().collect();
    let body: Vec<bool> = p.iter().map(|&v| v >= BODY_P).collect();
    let core: Vec<bool> = p.iter().map(|&v| v >= CORE_P).collect();
    let min_core = (MIN_CORE_ML / grid.voxel_ml()).ceil() as usize;
    let cores: Vec<Vec<u32>> = components(&core, grid)
        .into_iter()
        .filter(|c| c.len() >= min_core)
        .collect();
    let mut members = grow(&cores, &body, grid);
    // Body components without any core (a partial body at the slab edge) stand alone.
    let mut owned = vec![false; p.len()];
    for &v in members.iter().flatten() {
        owned[v as usize] = true;
    }
    let unowned: Vec<bool> = body.iter().zip(&owned).map(|(&b, &o)| b && !o).collect();
    members.extend(components(&unowned, grid));
    let found: Vec<Region> = members
        .into_iter()
        .map(|v| Region::new(v, grid))
        .filter(|r| r.volume_ml >= MIN_REGION_ML)
        .collect();
    merge_same_level(
        merge_fragments(split_oversized(found, &p, grid), grid),
        grid,
    )
}

/// Share of the shorter region's head–feet extent two regions must overlap by to be one
/// level: a body split left from right (by a plane where the network was unsure) must
/// not be counted twice, while neighbouring levels overlap only at a sloping disc.
const SAME_LEVEL_OVERLAP: f64 = 0.6;
/// Front-to-back distance (mm) within which two such regions are one body.
const SAME_LEVEL_AP_MM: f64 = 20.0;

/// Regions at the same level (head–feet ranges mostly overlapping, close front to back)
/// joined into one.
fn merge_same_level(mut found: Vec<Region>, grid: &Grid) -> Vec<Region> {
    loop {
        let pair = (0..found.len()).find_map(|a| {
            (a + 1..found.len()).find_map(|b| {
                let (ra, rb) = (&found[a], &found[b]);
                let lo = ra.bounds[1][0].max(rb.bounds[1][0]);
                let hi = ra.bounds[1][1].min(rb.bounds[1][1]);
                let overlap = (hi + 1).saturating_sub(lo) as f64 * grid.voxel_mm[1];
                let shorter = ra.extent_mm[1].min(rb.extent_mm[1]);
                let ap = (ra.centre[2] - rb.centre[2]).abs() * grid.voxel_mm[2];
                (overlap >= SAME_LEVEL_OVERLAP * shorter && ap <= SAME_LEVEL_AP_MM)
                    .then_some((a, b))
            })
        });
        let Some((a, b)) = pair else { return found };
        let rb = found.swap_remove(b);
        found[a].absorb(rb.voxels, grid);
    }
}

/// Multi-source breadth-first growth of `seeds` through the voxels where `allowed`
/// holds: each voxel joins the seed that reaches it first.
fn grow(seeds: &[Vec<u32>], allowed: &[bool], grid: &Grid) -> Vec<Vec<u32>> {
    let mut owner = vec![u32::MAX; allowed.len()];
    let mut queue = VecDeque::new();
    for (k, c) in seeds.iter().enumerate() {
        for &v in c {
            owner[v as usize] = k as u32;
            queue.push_back(v as usize);
        }
    }
    let mut nb = Vec::with_capacity(6);
    while let Some(i) = queue.pop_front() {
        grid.neighbours(i, &mut nb);
        for &j in &nb {
            if allowed[j] && owner[j] == u32::MAX {
                owner[j] = owner[i];
                queue.push_back(j);
            }
        }
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); seeds.len()];
    for (i, &o) in owner.iter().enumerate() {
        if let Some(m) = members.get_mut(o as usize) {
            m.push(i as u32);
        }
    }
    members
}

/// Median of a list (0 when empty).
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A region this much larger than the median body, and this much taller, is two bodies
/// joined across a disc the network was unsure of.
const OVERSIZED_VOLUME: f64 = 1.4;
const OVERSIZED_HEIGHT: f64 = 1.4;
/// Stricter core thresholds tried, in turn, to part an oversized region.
const SPLIT_CORE_P: [f32; 3] = [0.97, 0.99, 0.997];

/// Regions of about two bodies' size split at their stricter cores.
fn split_oversized(found: Vec<Region>, p: &[f32], grid: &Grid) -> Vec<Region> {
    let typical_ml = median(found.iter().map(|r| r.volume_ml).collect());
    let typical_h = median(found.iter().map(|r| r.extent_mm[1]).collect());
    let mut out = Vec::with_capacity(found.len() + 2);
    for r in found {
        if r.volume_ml < OVERSIZED_VOLUME * typical_ml
            || r.extent_mm[1] < OVERSIZED_HEIGHT * typical_h
        {
            out.push(r);
            continue;
        }
        let mut inside = vec![false; p.len()];
        for &v in &r.voxels {
            inside[v as usize] = true;
        }
        let min_part = (0.2 * typical_ml / grid.voxel_ml()).ceil() as usize;
        let split = SPLIT_CORE_P.iter().find_map(|&t| {
            let core: Vec<bool> = (0..p.len()).map(|i| inside[i] && p[i] >= t).collect();
            let cores: Vec<Vec<u32>> = components(&core, grid)
                .into_iter()
                .filter(|c| c.len() >= min_part / 4)
                .collect();
            (cores.len() >= 2).then(|| grow(&cores, &inside, grid))
        });
        match split {
            Some(parts) => out.extend(
                parts
                    .into_iter()
                    .map(|v| Region::new(v, grid))
                    .filter(|r| r.volume_ml >= MIN_REGION_ML),
            ),
            None => out.push(r),
        }
    }
    out
}

/// A region smaller than this share of the median body, away from the top and bottom of
/// the field of view, is a fragment (a second core inside one body, a speck of a
/// neighbouring structure or of a far-lateral plane). Counted as a body, it would shift
/// every level name above it by one.
const FRAGMENT_SHARE: f64 = 0.35;

/// Fragments merged into the region they share most faces with, or dropped when they
/// touch none.
fn merge_fragments(mut found: Vec<Region>, grid: &Grid) -> Vec<Region> {
    let typical_ml = median(found.iter().map(|r| r.volume_ml).collect());
    let mut owner = vec![u32::MAX; grid.len()];
    for (k, r) in found.iter().enumerate() {
        for &v in &r.voxels {
            owner[v as usize] = k as u32;
        }
    }
    let mut order: Vec<usize> = (0..found.len()).collect();
    order.sort_by(|&a, &b| found[a].volume_ml.total_cmp(&found[b].volume_ml));
    let mut gone = vec![false; found.len()];
    let mut nb = Vec::with_capacity(6);
    for k in order {
        let r = &found[k];
        if r.volume_ml >= FRAGMENT_SHARE * typical_ml || r.at_head_feet_edge(grid) {
            continue;
        }
        let mut shared: std::collections::HashMap<u32, usize> = Default::default();
        for &v in &r.voxels {
            grid.neighbours(v as usize, &mut nb);
            for &j in &nb {
                let o = owner[j];
                if o != u32::MAX && o != k as u32 {
                    *shared.entry(o).or_default() += 1;
                }
            }
        }
        gone[k] = true;
        let voxels = std::mem::take(&mut found[k].voxels);
        if let Some((&into, _)) = shared.iter().max_by_key(|(o, n)| (**n, u32::MAX - **o)) {
            for &v in &voxels {
                owner[v as usize] = into;
            }
            found[into as usize].absorb(voxels, grid);
        } else {
            for &v in &voxels {
                owner[v as usize] = u32::MAX;
            }
        }
    }
    found
        .into_iter()
        .zip(gone)
        .filter_map(|(r, g)| (!g).then_some(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn grid(dims: [usize; 3]) -> Grid {
        Grid {
            dims,
            voxel_mm: [1.0; 3],
        }
    }

    /// Union–find reference for the component count.
    fn count_reference(mask: &[bool], g: &Grid) -> usize {
        let mut parent: Vec<usize> = (0..mask.len()).collect();
        fn find(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        let mut nb = Vec::new();
        for i in 0..mask.len() {
            if !mask[i] {
                continue;
            }
            g.neighbours(i, &mut nb);
            for &j in &nb {
                if mask[j] {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    parent[a] = b;
                }
            }
        }
        (0..mask.len())
            .filter(|&i| mask[i] && find(&mut parent, i) == i)
            .count()
    }

    proptest! {
        #[test]
        fn components_match_union_find(
            d0 in 1usize..6, d1 in 1usize..9, d2 in 1usize..9,
            bits in prop::collection::vec(any::<bool>(), 6 * 9 * 9),
        ) {
            let g = grid([d0, d1, d2]);
            let mask = &bits[..g.len()];
            let comps = components(mask, &g);
            prop_assert_eq!(comps.len(), count_reference(mask, &g));
            prop_assert_eq!(comps.iter().map(Vec::len).sum::<usize>(), mask.iter().filter(|&&b| b).count());
        }
    }

    #[test]
    fn touching_bodies_are_split_at_the_disc() {
        // Two 10 × 10 × 10 bodies joined by a one-voxel-thick uncertain disc (p = 0.6):
        // one component at p ≥ 0.5, two cores, two bodies sharing out the disc.
        let g = grid([10, 21, 10]);
        let prob = Array3::from_shape_fn((10, 21, 10), |(_, r, _)| match r {
            10 => 0.6,
            _ => 0.99,
        });
        let mut found = regions(&prob, &g);
        found.sort_by(|a, b| a.centre[1].total_cmp(&b.centre[1]));
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].voxels.len() + found[1].voxels.len(), 10 * 21 * 10);
        assert!(found[0].at_edge(&g));
    }

    #[test]
    fn halves_of_one_level_are_one_body() {
        // One body with an unsure middle plane (l = 4): two halves, one level.
        let g = grid([9, 30, 20]);
        let prob = Array3::from_shape_fn((9, 30, 20), |(l, r, c)| {
            let inside = (5..25).contains(&r) && (4..16).contains(&c);
            match (inside, l) {
                (false, _) => 0.0,
                (true, 4) => 0.2,
                _ => 0.99,
            }
        });
        let found = regions(&prob, &g);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].voxels.len(), 8 * 20 * 12);
    }

    #[test]
    fn a_speck_at_the_slab_side_is_no_body_but_a_cut_top_body_is() {
        // Three 6 mL bodies, a 1.6 mL body cut by the top of the field of view, and a
        // 0.96 mL speck on the slab's first planes between two bodies.
        let g = grid([24, 80, 40]);
        let prob = Array3::from_shape_fn((24, 80, 40), |(l, r, c)| {
            let body = (2..22).contains(&l)
                && (10..30).contains(&c)
                && [0..4, 10..25, 30..45, 50..65]
                    .iter()
                    .any(|rows| rows.contains(&r));
            let speck = l < 8 && (26..29).contains(&r);
            if body || speck { 0.99 } else { 0.0 }
        });
        let mut found = regions(&prob, &g);
        found.sort_by(|a, b| a.centre[1].total_cmp(&b.centre[1]));
        let sizes: Vec<usize> = found.iter().map(|r| r.voxels.len()).collect();
        assert_eq!(sizes, [1600, 6000, 6000, 6000]);
    }

    #[test]
    fn specks_are_dropped() {
        let g = grid([5, 20, 20]);
        let prob = Array3::from_shape_fn((5, 20, 20), |(l, r, c)| {
            if l == 2 && r == 3 && c == 3 {
                0.95
            } else {
                0.0
            }
        });
        assert!(regions(&prob, &g).is_empty());
    }
}
