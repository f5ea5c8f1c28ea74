//! Small binary-mask operations on one body's bounding box (C order, `[n0, n1, n2]`).
//! Boxes hold a few ten thousand voxels, so plain loops are fast enough; nothing here
//! touches the full volume.

/// A bounding box of the reference grid: voxel `[lo + (i, j, k)]` for `(i, j, k) < dims`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BoxGrid {
    /// First voxel of the box in the full grid.
    pub lo: [usize; 3],
    /// Box size.
    pub dims: [usize; 3],
}

impl BoxGrid {
    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    /// Flat index of local `(i, j, k)`.
    #[inline]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        (i * self.dims[1] + j) * self.dims[2] + k
    }

    /// Local `(i, j, k)` of a flat index.
    #[inline]
    pub fn coords(&self, index: usize) -> [usize; 3] {
        let k = index % self.dims[2];
        let rest = index / self.dims[2];
        [rest / self.dims[1], rest % self.dims[1], k]
    }
}

/// Erosion by a box-shaped element of half-width `radius[a]` voxels along axis `a`;
/// outside the box counts as outside the mask.
pub(crate) fn erode(grid: &BoxGrid, mask: &[bool], radius: [usize; 3]) -> Vec<bool> {
    let mut current = mask.to_vec();
    for (axis, &r) in radius.iter().enumerate() {
        if r == 0 {
            continue;
        }
        let mut next = vec![false; current.len()];
        let n = grid.dims[axis];
        let stride = match axis {
            0 => grid.dims[1] * grid.dims[2],
            1 => grid.dims[2],
            _ => 1,
        };
        for (index, out) in next.iter_mut().enumerate() {
            if !current[index] {
                continue;
            }
            let pos = grid.coords(index)[axis];
            if pos < r || pos + r >= n {
                continue;
            }
            *out = (1..=r).all(|d| current[index - d * stride] && current[index + d * stride]);
        }
        current = next;
    }
    current
}

/// Offsets of the 26 neighbours, split into the 13 that precede a voxel in raster order
/// and the 13 that follow it.
fn half_neighbourhoods() -> ([[i64; 3]; 13], [[i64; 3]; 13]) {
    let mut before = [[0i64; 3]; 13];
    let mut after = [[0i64; 3]; 13];
    let (mut b, mut a) = (0, 0);
    for di in -1i64..=1 {
        for dj in -1i64..=1 {
            for dk in -1i64..=1 {
                let order = (di, dj, dk).cmp(&(0, 0, 0));
                match order {
                    std::cmp::Ordering::Less => {
                        before[b] = [di, dj, dk];
                        b += 1;
                    }
                    std::cmp::Ordering::Greater => {
                        after[a] = [di, dj, dk];
                        a += 1;
                    }
                    std::cmp::Ordering::Equal => {}
                }
            }
        }
    }
    (before, after)
}

/// Marker for "no seed reached this voxel".
pub(crate) const NO_SEED: u32 = u32::MAX;

/// For every voxel of `domain`, the flat index of the nearest `seeds` voxel (Euclidean,
/// in mm with `spacing_mm`), propagated through the domain by two raster sweeps of
/// nearest-seed vectors (Danielsson-style); exact on convex domains, within a voxel elsewhere.
pub(crate) fn nearest_seed(
    grid: &BoxGrid,
    spacing_mm: [f64; 3],
    seeds: &[bool],
    domain: &[bool],
) -> Vec<u32> {
    let (before, after) = half_neighbourhoods();
    let len = grid.len();
    let mut nearest = vec![NO_SEED; len];
    let mut dist2 = vec![f64::INFINITY; len];
    for index in 0..len {
        if seeds[index] {
            nearest[index] = index as u32;
            dist2[index] = 0.0;
        }
    }
    let distance2 = |a: [usize; 3], b: [usize; 3]| -> f64 {
        (0..3)
            .map(|ax| {
                let d = (a[ax] as f64 - b[ax] as f64) * spacing_mm[ax];
                d * d
            })
            .sum()
    };
    let dims = grid.dims.map(|d| d as i64);
    let mut relax = |index: usize, offsets: &[[i64; 3]; 13]| {
        if !domain[index] {
            return;
        }
        let here = grid.coords(index);
        for off in offsets {
            let n = [
                here[0] as i64 + off[0],
                here[1] as i64 + off[1],
                here[2] as i64 + off[2],
            ];
            if (0..3).any(|ax| n[ax] < 0 || n[ax] >= dims[ax]) {
                continue;
            }
            let neighbour = grid.index(n[0] as usize, n[1] as usize, n[2] as usize);
            let seed = nearest[neighbour];
            if seed == NO_SEED || seed == nearest[index] {
                continue;
            }
            let d2 = distance2(here, grid.coords(seed as usize));
            if d2 < dist2[index] {
                dist2[index] = d2;
                nearest[index] = seed;
            }
        }
    };
    for _ in 0..2 {
        for index in 0..len {
            relax(index, &before);
        }
        for index in (0..len).rev() {
            relax(index, &after);
        }
    }
    nearest
}

