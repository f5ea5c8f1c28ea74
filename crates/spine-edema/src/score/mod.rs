//! Per-vertebra scoring on the definitions of the two reference studies
//! (SPEC §2): edema %, cement, rim, cleft, heights, Genant, and grading scales.
//!
//! [`score_exam`] takes the exam's images and a segmentation (ours or external masks) and
//! returns one [`VertebraScore`] per body. It runs in three steps:
//! 1. cut every body's bounding box out of the label map and the series (one pass over the
//!    label map, then rayon over bodies) and take robust statistics of its interior;
//! 2. build the exam's normal-marrow reference from those statistics ([`reference`]);
//! 3. per body (rayon): cement, cleft candidates, edema, rim, heights; then, across
//!    bodies, height loss against neighbours, Genant, cleft confirmation, grades,
//!    fracture activity and confidence.
//!
//! Definitions, thresholds and their sources: `docs/scoring.md`.

mod body;
mod cement;
mod confidence;
mod config;
mod edema;
mod endplate;
pub mod grade;
mod heights;
mod morphology;
mod reference;
mod rim;
mod types;

pub use config::{CutPoint, ScoreConfig};
pub use heights::Heights;
pub use types::{
    CementQuartile, DansieScore, ExamScores, FractureActivity, GenantGrade, GenantShape,
    LogLinearModel, MarrowReference, ScoreFlag, ScoreMasks, VertebraScore, VoormolenGrade,
    mask_class,
};

use crate::error::{Error, Result};
use crate::exam::{ExamImages, ScoringMode};
use crate::level::Level;
use crate::segment::Segmentation;
use crate::series::Contrast;
use crate::volume::Volume;
use body::{BodyVoxels, cut_out, label_extents};
use confidence::{ConfidenceInputs, confidence};
use edema::{
    EdemaCriterion, ThresholdSetting, edema_decision, edema_mask, raw_interior_count, thresholds,
};
use nalgebra::Vector3;
use ndarray::Array3;
use rayon::prelude::*;
use reference::{build_reference, floor_and_bright, spine_coordinate};

/// A slice normal within 30° of left–right makes the grid sagittal (as `series::Plane`).
const SAGITTAL_COS: f64 = 0.866;
/// Neighbouring centroids further apart than this are not adjacent levels (a gap in the
/// segmentation): the local axis then falls back to the exam's spine axis.
const MAX_NEIGHBOUR_GAP_MM: f64 = 80.0;
/// Study B's fracture criterion: ≥ 15 % loss against the posterior wall (Voormolen 2006).
const POSTERIOR_WALL_FRACTURE_PERCENT: f64 = 15.0;
/// Every how many voxels the background / CSF levels are sampled (a prime, so the sample
/// does not alias with rows or slices; ~16 000 samples for a 15 × 512 × 512 exam).
const LEVEL_SAMPLE_STRIDE: usize = 251;
/// Background level: this low quantile of the volume (air and noise outside the patient).
const FLOOR_QUANTILE: f64 = 0.01;
/// CSF level: this high quantile of the fluid series (CSF is its brightest large structure).
const CSF_QUANTILE: f64 = 0.995;

/// Which series decide edema, the mode reported for them, and why when it is not the
/// studies' definition.
fn choose_mode(images: &ExamImages) -> Result<(ScoringMode, EdemaCriterion, Option<String>)> {
    let fluid = images.fluid.as_ref().map(|f| f.contrast);
    let fluid_sensitive = fluid.is_some_and(Contrast::is_fluid_sensitive);
    let has_t1 = images.t1.is_some();
    let mode = images
        .mode()
        .ok_or_else(|| Error::analysis("exam", "no T1 and no fluid-sensitive series"))?;
    Ok(match (has_t1, fluid_sensitive) {
        (true, true) => (mode, EdemaCriterion::Both, None),
        (true, false) => (
            ScoringMode::T1Only,
            EdemaCriterion::T1Only,
            Some(match fluid {
                Some(c) => format!(
                    "fluid series is {c:?}, not fat-suppressed: edema scored on T1 hypointensity only"
                ),
                None => "no fluid-sensitive series: edema scored on T1 hypointensity only".into(),
            }),
        ),
        (false, true) => (
            mode,
            EdemaCriterion::FluidOnly,
            Some(format!("no T1: edema scored on {mode} hyperintensity only")),
        ),
        (false, false) => (
            mode,
            EdemaCriterion::Unscorable,
            Some("no T1 and no fat-suppressed fluid series: edema cannot be scored".into()),
        ),
    })
}

