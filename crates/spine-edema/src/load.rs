//! From an exam's files to [`ExamImages`]: choose the series, decode them, and bring the
//! fluid-sensitive series onto the T1 grid.
//!
//! The exams come from [`discover`]: DICOM studies found by the header index, and NIfTI
//! sets named BIDS-style. Either way the result is the same `LoadedExam`, so everything
//! after this stage is blind to the file format.

use crate::bids::{NiftiExamFiles, group_nifti_exams};
use crate::error::{Error, Result};
use crate::exam::{ExamImages, FluidImage};
use crate::ingest::{
    DateSource, Index, Limits, SeriesEntry, Skipped, Study, decode_series, index_paths,
};
use crate::series::{
    Candidate, Classification, Contrast, Plane, SeriesOverride, choose_series, classify, plane_of,
};
use crate::volume::Volume;
use crate::volume::dicom::SliceGeometryReport;
use crate::volume::register::{RigidConfig, refine_rigid};
use crate::volume::resample::resample_trilinear;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How series are chosen and aligned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    /// Force the T1 series (series number or SeriesInstanceUID).
    pub t1_series: Option<String>,
    /// Force the fluid-sensitive series (series number or SeriesInstanceUID).
    pub fluid_series: Option<String>,
    /// Rigid refinement of the fluid series onto the T1 (small motion between series).
    pub registration: RegistrationConfig,
    /// Limits on untrusted input.
    pub limits: Limits,
}

/// Whether and how far to search for motion between the T1 and the fluid series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Refine the alignment at all (off: trust the scanner coordinates).
    pub enabled: bool,
    /// Search bounds and effort.
    pub rigid: RigidConfig,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            enabled: true,
            rigid: RigidConfig::default(),
        }
    }
}

/// Where one exam's images come from.
#[derive(Clone, Debug)]
pub enum ExamSource {
    /// A DICOM study found by the header index.
    Dicom {
        /// PatientID of the study.
        patient_id: String,
        /// The study with its series.
        study: Study,
    },
    /// BIDS-named NIfTI files.
    Nifti(NiftiExamFiles),
}

impl ExamSource {
    /// Every input file of the exam (for fingerprints and messages).
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            ExamSource::Dicom { study, .. } => study_files(study)
                .into_iter()
                .map(Path::to_path_buf)
                .collect(),
            ExamSource::Nifti(n) => [&n.t1, &n.stir, &n.t2fs, &n.t2]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        }
    }

    /// Patient identifier.
    pub fn patient_id(&self) -> &str {
        match self {
            ExamSource::Dicom { patient_id, .. } => patient_id,
            ExamSource::Nifti(n) => &n.patient_id,
        }
    }

    /// A stable key of the exam: StudyInstanceUID, or the NIfTI name prefix.
    pub fn key(&self) -> &str {
        match self {
            ExamSource::Dicom { study, .. } => &study.study_uid,
            ExamSource::Nifti(n) => &n.exam_id,
        }
    }

    /// A short description for messages (a folder or file of the exam).
    pub fn describe(&self) -> String {
        let files = self.files();
        let first = files
            .first()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        match self {
            ExamSource::Dicom { study, .. } => format!(
                "study {} ({} files, e.g. {first})",
                study.study_uid,
                files.len()
            ),
            ExamSource::Nifti(n) => format!("NIfTI exam {} ({first})", n.exam_id),
        }
    }
}

/// The distinct files of a study, sorted (a multi-frame file holds several frames).
fn study_files(study: &Study) -> Vec<&Path> {
    let mut files: Vec<&Path> = study
        .series
        .iter()
        .flat_map(|s| s.frames.iter().map(|f| f.path.as_path()))
        .collect();
    files.sort_unstable();
    files.dedup();
    files
}