/// Euclidean distance (mm) between two local flat indices.
pub(crate) fn distance_mm(grid: &BoxGrid, spacing_mm: [f64; 3], a: usize, b: usize) -> f64 {
    let (pa, pb) = (grid.coords(a), grid.coords(b));
    (0..3)
        .map(|ax| {
            let d = (pa[ax] as f64 - pb[ax] as f64) * spacing_mm[ax];
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// 6-connected components of `mask`: a component id per voxel (`NO_SEED` outside) and the
/// size of each component.
pub(crate) fn components(grid: &BoxGrid, mask: &[bool]) -> (Vec<u32>, Vec<usize>) {
    let mut id = vec![NO_SEED; mask.len()];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || id[start] != NO_SEED {
            continue;
        }
        let component = sizes.len() as u32;
        let mut size = 0usize;
        id[start] = component;
        stack.push(start);
        while let Some(index) = stack.pop() {
            size += 1;
            let [i, j, k] = grid.coords(index);
            let mut visit = |ii: usize, jj: usize, kk: usize| {
                let n = grid.index(ii, jj, kk);
                if mask[n] && id[n] == NO_SEED {
                    id[n] = component;
                    stack.push(n);
                }
            };
            if i > 0 {
                visit(i - 1, j, k);
            }
            if i + 1 < grid.dims[0] {
                visit(i + 1, j, k);
            }
            if j > 0 {
                visit(i, j - 1, k);
            }
            if j + 1 < grid.dims[1] {
                visit(i, j + 1, k);
            }
            if k > 0 {
                visit(i, j, k - 1);
            }
            if k + 1 < grid.dims[2] {
                visit(i, j, k + 1);
            }
        }
        sizes.push(size);
    }
    (id, sizes)
}

/// Keeps only the components of `mask` with at least `min_voxels` voxels.
pub(crate) fn drop_small_components(grid: &BoxGrid, mask: &mut [bool], min_voxels: usize) {
    if min_voxels <= 1 {
        return;
    }
    let (id, sizes) = components(grid, mask);
    for (value, component) in mask.iter_mut().zip(&id) {
        if *component != NO_SEED && sizes[*component as usize] < min_voxels {
            *value = false;
        }
    }
}

/// Removes `mask` clusters smaller than `min_voxels` and fills holes of `within \ mask`
/// smaller than `min_voxels`: a symmetric clean-up so noise neither adds specks nor
/// punches holes.
pub(crate) fn clean_clusters(
    grid: &BoxGrid,
    mask: &mut [bool],
    within: &[bool],
    min_voxels: usize,
) {
    drop_small_components(grid, mask, min_voxels);
    if min_voxels <= 1 {
        return;
    }
    let holes: Vec<bool> = within
        .iter()
        .zip(mask.iter())
        .map(|(&w, &m)| w && !m)
        .collect();
    let (id, sizes) = components(grid, &holes);
    for (value, component) in mask.iter_mut().zip(&id) {
        if *component != NO_SEED && sizes[*component as usize] < min_voxels {
            *value = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube(grid: &BoxGrid, lo: usize, hi: usize) -> Vec<bool> {
        (0..grid.len())
            .map(|i| grid.coords(i).iter().all(|&c| (lo..hi).contains(&c)))
            .collect()
    }

    #[test]
    fn erosion_shrinks_by_radius_per_axis() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [10, 10, 10],
        };
        let mask = cube(&grid, 2, 8);
        let eroded = erode(&grid, &mask, [0, 1, 2]);
        let count = eroded.iter().filter(|&&v| v).count();
        assert_eq!(count, 6 * 4 * 2);
    }

    #[test]
    fn nearest_seed_matches_brute_force() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [6, 9, 11],
        };
        let spacing = [3.0, 0.7, 0.9];
        let seeds: Vec<bool> = (0..grid.len()).map(|i| i % 97 == 5 || i == 300).collect();
        let domain = vec![true; grid.len()];
        let nearest = nearest_seed(&grid, spacing, &seeds, &domain);
        for (index, &near) in nearest.iter().enumerate() {
            let best = (0..grid.len())
                .filter(|&s| seeds[s])
                .map(|s| distance_mm(&grid, spacing, index, s))
                .fold(f64::INFINITY, f64::min);
            let got = distance_mm(&grid, spacing, index, near as usize);
            assert!(got - best < 0.75, "voxel {index}: {got} vs {best}");
        }
    }

    #[test]
    fn clean_clusters_removes_specks_and_fills_pinholes() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [5, 12, 12],
        };
        let within = vec![true; grid.len()];
        let mut mask = cube(&grid, 0, 5);
        let hole = grid.index(2, 2, 2);
        mask[hole] = false;
        let speck = grid.index(2, 10, 10);
        mask[speck] = true;
        clean_clusters(&grid, &mut mask, &within, 3);
        assert!(mask[hole]);
        assert!(!mask[speck]);
    }
}
