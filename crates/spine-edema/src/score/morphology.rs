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
    let strides = [grid.dims[1] * grid.dims[2], grid.dims[2], 1];
    for (axis, &r) in radius.iter().enumerate() {
        if r == 0 {
            continue;
        }
        let mut next = vec![false; current.len()];
        let n = grid.dims[axis];
        let stride = strides[axis];
        for start in line_starts(grid, axis) {
            for pos in r..n.saturating_sub(r) {
                let index = start + pos * stride;
                next[index] = current[index]
                    && (1..=r).all(|d| current[index - d * stride] && current[index + d * stride]);
            }
        }
        current = next;
    }
    current
}

/// Flat indices of the first voxel of every line of the box along `axis`.
fn line_starts(grid: &BoxGrid, axis: usize) -> impl Iterator<Item = usize> + '_ {
    let [n0, n1, n2] = grid.dims;
    let (r0, r1, r2) = match axis {
        0 => (1, n1, n2),
        1 => (n0, 1, n2),
        _ => (n0, n1, 1),
    };
    (0..r0).flat_map(move |i| (0..r1).flat_map(move |j| (0..r2).map(move |k| grid.index(i, j, k))))
}

/// Marker for "no seed reached this voxel".
pub(crate) const NO_SEED: u32 = u32::MAX;

/// Scratch buffers of the 1D lower-envelope transform.
struct Envelope {
    parabolas: Vec<usize>,
    bounds: Vec<f64>,
}

/// Exact 1D squared-distance transform of sampled `f` (spacing `h` mm) by the lower envelope
/// of parabolas (Felzenszwalb & Huttenlocher 2012): `out[p] = min_q ((p−q)h)² + f[q]` and
/// `arg[p]` the minimising q (`usize::MAX` when every `f` is infinite).
fn envelope_1d(f: &[f64], h: f64, out: &mut [f64], arg: &mut [usize], env: &mut Envelope) {
    let n = f.len();
    env.parabolas.clear();
    env.bounds.clear();
    let key = |q: usize| f[q] + (q as f64 * h).powi(2);
    for q in (0..n).filter(|&q| f[q].is_finite()) {
        while let Some(&last) = env.parabolas.last() {
            let s = (key(q) - key(last)) / (2.0 * h * (q - last) as f64);
            if env.bounds.last().is_some_and(|&b| s <= b) {
                env.parabolas.pop();
                env.bounds.pop();
            } else {
                env.bounds.push(s);
                break;
            }
        }
        if env.parabolas.is_empty() {
            env.bounds.clear();
        }
        env.parabolas.push(q);
    }
    if env.parabolas.is_empty() {
        out.fill(f64::INFINITY);
        arg.fill(usize::MAX);
        return;
    }
    // bounds[i] separates parabola i and i + 1.
    let mut k = 0;
    for p in 0..n {
        let x = p as f64 * h;
        while k < env.bounds.len() && env.bounds[k] < x {
            k += 1;
        }
        let q = env.parabolas[k];
        out[p] = ((p as f64 - q as f64) * h).powi(2) + f[q];
        arg[p] = q;
    }
}

/// For every voxel of the box, the flat index of the nearest `seeds` voxel (exact Euclidean
/// distance in mm with `spacing_mm`), by three separable 1D envelope passes that carry the
/// nearest seed along. `NO_SEED` everywhere when there is no seed.
pub(crate) fn nearest_seed(grid: &BoxGrid, spacing_mm: [f64; 3], seeds: &[bool]) -> Vec<u32> {
    let len = grid.len();
    let mut dist2: Vec<f64> = seeds
        .iter()
        .map(|&s| if s { 0.0 } else { f64::INFINITY })
        .collect();
    let mut feature: Vec<u32> = (0..len as u32)
        .map(|i| if seeds[i as usize] { i } else { NO_SEED })
        .collect();
    let strides = [grid.dims[1] * grid.dims[2], grid.dims[2], 1];
    let mut env = Envelope {
        parabolas: Vec::new(),
        bounds: Vec::new(),
    };
    for axis in [2, 1, 0] {
        let n = grid.dims[axis];
        let stride = strides[axis];
        let (mut f, mut out, mut arg) = (vec![0.0; n], vec![0.0; n], vec![0usize; n]);
        let mut line_feature = vec![NO_SEED; n];
        // Every line along `axis` starts at a voxel whose coordinate on `axis` is 0.
        for start in line_starts(grid, axis) {
            for p in 0..n {
                f[p] = dist2[start + p * stride];
                line_feature[p] = feature[start + p * stride];
            }
            envelope_1d(&f, spacing_mm[axis], &mut out, &mut arg, &mut env);
            for p in 0..n {
                dist2[start + p * stride] = out[p];
                feature[start + p * stride] = if arg[p] == usize::MAX {
                    NO_SEED
                } else {
                    line_feature[arg[p]]
                };
            }
        }
    }
    feature
}

