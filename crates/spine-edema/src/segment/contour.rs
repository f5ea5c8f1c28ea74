//! Full-resolution outline of one body on one sagittal plane: an optimal closed contour
//! in polar coordinates around the coarse region's centre.
//!
//! The coarse detector finds *where* a body is; its outline is a working-grid staircase
//! that stops about one smoothing width inside the cortex. Here rays are cast from the
//! body's centre, each ray is searched for the outer edge of the cortical shell near the
//! coarse outline, and dynamic programming picks the one radius per ray that makes the
//! strongest *and* smoothest closed curve (the classical optimal-border search, Sonka,
//! Hlavac & Boyle, *Image Processing, Analysis and Machine Vision*, ch. 6). Intensity
//! inside the body plays no part, so edema, cement and heterogeneous marrow do not bend
//! the outline; only edges do.

use crate::segment::kernels::Plane;

/// Parameters of the contour search.
#[derive(Clone, Copy, Debug)]
pub struct ContourParams {
    /// Number of rays around the centre.
    pub rays: usize,
    /// Sample step along a ray (mm).
    pub step_mm: f64,
    /// How far outside the coarse outline the border may lie (mm).
    pub search_out_mm: f64,
    /// How far inside the coarse outline the border may lie (mm).
    pub search_in_mm: f64,
    /// Thickness of the cortical shell (mm): a falling edge (marrow → cortex) puts the
    /// border this far out. Vertebral cortex is 0.5–1.5 mm (Silva et al., JBMR 1994).
    pub cortex_mm: f64,
    /// Half-width of the finite difference that measures an edge (mm).
    pub edge_half_mm: f64,
    /// Cost per mm of radius change between neighbouring rays.
    pub smoothness_per_mm: f64,
    /// Largest radius change between neighbouring rays (mm).
    pub max_jump_mm: f64,
    /// Distance from the coarse outline that costs nothing (mm).
    pub prior_free_mm: f64,
    /// Cost per mm² beyond `prior_free_mm`.
    pub prior_per_mm2: f64,
}

impl Default for ContourParams {
    fn default() -> Self {
        ContourParams {
            rays: 72,
            step_mm: 0.5,
            search_out_mm: 5.0,
            search_in_mm: 6.0,
            cortex_mm: 1.0,
            edge_half_mm: 0.75,
            smoothness_per_mm: 0.06,
            max_jump_mm: 2.5,
            prior_free_mm: 2.0,
            prior_per_mm2: 0.01,
        }
    }
}

/// Geometry of one sagittal plane at full resolution (rows SI, columns AP).
#[derive(Clone, Copy, Debug)]
pub struct PlaneGeometry {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Row spacing (mm).
    pub row_mm: f64,
    /// Column spacing (mm).
    pub col_mm: f64,
}

/// Bilinear sample at (`r`, `c`) pixels, clamped to the plane.
fn sample(img: &Plane<f32>, r: f64, c: f64) -> f32 {
    let r = r.clamp(0.0, (img.height - 1) as f64);
    let c = c.clamp(0.0, (img.width - 1) as f64);
    let (r0, c0) = (r.floor() as usize, c.floor() as usize);
    let (r1, c1) = ((r0 + 1).min(img.height - 1), (c0 + 1).min(img.width - 1));
    let (fr, fc) = ((r - r0 as f64) as f32, (c - c0 as f64) as f32);
    let top = img.at(r0, c0) * (1.0 - fc) + img.at(r0, c1) * fc;
    let bottom = img.at(r1, c0) * (1.0 - fc) + img.at(r1, c1) * fc;
    top * (1.0 - fr) + bottom * fr
}