/// Everything found under some paths.
#[derive(Debug)]
pub struct Discovery {
    /// Exams, in patient then date order.
    pub exams: Vec<ExamSource>,
    /// Files that belong to no exam, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Finds every exam under `paths`: DICOM studies by their headers and BIDS-named NIfTI sets.
pub fn discover(paths: &[PathBuf], limits: &Limits) -> Discovery {
    let Index { patients, skipped } = index_paths(paths, limits);
    // Files the DICOM index could not read may be NIfTI exams named BIDS-style.
    let nifti = group_nifti_exams(skipped.iter().map(|s| s.path.as_path()));
    let nifti_files: Vec<PathBuf> = nifti
        .iter()
        .flat_map(|n| ExamSource::Nifti(n.clone()).files())
        .collect();
    let mut exams: Vec<ExamSource> = patients
        .into_iter()
        .flat_map(|p| {
            let patient_id = p.patient_id;
            p.studies.into_iter().map(move |study| ExamSource::Dicom {
                patient_id: patient_id.clone(),
                study,
            })
        })
        .collect();
    exams.extend(nifti.into_iter().map(ExamSource::Nifti));
    let skipped = skipped
        .into_iter()
        .filter(|s| !nifti_files.contains(&s.path))
        .collect();
    Discovery { exams, skipped }
}

/// The series used for one role, as reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesUsed {
    /// SeriesInstanceUID, or the NIfTI file name.
    pub series_uid: String,
    /// SeriesNumber.
    pub series_number: Option<i64>,
    /// SeriesDescription.
    pub description: Option<String>,
    /// Classified contrast.
    pub contrast: Contrast,
    /// Classified plane.
    pub plane: Plane,
    /// Why it was classified so.
    pub classification_reason: String,
    /// Number of slices.
    pub slices: usize,
    /// Voxel spacing `[slice, row, column]` mm.
    pub spacing_mm: [f64; 3],
    /// Notes on the slice stack (gaps, uneven spacing).
    pub geometry_notes: Vec<String>,
}

/// How the fluid series was aligned to the T1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlignmentSummary {
    /// `geometry` (same grid or resampled by coordinates) or `rigid` (refined).
    pub method: String,
    /// Size of the rigid correction applied, mm (at the volume's edge).
    pub correction_mm: f64,
    /// Estimated remaining misalignment, mm.
    pub residual_mm: Option<f64>,
}

/// Identity and provenance of one exam.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExamInfo {
    /// StudyInstanceUID or NIfTI name prefix.
    pub exam_key: String,
    /// PatientID (never the name).
    pub patient_id: String,
    /// Exam date.
    pub study_date: Option<NaiveDate>,
    /// Which header the date came from (`study_date`, `series_date`, `acquisition_date`).
    pub date_source: Option<String>,
    /// StudyDescription.
    pub study_description: Option<String>,
    /// The T1 used.
    pub t1: Option<SeriesUsed>,
    /// The fluid-sensitive series used.
    pub fluid: Option<SeriesUsed>,
    /// Why these series were chosen.
    pub choice_reason: String,
    /// How the fluid series was brought onto the T1 grid.
    pub alignment: Option<AlignmentSummary>,
    /// Input files.
    pub files: usize,
}

/// An exam ready for segmentation and scoring.
#[derive(Clone, Debug)]
pub struct LoadedExam {
    /// Identity and provenance.
    pub info: ExamInfo,
    /// Images on one grid.
    pub images: ExamImages,
    /// Time spent per loading stage.
    pub times: LoadTimes,
}

/// Wall time of the loading stages (for `spine-edema bench`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadTimes {
    /// Reading and decoding pixels.
    pub decode: Duration,
    /// Rigid refinement and resampling of the fluid series onto the T1 grid.
    pub align: Duration,
}

/// Loads one exam: chooses series, decodes them, resamples the fluid series onto the T1.
pub fn load_exam(source: &ExamSource, cfg: &LoadConfig) -> Result<LoadedExam> {
    match source {
        ExamSource::Dicom { patient_id, study } => load_dicom(patient_id, study, cfg),
        ExamSource::Nifti(files) => load_nifti(files, cfg),
    }
}

fn parse_override(value: &Option<String>) -> Result<Option<SeriesOverride>> {
    value.as_deref().map(str::parse).transpose()
}

/// Every series of a study classified, as candidates for the series choice (in the order
/// of `study.series`).
pub fn candidates(study: &Study) -> Vec<Candidate> {
    study
        .series
        .iter()
        .map(|s| Candidate {
            series_uid: s.series_uid.clone(),
            series_number: s.series_number.map(i64::from),
            classification: classify(&s.params),
            slice_count: s.frames.len(),
            frame_of_reference_uid: s.frame_of_reference_uid.clone(),
        })
        .collect()
}

