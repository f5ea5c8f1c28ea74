//! Body candidates on one sagittal working plane: large, internally flat regions
//! enclosed by edges or thin dark lines (cortex), whatever the sequence.
//!
//! Cortical bone has no MR signal on any sequence, so the endplates and walls are thin
//! dark lines, and the marrow inside is smooth. A pixel is a *boundary* pixel when the
//! local gradient is strong or when it lies in a thin dark line (black top-hat); the
//! remaining *flat* pixels are opened by a disc so that leaks through gaps in the
//! cortex narrower than the disc are cut. Every surviving core is a candidate region.

use crate::segment::kernels::{
    Plane, connected_components, distance_to_background_sq, gaussian_blur, gradient_magnitude,
    rank_filter,
};
use std::collections::VecDeque;

/// Thresholds of the flat-region detector, in units of the plane's robust intensity
/// scale (its 95th percentile of tissue).
#[derive(Clone, Copy, Debug)]
pub struct DetectorParams {
    /// Gradient (scale per mm) above which a pixel is an edge.
    pub gradient_per_mm: f32,
    /// Black top-hat depth (scale) above which a pixel lies in a thin dark line.
    pub dark_line_depth: f32,
    /// Intensity (scale) below which a pixel is air / signal void.
    pub void_level: f32,
    /// Radius (mm) of the opening that separates regions joined through narrow gaps.
    pub core_radius_mm: f32,
}

impl Default for DetectorParams {
    fn default() -> Self {
        DetectorParams {
            gradient_per_mm: 0.045,
            dark_line_depth: 0.06,
            void_level: 0.06,
            // Lumbar and thoracic bodies are 18–35 mm high; discs 4–12 mm (Zhou et al.,
            // Eur Spine J 2000). A 5 mm radius keeps bodies and drops most disc cores.
            core_radius_mm: 5.0,
        }
    }
}

/// One flat region of a working plane.
#[derive(Clone, Debug)]
pub struct Region {
    /// Working-plane pixel indices (`row * width + col`).
    pub pixels: Vec<u32>,
    /// Area in mm².
    pub area_mm2: f64,
    /// Centroid (row, col) in working pixels.
    pub centroid: [f64; 2],
    /// Mean intensity over the region (original, unsmoothed plane).
    pub mean: f64,
    /// Coefficient of variation of the intensity inside.
    pub cv: f64,
    /// Row range (inclusive).
    pub rows: [usize; 2],
    /// Column range (inclusive).
    pub cols: [usize; 2],
    /// Largest inscribed radius (mm).
    pub max_radius_mm: f64,
}

/// The detector's intermediate planes, kept for refinement and for debugging images.
#[derive(Clone, Debug)]
pub struct PlaneAnalysis {
    /// Flat (non-boundary) mask.
    pub flat: Plane<bool>,
    /// Region label per pixel (0 = none), index into `regions` + 1.
    pub region_of: Plane<u32>,
    /// Candidate regions.
    pub regions: Vec<Region>,
    /// Robust intensity scale used for the thresholds.
    pub scale: f32,
}

/// Robust intensity scale: 95th percentile of pixels above a tenth of the maximum.
pub fn robust_scale(img: &Plane<f32>) -> f32 {
    let max = img.data.iter().copied().fold(0f32, f32::max);
    let mut tissue: Vec<f32> = img
        .data
        .iter()
        .copied()
        .filter(|&v| v > 0.1 * max)
        .collect();
    if tissue.is_empty() {
        return max.max(1e-6);
    }
    let k = (tissue.len() as f64 * 0.95) as usize;
    let k = k.min(tissue.len() - 1);
    let (_, v, _) = tissue.select_nth_unstable_by(k, f32::total_cmp);
    v.max(1e-6)
}