/// For every `targets` voxel, the flat index of the nearest `seeds` voxel within a window of
/// half-width `reach[a]` voxels (exact Euclidean order in mm; `NO_SEED` when none is in
/// reach). Cheaper than [`nearest_seed`] when targets sit next to seeds, as the border of a
/// body sits next to its eroded interior: the scan stops at the first hit of the offsets
/// sorted by distance.
pub(crate) fn nearest_seed_within(
    grid: &BoxGrid,
    spacing_mm: [f64; 3],
    seeds: &[bool],
    targets: &[bool],
    reach: [usize; 3],
) -> Vec<u32> {
    let r = reach.map(|v| v as i64);
    let mut offsets: Vec<([i64; 3], f64)> = Vec::new();
    for di in -r[0]..=r[0] {
        for dj in -r[1]..=r[1] {
            for dk in -r[2]..=r[2] {
                let d2 = (di as f64 * spacing_mm[0]).powi(2)
                    + (dj as f64 * spacing_mm[1]).powi(2)
                    + (dk as f64 * spacing_mm[2]).powi(2);
                offsets.push(([di, dj, dk], d2));
            }
        }
    }
    offsets.sort_by(|a, b| a.1.total_cmp(&b.1));
    let [n0, n1, n2] = grid.dims;
    // Skipping the offsets that land in a slice or row without any seed keeps the exact
    // answer (the first hit in distance order) while the outermost slices of a body, all
    // border and a whole slice away from the interior, stop scanning their own slice.
    let row_has_seed: Vec<bool> = seeds.chunks(n2.max(1)).map(|r| r.contains(&true)).collect();
    let slice_has_seed: Vec<bool> = row_has_seed
        .chunks(n1.max(1))
        .map(|rows| rows.contains(&true))
        .collect();
    let per_slice: Vec<Vec<[i64; 3]>> = (0..n0 as i64)
        .map(|i| {
            offsets
                .iter()
                .map(|(off, _)| *off)
                .filter(|off| {
                    let t = i + off[0];
                    t >= 0 && (t as usize) < n0 && slice_has_seed[t as usize]
                })
                .collect()
        })
        .collect();
    let (d1, d2) = (n1 as i64, n2 as i64);
    let mut nearest = vec![NO_SEED; grid.len()];
    for (index, out) in nearest.iter_mut().enumerate() {
        if !targets[index] {
            continue;
        }
        let c = grid.coords(index).map(|v| v as i64);
        for off in &per_slice[c[0] as usize] {
            let (i, j, k) = (c[0] + off[0], c[1] + off[1], c[2] + off[2]);
            if j < 0 || j >= d1 || k < 0 || k >= d2 {
                continue;
            }
            let row = (i * d1 + j) as usize;
            if !row_has_seed[row] {
                continue;
            }
            let candidate = row * n2 + k as usize;
            if seeds[candidate] {
                *out = candidate as u32;
                break;
            }
        }
    }
    nearest
}

