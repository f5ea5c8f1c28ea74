//! The peri-cement rim: a thin shell around the cement cast, bright on STIR and dark on T1,
//! that Voormolen et al. (AJNR 2006) saw in 64–76 % of treated bodies after the edema had
//! resolved, and recorded separately from edema.
//!
//! Rule: look at fluid-like (edema-criterion) voxels in the shell within
//! `rim_max_distance_mm` of the cement (beyond partial volume: one voxel spacing per axis
//! is not counted) and in the ring just outside it (the same width
//! again). A rim is a shell that is fluid-like while the ring outside is much less so
//! (`ring < ½ shell` as fractions): edema *through* the body does not stop at 3 mm. When
//! both are fluid-like, the cement sits in edema; the shell is then counted as edema and
//! the body is flagged `rim_masked_by_edema`. When the ring holds too few decided voxels to
//! judge (a body mostly filled with cement, coarse voxels), all decided marrow beyond the
//! shell is the ring; with too little of that too, nothing shows that the signal stops at
//! the shell, and it is treated as edema around the cement in the same way.

use super::body::BodyVoxels;
use super::config::ScoreConfig;
use super::morphology::{BoxGrid, NO_SEED, nearest_seed};

/// Distance from voxel `a` to cement voxel `b` that a rim has to bridge, mm: along each axis
/// the centre-to-centre distance less one voxel spacing, because the cast's surface may lie
/// up to half a spacing beyond its last voxel centre and a voxel averages half a spacing
/// either side of its own. On 3–5 mm slices the slice next to the cement sees the rim
/// across its whole thickness, and counts as touching it.
fn distance_beyond_partial_volume_mm(
    grid: &BoxGrid,
    spacing_mm: [f64; 3],
    a: usize,
    b: usize,
) -> f64 {
    let (pa, pb) = (grid.coords(a), grid.coords(b));
    (0..3)
        .map(|ax| {
            let d = ((pa[ax] as f64 - pb[ax] as f64).abs() - 1.0).max(0.0) * spacing_mm[ax];
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

/// Decided voxels outside the shell below which there is no evidence that the fluid-like
/// signal stops at the shell: a fraction from fewer than 30 voxels moves by ±0.2 from one
/// voxel's noise to the next, as much as the test's margin.
const MIN_EVIDENCE_VOXELS: usize = 30;

/// The rim found in one body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rim {
    /// Rim voxels (to be removed from edema).
    pub mask: Vec<bool>,
    /// Rim judged present.
    pub present: bool,
    /// Edema surrounds the cement beyond the rim distance.
    pub masked_by_edema: bool,
}

/// Finds the rim of one body from its cement and fluid-like (edema-criterion) masks.
pub(crate) fn find_rim(
    body: &BodyVoxels,
    nearest_marrow: &[u32],
    spacing_mm: [f64; 3],
    cement: &[bool],
    fluid_like: &[bool],
    voxel_ml: f64,
    cfg: &ScoreConfig,
) -> Rim {
    let none = Rim {
        mask: vec![false; cement.len()],
        present: false,
        masked_by_edema: false,
    };
    if !cement.iter().any(|&c| c) {
        return none;
    }
    let nearest = nearest_seed(&body.grid, spacing_mm, cement);
    let shell_mm = cfg.rim_max_distance_mm;
    let (mut shell, mut shell_fluid, mut ring, mut ring_fluid) = (0usize, 0usize, 0usize, 0usize);
    // Decided voxels beyond the ring: the fallback evidence when the ring is nearly empty.
    let (mut beyond, mut beyond_fluid) = (0usize, 0usize);
    // Fluid-like decided shell voxels and their distance to the cement.
    let mut shell_voxels: Vec<(f64, usize)> = Vec::new();
    // Counted where the voxel decision is made: border voxels only copy the decision of
    // their nearest interior voxel, so counting them would let the rim itself, copied
    // onto the lateral slices and the cortex, look like edema in the ring.
    for i in 0..cement.len() {
        let decided = body.interior[i] || body.no_interior;
        if !body.inside[i] || !decided || cement[i] || nearest[i] == NO_SEED {
            continue;
        }
        let d = distance_beyond_partial_volume_mm(&body.grid, spacing_mm, i, nearest[i] as usize);
        if d <= shell_mm {
            shell += 1;
            if fluid_like[i] {
                shell_fluid += 1;
                shell_voxels.push((d, i));
            }
        } else if d <= 2.0 * shell_mm {
            ring += 1;
            ring_fluid += usize::from(fluid_like[i]);
        } else {
            beyond += 1;
            beyond_fluid += usize::from(fluid_like[i]);
        }
    }
    // In a body mostly filled with cement, or on coarse voxels, the ring may hold too few
    // decided voxels to say whether the signal stops: then all decided marrow beyond the
    // shell is the evidence, and with too little of that either, the signal cannot be
    // shown to stop at the shell, so it is not taken for a rim.
    if ring < MIN_EVIDENCE_VOXELS {
        ring += beyond;
        ring_fluid += beyond_fluid;
    }
    let undecidable = ring < MIN_EVIDENCE_VOXELS;
    let shell_fraction = shell_fluid as f64 / shell.max(1) as f64;
    let ring_fraction = ring_fluid as f64 / ring.max(1) as f64;
    let shell_like = shell_fraction >= cfg.min_rim_shell_fraction
        && shell_fluid as f64 * voxel_ml >= cfg.min_rim_ml;
    if !shell_like {
        return none;
    }
    if undecidable || ring_fraction >= 0.5 * shell_fraction {
        return Rim {
            masked_by_edema: true,
            ..none
        };
    }
    // The ring's fluid-like fraction is edema the shell holds too: only the shell's excess
    // over it is rim, taken as the layer next to the cement.
    let excess = ((shell_fraction - ring_fraction) * shell as f64).round() as usize;
    shell_voxels.sort_by(|a, b| a.0.total_cmp(&b.0));
    shell_voxels.truncate(excess);
    let mut mask = vec![false; cement.len()];
    for &(_, i) in &shell_voxels {
        mask[i] = true;
    }
    // The border copies its nearest interior marrow voxel: rim there too.
    body.extend_to_border_with(&mut mask, nearest_marrow);
    for (m, &f) in mask.iter_mut().zip(fluid_like) {
        *m &= f;
    }
    Rim {
        mask,
        present: true,
        masked_by_edema: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box body of 5 slices of 4 mm and `side` × `side` pixels of 1 mm, cement in rows
    /// and columns `cement` of every slice, fluid-like voxels where `fluid(row, col)`.
    fn rim_of(
        side: usize,
        cement: std::ops::Range<usize>,
        fluid: impl Fn(usize, usize) -> bool,
    ) -> Rim {
        let grid = BoxGrid {
            lo: [0, 0, 0],
            dims: [5, side, side],
        };
        let n = grid.len();
        let at = |i: usize| {
            let c = grid.coords(i);
            (c[1], c[2])
        };
        let cement_mask: Vec<bool> = (0..n)
            .map(|i| {
                let (r, c) = at(i);
                cement.contains(&r) && cement.contains(&c)
            })
            .collect();
        let fluid_like: Vec<bool> = (0..n)
            .map(|i| {
                let (r, c) = at(i);
                !cement_mask[i] && fluid(r, c)
            })
            .collect();
        let body = BodyVoxels::whole_box(grid, Vec::new(), Vec::new(), [8.0, 0.0, 0.0]);
        let cfg = ScoreConfig::default();
        find_rim(
            &body,
            &body.nearest_interior,
            [4.0, 1.0, 1.0],
            &cement_mask,
            &fluid_like,
            0.004,
            &cfg,
        )
    }

    /// Chebyshev distance (pixels) of `(r, c)` outside the square `lo..hi`.
    fn outside(r: usize, c: usize, lo: usize, hi: usize) -> usize {
        let d = |x: usize| lo.saturating_sub(x).max((x + 1).saturating_sub(hi));
        d(r).max(d(c))
    }

    #[test]
    fn a_fluid_shell_in_normal_marrow_is_a_rim() {
        let rim = rim_of(30, 10..20, |r, c| outside(r, c, 10, 20) <= 3);
        assert!(rim.present && !rim.masked_by_edema);
        assert!(rim.mask.iter().any(|&m| m));
    }

    #[test]
    fn fluid_through_the_ring_is_edema_around_cement() {
        let rim = rim_of(30, 10..20, |r, c| outside(r, c, 10, 20) <= 7);
        assert!(!rim.present && rim.masked_by_edema);
    }

    #[test]
    fn a_body_filled_with_cement_shows_no_evidence_of_a_rim() {
        // Every marrow voxel lies within 3 mm of the cement: nothing shows the signal stop.
        let rim = rim_of(20, 4..16, |_, _| true);
        assert!(!rim.present && rim.masked_by_edema);
        assert!(!rim.mask.iter().any(|&m| m));
    }

    #[test]
    fn no_cement_no_rim() {
        let rim = rim_of(20, 0..0, |_, _| true);
        assert!(!rim.present && !rim.masked_by_edema);
    }
}