/// Boundary-free ("flat") pixels of one image: weak gradient, not in a thin dark line,
/// not void.
pub fn flat_mask(
    img: &Plane<f32>,
    row_mm: f32,
    col_mm: f32,
    scale: f32,
    params: &DetectorParams,
) -> Plane<bool> {
    let pixel_mm = 0.5 * (row_mm + col_mm);
    let smooth = gaussian_blur(img, (1.0 / pixel_mm).max(0.6));
    let grad = gradient_magnitude(&smooth);
    // Black top-hat: closing minus image; a window of about 4 mm bridges the cortex.
    let radius = ((2.0 / pixel_mm).round() as usize).max(1);
    let closed = rank_filter(&rank_filter(&smooth, radius, true), radius, false);
    let void_thr = params.void_level * scale;
    // On a noisy image (thin slices, 512 matrices, STIR) the noise alone crosses fixed
    // thresholds, speckling every body with false edges. Noise is what most tissue pixels
    // show, so the thresholds never go below a multiple of their median response.
    let tissue = |v: &[f32]| median_where(v, &smooth.data, void_thr);
    let grad_thr =
        (params.gradient_per_mm * scale * pixel_mm).max(NOISE_MARGIN * tissue(&grad.data));
    let hat: Vec<f32> = closed
        .data
        .iter()
        .zip(&smooth.data)
        .map(|(c, s)| c - s)
        .collect();
    let line_thr = (params.dark_line_depth * scale).max(NOISE_MARGIN * tissue(&hat));
    Plane {
        width: img.width,
        height: img.height,
        data: smooth
            .data
            .iter()
            .zip(&grad.data)
            .zip(&closed.data)
            .map(|((&s, &g), &c)| g < grad_thr && c - s < line_thr && s > void_thr)
            .collect(),
    }
}

/// Multiple of the median tissue response (gradient, top-hat) below which a response is
/// taken for noise. For Rayleigh-distributed noise gradients the median is 1.18 σ, so 3×
/// the median is 3.5 σ: about one noise pixel in 500 passes for an edge.
const NOISE_MARGIN: f32 = 3.0;

/// Median of `values` over pixels whose `level` is above `min_level` (0 when none).
fn median_where(values: &[f32], level: &[f32], min_level: f32) -> f32 {
    let mut v: Vec<f32> = values
        .iter()
        .zip(level)
        .filter(|&(_, &l)| l > min_level)
        .map(|(&x, _)| x)
        .collect();
    if v.is_empty() {
        return 0.0;
    }
    let k = v.len() / 2;
    *v.select_nth_unstable_by(k, f32::total_cmp).1
}

/// Finds flat regions on co-registered planes of one or more sequences (rows SI,
/// columns AP, pixel sizes in mm). A pixel is flat only when it is flat on every
/// sequence: the cortex is dark on all of them, and a disc that is isointense to marrow
/// on one sequence differs on the other. Region statistics use the first plane.
pub fn analyse_plane(
    images: &[(&Plane<f32>, f32)],
    row_mm: f32,
    col_mm: f32,
    params: &DetectorParams,
) -> PlaneAnalysis {
    let (img, scale) = images[0];
    let mut flat = flat_mask(img, row_mm, col_mm, scale, params);
    for &(other, other_scale) in &images[1..] {
        let f = flat_mask(other, row_mm, col_mm, other_scale, params);
        flat.data
            .iter_mut()
            .zip(&f.data)
            .for_each(|(a, &b)| *a &= b);
    }
    let dist_sq = distance_to_background_sq(&flat, row_mm, col_mm);
    let r2 = params.core_radius_mm * params.core_radius_mm;
    let cores = Plane {
        width: img.width,
        height: img.height,
        data: dist_sq.data.iter().map(|&d| d > r2).collect(),
    };
    let (core_labels, n) = connected_components(&cores);
    let grown = grow_within(&core_labels, &flat, params.core_radius_mm, row_mm, col_mm);
    let region_of = split_large(&grown, n, &dist_sq, params.core_radius_mm, row_mm, col_mm);
    let n = region_of.data.iter().copied().max().unwrap_or(0);
    let regions = region_stats(img, &region_of, n, &dist_sq, row_mm, col_mm);
    PlaneAnalysis {
        flat,
        region_of,
        regions,
        scale,
    }
}

