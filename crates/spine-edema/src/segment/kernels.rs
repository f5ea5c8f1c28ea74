//! 2D image kernels on row-major `f32` planes: Gaussian smoothing, gradient magnitude,
//! Euclidean distance transform and connected components.
//!
//! Each fast kernel is written as whole-row loops over `chunks_exact`-free slices that
//! the compiler auto-vectorises (the vertical passes add one whole row into another), and
//! has a plain per-pixel reference (`*_reference`) that the property tests compare it to.
//! Parallelism lives one level up (rayon over sagittal slices), never over pixels.

/// A row-major 2D plane: `data[row * width + col]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane<T> {
    /// Number of columns.
    pub width: usize,
    /// Number of rows.
    pub height: usize,
    /// Pixel values, row-major.
    pub data: Vec<T>,
}

impl<T: Copy + Default> Plane<T> {
    /// A plane filled with `T::default()`.
    pub fn new(width: usize, height: usize) -> Self {
        Plane {
            width,
            height,
            data: vec![T::default(); width * height],
        }
    }

    /// The pixel at (`row`, `col`).
    #[inline]
    pub fn at(&self, row: usize, col: usize) -> T {
        self.data[row * self.width + col]
    }

    /// Sets the pixel at (`row`, `col`).
    #[inline]
    pub fn set(&mut self, row: usize, col: usize, v: T) {
        self.data[row * self.width + col] = v;
    }
}

/// Normalised 1D Gaussian taps for `sigma` pixels, truncated at 3 sigma.
fn gaussian_taps(sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as usize;
    let mut taps: Vec<f32> = (0..=2 * radius)
        .map(|i| {
            let d = i as f32 - radius as f32;
            (-0.5 * d * d / (sigma * sigma)).exp()
        })
        .collect();
    let sum: f32 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    taps
}

/// Gaussian smoothing with clamped (replicated) borders.
pub fn gaussian_blur(img: &Plane<f32>, sigma: f32) -> Plane<f32> {
    if sigma <= 0.0 || img.data.is_empty() {
        return img.clone();
    }
    let taps = gaussian_taps(sigma);
    let radius = taps.len() / 2;
    let (w, h) = (img.width, img.height);
    // Vertical pass: each output row is a weighted sum of whole input rows, which the
    // compiler vectorises across columns.
    let mut tmp = vec![0f32; w * h];
    for r in 0..h {
        let out = &mut tmp[r * w..(r + 1) * w];
        for (t, &k) in taps.iter().enumerate() {
            let src_row = (r + t).saturating_sub(radius).min(h - 1);
            let src = &img.data[src_row * w..(src_row + 1) * w];
            for (o, &s) in out.iter_mut().zip(src) {
                *o += k * s;
            }
        }
    }
    // Horizontal pass on a padded copy of each row so the inner loop has no clamping.
    let mut out = vec![0f32; w * h];
    let mut padded = vec![0f32; w + 2 * radius];
    for r in 0..h {
        let row = &tmp[r * w..(r + 1) * w];
        padded[..radius].fill(row[0]);
        padded[radius..radius + w].copy_from_slice(row);
        padded[radius + w..].fill(row[w - 1]);
        let dst = &mut out[r * w..(r + 1) * w];
        for (t, &k) in taps.iter().enumerate() {
            let src = &padded[t..t + w];
            for (o, &s) in dst.iter_mut().zip(src) {
                *o += k * s;
            }
        }
    }
    Plane {
        width: w,
        height: h,
        data: out,
    }
}

/// Per-pixel reference for [`gaussian_blur`].
pub fn gaussian_blur_reference(img: &Plane<f32>, sigma: f32) -> Plane<f32> {
    if sigma <= 0.0 || img.data.is_empty() {
        return img.clone();
    }
    let taps = gaussian_taps(sigma);
    let radius = taps.len() as i64 / 2;
    let (w, h) = (img.width as i64, img.height as i64);
    let mut out = Plane::new(img.width, img.height);
    for r in 0..h {
        for c in 0..w {
            let mut acc = 0f32;
            for (ti, &kr) in taps.iter().enumerate() {
                let rr = (r + ti as i64 - radius).clamp(0, h - 1);
                for (tj, &kc) in taps.iter().enumerate() {
                    let cc = (c + tj as i64 - radius).clamp(0, w - 1);
                    acc += kr * kc * img.data[(rr * w + cc) as usize];
                }
            }
            out.data[(r * w + c) as usize] = acc;
        }
    }
    out
}