fn load_dicom(patient_id: &str, study: &Study, cfg: &LoadConfig) -> Result<LoadedExam> {
    let context = format!("study {}", study.study_uid);
    let candidates = candidates(study);
    let classifications: Vec<Classification> = candidates
        .iter()
        .map(|c| c.classification.clone())
        .collect();
    let choice = choose_series(
        &candidates,
        parse_override(&cfg.t1_series)?.as_ref(),
        parse_override(&cfg.fluid_series)?.as_ref(),
    );
    if choice.t1.is_none() && choice.fluid.is_none() {
        return Err(Error::analysis(
            context,
            format!(
                "no usable sagittal T1 or fluid-sensitive series: {}",
                choice.reason
            ),
        ));
    }
    let decode = |i: usize| -> Result<(Volume<f32>, SeriesUsed, &SeriesEntry)> {
        let entry = study
            .series
            .get(i)
            .ok_or_else(|| Error::analysis(context.clone(), "series index out of range"))?;
        let class = classifications
            .get(i)
            .cloned()
            .unwrap_or_else(|| classify(&entry.params));
        let decoded = decode_series(entry, &cfg.limits)?;
        let used = SeriesUsed {
            series_uid: entry.series_uid.clone(),
            series_number: entry.series_number.map(i64::from),
            description: entry.params.series_description.clone(),
            contrast: class.contrast,
            plane: class.plane,
            classification_reason: class.reason.clone(),
            slices: decoded.volume.shape()[0],
            spacing_mm: decoded.volume.affine.spacing_mm(),
            geometry_notes: geometry_notes(&decoded.geometry),
        };
        Ok((decoded.volume, used, entry))
    };
    let started = Instant::now();
    let t1 = choice.t1.map(decode).transpose()?;
    let fluid = choice.fluid.map(decode).transpose()?;
    let decode_time = started.elapsed();
    let started = Instant::now();
    let same_frame = match (&t1, &fluid) {
        (Some((_, _, a)), Some((_, _, b))) => {
            a.frame_of_reference_uid.is_some()
                && a.frame_of_reference_uid == b.frame_of_reference_uid
        }
        _ => false,
    };
    // The decoded volumes move into the images: no copy of the voxels.
    let (t1_volume, t1_used) = t1.map(|(v, u, _)| (v, u)).unzip();
    let (fluid_volume, fluid_used) = fluid.map(|(v, u, _)| (v, u)).unzip();
    let (images, alignment) = assemble(
        t1_volume,
        fluid_volume.zip(fluid_used.as_ref().map(|u| u.contrast)),
        same_frame,
        cfg,
    )?;
    let times = LoadTimes {
        decode: decode_time,
        align: started.elapsed(),
    };
    Ok(LoadedExam {
        times,
        info: ExamInfo {
            exam_key: study.study_uid.clone(),
            patient_id: patient_id.to_string(),
            study_date: study.study_date,
            date_source: study.date_source.map(|d| match d {
                DateSource::StudyDate => "study_date".to_string(),
                DateSource::SeriesDate => "series_date".to_string(),
                DateSource::AcquisitionDate => "acquisition_date".to_string(),
            }),
            study_description: study.study_description.clone(),
            t1: t1_used,
            fluid: fluid_used,
            choice_reason: choice.reason,
            alignment,
            files: study_files(study).len(),
        },
        images,
    })
}

fn load_nifti(files: &NiftiExamFiles, cfg: &LoadConfig) -> Result<LoadedExam> {
    let read = |path: &Path, contrast: Contrast| -> Result<(Volume<f32>, SeriesUsed)> {
        let volume = crate::nifti::read_volume(path)?;
        let used = SeriesUsed {
            series_uid: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            series_number: None,
            description: None,
            contrast,
            plane: nifti_plane(&volume.affine),
            classification_reason: "from the BIDS-style file name".to_string(),
            slices: volume.shape()[0],
            spacing_mm: volume.affine.spacing_mm(),
            geometry_notes: Vec::new(),
        };
        Ok((volume, used))
    };
    let started = Instant::now();
    let t1 = files
        .t1
        .as_deref()
        .map(|p| read(p, Contrast::T1))
        .transpose()?;
    let fluid = files.fluid().map(|(c, p)| read(p, c)).transpose()?;
    if t1.is_none() && fluid.is_none() {
        return Err(Error::analysis(
            files.exam_id.clone(),
            "no T1, STIR or T2 volume",
        ));
    }
    // dcm2niix output of one session shares scanner coordinates.
    let decode_time = started.elapsed();
    let started = Instant::now();
    let (t1_volume, t1_used) = t1.unzip();
    let (fluid_volume, fluid_used) = fluid.unzip();
    let (images, alignment) = assemble(
        t1_volume,
        fluid_volume.zip(fluid_used.as_ref().map(|u| u.contrast)),
        true,
        cfg,
    )?;
    let times = LoadTimes {
        decode: decode_time,
        align: started.elapsed(),
    };
    Ok(LoadedExam {
        times,
        info: ExamInfo {
            exam_key: files.exam_id.clone(),
            patient_id: files.patient_id.clone(),
            study_date: None,
            date_source: None,
            study_description: files.session.clone(),
            t1: t1_used,
            fluid: fluid_used,
            choice_reason: "NIfTI files named by contrast".to_string(),
            alignment,
            files: ExamSource::Nifti(files.clone()).files().len(),
        },
        images,
    })
}