/// Multi-source breadth-first growth of `seeds` into `allowed` up to `radius_mm`
/// (geodesic, 4-connected), which undoes the erosion of the opening without re-joining
/// regions: a pixel goes to the seed that reaches it first.
pub fn grow_within(
    seeds: &Plane<u32>,
    allowed: &Plane<bool>,
    radius_mm: f32,
    row_mm: f32,
    col_mm: f32,
) -> Plane<u32> {
    let (w, h) = (seeds.width, seeds.height);
    let mut out = seeds.clone();
    let mut dist = vec![f32::INFINITY; w * h];
    let mut queue = VecDeque::new();
    for (i, &l) in seeds.data.iter().enumerate() {
        if l != 0 {
            dist[i] = 0.0;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        let (r, c) = (i / w, i % w);
        let d = dist[i];
        let steps = [
            (r > 0).then(|| (i - w, row_mm)),
            (r + 1 < h).then(|| (i + w, row_mm)),
            (c > 0).then(|| (i - 1, col_mm)),
            (c + 1 < w).then(|| (i + 1, col_mm)),
        ];
        for (j, step) in steps.into_iter().flatten() {
            let nd = d + step;
            if allowed.data[j] && out.data[j] == 0 && nd <= radius_mm + 0.5 * step {
                out.data[j] = out.data[i];
                dist[j] = nd;
                queue.push_back(j);
            }
        }
    }
    out
}

/// Largest mid-sagittal body area we expect (mm²): an L5 of 35 × 55 mm (Zhou et al.,
/// Eur Spine J 2000) with margin. Larger flat regions are a body merged with neighbouring
/// tissue through a gap in the cortex, and are split again with a larger opening.
const MAX_BODY_AREA_MM2: f64 = 2600.0;

/// Largest opening radius tried when splitting merged regions (mm): half the height of
/// the smallest bodies we must keep (upper thoracic, ~18 mm).
const MAX_CORE_RADIUS_MM: f32 = 9.0;

/// Re-splits regions larger than a body with progressively larger openings, so a body
/// joined to the abdomen through a thin cortex gap is recovered.
fn split_large(
    labels: &Plane<u32>,
    n: u32,
    dist_sq: &Plane<f32>,
    radius_mm: f32,
    row_mm: f32,
    col_mm: f32,
) -> Plane<u32> {
    let (w, h) = (labels.width, labels.height);
    let pixel_area = f64::from(row_mm * col_mm);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n as usize];
    for (i, &l) in labels.data.iter().enumerate() {
        if l != 0 {
            members[l as usize - 1].push(i as u32);
        }
    }
    let mut work: Vec<(Vec<u32>, f32)> = members.into_iter().map(|m| (m, radius_mm)).collect();
    let mut out = Plane::<u32>::new(w, h);
    let mut next = 0u32;
    while let Some((pixels, r)) = work.pop() {
        if pixels.is_empty() {
            continue;
        }
        let too_big = pixels.len() as f64 * pixel_area > MAX_BODY_AREA_MM2;
        let r_next = r + 2.0;
        if too_big && r_next <= MAX_CORE_RADIUS_MM {
            // Work on the region's bounding box, not the whole plane.
            let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
            for &i in &pixels {
                let (r, c) = (i as usize / w, i as usize % w);
                r0 = r0.min(r);
                r1 = r1.max(r);
                c0 = c0.min(c);
                c1 = c1.max(c);
            }
            let (bw, bh) = (c1 - c0 + 1, r1 - r0 + 1);
            let local = |i: u32| (i as usize / w - r0) * bw + (i as usize % w - c0);
            let mut allowed = Plane::<bool>::new(bw, bh);
            let mut cores = Plane::<bool>::new(bw, bh);
            let r2 = r_next * r_next;
            for &i in &pixels {
                allowed.data[local(i)] = true;
                cores.data[local(i)] = dist_sq.data[i as usize] > r2;
            }
            let (core_labels, k) = connected_components(&cores);
            if k > 0 {
                let grown = grow_within(&core_labels, &allowed, r_next, row_mm, col_mm);
                let mut parts: Vec<Vec<u32>> = vec![Vec::new(); k as usize];
                for &i in &pixels {
                    let l = grown.data[local(i)];
                    if l != 0 {
                        parts[l as usize - 1].push(i);
                    }
                }
                work.extend(parts.into_iter().map(|p| (p, r_next)));
                continue;
            }
        }
        next += 1;
        for &i in &pixels {
            out.data[i as usize] = next;
        }
    }
    out
}