/// Gradient magnitude by central differences (one-sided at the border), per pixel unit.
pub fn gradient_magnitude(img: &Plane<f32>) -> Plane<f32> {
    let (w, h) = (img.width, img.height);
    let mut out = Plane::new(w, h);
    if w < 2 || h < 2 {
        return out;
    }
    for r in 0..h {
        let up = &img.data[r.saturating_sub(1) * w..][..w];
        let down = &img.data[(r + 1).min(h - 1) * w..][..w];
        let row = &img.data[r * w..][..w];
        let dr_scale = if r == 0 || r == h - 1 { 1.0 } else { 0.5 };
        let dst = &mut out.data[r * w..][..w];
        // Interior columns: vectorisable zip over shifted row views.
        for (((o, &u), &d), (&left, &right)) in dst[1..w - 1]
            .iter_mut()
            .zip(&up[1..w - 1])
            .zip(&down[1..w - 1])
            .zip(row[..w - 2].iter().zip(&row[2..]))
        {
            let gy = (d - u) * dr_scale;
            let gx = (right - left) * 0.5;
            *o = (gx * gx + gy * gy).sqrt();
        }
        for c in [0, w - 1] {
            let gy = (down[c] - up[c]) * dr_scale;
            let gx = row[(c + 1).min(w - 1)] - row[c.saturating_sub(1)];
            dst[c] = (gx * gx + gy * gy).sqrt();
        }
    }
    out
}

/// Per-pixel reference for [`gradient_magnitude`].
pub fn gradient_magnitude_reference(img: &Plane<f32>) -> Plane<f32> {
    let (w, h) = (img.width, img.height);
    let mut out = Plane::new(w, h);
    if w < 2 || h < 2 {
        return out;
    }
    for r in 0..h {
        for c in 0..w {
            let (r0, r1) = (r.saturating_sub(1), (r + 1).min(h - 1));
            let (c0, c1) = (c.saturating_sub(1), (c + 1).min(w - 1));
            let gy = (img.at(r1, c) - img.at(r0, c)) / (r1 - r0) as f32;
            let gx = (img.at(r, c1) - img.at(r, c0)) / (c1 - c0) as f32;
            out.set(r, c, (gx * gx + gy * gy).sqrt());
        }
    }
    out
}

/// Grey-level dilation (`max`, `is_max = true`) or erosion (`min`) over a square window of
/// half-size `radius`, clamped at the border. Separable: a vertical pass of whole-row
/// `max`/`min` (vectorised across columns), then a horizontal pass.
pub fn rank_filter(img: &Plane<f32>, radius: usize, is_max: bool) -> Plane<f32> {
    let (w, h) = (img.width, img.height);
    if radius == 0 || img.data.is_empty() {
        return img.clone();
    }
    let pick = |a: f32, b: f32| if is_max { a.max(b) } else { a.min(b) };
    let mut tmp = img.data.clone();
    for r in 0..h {
        let lo = r.saturating_sub(radius);
        let hi = (r + radius).min(h - 1);
        let out = &mut tmp[r * w..(r + 1) * w];
        for src_row in lo..=hi {
            let src = &img.data[src_row * w..(src_row + 1) * w];
            for (o, &s) in out.iter_mut().zip(src) {
                *o = pick(*o, s);
            }
        }
    }
    let mut out = tmp.clone();
    let mut padded = vec![0f32; w + 2 * radius];
    for r in 0..h {
        let row = &tmp[r * w..(r + 1) * w];
        padded[..radius].fill(row[0]);
        padded[radius..radius + w].copy_from_slice(row);
        padded[radius + w..].fill(row[w - 1]);
        let dst = &mut out[r * w..(r + 1) * w];
        for t in 0..=2 * radius {
            for (o, &s) in dst.iter_mut().zip(&padded[t..t + w]) {
                *o = pick(*o, s);
            }
        }
    }
    Plane {
        width: w,
        height: h,
        data: out,
    }
}

/// Per-pixel reference for [`rank_filter`].
pub fn rank_filter_reference(img: &Plane<f32>, radius: usize, is_max: bool) -> Plane<f32> {
    let (w, h) = (img.width, img.height);
    let mut out = img.clone();
    for r in 0..h {
        for c in 0..w {
            let mut acc = img.at(r, c);
            for rr in r.saturating_sub(radius)..=(r + radius).min(h.saturating_sub(1)) {
                for cc in c.saturating_sub(radius)..=(c + radius).min(w.saturating_sub(1)) {
                    let v = img.at(rr, cc);
                    acc = if is_max { acc.max(v) } else { acc.min(v) };
                }
            }
            out.set(r, c, acc);
        }
    }
    out
}