/// Erosion half-widths in voxels: `border_in_plane_mm` on in-plane axes, and
/// `border_through_plane_slices` on a thick-slice axis (spacing > 1.5 × the finest).
fn erosion_radius(spacing_mm: [f64; 3], cfg: &ScoreConfig) -> [usize; 3] {
    let finest = spacing_mm.iter().copied().fold(f64::INFINITY, f64::min);
    std::array::from_fn(|a| {
        if spacing_mm[a] > 1.5 * finest {
            cfg.border_through_plane_slices
        } else {
            (cfg.border_in_plane_mm / spacing_mm[a]).round() as usize
        }
    })
}

/// The array axis across sagittal slices, when the grid is sagittal: the thick-slice axis
/// (spacing > 1.3 × every other axis) must run left–right; a near-isotropic 3D grid can
/// be read sagittally whenever one of its axes runs left–right.
fn sagittal_slice_axis(volume: &Volume<f32>) -> Option<usize> {
    let dirs = volume.affine.directions();
    let spacing = volume.affine.spacing_mm();
    let thick = (0..3).find(|&a| (0..3).all(|b| b == a || spacing[a] > 1.3 * spacing[b]));
    let candidate = thick.unwrap_or_else(|| {
        (0..3)
            .map(|a| (a, dirs[a].x.abs()))
            .fold((0, 0.0), |acc, x| if x.1 > acc.1 { x } else { acc })
            .0
    });
    (dirs[candidate].x.abs() >= SAGITTAL_COS).then_some(candidate)
}

/// Heights and Genant make sense only for vertebral bodies (not the sacrum or other regions).
fn is_vertebral_body(level: Option<Level>, cfg: &ScoreConfig) -> bool {
    match level {
        Some(Level::S1) => false,
        Some(_) => true,
        None => cfg.unnamed_regions_are_bodies,
    }
}

/// Ceiling of `ml / voxel_ml`, at least 1.
fn voxels_for(ml: f64, voxel_ml: f64) -> usize {
    ((ml / voxel_ml).ceil() as usize).max(1)
}

use types::mask_class::{
    CEMENT as CLASS_CEMENT, CLEFT as CLASS_CLEFT, EDEMA as CLASS_EDEMA, RIM as CLASS_RIM,
};

/// What the per-body step found.
struct BodyOutcome {
    classes: Vec<u8>,
    edema_voxels: usize,
    edema_range_voxels: [usize; 2],
    cement_voxels: usize,
    rim_voxels: usize,
    rim_present: bool,
    rim_masked: bool,
    cleft_voxels: usize,
    heights: Option<Heights>,
}

fn count(mask: &[bool]) -> usize {
    mask.iter().filter(|&&v| v).count()
}

/// Everything the per-body step needs that is shared across bodies.
struct Shared<'a> {
    reference: &'a MarrowReference,
    criterion: EdemaCriterion,
    cfg: &'a ScoreConfig,
    spacing_mm: [f64; 3],
    /// How far (voxels per axis) a border voxel looks for the interior voxel it copies.
    border_reach: [usize; 3],
    voxel_ml: f64,
    /// The grid heights are measured in; `None` when the images are not sagittal.
    sagittal: Option<heights::SagittalGrid>,
}

