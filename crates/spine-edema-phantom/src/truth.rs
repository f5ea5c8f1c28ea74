//! Ground truth, computed on the model itself (not on rendered voxels): per-level volumes,
//! edema and cement fractions, rim and cleft, heights and Genant grade; and the changes
//! between two exams of a patient, followed in normalised body coordinates.

use crate::GenantShape;
use crate::acquisition::SeriesPlan;
use crate::anatomy::Anatomy;
use crate::body::{
    EdemaPattern, FLAG_CEMENT, FLAG_CLEFT, FLAG_EDEMA, FLAG_MODIC1, FLAG_RIM, V3, Vertebra,
};
use crate::plan::{EdemaEvent, LevelState};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use spine_edema::Level;

/// Grid step of the truth integration, mm. 0.5 mm is 8–10× finer than the slice spacing
/// and 1.3–2× finer than any pixel, so truth volumes are exact to well under 1 %.
pub(crate) const TRUTH_STEP_MM: f64 = 0.5;

/// Rigid motion of the patient between the T1 and the fluid series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MotionTruth {
    /// Translation in the patient's anatomy frame, mm.
    pub translation_mm: [f64; 3],
    /// Rotation about the anatomy x, y, z axes, degrees.
    pub rotation_deg: [f64; 3],
    /// The same motion as a 4×4 row-major LPS → LPS matrix mapping a point of the patient
    /// as seen by the T1 series to where the fluid series sees it.
    pub lps_matrix: [[f64; 4]; 4],
}

/// One series of the exam, as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesTruth {
    /// SeriesInstanceUID.
    pub series_instance_uid: String,
    /// SeriesNumber.
    pub series_number: u32,
    /// What the series is.
    pub role: crate::acquisition::SeriesRole,
    /// SeriesDescription as written.
    pub series_description: String,
    /// Rows, columns, slices.
    pub shape: [usize; 3],
    /// Pixel spacing (row, column) and slice spacing, mm.
    pub spacing_mm: [f64; 3],
    /// Slice thickness, mm.
    pub thickness_mm: f64,
    /// Transfer syntax UID of the files.
    pub transfer_syntax: String,
}

/// Truth for one vertebral level of one exam.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelTruth {
    /// Level name (T1…L5, S1).
    pub level: Level,
    /// Label code in `bodies.nii.gz` (SPEC §4).
    pub label_code: u8,
    /// Body volume including cortex and cement, mL.
    pub body_volume_ml: f64,
    /// Edematous marrow volume, mL.
    pub edema_volume_ml: f64,
    /// BME % = edema / (body − cement) × 100.
    pub bme_percent: f64,
    /// Cement volume, mL.
    pub cement_ml: f64,
    /// Cement % of the body volume.
    pub cement_percent: f64,
    /// A peri-cement rim (STIR-bright, T1-dark) is present.
    pub rim_present: bool,
    /// Fluid in an intravertebral cleft.
    pub cleft_fluid: bool,
    /// Anterior height on the mid-sagittal plane along the local spine axis, mm.
    pub height_anterior_mm: f64,
    /// Middle height, mm.
    pub height_middle_mm: f64,
    /// Posterior height, mm.
    pub height_posterior_mm: f64,
    /// Largest height reduction against the mean of the nearest unfractured neighbours, %.
    pub height_loss_percent: f64,
    /// Reduction of min(anterior, middle) against the posterior wall, %.
    pub height_loss_vs_posterior_percent: f64,
    /// Genant grade 0–3 from `height_loss_percent`.
    pub genant_grade: u8,
    /// Genant shape.
    pub genant_shape: GenantShape,
    /// The body is only partly inside the T1 field of view.
    pub partial_in_fov: bool,
    /// Spatial pattern of the edema, if any.
    pub edema_pattern: Option<EdemaPattern>,
    /// The generator fractured this level.
    pub fractured: bool,
    /// Confounders present: `schmorl`, `modic1`, `modic2`, `haemangioma`.
    pub confounders: Vec<String>,
    /// Modic-1 endplate signal volume (edema-like, not counted as BME), mL.
    pub modic1_volume_ml: f64,
}

/// Truth of one exam (`truth/truth.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExamTruth {
    /// Generator version that wrote this.
    pub generator: String,
    /// Folder name of the exam.
    pub exam_id: String,
    /// PatientID.
    pub patient_id: String,
    /// StudyInstanceUID.
    pub study_instance_uid: String,
    /// StudyDate, YYYYMMDD.
    pub study_date: String,
    /// FrameOfReferenceUID (shared by all series).
    pub frame_of_reference_uid: String,
    /// SeriesInstanceUID of the sagittal T1.
    pub t1_series_instance_uid: String,
    /// SeriesInstanceUID of the fluid-sensitive series the truth pairs with the T1.
    pub fluid_series_instance_uid: String,
    /// `stir` or `t2-fat-sat`.
    pub fluid_contrast: crate::acquisition::SeriesRole,
    /// All series written.
    pub series: Vec<SeriesTruth>,
    /// Preset name.
    pub preset: String,
    /// Field strength, T.
    pub field_strength_t: f64,
    /// Manufacturer family.
    pub vendor: crate::acquisition::Vendor,
    /// Patient motion between the T1 and the fluid series.
    pub fluid_motion: MotionTruth,
    /// Patient age, years.
    pub patient_age_years: u32,
    /// Labelled levels at least partly inside the T1 field of view, cranial first.
    pub levels: Vec<LevelTruth>,
}