/// Squared Euclidean distance (in pixels², with per-axis pixel sizes `row_mm`, `col_mm`
/// folded in, so the result is mm²) from each pixel to the nearest pixel where `mask` is
/// false. Pixels outside the plane count as false, so distances stop at the border.
/// Felzenszwalb & Huttenlocher's separable lower-envelope algorithm (Theory Comput. 2012).
pub fn distance_to_background_sq(mask: &Plane<bool>, row_mm: f32, col_mm: f32) -> Plane<f32> {
    let (w, h) = (mask.width, mask.height);
    const INF: f32 = 1e20;
    let mut f = Plane::new(w, h);
    // Columns first (distance along rows axis), with out-of-plane as background.
    let mut line = Vec::new();
    let mut out_line = Vec::new();
    for c in 0..w {
        line.clear();
        line.push(0.0);
        line.extend((0..h).map(|r| if mask.at(r, c) { INF } else { 0.0 }));
        line.push(0.0);
        edt_1d(&line, row_mm, &mut out_line);
        for r in 0..h {
            f.set(r, c, out_line[r + 1]);
        }
    }
    let mut out = Plane::new(w, h);
    for r in 0..h {
        line.clear();
        line.push(0.0);
        line.extend_from_slice(&f.data[r * w..(r + 1) * w]);
        line.push(0.0);
        edt_1d(&line, col_mm, &mut out_line);
        out.data[r * w..(r + 1) * w].copy_from_slice(&out_line[1..w + 1]);
    }
    out
}

/// 1D squared distance transform of sampled function `f` with sample spacing `step`.
fn edt_1d(f: &[f32], step: f32, out: &mut Vec<f32>) {
    let n = f.len();
    out.clear();
    out.resize(n, 0.0);
    let mut v = vec![0usize; n];
    let mut z = vec![0f32; n + 1];
    let s2 = step * step;
    let mut k = 0usize;
    v[0] = 0;
    z[0] = f32::NEG_INFINITY;
    z[1] = f32::INFINITY;
    for q in 1..n {
        loop {
            let p = v[k];
            let s = ((f[q] + s2 * (q * q) as f32) - (f[p] + s2 * (p * p) as f32))
                / (2.0 * s2 * (q as f32 - p as f32));
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0 and the new parabola dominates from -inf.
                v[0] = q;
                z[1] = f32::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f32::INFINITY;
            break;
        }
    }
    k = 0;
    for (q, o) in out.iter_mut().enumerate() {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let d = q as f32 - v[k] as f32;
        *o = s2 * d * d + f[v[k]];
    }
}

/// Brute-force reference for [`distance_to_background_sq`].
pub fn distance_to_background_sq_reference(
    mask: &Plane<bool>,
    row_mm: f32,
    col_mm: f32,
) -> Plane<f32> {
    let (w, h) = (mask.width as i64, mask.height as i64);
    let mut out = Plane::new(mask.width, mask.height);
    for r in 0..h {
        for c in 0..w {
            if !mask.at(r as usize, c as usize) {
                continue;
            }
            // Border: nearest outside pixel is one step beyond the edge.
            let mut best = [r + 1, h - r, c + 1, w - c]
                .iter()
                .zip([row_mm, row_mm, col_mm, col_mm])
                .map(|(&d, s)| (d as f32 * s).powi(2))
                .fold(f32::INFINITY, f32::min);
            for rr in 0..h {
                for cc in 0..w {
                    if !mask.at(rr as usize, cc as usize) {
                        let d =
                            ((rr - r) as f32 * row_mm).powi(2) + ((cc - c) as f32 * col_mm).powi(2);
                        best = best.min(d);
                    }
                }
            }
            out.set(r as usize, c as usize, best);
        }
    }
    out
}