/// Puts the fluid series on the T1 grid: as is when the grids agree, otherwise resampled by
/// geometry, refined by a bounded rigid search when both share a frame of reference. Takes
/// the decoded volumes by value so that they move into the images instead of being copied.
fn assemble(
    t1: Option<Volume<f32>>,
    fluid: Option<(Volume<f32>, Contrast)>,
    same_frame: bool,
    cfg: &LoadConfig,
) -> Result<(ExamImages, Option<AlignmentSummary>)> {
    let Some(t1) = t1 else {
        let fluid = fluid.map(|(volume, contrast)| FluidImage { contrast, volume });
        return Ok((ExamImages { t1: None, fluid }, None));
    };
    let Some((fluid_volume, contrast)) = fluid else {
        return Ok((
            ExamImages {
                t1: Some(t1),
                fluid: None,
            },
            None,
        ));
    };
    if fluid_volume.same_grid(&t1) && !cfg.registration.enabled {
        return Ok((
            ExamImages {
                t1: Some(t1),
                fluid: Some(FluidImage {
                    contrast,
                    volume: fluid_volume,
                }),
            },
            Some(AlignmentSummary {
                method: "same grid".into(),
                correction_mm: 0.0,
                residual_mm: None,
            }),
        ));
    }
    let fit = if cfg.registration.enabled && same_frame {
        refine_rigid(&t1, &fluid_volume, &cfg.registration.rigid)
            .ok()
            // A fit that hit a search bound may be a false optimum: trust the scanner coordinates.
            .filter(|f| !f.at_bound)
    } else {
        None
    };
    let resampled = resample_trilinear(
        &fluid_volume,
        t1.shape(),
        &t1.affine,
        fit.as_ref().map(|f| &f.transform),
    );
    let alignment = match &fit {
        Some(f) => AlignmentSummary {
            method: "rigid".into(),
            correction_mm: f.correction_mm,
            residual_mm: Some(f.residual_mm),
        },
        None => AlignmentSummary {
            method: "geometry".into(),
            correction_mm: 0.0,
            residual_mm: None,
        },
    };
    Ok((
        ExamImages {
            t1: Some(t1),
            fluid: Some(FluidImage {
                contrast,
                volume: resampled,
            }),
        },
        Some(alignment),
    ))
}

/// Notes a reader should see about a slice stack.
fn geometry_notes(g: &SliceGeometryReport) -> Vec<String> {
    let mut notes = Vec::new();
    if g.gaps > 0 {
        notes.push(format!(
            "{} missing slice(s): spacing up to {:.1} mm against a median of {:.1} mm",
            g.gaps, g.max_spacing_mm, g.median_spacing_mm
        ));
    }
    if !g.uniform {
        notes.push(format!(
            "uneven slice spacing ({:.2}–{:.2} mm) or in-plane offset {:.2} mm; volumes use the mean spacing",
            g.min_spacing_mm, g.max_spacing_mm, g.max_in_plane_offset_mm
        ));
    }
    notes
}

/// Plane of a NIfTI volume, which has no slice direction of its own: the array axis with
/// the coarsest spacing is taken as the slice axis (ties: the one nearest left–right), and
/// the other two as the in-plane row and column directions.
fn nifti_plane(affine: &crate::geometry::Affine) -> Plane {
    let spacing = affine.spacing_mm();
    let dirs = affine.directions();
    let slice_axis = (0..3)
        .max_by(|&a, &b| {
            spacing[a]
                .total_cmp(&spacing[b])
                .then(dirs[a].x.abs().total_cmp(&dirs[b].x.abs()))
        })
        .unwrap_or(0);
    let mut in_plane = (0..3).filter(|&a| a != slice_axis).map(|a| dirs[a]);
    match (in_plane.next(), in_plane.next()) {
        (Some(r), Some(c)) => plane_of(&[r.x, r.y, r.z, c.x, c.y, c.z]),
        _ => Plane::Oblique,
    }
}