fn region_stats(
    img: &Plane<f32>,
    labels: &Plane<u32>,
    n: u32,
    dist_sq: &Plane<f32>,
    row_mm: f32,
    col_mm: f32,
) -> Vec<Region> {
    let w = img.width;
    let mut regions: Vec<Region> = (0..n)
        .map(|_| Region {
            pixels: Vec::new(),
            area_mm2: 0.0,
            centroid: [0.0; 2],
            mean: 0.0,
            cv: 0.0,
            rows: [usize::MAX, 0],
            cols: [usize::MAX, 0],
            max_radius_mm: 0.0,
        })
        .collect();
    let mut sum_sq = vec![0f64; n as usize];
    for (i, &l) in labels.data.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let reg = &mut regions[l as usize - 1];
        let (r, c) = (i / w, i % w);
        let v = f64::from(img.data[i]);
        reg.pixels.push(i as u32);
        reg.centroid[0] += r as f64;
        reg.centroid[1] += c as f64;
        reg.mean += v;
        sum_sq[l as usize - 1] += v * v;
        reg.rows = [reg.rows[0].min(r), reg.rows[1].max(r)];
        reg.cols = [reg.cols[0].min(c), reg.cols[1].max(c)];
        reg.max_radius_mm = reg.max_radius_mm.max(f64::from(dist_sq.data[i]).sqrt());
    }
    for (reg, ss) in regions.iter_mut().zip(sum_sq) {
        let count = reg.pixels.len().max(1) as f64;
        reg.centroid = [reg.centroid[0] / count, reg.centroid[1] / count];
        reg.mean /= count;
        let var = (ss / count - reg.mean * reg.mean).max(0.0);
        reg.cv = var.sqrt() / reg.mean.abs().max(1e-6);
        reg.area_mm2 = reg.pixels.len() as f64 * f64::from(row_mm * col_mm);
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Approximately Gaussian noise (sum of 12 uniforms, σ = 1) from a xorshift stream:
    /// deterministic without a random-number dependency.
    fn gaussian_noise(seed: u64) -> impl FnMut() -> f32 {
        let mut x = seed.max(1);
        move || {
            (0..12)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 40) as f32 / (1u64 << 24) as f32
                })
                .sum::<f32>()
                - 6.0
        }
    }

    /// Uniform tissue at 0.5 of the scale with strong noise (σ = 6 % of the scale, a
    /// 512² STIR): the noise must not be taken for edges, so nearly all of it is flat.
    #[test]
    fn noise_alone_is_not_an_edge() {
        let mut noise = gaussian_noise(3);
        let (w, h) = (96, 96);
        let data: Vec<f32> = (0..w * h).map(|_| 0.5 + 0.06 * noise()).collect();
        let img = Plane {
            width: w,
            height: h,
            data,
        };
        let flat = flat_mask(&img, 1.5, 1.5, 1.0, &DetectorParams::default());
        let share = flat.data.iter().filter(|&&f| f).count() as f64 / (w * h) as f64;
        assert!(
            share > 0.97,
            "only {share:.3} of a noisy uniform plane is flat"
        );
    }

    /// A real edge (a step of 0.4 of the scale) still is one under the same noise.
    #[test]
    fn an_edge_in_noise_is_still_an_edge() {
        let mut noise = gaussian_noise(4);
        let (w, h) = (96, 96);
        let data: Vec<f32> = (0..w * h)
            .map(|i| if i % w < w / 2 { 0.3 } else { 0.7 } + 0.06 * noise())
            .collect();
        let img = Plane {
            width: w,
            height: h,
            data,
        };
        let flat = flat_mask(&img, 1.5, 1.5, 1.0, &DetectorParams::default());
        let edge_column_flat = (0..h).filter(|&r| flat.at(r, w / 2)).count();
        assert!(
            edge_column_flat < h / 10,
            "{edge_column_flat} of {h} edge pixels flat"
        );
    }
}