/// 4-connected components of `mask`. Returns the label plane (0 = background, 1..=n)
/// and `n`. Labels are numbered in raster order of each component's first pixel.
pub fn connected_components(mask: &Plane<bool>) -> (Plane<u32>, u32) {
    let (w, h) = (mask.width, mask.height);
    let mut parent: Vec<u32> = Vec::new();
    let mut labels = Plane::<u32>::new(w, h);
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    // First pass: provisional labels with union-find on the up and left neighbours.
    parent.push(0);
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            if !mask.data[i] {
                continue;
            }
            let up = if r > 0 { labels.data[i - w] } else { 0 };
            let left = if c > 0 { labels.data[i - 1] } else { 0 };
            labels.data[i] = match (up, left) {
                (0, 0) => {
                    let l = parent.len() as u32;
                    parent.push(l);
                    l
                }
                (a, 0) | (0, a) => a,
                (a, b) => {
                    let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
                    if ra != rb {
                        let (lo, hi) = (ra.min(rb), ra.max(rb));
                        parent[hi as usize] = lo;
                    }
                    a.min(b)
                }
            };
        }
    }
    // Second pass: compact root labels in raster order of first appearance.
    let mut compact = vec![0u32; parent.len()];
    let mut n = 0u32;
    for l in labels.data.iter_mut() {
        if *l == 0 {
            continue;
        }
        let root = find(&mut parent, *l) as usize;
        if compact[root] == 0 {
            n += 1;
            compact[root] = n;
        }
        *l = compact[root];
    }
    (labels, n)
}

/// Flood-fill reference for [`connected_components`].
pub fn connected_components_reference(mask: &Plane<bool>) -> (Plane<u32>, u32) {
    let (w, h) = (mask.width, mask.height);
    let mut labels = Plane::<u32>::new(w, h);
    let mut n = 0;
    for start in 0..w * h {
        if !mask.data[start] || labels.data[start] != 0 {
            continue;
        }
        n += 1;
        let mut stack = vec![start];
        labels.data[start] = n;
        while let Some(i) = stack.pop() {
            let (r, c) = (i / w, i % w);
            let mut push = |j: usize| {
                if mask.data[j] && labels.data[j] == 0 {
                    labels.data[j] = n;
                    stack.push(j);
                }
            };
            if r > 0 {
                push(i - w);
            }
            if r + 1 < h {
                push(i + w);
            }
            if c > 0 {
                push(i - 1);
            }
            if c + 1 < w {
                push(i + 1);
            }
        }
    }
    (labels, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plane_strategy() -> impl Strategy<Value = Plane<f32>> {
        (1usize..24, 1usize..24).prop_flat_map(|(w, h)| {
            proptest::collection::vec(-100.0f32..100.0, w * h).prop_map(move |data| Plane {
                width: w,
                height: h,
                data,
            })
        })
    }

    fn mask_strategy() -> impl Strategy<Value = Plane<bool>> {
        (1usize..20, 1usize..20).prop_flat_map(|(w, h)| {
            proptest::collection::vec(proptest::bool::weighted(0.6), w * h).prop_map(move |data| {
                Plane {
                    width: w,
                    height: h,
                    data,
                }
            })
        })
    }

    proptest! {
        #[test]
        fn blur_matches_reference(img in plane_strategy(), sigma in 0.3f32..3.0) {
            let fast = gaussian_blur(&img, sigma);
            let slow = gaussian_blur_reference(&img, sigma);
            for (a, b) in fast.data.iter().zip(&slow.data) {
                prop_assert!((a - b).abs() < 1e-3, "{a} vs {b}");
            }
        }

        #[test]
        fn rank_filter_matches_reference(img in plane_strategy(), radius in 0usize..4, is_max: bool) {
            prop_assert_eq!(rank_filter(&img, radius, is_max), rank_filter_reference(&img, radius, is_max));
        }

        #[test]
        fn gradient_matches_reference(img in plane_strategy()) {
            let fast = gradient_magnitude(&img);
            let slow = gradient_magnitude_reference(&img);
            for (a, b) in fast.data.iter().zip(&slow.data) {
                prop_assert!((a - b).abs() < 1e-3, "{a} vs {b}");
            }
        }

        #[test]
        fn distance_matches_reference(mask in mask_strategy(), rmm in 0.5f32..2.0, cmm in 0.5f32..2.0) {
            let fast = distance_to_background_sq(&mask, rmm, cmm);
            let slow = distance_to_background_sq_reference(&mask, rmm, cmm);
            for (a, b) in fast.data.iter().zip(&slow.data) {
                prop_assert!((a - b).abs() < 1e-2 * (1.0 + b), "{a} vs {b}");
            }
        }

        #[test]
        fn components_match_reference(mask in mask_strategy()) {
            let (fast, nf) = connected_components(&mask);
            let (slow, ns) = connected_components_reference(&mask);
            prop_assert_eq!(nf, ns);
            // Same partition: a bijection between labels.
            let mut map = std::collections::HashMap::new();
            for (&a, &b) in fast.data.iter().zip(&slow.data) {
                prop_assert_eq!(a == 0, b == 0);
                if a != 0 {
                    let e = map.entry(a).or_insert(b);
                    prop_assert_eq!(*e, b);
                }
            }
        }
    }
}
