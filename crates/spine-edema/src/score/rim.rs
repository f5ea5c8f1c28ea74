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
//! the body is flagged `rim_masked_by_edema`.

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
    let mut mask = vec![false; cement.len()];
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
                mask[i] = true;
            }
        } else if d <= 2.0 * shell_mm {
            ring += 1;
            ring_fluid += usize::from(fluid_like[i]);
        }
    }
    let shell_fraction = shell_fluid as f64 / shell.max(1) as f64;
    let ring_fraction = ring_fluid as f64 / ring.max(1) as f64;
    let shell_like = shell_fraction >= cfg.min_rim_shell_fraction
        && shell_fluid as f64 * voxel_ml >= cfg.min_rim_ml;
    if !shell_like {
        return none;
    }
    if ring_fraction >= 0.5 * shell_fraction {
        return Rim {
            masked_by_edema: true,
            ..none
        };
    }
    // The border copies its nearest interior voxel: rim there too.
    body.extend_to_border(&mut mask);
    for (m, &f) in mask.iter_mut().zip(fluid_like) {
        *m &= f;
    }
    Rim {
        mask,
        present: true,
        masked_by_edema: false,
    }
}
