//! From a body's region on its reference sagittal plane to its 3D extent: follow the
//! overlapping flat region plane by plane to each side, inside a box that stops the
//! pedicles (behind the posterior wall) and prevertebral tissue (in front of the anterior
//! wall) from being taken.

use crate::segment::candidates::PlaneAnalysis;

/// A body's pixels on one working plane.
#[derive(Clone, Debug)]
pub struct BodySlice {
    /// Lateral plane index.
    pub plane: usize,
    /// Working-plane pixel indices.
    pub pixels: Vec<u32>,
}

/// Limits of the lateral walk.
#[derive(Clone, Copy, Debug)]
pub struct ExtentLimits {
    /// Largest distance from the reference plane (mm): half the widest lumbar body
    /// (~55 mm, Zhou et al. 2000) plus margin.
    pub max_half_width_mm: f64,
    /// A plane is kept while the body there covers at least this fraction of the area on
    /// the reference plane; smaller remnants are pedicle roots or partial volume.
    pub min_area_fraction: f64,
    /// Largest area growth from one plane to the next, walking outwards.
    pub max_growth: f64,
    /// Margin (mm) the body may extend beyond its reference-plane box head–feet.
    pub si_margin_mm: f64,
    /// Margin (mm) beyond the reference anterior wall (bodies are widest at mid-sagittal
    /// in AP, so little is needed).
    pub anterior_margin_mm: f64,
    /// Margin (mm) beyond the reference posterior wall: the posterior wall is flat or
    /// concave, so anything further back laterally is pedicle.
    pub posterior_margin_mm: f64,
}

impl Default for ExtentLimits {
    fn default() -> Self {
        ExtentLimits {
            max_half_width_mm: 32.0,
            min_area_fraction: 0.3,
            max_growth: 1.2,
            si_margin_mm: 3.0,
            anterior_margin_mm: 3.0,
            posterior_margin_mm: 1.5,
        }
    }
}

/// Follows the body from (`plane0`, `pixels0`) through neighbouring planes.
#[allow(clippy::too_many_arguments)]
pub fn extend_body(
    planes: &[PlaneAnalysis],
    width: usize,
    row_mm: f64,
    col_mm: f64,
    lateral_mm: f64,
    plane0: usize,
    pixels0: &[u32],
    limits: &ExtentLimits,
) -> Vec<BodySlice> {
    let (mut r0, mut r1, mut c0, mut c1) = (usize::MAX, 0, usize::MAX, 0);
    for &i in pixels0 {
        let (r, c) = (i as usize / width, i as usize % width);
        r0 = r0.min(r);
        r1 = r1.max(r);
        c0 = c0.min(c);
        c1 = c1.max(c);
    }
    let si_m = (limits.si_margin_mm / row_mm).round() as usize;
    let ant_m = (limits.anterior_margin_mm / col_mm).round() as usize;
    let post_m = (limits.posterior_margin_mm / col_mm).round() as usize;
    let (r0, r1) = (r0.saturating_sub(si_m), r1 + si_m);
    let (c0, c1) = (c0.saturating_sub(ant_m), c1 + post_m);
    let inside = |i: u32| {
        let (r, c) = (i as usize / width, i as usize % width);
        (r0..=r1).contains(&r) && (c0..=c1).contains(&c)
    };
    let area0 = pixels0.len();
    let max_steps = (limits.max_half_width_mm / lateral_mm).floor() as usize;
    let mut out = vec![BodySlice {
        plane: plane0,
        pixels: pixels0.to_vec(),
    }];
    for dir in [-1i64, 1] {
        let mut prev: Vec<u32> = pixels0.to_vec();
        for step in 1..=max_steps {
            let p = plane0 as i64 + dir * step as i64;
            if p < 0 || p as usize >= planes.len() {
                break;
            }
            let analysis = &planes[p as usize];
            // Regions on this plane that overlap the body on the previous plane.
            let mut overlap: std::collections::HashMap<u32, usize> = Default::default();
            for &i in &prev {
                let l = analysis.region_of.data[i as usize];
                if l != 0 {
                    *overlap.entry(l).or_default() += 1;
                }
            }
            let mut next: Vec<u32> = Vec::new();
            for (&l, &shared) in &overlap {
                let region = &analysis.regions[l as usize - 1];
                let kept: Vec<u32> = region
                    .pixels
                    .iter()
                    .copied()
                    .filter(|&i| inside(i))
                    .collect();
                // A region mostly outside the box is a neighbour (disc, pedicle, psoas)
                // touching the body; take only regions the body explains.
                if shared * 3 >= kept.len().min(prev.len()) {
                    next.extend(kept);
                }
            }
            if (next.len() as f64) < limits.min_area_fraction * area0 as f64 {
                break;
            }
            // Away from the mid-sagittal plane a body only narrows (it is convex); a
            // sudden growth means the region leaked into a neighbour (transverse process,
            // psoas, pedicle).
            // Near the reference plane areas fluctuate with the detector's splits; the
            // rule applies beyond the central third of a body (~8 mm).
            let beyond_core = step as f64 * lateral_mm > 8.0;
            if beyond_core && next.len() as f64 > limits.max_growth * prev.len() as f64 {
                break;
            }
            out.push(BodySlice {
                plane: p as usize,
                pixels: next.clone(),
            });
            prev = next;
        }
    }
    out.sort_by_key(|s| s.plane);
    out
}