/// Change of one level between two exams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelChangeTruth {
    /// Level.
    pub level: Level,
    /// BME % in the earlier exam.
    pub bme_percent_before: f64,
    /// BME % in the later exam.
    pub bme_percent_after: f64,
    /// Marrow edematous later but not before, % of the later body minus cement.
    pub newly_edematous_percent: f64,
    /// Marrow edematous before but not later, % of the later body minus cement.
    pub newly_normal_percent: f64,
    /// Anterior height lost, mm (negative = gained).
    pub height_loss_anterior_mm: f64,
    /// Middle height lost, mm.
    pub height_loss_middle_mm: f64,
    /// Posterior height lost, mm.
    pub height_loss_posterior_mm: f64,
    /// Largest of the three, mm.
    pub height_loss_max_mm: f64,
    /// Largest relative loss of the three, % of the earlier height.
    pub height_loss_max_percent: f64,
    /// What the generator did to the edema (last step of the interval).
    pub event: EdemaEvent,
    /// Cement was added during the interval.
    pub treated_in_interval: bool,
}

/// Changes between two exams of a patient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntervalTruth {
    /// Earlier exam folder.
    pub from_exam_id: String,
    /// Later exam folder.
    pub to_exam_id: String,
    /// Earlier StudyDate.
    pub from_date: String,
    /// Later StudyDate.
    pub to_date: String,
    /// Days between the two.
    pub interval_days: u32,
    /// Levels in both exams' truth.
    pub levels: Vec<LevelChangeTruth>,
}

/// `changes_truth.json` of a patient: every ordered pair of exams.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangesTruth {
    /// PatientID.
    pub patient_id: String,
    /// One entry per (earlier, later) pair.
    pub intervals: Vec<IntervalTruth>,
}

/// Volumes of one body on the fine grid.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BodyCounts {
    pub body: usize,
    pub edema: usize,
    pub cement: usize,
    pub rim: usize,
    pub cleft: usize,
    pub modic1: usize,
    pub in_fov: usize,
}

fn grid_points(v: &Vertebra) -> impl Iterator<Item = V3> + '_ {
    let e = v.shape.half_extent_mm() + V3::repeat(0.5);
    let n = |h: f64| (h / TRUTH_STEP_MM).ceil() as i64;
    let (nx, ny, nz) = (n(e.x), n(e.y), n(e.z));
    (-nx..nx).flat_map(move |i| {
        (-ny..ny).flat_map(move |j| {
            (-nz..nz).map(move |k| {
                V3::new(
                    (i as f64 + 0.5) * TRUTH_STEP_MM,
                    (j as f64 + 0.5) * TRUTH_STEP_MM,
                    (k as f64 + 0.5) * TRUTH_STEP_MM,
                )
            })
        })
    })
}

/// Counts the fine-grid points of a body; `fov` tells whether an anatomy point is inside
/// the T1 field of view.
pub(crate) fn count_body(v: &Vertebra, fov: &(dyn Fn(&V3) -> bool + Sync)) -> BodyCounts {
    let mut c = BodyCounts::default();
    for l in grid_points(v) {
        let Some(core) = v.body_core(&l) else {
            continue;
        };
        c.body += 1;
        let f = core.flags;
        c.edema += usize::from(f & FLAG_EDEMA != 0);
        c.cement += usize::from(f & FLAG_CEMENT != 0);
        c.rim += usize::from(f & FLAG_RIM != 0);
        c.cleft += usize::from(f & FLAG_CLEFT != 0);
        c.modic1 += usize::from(f & FLAG_MODIC1 != 0);
        c.in_fov += usize::from(fov(&v.frame.world(&l)));
    }
    c
}

/// Whether an anatomy point falls inside the slab of a series.
pub(crate) fn fov_test(plan: &SeriesPlan) -> impl Fn(&V3) -> bool + Sync + use<> {
    // anatomy → LPS → index, as one affine map.
    let m = plan.affine().inverse().matrix() * plan.pose.to_homogeneous();
    let dims = [plan.n_slices as f64, plan.rows as f64, plan.cols as f64];
    let slab_half = 0.5 * plan.thickness_mm / plan.spacing_mm;
    move |q: &V3| {
        let idx = m * q.push(1.0);
        idx[0] >= -slab_half
            && idx[0] <= dims[0] - 1.0 + slab_half
            && (-0.5..dims[1] - 0.5).contains(&idx[1])
            && (-0.5..dims[2] - 0.5).contains(&idx[2])
    }
}

