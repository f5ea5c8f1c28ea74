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
/// outside the box counts as outside the mask. Separable: along rows a voxel survives
/// when its run of mask voxels reaches `radius` beyond it on both sides; across rows and
/// slices whole rows are ANDed, which the compiler vectorises.
pub(crate) fn erode(grid: &BoxGrid, mask: &[bool], radius: [usize; 3]) -> Vec<bool> {
    let [_, n1, n2] = grid.dims;
    let mut current = mask.to_vec();
    if n2 == 0 {
        return current;
    }
    if radius[2] > 0 {
        for row in current.chunks_mut(n2) {
            erode_row(row, radius[2]);
        }
    }
    if radius[1] > 0 {
        current = erode_across(&current, n2, n1, radius[1]);
    }
    if radius[0] > 0 {
        current = erode_across(&current, n1 * n2, grid.dims[0], radius[0]);
    }
    current
}

/// Erodes one row in place: of every run of set voxels, the `r` at each end are cleared.
fn erode_row(row: &mut [bool], r: usize) {
    let mut k = 0;
    while k < row.len() {
        if !row[k] {
            k += 1;
            continue;
        }
        let start = k;
        while k < row.len() && row[k] {
            k += 1;
        }
        let keep = (start + r)..k.saturating_sub(r);
        for (pos, value) in row[start..k].iter_mut().enumerate() {
            *value = keep.contains(&(start + pos));
        }
    }
}