fn score_body(
    body: &BodyVoxels,
    s_mm: f64,
    local_axis: Vector3<f64>,
    measure: bool,
    sh: &Shared,
) -> BodyOutcome {
    let cfg = sh.cfg;
    let thr = |setting| thresholds(sh.reference, s_mm, sh.criterion, cfg, setting);
    let nominal = thr(ThresholdSetting::Nominal);
    let cement = cement::cement_mask(body, &nominal, voxels_for(cfg.min_cement_ml, sh.voxel_ml));
    let nominal_decision = edema_decision(body, &nominal);
    let mut cleft = cement::cleft_candidates(
        body,
        &nominal,
        &nominal_decision,
        voxels_for(cfg.min_cleft_ml, sh.voxel_ml),
        cfg,
    );
    for (c, &m) in cleft.iter_mut().zip(&cement) {
        *c &= !m;
    }
    let excluded: Vec<bool> = cement.iter().zip(&cleft).map(|(&a, &b)| a || b).collect();
    let nearest_marrow = body.nearest_marrow(&excluded, sh.spacing_mm, sh.border_reach);
    let min_sizes = [
        voxels_for(cfg.min_edema_cluster_ml, sh.voxel_ml),
        voxels_for(cfg.min_edema_hole_ml, sh.voxel_ml),
    ];
    let scorable = sh.criterion != EdemaCriterion::Unscorable;
    let mut edema = if scorable {
        edema_mask(
            body,
            &nominal_decision,
            &excluded,
            &nearest_marrow,
            min_sizes,
        )
    } else {
        vec![false; body.inside.len()]
    };
    let found_rim = rim::find_rim(
        body,
        &nearest_marrow,
        sh.spacing_mm,
        &cement,
        &edema,
        sh.voxel_ml,
        cfg,
    );
    if found_rim.present {
        for (m, &r) in edema.iter_mut().zip(&found_rim.mask) {
            *m &= !r;
        }
    }
    let edema_voxels = count(&edema);
    // Threshold sensitivity: the raw interior decision at the lenient and strict settings,
    // as a shift of the body's edema fraction applied to the nominal (cleaned) count.
    let raw = |decision: &[bool]| raw_interior_count(body, decision, &excluded);
    let (interior_total, raw_nominal) = raw(&nominal_decision);
    let (_, raw_lenient) = raw(&edema_decision(body, &thr(ThresholdSetting::Lenient)));
    let (_, raw_strict) = raw(&edema_decision(body, &thr(ThresholdSetting::Strict)));
    let marrow = body.observed_count().saturating_sub(count(&cement)) as f64;
    let shifted = |raw_setting: usize| {
        let shift = (raw_setting as f64 - raw_nominal as f64) / interior_total.max(1) as f64;
        (edema_voxels as f64 + shift * marrow)
            .clamp(0.0, marrow)
            .round() as usize
    };
    let (lenient, strict) = if scorable {
        (shifted(raw_lenient), shifted(raw_strict))
    } else {
        (0, 0)
    };
    let rim_mask = if found_rim.present {
        found_rim.mask.clone()
    } else {
        vec![false; cement.len()]
    };
    let classes: Vec<u8> = (0..body.inside.len())
        .map(|i| {
            if !body.inside[i] {
                0
            } else if cement[i] {
                CLASS_CEMENT
            } else if rim_mask[i] {
                CLASS_RIM
            } else if cleft[i] {
                CLASS_CLEFT
            } else if edema[i] {
                CLASS_EDEMA
            } else {
                0
            }
        })
        .collect();
    let heights = match (measure, &sh.sagittal) {
        (true, Some(view)) => {
            let c = body.stats.centroid_mm;
            heights::measure_heights(
                &body.grid,
                &body.inside,
                view,
                Vector3::new(c[0], c[1], c[2]),
                local_axis,
                cfg.height_margin_fraction,
            )
        }
        _ => None,
    };
    BodyOutcome {
        edema_voxels,
        edema_range_voxels: [lenient, strict],
        cement_voxels: count(&cement),
        rim_voxels: count(&rim_mask),
        rim_present: found_rim.present,
        rim_masked: found_rim.masked_by_edema,
        cleft_voxels: count(&cleft),
        classes,
        heights,
    }
}

/// Local spine axis at each body: through the neighbouring bodies' centroids. A body cut by
/// the edge of the field of view (`cut`) has its centroid off the spine's line (only its
/// visible part counts), so it serves as a neighbour only when no whole body is next to
/// the one measured: a sliver of L3 at the corner of the images would otherwise tilt L2's
/// axis by 20° and shorten its anterior and posterior heights by millimetres.
fn local_axes(centroids: &[[f64; 3]], cut: &[bool], fallback: [f64; 3]) -> Vec<Vector3<f64>> {
    let v = |c: [f64; 3]| Vector3::new(c[0], c[1], c[2]);
    let fallback = v(fallback);
    (0..centroids.len())
        .map(|i| {
            let here = v(centroids[i]);
            let near = |j: Option<usize>, whole_only: bool| {
                j.filter(|&j| j < centroids.len() && !(whole_only && cut[j]))
                    .map(|j| v(centroids[j]))
                    .filter(|c| (c - here).norm() <= MAX_NEIGHBOUR_GAP_MM)
            };
            let pair = |whole_only: bool| {
                (
                    near(i.checked_sub(1), whole_only),
                    near(Some(i + 1), whole_only),
                )
            };
            let (prev, next) = match pair(true) {
                (None, None) => pair(false),
                found => found,
            };
            let dir = match (prev, next) {
                (Some(p), Some(n)) => n - p,
                (Some(p), None) => here - p,
                (None, Some(n)) => n - here,
                (None, None) => fallback,
            };
            if dir.norm() > 1e-6 {
                dir.normalize()
            } else {
                fallback
            }
        })
        .collect()
}

