//! The peri-cement rim: a thin shell around the cement cast, bright on STIR and dark on T1,
//! that Voormolen et al. (AJNR 2006) saw in 64–76 % of treated bodies after the edema had
//! resolved, and recorded separately from edema.
//!
//! Rule: look at fluid-like (edema-criterion) voxels in the shell within
//! `rim_max_distance_mm` (+ the coarsest voxel spacing) of the cement and in the ring just outside it (the same width
//! again). A rim is a shell that is fluid-like while the ring outside is much less so
//! (`ring < ½ shell` as fractions): edema *through* the body does not stop at 3 mm. When
//! both are fluid-like, the cement sits in edema; the shell is then counted as edema and
//! the body is flagged `rim_masked_by_edema`.

use super::body::BodyVoxels;
use super::config::ScoreConfig;
use super::morphology::{NO_SEED, distance_mm, nearest_seed};

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
    // Distances run between voxel centres. The cast's surface may lie up to half a spacing
    // beyond its last voxel centre, and a voxel averages half a spacing either side of its
    // own centre, so a rim of width r reaches voxel centres up to r + one spacing away along
    // the coarsest (slice) axis: the slice next to the cement sees the rim across its
    // whole thickness.
    let coarsest = spacing_mm.iter().copied().fold(0.0, f64::max);
    let shell_mm = cfg.rim_max_distance_mm + coarsest;
    let (mut shell, mut shell_fluid, mut ring, mut ring_fluid) = (0usize, 0usize, 0usize, 0usize);
    let mut mask = vec![false; cement.len()];
    for i in 0..cement.len() {
        if !body.inside[i] || cement[i] || nearest[i] == NO_SEED {
            continue;
        }
        let d = distance_mm(&body.grid, spacing_mm, i, nearest[i] as usize);
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
    Rim {
        mask,
        present: true,
        masked_by_edema: false,
    }
}
