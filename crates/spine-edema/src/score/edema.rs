//! The voxel decision: thresholds from the exam's normal marrow, and the edema mask of one body.
//!
//! Both studies define bone-marrow edema as **decreased signal on T1 and increased signal on
//! STIR** (Voormolen et al., AJNR 2006; Dansie et al., AJNR 2006 with fat-suppressed T2
//! where STIR was missing), relative to normal marrow of the same exam. A voxel departs from
//! normal when it is further from the reference than `threshold_sd` robust SDs of normal
//! marrow voxels **and** than a minimum fraction (so a very clean image does not call a 5 %
//! dip edema). See `docs/scoring.md` for the derivation.

use super::body::BodyVoxels;
use super::config::ScoreConfig;
use super::morphology::clean_clusters;
use super::types::MarrowReference;

/// Which series decide edema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdemaCriterion {
    /// T1 hypointense and fluid hyperintense (the studies' definition).
    Both,
    /// Fluid hyperintense only (no T1).
    FluidOnly,
    /// T1 hypointense only (no usable fluid series).
    T1Only,
    /// No series can show edema.
    Unscorable,
}

/// Where the thresholds sit within their uncertainty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThresholdSetting {
    /// The configured thresholds.
    Nominal,
    /// Margins shrunk and reference moved toward edema: more voxels called edema.
    Lenient,
    /// Margins grown and reference moved away from edema.
    Strict,
}

/// Absolute intensity thresholds for one body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Thresholds {
    /// T1 below this is hypointense.
    pub t1_hypo_below: Option<f32>,
    /// Fluid above this is hyperintense.
    pub fluid_hyper_above: Option<f32>,
    /// T1 below this is a signal void (cement).
    pub t1_void_below: Option<f32>,
    /// Fluid below this is a signal void.
    pub fluid_void_below: Option<f32>,
    /// Fluid above this is CSF-like (cleft).
    pub cleft_fluid_above: Option<f32>,
    /// Normal-marrow T1 at the body.
    pub normal_t1: Option<f32>,
    /// Normal-marrow fluid-series signal at the body.
    pub normal_fluid: Option<f32>,
}

/// Largest relative T1 drop a threshold may demand: beyond it, edema could not be seen at all.
const MAX_T1_DROP: f64 = 0.8;

/// Thresholds of a body at spine coordinate `s_mm`.
pub(crate) fn thresholds(
    reference: &MarrowReference,
    s_mm: f64,
    criterion: EdemaCriterion,
    cfg: &ScoreConfig,
    setting: ThresholdSetting,
) -> Thresholds {
    let k = match criterion {
        EdemaCriterion::Both => cfg.threshold_sd,
        _ => cfg.single_series_threshold_sd,
    };
    let (scale, sign) = match setting {
        ThresholdSetting::Nominal => (1.0, 0.0),
        ThresholdSetting::Lenient => (1.0 - cfg.threshold_perturbation_fraction, 1.0),
        ThresholdSetting::Strict => (1.0 + cfg.threshold_perturbation_fraction, -1.0),
    };
    let t1 = reference.t1.map(|m| {
        // Lenient: normal T1 assumed a residual SD brighter, so more voxels fall below.
        let normal = m.at(s_mm) * (sign * m.residual_sd).exp();
        let drop = (k * m.relative_sd).max(cfg.min_t1_drop_fraction) * scale;
        let floor = reference.t1_floor.unwrap_or(0.0).min(normal);
        (
            normal * (1.0 - drop.min(MAX_T1_DROP)),
            floor + cfg.cement_t1_fraction * (normal - floor),
            normal,
        )
    });
    let fluid = reference.fluid.map(|m| {
        let normal = m.at(s_mm) * (-sign * m.residual_sd).exp();
        let rise = (k * m.relative_sd).max(cfg.min_fluid_rise_fraction) * scale;
        let floor = reference.fluid_floor.unwrap_or(0.0).min(normal);
        let hyper = normal * (1.0 + rise);
        let cleft = reference
            .fluid_csf_level
            .map(|csf| (floor + cfg.cleft_csf_fraction * (csf - floor)).max(hyper));
        (
            hyper,
            floor + cfg.cement_fluid_fraction * (normal - floor),
            cleft,
            normal,
        )
    });
    let use_t1 = matches!(criterion, EdemaCriterion::Both | EdemaCriterion::T1Only);
    let use_fluid = matches!(criterion, EdemaCriterion::Both | EdemaCriterion::FluidOnly);
    Thresholds {
        t1_hypo_below: t1.filter(|_| use_t1).map(|(h, _, _)| h as f32),
        fluid_hyper_above: fluid.filter(|_| use_fluid).map(|(h, ..)| h as f32),
        t1_void_below: t1.map(|(_, v, _)| v as f32),
        fluid_void_below: fluid.map(|(_, v, ..)| v as f32),
        cleft_fluid_above: fluid.and_then(|(_, _, c, _)| c).map(|c| c as f32),
        normal_t1: t1.map(|(_, _, n)| n as f32),
        normal_fluid: fluid.map(|(.., n)| n as f32),
    }
}

/// The voxel decision over the whole box of `body`: true where the voxel looks edematous
/// under `thr` (both criteria that apply; false everywhere when none applies). One
/// branch-free pass per series combination, so the comparison runs on vectors.
pub(crate) fn edema_decision(body: &BodyVoxels, thr: &Thresholds) -> Vec<bool> {
    let n = body.inside.len();
    let (t1, fluid) = (&body.t1, &body.fluid);
    match (thr.t1_hypo_below, thr.fluid_hyper_above) {
        (Some(a), Some(b)) if t1.len() == n && fluid.len() == n => t1
            .iter()
            .zip(fluid)
            .map(|(&t, &f)| (t < a) & (f > b))
            .collect(),
        (Some(a), None) if t1.len() == n => t1.iter().map(|&t| t < a).collect(),
        (None, Some(b)) if fluid.len() == n => fluid.iter().map(|&f| f > b).collect(),
        _ => vec![false; n],
    }
}

/// Interior voxels outside `excluded` (cement, cleft candidates), and how many of them
/// `decision` calls edema: the raw decision before clean-up, used to measure how much the
/// BME % moves with the thresholds.
pub(crate) fn raw_interior_count(
    body: &BodyVoxels,
    decision: &[bool],
    excluded: &[bool],
) -> (usize, usize) {
    let (mut marrow, mut edema) = (0usize, 0usize);
    for ((&interior, &skip), &d) in body.interior.iter().zip(excluded).zip(decision) {
        let counted = interior & !skip;
        marrow += usize::from(counted);
        edema += usize::from(counted & d);
    }
    (marrow, edema)
}

/// The edema mask of one body: the voxel `decision` ([`edema_decision`]) on the interior, minus `excluded`
/// (cement, cleft candidates), cleaned of clusters and holes smaller than `min_voxels`, then
/// extended to the border by `nearest_marrow` ([`BodyVoxels::nearest_marrow`]).
pub(crate) fn edema_mask(
    body: &BodyVoxels,
    decision: &[bool],
    excluded: &[bool],
    nearest_marrow: &[u32],
    [min_cluster, min_hole]: [usize; 2],
) -> Vec<bool> {
    let within = body.marrow_interior(excluded);
    let mut mask: Vec<bool> = within.iter().zip(decision).map(|(&w, &d)| w & d).collect();
    clean_clusters(&body.grid, &mut mask, &within, min_cluster, min_hole);
    body.extend_to_border_with(&mut mask, nearest_marrow);
    for (m, &e) in mask.iter_mut().zip(excluded) {
        *m &= !e;
    }
    mask
}