/// 6-connected components of `mask`: a component id per voxel (`NO_SEED` outside) and the
/// size of each component.
pub(crate) fn components(grid: &BoxGrid, mask: &[bool]) -> (Vec<u32>, Vec<usize>) {
    let mut id = vec![NO_SEED; mask.len()];
    let mut sizes = Vec::new();
    let mut stack: Vec<(usize, [usize; 3])> = Vec::new();
    let [n0, n1, n2] = grid.dims;
    let (s0, s1) = (n1 * n2, n2);
    for start in 0..mask.len() {
        if !mask[start] || id[start] != NO_SEED {
            continue;
        }
        let component = sizes.len() as u32;
        let mut size = 0usize;
        id[start] = component;
        stack.push((start, grid.coords(start)));
        while let Some((index, [i, j, k])) = stack.pop() {
            size += 1;
            let mut visit = |n: usize, c: [usize; 3]| {
                if mask[n] && id[n] == NO_SEED {
                    id[n] = component;
                    stack.push((n, c));
                }
            };
            if i > 0 {
                visit(index - s0, [i - 1, j, k]);
            }
            if i + 1 < n0 {
                visit(index + s0, [i + 1, j, k]);
            }
            if j > 0 {
                visit(index - s1, [i, j - 1, k]);
            }
            if j + 1 < n1 {
                visit(index + s1, [i, j + 1, k]);
            }
            if k > 0 {
                visit(index - 1, [i, j, k - 1]);
            }
            if k + 1 < n2 {
                visit(index + 1, [i, j, k + 1]);
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

/// Removes `mask` clusters smaller than `min_cluster` voxels and fills holes of
/// `within \ mask` smaller than `min_hole`, so that neither specks nor noise-punched holes
/// count.
pub(crate) fn clean_clusters(
    grid: &BoxGrid,
    mask: &mut [bool],
    within: &[bool],
    min_cluster: usize,
    min_hole: usize,
) {
    drop_small_components(grid, mask, min_cluster);
    if min_hole <= 1 {
        return;
    }
    let holes: Vec<bool> = within
        .iter()
        .zip(mask.iter())
        .map(|(&w, &m)| w && !m)
        .collect();
    let (id, sizes) = components(grid, &holes);
    for (value, component) in mask.iter_mut().zip(&id) {
        if *component != NO_SEED && sizes[*component as usize] < min_hole {
            *value = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Euclidean distance (mm) between two local flat indices.
    fn distance_mm(grid: &BoxGrid, spacing_mm: [f64; 3], a: usize, b: usize) -> f64 {
        let (pa, pb) = (grid.coords(a), grid.coords(b));
        (0..3)
            .map(|ax| {
                let d = (pa[ax] as f64 - pb[ax] as f64) * spacing_mm[ax];
                d * d
            })
            .sum::<f64>()
            .sqrt()
    }

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
    fn erosion_matches_the_box_definition() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [7, 11, 13],
        };
        let mask: Vec<bool> = (0..grid.len()).map(|i| (i * 7919) % 11 != 0).collect();
        let radius = [1, 2, 3];
        let eroded = erode(&grid, &mask, radius);
        for (index, &got) in eroded.iter().enumerate() {
            let c = grid.coords(index).map(|v| v as i64);
            let r = radius.map(|v| v as i64);
            let mut want = true;
            for di in -r[0]..=r[0] {
                for dj in -r[1]..=r[1] {
                    for dk in -r[2]..=r[2] {
                        let n = [c[0] + di, c[1] + dj, c[2] + dk];
                        let inside = (0..3).all(|a| n[a] >= 0 && n[a] < grid.dims[a] as i64);
                        want &=
                            inside && mask[grid.index(n[0] as usize, n[1] as usize, n[2] as usize)];
                    }
                }
            }
            assert_eq!(got, want, "voxel {index}");
        }
    }

    #[test]
    fn nearest_seed_matches_brute_force() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [6, 9, 11],
        };
        let spacing = [3.0, 0.7, 0.9];
        let seeds: Vec<bool> = (0..grid.len()).map(|i| i % 97 == 5 || i == 300).collect();
        let nearest = nearest_seed(&grid, spacing, &seeds);
        for (index, &near) in nearest.iter().enumerate() {
            let best = (0..grid.len())
                .filter(|&s| seeds[s])
                .map(|s| distance_mm(&grid, spacing, index, s))
                .fold(f64::INFINITY, f64::min);
            let got = distance_mm(&grid, spacing, index, near as usize);
            assert!((got - best).abs() < 1e-9, "voxel {index}: {got} vs {best}");
        }
    }

    #[test]
    fn windowed_nearest_seed_agrees_with_the_exact_transform() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [7, 15, 13],
        };
        let spacing = [3.5, 0.7, 0.9];
        let body = cube(&grid, 1, 6);
        let interior = erode(&grid, &body, [1, 2, 2]);
        let border: Vec<bool> = body.iter().zip(&interior).map(|(&b, &i)| b && !i).collect();
        let exact = nearest_seed(&grid, spacing, &interior);
        let windowed = nearest_seed_within(&grid, spacing, &interior, &border, [3, 5, 5]);
        for index in (0..grid.len()).filter(|&i| border[i]) {
            let d_exact = distance_mm(&grid, spacing, index, exact[index] as usize);
            let d_window = distance_mm(&grid, spacing, index, windowed[index] as usize);
            assert!((d_exact - d_window).abs() < 1e-9);
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
        clean_clusters(&grid, &mut mask, &within, 3, 3);
        assert!(mask[hole]);
        assert!(!mask[speck]);
    }
}