/// Scores every body of `seg` on `images` (see the module documentation).
///
/// Errors when the configuration is invalid, the exam has no usable series, or the label
/// map is not on the images' grid.
pub fn score_exam(
    images: &ExamImages,
    seg: &Segmentation,
    cfg: &ScoreConfig,
) -> Result<ExamScores> {
    cfg.validate()?;
    let grid = images
        .reference()
        .ok_or_else(|| Error::analysis("exam", "no T1 and no fluid series to score"))?;
    if !grid.same_grid(&seg.labels) {
        return Err(Error::analysis(
            "exam",
            format!(
                "label map {:?} is not on the image grid {:?}",
                seg.labels.shape(),
                grid.shape()
            ),
        ));
    }
    if let Some(f) = &images.fluid {
        if !grid.same_grid(&f.volume) {
            return Err(Error::analysis(
                "exam",
                "fluid series is not on the T1 grid",
            ));
        }
    }
    let (mode, criterion, mode_warning) = choose_mode(images)?;
    let mut warnings: Vec<String> = mode_warning.into_iter().collect();
    let t1 = images.t1.as_ref().map(|v| &v.voxels);
    let fluid = images.fluid.as_ref().map(|f| &f.volume.voxels);
    let affine = grid.affine;
    let spacing_mm = affine.spacing_mm();
    let voxel_ml = affine.voxel_volume_mm3() / 1000.0;
    let radius = erosion_radius(spacing_mm, cfg);

    let wanted: Vec<u16> = seg.bodies.iter().map(|b| b.label).collect();
    let (extents, stray) = label_extents(&seg.labels.voxels, &wanted);
    if stray > 0 {
        warnings.push(format!(
            "{stray} labelled voxels belong to no listed body and were ignored"
        ));
    }
    let present: Vec<usize> = (0..seg.bodies.len())
        .filter(|&i| extents[i].count > 0)
        .collect();
    for &i in (0..seg.bodies.len())
        .filter(|i| !present.contains(i))
        .collect::<Vec<_>>()
        .iter()
    {
        warnings.push(format!(
            "body label {} has no voxels; not scored",
            seg.bodies[i].label
        ));
    }
    let mut bodies: Vec<BodyVoxels> = present
        .par_iter()
        .map(|&i| {
            cut_out(
                wanted[i],
                &extents[i],
                &seg.labels.voxels,
                t1,
                fluid,
                &affine,
                radius,
            )
        })
        .collect();

    let t1_levels = t1.and_then(levels);
    let fluid_levels = fluid.and_then(levels);
    let void = void_levels(&bodies, t1_levels, fluid_levels, cfg);
    bodies.par_iter_mut().for_each(|b| b.compute_stats(void));
    let stats: Vec<_> = bodies.iter().map(|b| b.stats).collect();
    let (mut reference, reference_warnings) = build_reference(&stats);
    warnings.extend(reference_warnings);
    reference.t1_floor = t1_levels.map(|(floor, _)| floor);
    if let Some((floor, csf)) = fluid_levels {
        reference.fluid_floor = Some(floor);
        reference.fluid_csf_level = Some(csf);
    }

    let centroids: Vec<[f64; 3]> = bodies.iter().map(|b| b.stats.centroid_mm).collect();
    let cut: Vec<bool> = bodies
        .iter()
        .zip(&present)
        .map(|(b, &i)| seg.bodies[i].partial || b.touches_edge)
        .collect();
    let axes = local_axes(&centroids, &cut, reference.axis);
    let sagittal = sagittal_slice_axis(grid).map(|slice_axis| heights::SagittalGrid {
        affine,
        slice_axis,
        shape: grid.shape(),
    });
    if sagittal.is_none() {
        warnings.push("images are not sagittal: heights and Genant grades are left empty".into());
    }
    let shared = Shared {
        reference: &reference,
        criterion,
        cfg,
        spacing_mm,
        border_reach: body::border_reach(radius),
        voxel_ml,
        sagittal,
    };
    let outcomes: Vec<BodyOutcome> = bodies
        .par_iter()
        .zip(present.par_iter())
        .zip(axes.par_iter())
        .map(|((body, &i), axis)| {
            let s = spine_coordinate(reference.axis, body.stats.centroid_mm);
            let measure = is_vertebral_body(seg.bodies[i].level, cfg);
            score_body(body, s, *axis, measure, &shared)
        })
        .collect();

    let heights: Vec<Option<Heights>> = outcomes.iter().map(|o| o.heights).collect();
    let neighbour = heights::neighbour_losses(&heights);
    let axis = Vector3::new(reference.axis[0], reference.axis[1], reference.axis[2]);
    let extents: Vec<endplate::AxialExtent> = bodies
        .iter()
        .zip(&outcomes)
        .zip(&axes)
        .map(|((body, o), local)| {
            let c = body.stats.centroid_mm;
            let local = if local.dot(&axis) < 0.0 {
                -local
            } else {
                *local
            };
            endplate::axial_extent(
                body,
                &o.classes,
                &affine,
                Vector3::new(c[0], c[1], c[2]),
                local,
            )
        })
        .collect();
    let endplate_band_at_narrow_disc = endplate::band_faces_narrow_disc(&extents, axis);
    let mut vertebrae = Vec::with_capacity(bodies.len());
    let mut masks = ScoreMasks::empty(grid);
    for (n, ((body, &i), outcome)) in bodies.iter().zip(&present).zip(outcomes).enumerate() {
        let info = &seg.bodies[i];
        let (score, in_masks) = finish_body(
            body,
            info.level,
            cut[n],
            &outcome,
            endplate_band_at_narrow_disc[n],
            neighbour[n],
            mode,
            criterion,
            &reference,
            voxel_ml,
            cfg,
        );
        write_masks(&mut masks, body, &outcome.classes, in_masks);
        vertebrae.push(score);
    }
    Ok(ExamScores {
        mode,
        reference,
        vertebrae,
        masks,
        warnings,
    })
}

