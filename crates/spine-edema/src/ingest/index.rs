//! The header-only index: every file under the given paths read up to Pixel Data in
//! parallel, grouped patient → study → series, duplicates and non-images set aside.

#![deny(clippy::indexing_slicing)]

use super::header::{FileHeader, read_header};
use super::limits::Limits;
use super::open::{ReadMode, open};
use super::walk::candidate_files;
use crate::error::{Error, Result};
use crate::series::AcquisitionParams;
use chrono::NaiveDate;
use rayon::prelude::*;
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What one index pass found.
#[derive(Debug, Serialize)]
pub struct Index {
    /// Patients, sorted by PatientID.
    pub patients: Vec<Patient>,
    /// Files that are not part of any series, each with the reason.
    pub skipped: Vec<Skipped>,
}

/// A file left out of the index, and why.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// The file (or folder, for walk errors).
    pub path: PathBuf,
    /// Why it was left out; its [`Error::category`] tells non-DICOM from broken from
    /// unsupported.
    #[serde(serialize_with = "serialize_error")]
    pub reason: Error,
}

fn serialize_error<S: Serializer>(error: &Error, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{}: {}", error.category(), error))
}

/// One patient (by PatientID; the name is never read).
#[derive(Clone, Debug, Serialize)]
pub struct Patient {
    /// PatientID (0010,0020); empty when the files carry none.
    pub patient_id: String,
    /// Studies, sorted by date then StudyInstanceUID.
    pub studies: Vec<Study>,
}

/// Which header attribute a study date came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateSource {
    /// StudyDate (0008,0020).
    StudyDate,
    /// SeriesDate (0008,0021), used when StudyDate is empty.
    SeriesDate,
    /// AcquisitionDate (0008,0022) or the date of AcquisitionDateTime (0008,002A).
    AcquisitionDate,
}

/// One study (exam).
#[derive(Clone, Debug, Serialize)]
pub struct Study {
    /// StudyInstanceUID (0020,000D); empty when missing.
    pub study_uid: String,
    /// The exam date; see `date_source`.
    pub study_date: Option<NaiveDate>,
    /// Which attribute `study_date` was read from.
    pub date_source: Option<DateSource>,
    /// StudyDescription (0008,1030).
    pub study_description: Option<String>,
    /// Image series, sorted by SeriesNumber then UID.
    pub series: Vec<SeriesEntry>,
}

/// One image series: its header facts and every frame that belongs to it.
#[derive(Clone, Debug, Serialize)]
pub struct SeriesEntry {
    /// SeriesInstanceUID (0020,000E).
    pub series_uid: String,
    /// SeriesNumber (0020,0011).
    pub series_number: Option<i32>,
    /// Modality (0008,0060).
    pub modality: Option<String>,
    /// SOPClassUID of the first instance (0008,0016).
    pub sop_class_uid: String,
    /// FrameOfReferenceUID (0020,0052): series sharing it share patient coordinates.
    pub frame_of_reference_uid: Option<String>,
    /// Acquisition parameters read from the first instance, for classification.
    pub params: AcquisitionParams,
    /// Every frame of every instance, in file-path order (not slice order: slices are
    /// ordered by position when the volume is built). A classic image is one frame; an
    /// enhanced multi-frame file contributes all its frames.
    pub frames: Vec<FrameEntry>,
}

impl SeriesEntry {
    /// Number of distinct instances (files) in the series.
    pub fn instance_count(&self) -> usize {
        let mut uids: Vec<&str> = self
            .frames
            .iter()
            .map(|f| f.sop_instance_uid.as_str())
            .collect();
        uids.sort_unstable();
        uids.dedup();
        uids.len()
    }

    /// A short description for error messages: number, description, UID and the folder
    /// of its first file.
    pub fn label(&self) -> String {
        let number = self
            .series_number
            .map_or_else(|| "?".to_string(), |n| n.to_string());
        let description = self.params.series_description.as_deref().unwrap_or("");
        let folder = self
            .frames
            .first()
            .and_then(|f| f.path.parent())
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        format!(
            "series {number} \"{description}\" ({}) in {folder}",
            self.series_uid
        )
    }
}

/// How stored pixel samples are laid out (Image Pixel module, PS3.3 C.7.6.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PixelFormat {
    /// SamplesPerPixel (0028,0002): 1 for grayscale.
    pub samples_per_pixel: u16,
    /// BitsAllocated (0028,0100).
    pub bits_allocated: u16,
    /// BitsStored (0028,0101).
    pub bits_stored: u16,
    /// HighBit (0028,0102).
    pub high_bit: u16,
    /// PixelRepresentation (0028,0103) = 1: two's-complement samples.
    pub signed: bool,
    /// PhotometricInterpretation (0028,0004).
    pub photometric: String,
}