fn genant(loss_percent: f64) -> u8 {
    // Genant et al., JBMR 1993: < 20 % normal, 20–25 mild, 25–40 moderate, > 40 severe.
    match loss_percent {
        x if x < 20.0 => 0,
        x if x < 25.0 => 1,
        x if x <= 40.0 => 2,
        _ => 3,
    }
}

/// Per-level truth of an exam.
pub(crate) fn level_truths(
    anatomy: &Anatomy,
    states: &[LevelState],
    t1: &SeriesPlan,
) -> Vec<LevelTruth> {
    let fov = fov_test(t1);
    let voxel_ml = TRUTH_STEP_MM.powi(3) / 1000.0;
    let counts: Vec<(usize, BodyCounts)> = anatomy
        .labelled()
        .map(|(i, _)| i)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|i| (i, count_body(&anatomy.vertebrae[i], &fov)))
        .collect();
    let verts = &anatomy.vertebrae;
    let heights: Vec<[f64; 3]> = verts.iter().map(|v| v.shape.heights_mm()).collect();
    let reference = |i: usize| -> Option<[f64; 3]> {
        let usable = |j: usize| {
            verts[j].level.is_some_and(Level::is_thoracolumbar) && states[j].fracture.is_none()
        };
        let mut refs = Vec::new();
        if let Some(j) = (i.saturating_sub(2)..i).rev().find(|&j| usable(j)) {
            refs.push(heights[j]);
        }
        if let Some(j) = (i + 1..(i + 3).min(verts.len())).find(|&j| usable(j)) {
            refs.push(heights[j]);
        }
        (!refs.is_empty()).then(|| {
            let n = refs.len() as f64;
            [0, 1, 2].map(|k| refs.iter().map(|r| r[k]).sum::<f64>() / n)
        })
    };
    let mut out = Vec::new();
    for (i, c) in counts {
        if c.in_fov == 0 || c.body == 0 {
            continue;
        }
        let v = &verts[i];
        let Some(level) = v.level else { continue };
        let h = heights[i];
        let red = if level.is_thoracolumbar() {
            reference(i).map_or([0.0; 3], |r| {
                [0, 1, 2].map(|k| (1.0 - h[k] / r[k]).max(0.0) * 100.0)
            })
        } else {
            [0.0; 3]
        };
        let loss = red.iter().copied().fold(0.0, f64::max);
        let grade = genant(loss);
        let shape = if grade == 0 {
            GenantShape::None
        } else if red[2] > 15.0 && red[2] >= 0.75 * red[0].max(red[1]) {
            GenantShape::Crush
        } else if red[0] >= red[1] {
            GenantShape::Wedge
        } else {
            GenantShape::Biconcave
        };
        let marrow = (c.body - c.cement).max(1) as f64;
        let mut confounders = Vec::new();
        if v.schmorl.is_some() {
            confounders.push("schmorl".to_string());
        }
        if let Some(m) = &v.modic {
            confounders.push(format!("modic{}", m.kind));
        }
        if v.haemangioma.is_some() {
            confounders.push("haemangioma".to_string());
        }
        out.push(LevelTruth {
            level,
            label_code: level.code(),
            body_volume_ml: c.body as f64 * voxel_ml,
            edema_volume_ml: c.edema as f64 * voxel_ml,
            bme_percent: c.edema as f64 / marrow * 100.0,
            cement_ml: c.cement as f64 * voxel_ml,
            cement_percent: c.cement as f64 / c.body as f64 * 100.0,
            rim_present: c.rim > 0,
            cleft_fluid: c.cleft > 0,
            height_anterior_mm: h[0],
            height_middle_mm: h[1],
            height_posterior_mm: h[2],
            height_loss_percent: loss,
            height_loss_vs_posterior_percent: ((1.0 - h[0].min(h[1]) / h[2]) * 100.0).max(0.0),
            genant_grade: grade,
            genant_shape: shape,
            partial_in_fov: c.in_fov < c.body,
            edema_pattern: v.edema.as_ref().filter(|_| c.edema > 0).map(|e| e.pattern),
            fractured: states[i].fracture.is_some(),
            confounders,
            modic1_volume_ml: c.modic1 as f64 * voxel_ml,
        });
    }
    out
}

/// Newly edematous / newly normal fractions (%) of `after` relative to `before`, on the
/// fine grid of the later body, matched through normalised body coordinates.
pub(crate) fn marrow_change(before: &Vertebra, after: &Vertebra) -> (f64, f64) {
    let (mut denom, mut new_e, mut new_n) = (0usize, 0usize, 0usize);
    for l in grid_points(after) {
        let Some(a) = after.body_core(&l) else {
            continue;
        };
        if a.flags & FLAG_CEMENT != 0 {
            continue;
        }
        denom += 1;
        let lb = before.shape.denormalised(&a.n);
        let was = before
            .body_core(&lb)
            .is_some_and(|b| b.flags & FLAG_EDEMA != 0);
        let is = a.flags & FLAG_EDEMA != 0;
        new_e += usize::from(is && !was);
        new_n += usize::from(was && !is);
    }
    let d = denom.max(1) as f64;
    (new_e as f64 / d * 100.0, new_n as f64 / d * 100.0)
}