/// Void (cement) levels for the body statistics, before the reference exists: the
/// cement thresholds of §2 taken against the median over bodies of the interior medians
/// instead of the fitted normal marrow (most bodies are mostly marrow, so the median of
/// medians is marrow even when some bodies are treated). Only with both series: a voxel
/// is void when it is dark on both, which neither normal marrow (T1-bright) nor edema
/// (fluid-bright) is.
fn void_levels(
    bodies: &[BodyVoxels],
    t1_levels: Option<(f64, f64)>,
    fluid_levels: Option<(f64, f64)>,
    cfg: &ScoreConfig,
) -> Option<body::VoidLevels> {
    let (t1_floor, _) = t1_levels?;
    let (fluid_floor, _) = fluid_levels?;
    let medians: Vec<(Option<f32>, Option<f32>)> =
        bodies.par_iter().map(|b| b.rough_medians()).collect();
    let positive = |m: Option<f32>| m.filter(|&v| v > 0.0).map(f64::from);
    let mut t1: Vec<f64> = medians.iter().filter_map(|m| positive(m.0)).collect();
    let mut fluid: Vec<f64> = medians.iter().filter_map(|m| positive(m.1)).collect();
    let t1_marrow = reference::median_f64(&mut t1)?;
    let fluid_marrow = reference::median_f64(&mut fluid)?;
    Some(body::VoidLevels {
        t1_below: (t1_floor + cfg.cement_t1_fraction * (t1_marrow - t1_floor).max(0.0)) as f32,
        fluid_below: (fluid_floor
            + cfg.cement_fluid_fraction * (fluid_marrow - fluid_floor).max(0.0))
            as f32,
    })
}