/// One 2-D frame: a classic single-frame instance, or one frame of a multi-frame one.
#[derive(Clone, Debug, Serialize)]
pub struct FrameEntry {
    /// The file holding the frame.
    pub path: PathBuf,
    /// SOPInstanceUID (0008,0018) of the instance.
    pub sop_instance_uid: String,
    /// Zero-based frame number within the file.
    pub frame_index: u32,
    /// NumberOfFrames of the file (1 for classic images).
    pub frames_in_file: u32,
    /// InstanceNumber (0020,0013); informative only, never used for ordering.
    pub instance_number: Option<i32>,
    /// ImagePositionPatient (0020,0032), LPS mm: centre of the first transmitted pixel.
    /// Per-frame PlanePositionSequence for enhanced images.
    pub position_mm: Option<[f64; 3]>,
    /// ImageOrientationPatient (0020,0037): row direction then column direction cosines.
    pub orientation: Option<[f64; 6]>,
    /// PixelSpacing (0028,0030): row spacing (between rows) then column spacing, mm.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// SliceThickness (0018,0050), mm; informative (spacing comes from positions).
    pub slice_thickness_mm: Option<f64>,
    /// SpacingBetweenSlices (0018,0088), mm; used only for single-slice volumes.
    pub spacing_between_slices_mm: Option<f64>,
    /// Rows (0028,0010).
    pub rows: u32,
    /// Columns (0028,0011).
    pub cols: u32,
    /// Stored sample layout.
    pub pixel: PixelFormat,
    /// RescaleSlope (0028,1053), 1 when absent; finite (checked at indexing).
    pub rescale_slope: f64,
    /// RescaleIntercept (0028,1052), 0 when absent; finite (checked at indexing).
    pub rescale_intercept: f64,
    /// TransferSyntaxUID of the file (synthesised for files without a meta group).
    pub transfer_syntax: String,
}

/// Indexes every file under `paths` (files or folders, walked recursively) reading
/// headers only, in parallel on the current rayon pool.
///
/// Never fails as a whole: unreadable, foreign, non-image, over-limit and duplicate
/// files are listed in [`Index::skipped`] with their reason.
pub fn index_paths(paths: &[PathBuf], limits: &Limits) -> Index {
    let (files, mut skipped) = candidate_files(paths, limits);
    let headers: Vec<(PathBuf, Result<FileHeader>)> = files
        .into_par_iter()
        .map(|path| {
            let header = index_file(&path, limits);
            (path, header)
        })
        .collect();
    let mut parsed = Vec::with_capacity(headers.len());
    for (path, header) in headers {
        match header {
            Ok(header) => parsed.push(header),
            Err(reason) => skipped.push(Skipped { path, reason }),
        }
    }
    let patients = group(parsed, &mut skipped);
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Index { patients, skipped }
}

/// Reads the header of one file (no pixel data).
fn index_file(path: &Path, limits: &Limits) -> Result<FileHeader> {
    let object = open(path, ReadMode::Header, limits)?;
    read_header(path, &object, limits)
}

/// A study being assembled, with its series keyed by SeriesInstanceUID.
type StudyBuilder = (Study, BTreeMap<String, SeriesEntry>);

/// Groups file headers (in path order) into patients, studies and series, dropping
/// instances whose SOPInstanceUID was already seen.
fn group(headers: Vec<FileHeader>, skipped: &mut Vec<Skipped>) -> Vec<Patient> {
    let mut first_seen: HashMap<String, PathBuf> = HashMap::new();
    let mut tree: BTreeMap<String, BTreeMap<String, StudyBuilder>> = BTreeMap::new();
    for header in headers {
        let Some(first) = header.frames.first() else {
            continue;
        };
        let path = first.path.clone();
        if let Some(original) = first_seen.get(&first.sop_instance_uid) {
            let reason = Error::unsupported(
                &path,
                format!(
                    "duplicate SOPInstanceUID {} (kept {})",
                    first.sop_instance_uid,
                    original.display()
                ),
            );
            skipped.push(Skipped { path, reason });
            continue;
        }
        first_seen.insert(first.sop_instance_uid.clone(), path);
        let (study, series) = tree
            .entry(header.patient_id.clone())
            .or_default()
            .entry(header.study_uid.clone())
            .or_insert_with(|| {
                (
                    Study {
                        study_uid: header.study_uid.clone(),
                        study_date: None,
                        date_source: None,
                        study_description: None,
                        series: Vec::new(),
                    },
                    BTreeMap::new(),
                )
            });
        if study.study_date.is_none() {
            if let Some((date, source)) = header.study_date {
                study.study_date = Some(date);
                study.date_source = Some(source);
            }
        }
        if study.study_description.is_none() {
            study.study_description = header.study_description.clone();
        }
        let FileHeader {
            series_uid,
            series_number,
            modality,
            sop_class_uid,
            frame_of_reference_uid,
            params,
            frames,
            ..
        } = header;
        series
            .entry(series_uid.clone())
            .or_insert_with(|| SeriesEntry {
                series_uid,
                series_number,
                modality,
                sop_class_uid,
                frame_of_reference_uid,
                params,
                frames: Vec::new(),
            })
            .frames
            .extend(frames);
    }
    tree.into_iter()
        .map(|(patient_id, studies)| {
            let mut studies: Vec<Study> = studies
                .into_values()
                .map(|(mut study, series)| {
                    study.series = series.into_values().collect();
                    study.series.sort_by(|a, b| {
                        (a.series_number, &a.series_uid).cmp(&(b.series_number, &b.series_uid))
                    });
                    study
                })
                .collect();
            studies.sort_by(|a, b| (a.study_date, &a.study_uid).cmp(&(b.study_date, &b.study_uid)));
            Patient {
                patient_id,
                studies,
            }
        })
        .collect()
}
