//! Cement (PMMA) and CSF-like cleft fluid: compact collections inside the body found by
//! their signal on both series.
//!
//! PMMA has no mobile protons, so it is a signal void on every sequence (Voormolen et al.
//! 2006 read it as the dark cast on T1 and STIR). The cortex and endplates are dark too, so
//! the void is decided on the interior only, must form a blob of at least
//! `min_cement_ml`, and reaches the border only where the border voxel is itself void.
//! An intravertebral cleft holds fluid: brighter than edema on STIR / fat-suppressed T2
//! (close to CSF), dark on T1 (Dansie et al. 2006 record "fluid in the cleft").

use super::body::BodyVoxels;
use super::edema::Thresholds;
use super::morphology::drop_small_components;

/// True when voxel `index` is a signal void on every available series.
#[inline]
fn void(body: &BodyVoxels, thr: &Thresholds, index: usize) -> bool {
    let t1 = thr.t1_void_below.map(|t| body.t1[index] < t);
    let fluid = thr.fluid_void_below.map(|t| body.fluid[index] < t);
    match (t1, fluid) {
        (Some(a), Some(b)) => a && b,
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => false,
    }
}

/// True when voxel `index` is CSF-bright on the fluid series and not bright on T1.
#[inline]
fn fluid_bright(body: &BodyVoxels, thr: &Thresholds, index: usize) -> bool {
    let bright = thr.cleft_fluid_above.is_some_and(|t| body.fluid[index] > t);
    let t1_dark = thr.t1_hypo_below.is_none_or(|t| body.t1[index] < t);
    bright && t1_dark
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
    let core = mask.clone();
    body.extend_to_border(&mut mask);
    for (i, m) in mask.iter_mut().enumerate() {
        if *m && !core[i] {
            *m = is_member(i);
        }
    }
    mask
}

/// The cement mask of one body.
pub(crate) fn cement_mask(body: &BodyVoxels, thr: &Thresholds, min_voxels: usize) -> Vec<bool> {
    compact_collection(body, min_voxels, |i| void(body, thr, i))
}

/// Candidate cleft-fluid voxels of one body (whether the body is collapsed is decided later).
pub(crate) fn cleft_candidates(
    body: &BodyVoxels,
    thr: &Thresholds,
    min_voxels: usize,
) -> Vec<bool> {
    if thr.cleft_fluid_above.is_none() {
        return vec![false; body.inside.len()];
    }
    compact_collection(body, min_voxels, |i| fluid_bright(body, thr, i))
}