/// Background and CSF levels of one series, from a sparse regular sample.
fn levels(voxels: &Array3<f32>) -> Option<(f64, f64)> {
    match voxels.as_slice() {
        Some(s) => floor_and_bright(s, LEVEL_SAMPLE_STRIDE, FLOOR_QUANTILE, CSF_QUANTILE),
        None => {
            let v: Vec<f32> = voxels
                .iter()
                .step_by(LEVEL_SAMPLE_STRIDE)
                .copied()
                .collect();
            floor_and_bright(&v, 1, FLOOR_QUANTILE, CSF_QUANTILE)
        }
    }
}

/// Which of a body's candidate classes the cross-body step counted as edema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CountedAsEdema {
    /// Edema-class voxels (false when they were endplate signal).
    edema: bool,
    /// Cleft candidates (true when the body was not collapsed).
    cleft: bool,
}

/// Writes one body's classes into the exam masks (only the body's own voxels are touched).
fn write_masks(masks: &mut ScoreMasks, body: &BodyVoxels, classes: &[u8], counted: CountedAsEdema) {
    let g = &body.grid;
    for (index, &class) in classes.iter().enumerate() {
        let code = match class {
            CLASS_EDEMA if counted.edema => CLASS_EDEMA,
            CLASS_CLEFT if counted.cleft => CLASS_EDEMA,
            CLASS_CEMENT | CLASS_RIM => class,
            _ => continue,
        };
        let [i, j, k] = g.coords(index);
        masks.classes.voxels[[g.lo[0] + i, g.lo[1] + j, g.lo[2] + k]] = code;
    }
}

