//! One exam from its images to its report: segment (or take external masks), score, and
//! keep per-body crops for later comparison. `score_exam` in the style guide's words:
//! a pure function of the exam and a serde [`Config`], with no global state.

use crate::compare::crop::BodyCrop;
use crate::compare::{CompareConfig, ExamObservation, LevelObservation};
use crate::error::Result;
use crate::exam::ScoringMode;
use crate::load::{ExamInfo, LoadConfig, LoadedExam};
use crate::masks::{ExternalMasks, to_segmentation};
use crate::score::{MarrowReference, ScoreConfig, ScoreMasks, VertebraScore, score_exam};
use crate::segment::{Labelling, SegmentConfig, Segmentation, VertebralBody, segment};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Every setting of the analysis, as read from the `--config` TOML file. Missing sections
/// take their documented defaults (`spine-edema config --default`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Series choice, alignment and input limits.
    pub load: LoadConfig,
    /// Vertebral-body segmentation and level naming.
    pub segment: SegmentConfig,
    /// Edema, cement, rim, cleft and height scoring.
    pub score: ScoreConfig,
    /// Exam-to-exam comparison.
    pub compare: CompareConfig,
}

/// Where the body masks came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MaskSource {
    /// Our segmentation.
    Automatic,
    /// A label map given by the user.
    External {
        /// The file.
        path: String,
    },
}

/// The result of analysing one exam: what goes into `exams/<exam_id>.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExamReport {
    /// Tool version that wrote it.
    pub tool_version: String,
    /// Identity and provenance.
    pub info: ExamInfo,
    /// Which series were combined.
    pub mode: ScoringMode,
    /// Where the body masks came from.
    pub masks: MaskSource,
    /// Bodies as segmented and labelled, head to foot.
    pub bodies: Vec<VertebralBody>,
    /// How the bodies were named.
    pub labelling: Labelling,
    /// What "normal marrow" was in this exam.
    pub reference: MarrowReference,
    /// Per-vertebra scores, head to foot.
    pub vertebrae: Vec<VertebraScore>,
    /// Per-body voxel crops (body, edema, cement) for voxel-wise comparison, by body label.
    pub crops: Vec<(u16, BodyCrop)>,
    /// Warnings for the reader.
    pub warnings: Vec<String>,
}

/// Wall time of each stage of one exam (kept out of the report so reports are reproducible).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimes {
    /// Segmentation (or bringing external masks onto the grid).
    pub segment: Duration,
    /// Scoring.
    pub score: Duration,
    /// Cropping per-body masks.
    pub crop: Duration,
}

/// Everything the analysis produced, including the volumes the report crate draws.
#[derive(Clone, Debug)]
pub struct ExamAnalysis {
    /// The serialisable report.
    pub report: ExamReport,
    /// Body label map on the reference grid.
    pub segmentation: Segmentation,
    /// Edema, cement and rim masks on the reference grid.
    pub masks: ScoreMasks,
    /// Stage timings.
    pub times: StageTimes,
}

/// Segments (or takes `external` masks) and scores one loaded exam.
pub fn analyze_exam(
    exam: &LoadedExam,
    external: Option<&ExternalMasks>,
    cfg: &Config,
) -> Result<ExamAnalysis> {
    let context = exam.info.exam_key.clone();
    let reference = exam
        .images
        .reference()
        .ok_or_else(|| crate::Error::analysis(context.clone(), "no image to analyse"))?;
    let mut warnings = Vec::new();
    let started = Instant::now();
    let (segmentation, source) = match external {
        Some(masks) => {
            let (seg, notes) = to_segmentation(masks, reference);
            warnings.extend(notes);
            (
                seg,
                MaskSource::External {
                    path: masks.source.display().to_string(),
                },
            )
        }
        None => (segment(&exam.images, &cfg.segment)?, MaskSource::Automatic),
    };
    let segment_time = started.elapsed();
    let started = Instant::now();
    // A region a user supplies without a level name may be anything (a sacrum, a lesion):
    // heights and Genant grades are then left empty rather than guessed.
    let score_cfg = match external {
        Some(_) => ScoreConfig {
            unnamed_regions_are_bodies: false,
            ..cfg.score.clone()
        },
        None => cfg.score.clone(),
    };
    let scores = score_exam(&exam.images, &segmentation, &score_cfg)?;
    let score_time = started.elapsed();
    warnings.extend(scores.warnings.iter().cloned());
    let started = Instant::now();
    let wanted: Vec<u16> = segmentation.bodies.iter().map(|b| b.label).collect();
    let crops = BodyCrop::all_from_masks(&segmentation.labels, &wanted, &scores.masks);
    let crop_time = started.elapsed();
    let report = ExamReport {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        info: exam.info.clone(),
        mode: scores.mode,
        masks: source,
        bodies: segmentation.bodies.clone(),
        labelling: segmentation.labelling.clone(),
        reference: scores.reference.clone(),
        vertebrae: scores.vertebrae.clone(),
        crops,
        warnings,
    };
    Ok(ExamAnalysis {
        report,
        segmentation,
        masks: scores.masks,
        times: StageTimes {
            segment: segment_time,
            score: score_time,
            crop: crop_time,
        },
    })
}

impl ExamReport {
    /// The exam as the comparison sees it, under the given identifiers (which the caller
    /// may have pseudonymised). Bodies without a level name cannot be matched and are left out.
    pub fn observation(&self, exam_id: &str, patient_id: &str) -> ExamObservation {
        let levels = self
            .vertebrae
            .iter()
            .filter_map(|v| {
                let level = v.level?;
                Some(LevelObservation {
                    level,
                    bme_percent: v.bme_percent,
                    grade: v.voormolen_grade,
                    cement_percent: v.cement_percent,
                    body_volume_ml: v.body_volume_ml,
                    heights_mm: [
                        v.height_anterior_mm,
                        v.height_middle_mm,
                        v.height_posterior_mm,
                    ],
                    crop: self
                        .crops
                        .iter()
                        .find(|(label, _)| *label == v.label)
                        .map(|(_, c)| c.clone()),
                })
            })
            .collect();
        ExamObservation {
            exam_id: exam_id.to_string(),
            patient_id: patient_id.to_string(),
            date: self.info.study_date,
            levels,
        }
    }
}