/// Erosion across `count` consecutive units of `unit` voxels (rows of a slice, or slices
/// of the box): unit `u` keeps a voxel when units `u − r ..= u + r` all hold it.
fn erode_across(current: &[bool], unit: usize, count: usize, r: usize) -> Vec<bool> {
    let mut next = vec![false; current.len()];
    let block = unit * count;
    for (src, dst) in current.chunks(block).zip(next.chunks_mut(block)) {
        for u in r..count.saturating_sub(r) {
            let out = &mut dst[u * unit..(u + 1) * unit];
            out.copy_from_slice(&src[(u - r) * unit..(u - r + 1) * unit]);
            for d in (u - r + 1)..=(u + r) {
                for (o, &v) in out.iter_mut().zip(&src[d * unit..(d + 1) * unit]) {
                    *o &= v;
                }
            }
        }
    }
    next
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
/// body sits next to its eroded interior: every voxel first learns the nearest seed column
/// of its own row, then a target visits the rows of its window nearest first and stops as
/// soon as no row left can hold a nearer seed.
pub(crate) fn nearest_seed_within(
    grid: &BoxGrid,
    spacing_mm: [f64; 3],
    seeds: &[bool],
    targets: &[bool],
    reach: [usize; 3],
) -> Vec<u32> {
    let [n0, n1, n2] = grid.dims;
    let mut nearest = vec![NO_SEED; grid.len()];
    if grid.len() == 0 {
        return nearest;
    }
    let row_has_seed: Vec<bool> = seeds.chunks(n2).map(|r| r.contains(&true)).collect();
    let column = nearest_seed_column(seeds, n2, &row_has_seed, reach[2]);
    // Rows of the window (slice offset, row offset) by their distance, the least squared
    // distance any seed in them can have.
    let r = reach.map(|v| v as i64);
    let mut rows: Vec<(i64, i64, f64)> = Vec::new();
    for di in -r[0]..=r[0] {
        for dj in -r[1]..=r[1] {
            let d2 = (di as f64 * spacing_mm[0]).powi(2) + (dj as f64 * spacing_mm[1]).powi(2);
            rows.push((di, dj, d2));
        }
    }
    rows.sort_by(|a, b| a.2.total_cmp(&b.2));
    let h2 = spacing_mm[2] * spacing_mm[2];
    let (d0, d1) = (n0 as i64, n1 as i64);
    // The rows of the window that hold a seed, shared by every target of one row.
    let mut candidates: Vec<(usize, f64)> = Vec::with_capacity(rows.len());
    for (row, (out, wanted)) in nearest.chunks_mut(n2).zip(targets.chunks(n2)).enumerate() {
        if !wanted.contains(&true) {
            continue;
        }
        let (i, j) = ((row / n1) as i64, (row % n1) as i64);
        candidates.clear();
        for &(di, dj, floor) in &rows {
            let (t, u) = (i + di, j + dj);
            if t >= 0 && t < d0 && u >= 0 && u < d1 && row_has_seed[(t * d1 + u) as usize] {
                candidates.push(((t * d1 + u) as usize * n2, floor));
            }
        }
        for (k, (found, &wanted)) in out.iter_mut().zip(wanted).enumerate() {
            if !wanted {
                continue;
            }
            let mut best = f64::INFINITY;
            for &(other, floor) in &candidates {
                if floor >= best {
                    break;
                }
                let dk = column[other + k];
                if dk == NO_COLUMN {
                    continue;
                }
                let d2 = floor + f64::from(dk * dk) * h2;
                if d2 < best {
                    best = d2;
                    *found = (other as i64 + k as i64 + i64::from(dk)) as u32;
                }
            }
        }
    }
    nearest
}

/// Marker for "no seed within reach in this row".
const NO_COLUMN: i32 = i32::MAX;

/// For every voxel of a row that holds a seed, the signed column offset of the nearest
/// seed of that row within `reach` columns (`NO_COLUMN` when none; rows without a seed are
/// left at `NO_COLUMN`): one left-to-right and one right-to-left sweep per row.
fn nearest_seed_column(seeds: &[bool], n2: usize, row_has_seed: &[bool], reach: usize) -> Vec<i32> {
    let mut column = vec![NO_COLUMN; seeds.len()];
    let reach = reach as i32;
    for ((cells, out), _) in seeds
        .chunks(n2)
        .zip(column.chunks_mut(n2))
        .zip(row_has_seed)
        .filter(|(_, has)| **has)
    {
        // Distance (columns) to the last seed on the left, then to the next on the right.
        let mut since = i32::MAX;
        for (&s, o) in cells.iter().zip(out.iter_mut()) {
            since = if s { 0 } else { since.saturating_add(1) };
            if since <= reach {
                *o = -since;
            }
        }
        let mut until = i32::MAX;
        for (&s, o) in cells.iter().zip(out.iter_mut()).rev() {
            until = if s { 0 } else { until.saturating_add(1) };
            if until <= reach && (*o == NO_COLUMN || until < -*o) {
                *o = until;
            }
        }
    }
    column
}

/// 6-connected components of `mask`: a component id per voxel (`NO_SEED` outside) and the
/// size of each component. Ids are numbered in the order of each component's first voxel.
/// Labels runs of set voxels along rows and joins the runs that touch across rows and
/// slices (union–find), so the cost is one pass over the box plus one per run.
pub(crate) fn components(grid: &BoxGrid, mask: &[bool]) -> (Vec<u32>, Vec<usize>) {
    let [n0, n1, n2] = grid.dims;
    let mut id = vec![NO_SEED; mask.len()];
    if mask.is_empty() || n2 == 0 {
        return (id, Vec::new());
    }
    // Runs as (first, end) flat indices, and where each row's runs begin.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut row_runs = Vec::with_capacity(n0 * n1 + 1);
    for (row, cells) in mask.chunks(n2).enumerate() {
        row_runs.push(runs.len());
        let mut k = 0;
        while k < n2 {
            if cells[k] {
                let start = k;
                while k < n2 && cells[k] {
                    k += 1;
                }
                runs.push((row * n2 + start, row * n2 + k));
            }
            k += 1;
        }
    }
    row_runs.push(runs.len());
    let mut parent: Vec<usize> = (0..runs.len()).collect();
    // Rows are numbered i · n1 + j: the row above is `row − 1`, the one a slice back `row − n1`.
    for row in 0..n0 * n1 {
        let (i, j) = (row / n1, row % n1);
        let neighbours = [(j > 0).then(|| row - 1), (i > 0).then(|| row - n1)];
        for other in neighbours.into_iter().flatten() {
            join_touching_runs(
                &runs,
                (row_runs[row], row_runs[row + 1]),
                (row_runs[other], row_runs[other + 1]),
                row * n2,
                other * n2,
                &mut parent,
            );
        }
    }
    let mut component_of_root = vec![NO_SEED; runs.len()];
    let mut sizes = Vec::new();
    for (run, &(first, end)) in runs.iter().enumerate() {
        let root = find_root(&mut parent, run);
        if component_of_root[root] == NO_SEED {
            component_of_root[root] = sizes.len() as u32;
            sizes.push(0);
        }
        let component = component_of_root[root];
        sizes[component as usize] += end - first;
        id[first..end].fill(component);
    }
    (id, sizes)
}

/// Joins every run of `a` (runs `a.0..a.1`, row starting at flat `a_base`) to the runs of
/// `b` it overlaps column-wise: a two-pointer sweep, both lists being sorted.
fn join_touching_runs(
    runs: &[(usize, usize)],
    a: (usize, usize),
    b: (usize, usize),
    a_base: usize,
    b_base: usize,
    parent: &mut [usize],
) {
    let (mut x, mut y) = (a.0, b.0);
    while x < a.1 && y < b.1 {
        let (xs, xe) = (runs[x].0 - a_base, runs[x].1 - a_base);
        let (ys, ye) = (runs[y].0 - b_base, runs[y].1 - b_base);
        if xs < ye && ys < xe {
            let (rx, ry) = (find_root(parent, x), find_root(parent, y));
            if rx != ry {
                parent[rx.max(ry)] = rx.min(ry);
            }
        }
        if xe <= ye {
            x += 1;
        } else {
            y += 1;
        }
    }
}

/// Root of `node` in the union–find forest, halving the path on the way.
fn find_root(parent: &mut [usize], mut node: usize) -> usize {
    while parent[node] != node {
        parent[node] = parent[parent[node]];
        node = parent[node];
    }
    node
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
    fn windowed_nearest_seed_matches_brute_force_in_the_window() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [5, 13, 17],
        };
        let spacing = [3.0, 0.7, 0.9];
        let reach = [1usize, 3, 4];
        let seeds: Vec<bool> = (0..grid.len()).map(|i| (i * 7919) % 23 == 3).collect();
        let targets: Vec<bool> = seeds.iter().map(|&s| !s).collect();
        let windowed = nearest_seed_within(&grid, spacing, &seeds, &targets, reach);
        for index in (0..grid.len()).filter(|&i| targets[i]) {
            let c = grid.coords(index);
            let in_window = |s: usize| {
                let p = grid.coords(s);
                (0..3).all(|a| p[a].abs_diff(c[a]) <= reach[a])
            };
            let best = (0..grid.len())
                .filter(|&s| seeds[s] && in_window(s))
                .map(|s| distance_mm(&grid, spacing, index, s))
                .fold(f64::INFINITY, f64::min);
            let got = windowed[index];
            if best.is_infinite() {
                assert_eq!(got, NO_SEED, "voxel {index}");
            } else {
                assert!(seeds[got as usize] && in_window(got as usize));
                let d = distance_mm(&grid, spacing, index, got as usize);
                assert!((d - best).abs() < 1e-9, "voxel {index}: {d} vs {best}");
            }
        }
    }

    /// Flood-fill reference of `components`: same ids (order of first voxel) and sizes.
    fn components_by_flood_fill(grid: &BoxGrid, mask: &[bool]) -> (Vec<u32>, Vec<usize>) {
        let mut id = vec![NO_SEED; mask.len()];
        let mut sizes = Vec::new();
        for start in 0..mask.len() {
            if !mask[start] || id[start] != NO_SEED {
                continue;
            }
            let component = sizes.len() as u32;
            let mut stack = vec![start];
            id[start] = component;
            let mut size = 0;
            while let Some(index) = stack.pop() {
                size += 1;
                let c = grid.coords(index);
                for axis in 0..3 {
                    for step in [-1i64, 1] {
                        let mut n = c.map(|v| v as i64);
                        n[axis] += step;
                        if (0..3).any(|a| n[a] < 0 || n[a] >= grid.dims[a] as i64) {
                            continue;
                        }
                        let next = grid.index(n[0] as usize, n[1] as usize, n[2] as usize);
                        if mask[next] && id[next] == NO_SEED {
                            id[next] = component;
                            stack.push(next);
                        }
                    }
                }
            }
            sizes.push(size);
        }
        (id, sizes)
    }

    #[test]
    fn components_match_a_flood_fill() {
        let grid = BoxGrid {
            lo: [0; 3],
            dims: [6, 11, 14],
        };
        for density in [3usize, 5, 8] {
            let mask: Vec<bool> = (0..grid.len())
                .map(|i| (i * 7919 + i / 7) % 10 < density)
                .collect();
            assert_eq!(
                components(&grid, &mask),
                components_by_flood_fill(&grid, &mask)
            );
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