/// Refines a coarse body section (`coarse`: pixel indices `row * width + col` on the
/// full-resolution plane) against the smoothed, scale-normalised `images` of that plane.
/// Returns the refined section's pixel indices (empty when `coarse` is).
pub fn refine_section(
    images: &[&Plane<f32>],
    geom: PlaneGeometry,
    coarse: &[u32],
    p: &ContourParams,
) -> Vec<u32> {
    if coarse.is_empty() || images.is_empty() {
        return Vec::new();
    }
    let w = geom.width;
    let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
    let (mut sr, mut sc) = (0f64, 0f64);
    for &i in coarse {
        let (r, c) = (i as usize / w, i as usize % w);
        r0 = r0.min(r);
        r1 = r1.max(r);
        c0 = c0.min(c);
        c1 = c1.max(c);
        sr += r as f64;
        sc += c as f64;
    }
    let n = coarse.len() as f64;
    let centre_mm = [sr / n * geom.row_mm, sc / n * geom.col_mm];
    // Coarse membership on its bounding box.
    let (bw, bh) = (c1 - c0 + 1, r1 - r0 + 1);
    let mut inside = vec![false; bw * bh];
    for &i in coarse {
        let (r, c) = (i as usize / w, i as usize % w);
        inside[(r - r0) * bw + (c - c0)] = true;
    }
    let in_coarse = |y_mm: f64, x_mm: f64| -> bool {
        let r = (y_mm / geom.row_mm).round();
        let c = (x_mm / geom.col_mm).round();
        if r < r0 as f64 || c < c0 as f64 {
            return false;
        }
        let (r, c) = (r as usize, c as usize);
        r <= r1 && c <= c1 && inside[(r - r0) * bw + (c - c0)]
    };

    let step = p.step_mm;
    let h = ((p.edge_half_mm / step).round() as usize).max(1);
    let tc = (p.cortex_mm / step).round() as usize;
    let rays = p.rays;
    // Per ray: coarse radius and the admissible sample range.
    let mut dirs = Vec::with_capacity(rays);
    let mut coarse_r = Vec::with_capacity(rays);
    let max_r_mm = ((r1 - r0 + 1) as f64 * geom.row_mm).hypot((c1 - c0 + 1) as f64 * geom.col_mm);
    for j in 0..rays {
        let theta = std::f64::consts::TAU * j as f64 / rays as f64;
        let d = [theta.sin(), theta.cos()];
        let mut r = 0.0;
        while r < max_r_mm && in_coarse(centre_mm[0] + r * d[0], centre_mm[1] + r * d[1]) {
            r += step;
        }
        dirs.push(d);
        coarse_r.push(r);
    }
    let k_max = ((coarse_r.iter().copied().fold(0.0, f64::max) + p.search_out_mm) / step).ceil()
        as usize
        + 1;
    let samples = k_max + h + 1;
    // Cost per (ray, radius sample); infinity outside the admissible band.
    let mut cost = vec![f64::INFINITY; rays * k_max];
    let mut profile = vec![0f32; samples];
    for j in 0..rays {
        let d = dirs[j];
        let mut evidence = vec![0f64; k_max];
        for img in images {
            for (k, v) in profile.iter_mut().enumerate() {
                let r = k as f64 * step;
                *v = sample(
                    img,
                    (centre_mm[0] + r * d[0]) / geom.row_mm,
                    (centre_mm[1] + r * d[1]) / geom.col_mm,
                );
            }
            for (k, e) in evidence.iter_mut().enumerate() {
                // Rising edge at the border: cortex (dark) → brighter outside.
                let rise = if k >= h {
                    profile[k + h] - profile[k - h]
                } else {
                    0.0
                };
                // Falling edge one cortex thickness inside: marrow → cortex.
                let fall = if k >= tc + h {
                    profile[k - tc - h] - profile[k - tc + h]
                } else {
                    0.0
                };
                *e += f64::from(rise.max(0.0) + fall.max(0.0));
            }
        }
        let rc = coarse_r[j];
        let lo = ((rc - p.search_in_mm).max(0.4 * rc) / step).floor() as usize;
        let hi = (((rc + p.search_out_mm) / step).ceil() as usize).min(k_max - 1);
        for k in lo.max(1)..=hi {
            let off = ((k as f64 * step - rc).abs() - p.prior_free_mm).max(0.0);
            cost[j * k_max + k] = -evidence[k] + p.prior_per_mm2 * off * off;
        }
    }
    let radii = closed_path(&cost, rays, k_max, p);
    // Fill: a pixel is inside when its distance from the centre is within the contour
    // radius interpolated at its angle.
    let pad_mm = p.search_out_mm + step;
    let rr0 = ((r0 as f64 * geom.row_mm - pad_mm) / geom.row_mm)
        .floor()
        .max(0.0) as usize;
    let rr1 =
        (((r1 as f64 * geom.row_mm + pad_mm) / geom.row_mm).ceil() as usize).min(geom.height - 1);
    let cc0 = ((c0 as f64 * geom.col_mm - pad_mm) / geom.col_mm)
        .floor()
        .max(0.0) as usize;
    let cc1 =
        (((c1 as f64 * geom.col_mm + pad_mm) / geom.col_mm).ceil() as usize).min(geom.width - 1);
    let mut out = Vec::new();
    for r in rr0..=rr1 {
        for c in cc0..=cc1 {
            let dy = r as f64 * geom.row_mm - centre_mm[0];
            let dx = c as f64 * geom.col_mm - centre_mm[1];
            let dist = dy.hypot(dx);
            let a = dy.atan2(dx).rem_euclid(std::f64::consts::TAU) / std::f64::consts::TAU
                * rays as f64;
            let j0 = (a.floor() as usize) % rays;
            let j1 = (j0 + 1) % rays;
            let f = a - a.floor();
            let limit = radii[j0] * (1.0 - f) + radii[j1] * f;
            if dist <= limit {
                out.push((r * w + c) as u32);
            }
        }
    }
    out
}