/// The cross-body step for one body: neighbour-based heights, Genant, cleft confirmation,
/// endplate signal, grades, activity and confidence. Returns the score and which candidate
/// classes were counted as edema.
#[allow(clippy::too_many_arguments)]
fn finish_body(
    body: &BodyVoxels,
    level: Option<Level>,
    partial: bool,
    outcome: &BodyOutcome,
    endplate_band_at_narrow_disc: bool,
    neighbour_loss: Option<[f64; 3]>,
    mode: ScoringMode,
    criterion: EdemaCriterion,
    reference: &MarrowReference,
    voxel_ml: f64,
    cfg: &ScoreConfig,
) -> (VertebraScore, CountedAsEdema) {
    let mut flags = Vec::new();
    let floor = cfg.detection_floor_percent;
    let genant = outcome.heights.map(|h| heights::genant(h, neighbour_loss));
    let wall_loss = outcome.heights.map(Heights::posterior_wall_loss_percent);
    let fractured = genant.is_some_and(|(g, _, _)| g != GenantGrade::Normal)
        || wall_loss.is_some_and(|w| w >= POSTERIOR_WALL_FRACTURE_PERCENT);
    // A CSF-bright collection is a cleft only in a collapsed body; when heights are unknown
    // (external region, non-sagittal) the collapse cannot be checked and it is reported.
    let cleft_found = outcome.cleft_voxels > 0;
    let cleft_fluid = cleft_found && (fractured || outcome.heights.is_none());
    let cleft_is_edema = cleft_found && !cleft_fluid;
    if cleft_is_edema {
        flags.push(ScoreFlag::BrightFluidNotCleft);
    }
    let extra = if cleft_is_edema {
        outcome.cleft_voxels
    } else {
        0
    };
    // Modic-type endplate signal (`endplate.rs`) is only recognised in an undeformed body.
    let endplate_signal = endplate_band_at_narrow_disc
        && genant.is_some_and(|(g, _, _)| {
            !endplate::deformed(
                g,
                wall_loss,
                neighbour_loss,
                POSTERIOR_WALL_FRACTURE_PERCENT,
            )
        });
    if endplate_signal {
        flags.push(ScoreFlag::EndplateSignal);
    }
    let (edema_voxels, edema_range_voxels) = if endplate_signal {
        (0, [0, 0])
    } else {
        (outcome.edema_voxels, outcome.edema_range_voxels)
    };
    let marrow_voxels = body.observed_count().saturating_sub(outcome.cement_voxels);
    let percent = |voxels: usize| 100.0 * voxels as f64 / marrow_voxels as f64;
    let scorable = criterion != EdemaCriterion::Unscorable && marrow_voxels > 0;
    let bme = scorable.then(|| percent(edema_voxels + extra));
    let bme_range = scorable.then(|| edema_range_voxels.map(|v| percent(v + extra)));
    let grade_unstable = bme_range
        .is_some_and(|[a, b]| grade::voormolen_grade(a, floor) != grade::voormolen_grade(b, floor));
    if grade_unstable {
        flags.push(ScoreFlag::GradeUnstable);
    }
    if partial {
        flags.push(ScoreFlag::Partial);
    }
    if reference.reference_labels.contains(&body.label) {
        flags.push(ScoreFlag::ReferenceBody);
    }
    if matches!(
        criterion,
        EdemaCriterion::FluidOnly | EdemaCriterion::T1Only
    ) {
        flags.push(ScoreFlag::SingleSeries);
    }
    if body.no_interior {
        flags.push(ScoreFlag::NoInterior);
    }
    if outcome.heights.is_none() {
        flags.push(ScoreFlag::HeightsUnavailable);
    }
    if outcome.rim_masked {
        flags.push(ScoreFlag::RimMaskedByEdema);
    }
    if body.unobserved > 0 {
        flags.push(ScoreFlag::OutsideFluidSeries);
    }
    let cement_percent = 100.0 * outcome.cement_voxels as f64 / body.observed_count().max(1) as f64;
    let conf = confidence(&ConfidenceInputs {
        bme_range,
        grade_unstable,
        // Seen in part by the fluid series is, for the edema decision, a partial body.
        partial: partial || body.unobserved > 0,
        mode,
        reference_bodies: reference.reference_labels.len(),
        fallback: reference.fallback,
        no_interior: body.no_interior,
    });
    let score = VertebraScore {
        label: body.label,
        level,
        bme_percent: bme,
        bme_percent_range: bme_range,
        edema_ml: scorable.then(|| (edema_voxels + extra) as f64 * voxel_ml),
        dansie_score: bme.map(|b| grade::dansie_score(b, floor)),
        voormolen_grade: bme.map(|b| grade::voormolen_grade(b, floor)),
        custom_grade: bme.and_then(|b| grade::custom_grade(b, &cfg.custom_grades)),
        cement_ml: outcome.cement_voxels as f64 * voxel_ml,
        cement_percent,
        cement_quartile: (outcome.cement_voxels > 0)
            .then(|| grade::cement_quartile(cement_percent)),
        rim_present: outcome.rim_present,
        rim_ml: outcome.rim_voxels as f64 * voxel_ml,
        cleft_fluid,
        cleft_ml: if cleft_fluid {
            outcome.cleft_voxels as f64 * voxel_ml
        } else {
            0.0
        },
        height_anterior_mm: outcome.heights.map(|h| h.anterior_mm),
        height_middle_mm: outcome.heights.map(|h| h.middle_mm),
        height_posterior_mm: outcome.heights.map(|h| h.posterior_mm),
        height_loss_percent: neighbour_loss.map(|l| l.iter().copied().fold(0.0, f64::max)),
        posterior_wall_loss_percent: wall_loss,
        genant_grade: genant.map(|(g, _, _)| g),
        genant_shape: genant.map(|(_, s, _)| s),
        body_volume_ml: body.voxel_count as f64 * voxel_ml,
        fracture_activity: (fractured && bme.is_some()).then(|| {
            if bme.is_some_and(|b| b >= floor) {
                FractureActivity::Active
            } else {
                FractureActivity::Inactive
            }
        }),
        partial,
        confidence: conf,
        flags,
    };
    (
        score,
        CountedAsEdema {
            edema: !endplate_signal,
            cleft: cleft_is_edema,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_cut_by_the_field_of_view_does_not_tilt_its_neighbours_axis() {
        // Three whole bodies stacked along z, then a sliver cut by the corner of the images
        // whose visible part sits 15 mm off the spine's line.
        let centroids = [
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 30.0],
            [0.0, 0.0, 60.0],
            [0.0, 15.0, 85.0],
        ];
        let axes = local_axes(&centroids, &[false, false, false, true], [0.0, 0.0, 1.0]);
        assert!(axes[2].dot(&Vector3::z()) > 0.9999, "{:?}", axes[2]);
        // Without the flag the sliver would tilt it by ~14°.
        let tilted = local_axes(&centroids, &[false; 4], [0.0, 0.0, 1.0]);
        assert!(tilted[2].dot(&Vector3::z()) < 0.98);
        // A cut body next to nothing whole still gets an axis from its cut neighbour.
        let alone = local_axes(&centroids[2..], &[true, true], [1.0, 0.0, 0.0]);
        assert!(alone[0].y > 0.5);
    }
}
