//! Cement (PMMA) and CSF-like cleft fluid: compact collections inside the body found by
//! their signal on both series.
//!
//! PMMA has no mobile protons, so it is a signal void on every sequence (Voormolen et al.
//! 2006 read it as the dark cast on T1 and STIR); it is decided on T1, the native grid,
//! with the fluid series only ruling out CSF-bright cleft fluid. The cortex and endplates are dark too, so
//! the void is decided on the interior only, must form a blob of at least
//! `min_cement_ml`, and reaches the border only where the border voxel is itself void.
//! An intravertebral cleft holds fluid: brighter than edema on STIR / fat-suppressed T2
//! (close to CSF), dark on T1 (Dansie et al. 2006 record "fluid in the cleft").

use super::body::BodyVoxels;
use super::config::ScoreConfig;
use super::edema::Thresholds;
use super::morphology::drop_small_components;
use super::reference::median_f32;

/// True when voxel `index` is cement: a signal void on T1 that is not CSF-bright on the
/// fluid series (fluid in a cleft is as dark on T1). With no T1, a void on the fluid series.
///
/// T1 decides because it is the reference grid: the fluid series is resampled onto it
/// from its own, usually coarser and thicker, slices, and across the cast's edge it mixes
/// the void with the bright rim or edema around it (on phantoms, only 41 % of true cement
/// voxels were void on the resampled STIR, 97 % on T1).
#[inline]
fn void(body: &BodyVoxels, thr: &Thresholds, index: usize) -> bool {
    match (thr.t1_void_below, thr.fluid_void_below) {
        (Some(t1), _) => {
            body.t1[index] < t1 && thr.cleft_fluid_above.is_none_or(|c| body.fluid[index] <= c)
        }
        (None, Some(fluid)) => body.fluid[index] < fluid,
        (None, None) => false,
    }
}

/// Blobs of `is_member` voxels decided on the interior, at least `min_voxels` large, then
/// extended to border voxels that are members themselves and whose nearest interior voxel is.
fn compact_collection(
    body: &BodyVoxels,
    min_voxels: usize,
    is_member: impl Fn(usize) -> bool,
) -> Vec<bool> {
    let mut mask: Vec<bool> = (0..body.inside.len())
        .map(|i| body.interior[i] && is_member(i))
        .collect();
    drop_small_components(&body.grid, &mut mask, min_voxels);
    // Only border voxels change: they copy their nearest interior voxel, then must be
    // members themselves.
    body.extend_to_border(&mut mask);
    for &b in &body.border {
        let b = b as usize;
        if mask[b] {
            mask[b] = is_member(b);
        }
    }
    mask
}

/// The cement mask of one body.
pub(crate) fn cement_mask(body: &BodyVoxels, thr: &Thresholds, min_voxels: usize) -> Vec<bool> {
    compact_collection(body, min_voxels, |i| void(body, thr, i))
}

/// Fewest edematous interior voxels whose medians describe the marrow around a cleft.
const MIN_SURROUNDING_VOXELS: usize = 20;

/// Candidate cleft-fluid voxels of one body (whether the body is collapsed is decided later):
/// CSF-like on both series — near CSF brightness on the fluid series, and brighter on it and
/// darker on T1 than the marrow around (the body's edematous marrow if it has some, which
/// is what a cleft sits in, else normal marrow). Bright edema reaches the CSF fraction
/// on STIR, but only a fluid collection is also clearly darker than edema on T1.
pub(crate) fn cleft_candidates(
    body: &BodyVoxels,
    thr: &Thresholds,
    edema_decision: &[bool],
    min_voxels: usize,
    cfg: &ScoreConfig,
) -> Vec<bool> {
    let Some(csf_like) = thr.cleft_fluid_above else {
        return vec![false; body.inside.len()];
    };
    let (t1_around, fluid_around) = surrounding_marrow(body, thr, edema_decision);
    let fluid_above = fluid_around.map_or(csf_like, |f| {
        csf_like.max(cfg.cleft_fluid_contrast as f32 * f)
    });
    let t1_below = t1_around.map(|t| cfg.cleft_t1_contrast as f32 * t);
    compact_collection(body, min_voxels, |i| {
        body.fluid.get(i).is_some_and(|&f| f > fluid_above)
            && t1_below.is_none_or(|t| body.t1.get(i).is_some_and(|&v| v < t))
    })
}

/// Median T1 and fluid signal of the body's edematous interior, or normal marrow when it has
/// too little edema to tell.
fn surrounding_marrow(
    body: &BodyVoxels,
    thr: &Thresholds,
    edema_decision: &[bool],
) -> (Option<f32>, Option<f32>) {
    let (mut t1, mut fluid) = (Vec::new(), Vec::new());
    let mut count = 0usize;
    for i in (0..body.inside.len()).filter(|&i| body.interior[i] && edema_decision[i]) {
        count += 1;
        t1.extend(body.t1.get(i));
        fluid.extend(body.fluid.get(i));
    }
    if count < MIN_SURROUNDING_VOXELS {
        return (thr.normal_t1, thr.normal_fluid);
    }
    (
        thr.normal_t1.and(median_f32(&t1)),
        thr.normal_fluid.and(median_f32(&fluid)),
    )
}