/// Minimum-cost closed path through `cost` (rays × radius samples): one radius per ray,
/// neighbouring radii within `max_jump_mm`, each change costing `smoothness_per_mm`.
/// The ray sequence is walked twice and the second lap kept, so the start of the lap
/// does not bias the closure. Returns radii in mm.
fn closed_path(cost: &[f64], rays: usize, k_max: usize, p: &ContourParams) -> Vec<f64> {
    let jump = ((p.max_jump_mm / p.step_mm).round() as usize).max(1);
    let laps = 2 * rays;
    let mut acc = vec![f64::INFINITY; laps * k_max];
    let mut back = vec![0u32; laps * k_max];
    acc[..k_max].copy_from_slice(&cost[..k_max]);
    for t in 1..laps {
        let j = t % rays;
        for k in 0..k_max {
            let c = cost[j * k_max + k];
            if !c.is_finite() {
                continue;
            }
            let mut best = (f64::INFINITY, 0usize);
            for kp in k.saturating_sub(jump)..=(k + jump).min(k_max - 1) {
                let prev = acc[(t - 1) * k_max + kp];
                let s = prev + p.smoothness_per_mm * p.step_mm * k.abs_diff(kp) as f64;
                if s < best.0 {
                    best = (s, kp);
                }
            }
            acc[t * k_max + k] = best.0 + c;
            back[t * k_max + k] = best.1 as u32;
        }
    }
    let last = &acc[(laps - 1) * k_max..];
    let mut k = (0..k_max)
        .min_by(|&a, &b| last[a].total_cmp(&last[b]))
        .unwrap_or(0);
    let mut radii = vec![0f64; rays];
    for t in (rays..laps).rev() {
        radii[t % rays] = k as f64 * p.step_mm;
        k = back[t * k_max + k] as usize;
    }
    radii
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bright 20 × 30 mm rectangle with a 1 mm dark rim on a mid-grey background.
    fn body_plane() -> (Plane<f32>, PlaneGeometry) {
        let (w, h) = (80, 80);
        let mut img = Plane::new(w, h);
        for r in 0..h {
            for c in 0..w {
                let (y, x) = (r as f64 * 0.5, c as f64 * 0.5);
                let body = (10.0..30.0).contains(&y) && (5.0..35.0).contains(&x);
                let core = (11.0..29.0).contains(&y) && (6.0..34.0).contains(&x);
                let v = if core {
                    0.6
                } else if body {
                    0.05
                } else {
                    0.8
                };
                img.set(r, c, v);
            }
        }
        let geom = PlaneGeometry {
            width: w,
            height: h,
            row_mm: 0.5,
            col_mm: 0.5,
        };
        (img, geom)
    }

    #[test]
    fn contour_snaps_to_outer_cortex_from_a_shrunken_guess() {
        let (img, geom) = body_plane();
        let smooth = crate::segment::kernels::gaussian_blur(&img, 1.0);
        // Coarse guess: the body shrunk by 3 mm on every side.
        let coarse: Vec<u32> = (0..geom.height * geom.width)
            .filter(|&i| {
                let (y, x) = ((i / geom.width) as f64 * 0.5, (i % geom.width) as f64 * 0.5);
                (13.0..27.0).contains(&y) && (8.0..32.0).contains(&x)
            })
            .map(|i| i as u32)
            .collect();
        let out = refine_section(&[&smooth], geom, &coarse, &ContourParams::default());
        let truth = 20.0 * 30.0 / 0.25;
        let area = out.len() as f64;
        assert!(
            (area / truth - 1.0).abs() < 0.08,
            "area {area} px vs truth {truth} px"
        );
    }
}
