//! Reading the header facts of one file: identity (patient, study, series, instance),
//! acquisition parameters, and per-frame geometry and pixel format, for classic
//! single-frame images and enhanced multi-frame MR alike.

#![deny(clippy::indexing_slicing)]

use super::index::{DateSource, FrameEntry, PixelFormat};
use super::limits::Limits;
use crate::error::{Error, Result};
use crate::series::AcquisitionParams;
use chrono::NaiveDate;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, InMemDicomObject, mem::InMemElement};
use std::path::Path;

/// Everything the index keeps about one file. Patient name and birth date are never
/// read: the index holds no more identifying data than grouping needs.
#[derive(Clone, Debug)]
pub(crate) struct FileHeader {
    pub patient_id: String,
    pub study_uid: String,
    pub study_date: Option<(NaiveDate, DateSource)>,
    pub study_description: Option<String>,
    pub series_uid: String,
    pub series_number: Option<i32>,
    pub modality: Option<String>,
    pub sop_class_uid: String,
    pub frame_of_reference_uid: Option<String>,
    pub params: AcquisitionParams,
    pub frames: Vec<FrameEntry>,
}

/// SOP classes that are never image series, with the reason given when skipping them.
fn non_image_reason(sop_class: &str) -> Option<&'static str> {
    const SR: &str = "1.2.840.10008.5.1.4.1.1.88.";
    const PRESENTATION_STATE: &str = "1.2.840.10008.5.1.4.1.1.11.";
    const WAVEFORM: &str = "1.2.840.10008.5.1.4.1.1.9.";
    if sop_class == uids::MEDIA_STORAGE_DIRECTORY_STORAGE {
        Some("DICOMDIR (a media directory, not an image)")
    } else if sop_class.starts_with(SR) {
        Some("structured report or key-object selection, not an image")
    } else if sop_class.starts_with(PRESENTATION_STATE) {
        Some("presentation state, not an image")
    } else if sop_class.starts_with(WAVEFORM) {
        Some("waveform, not an image")
    } else if sop_class == uids::SEGMENTATION_STORAGE {
        Some("segmentation object, not an image series")
    } else {
        None
    }
}

/// Reads the header facts of an object opened by [`super::open::open`].
pub(crate) fn read_header(
    path: &Path,
    file: &DefaultDicomObject,
    limits: &Limits,
) -> Result<FileHeader> {
    let obj: &InMemDicomObject = file;
    let sop_class_uid = text(obj, tags::SOP_CLASS_UID)
        .or_else(|| non_empty(file.meta().media_storage_sop_class_uid()))
        .ok_or_else(|| Error::decoding(path, "no SOPClassUID"))?;
    if let Some(reason) = non_image_reason(&sop_class_uid) {
        return Err(Error::unsupported(path, reason));
    }
    let (Some(rows), Some(cols)) = (uint(obj, tags::ROWS), uint(obj, tags::COLUMNS)) else {
        return Err(Error::unsupported(
            path,
            format!("non-image SOP class {sop_class_uid} (no Rows/Columns)"),
        ));
    };
    let frames_in_file = match obj.get(tags::NUMBER_OF_FRAMES) {
        None => 1,
        Some(_) => uint(obj, tags::NUMBER_OF_FRAMES)
            .ok_or_else(|| Error::decoding(path, "NumberOfFrames is not a number"))?,
    };
    if rows == 0 || cols == 0 || frames_in_file == 0 {
        return Err(Error::decoding(
            path,
            format!("empty image: {rows} rows, {cols} columns, {frames_in_file} frames"),
        ));
    }
    let pixel = pixel_format(path, obj)?;
    limits
        .check_image(
            rows,
            cols,
            frames_in_file,
            u32::from(pixel.samples_per_pixel),
            u32::from(pixel.bits_allocated),
        )
        .map_err(|reason| Error::limits(path, reason))?;

    let sop_instance_uid = text(obj, tags::SOP_INSTANCE_UID)
        .or_else(|| non_empty(file.meta().media_storage_sop_instance_uid()))
        .ok_or_else(|| Error::decoding(path, "no SOPInstanceUID"))?;
    let series_uid = text(obj, tags::SERIES_INSTANCE_UID)
        .ok_or_else(|| Error::decoding(path, "no SeriesInstanceUID"))?;
    let transfer_syntax = file
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    let groups = FunctionalGroups::of(obj);

    let frames = (0..frames_in_file)
        .map(|frame_index| {
            let item = groups
                .per_frame
                .and_then(|items| items.get(frame_index as usize));
            let lookup =
                |seq: Tag, tag: Tag| groups.frame_value(item, seq, tag).or_else(|| obj.get(tag));
            let slope = rescale_value(
                path,
                "RescaleSlope",
                lookup(
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    tags::RESCALE_SLOPE,
                ),
            )?;
            let intercept = rescale_value(
                path,
                "RescaleIntercept",
                lookup(
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    tags::RESCALE_INTERCEPT,
                ),
            )?;
            Ok(FrameEntry {
                path: path.to_path_buf(),
                sop_instance_uid: sop_instance_uid.clone(),
                frame_index,
                frames_in_file,
                instance_number: int(obj.get(tags::INSTANCE_NUMBER)),
                position_mm: fixed(lookup(
                    tags::PLANE_POSITION_SEQUENCE,
                    tags::IMAGE_POSITION_PATIENT,
                )),
                orientation: fixed(lookup(
                    tags::PLANE_ORIENTATION_SEQUENCE,
                    tags::IMAGE_ORIENTATION_PATIENT,
                )),
                pixel_spacing_mm: fixed(lookup(tags::PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING)),
                slice_thickness_mm: real(lookup(
                    tags::PIXEL_MEASURES_SEQUENCE,
                    tags::SLICE_THICKNESS,
                )),
                spacing_between_slices_mm: real(lookup(
                    tags::PIXEL_MEASURES_SEQUENCE,
                    tags::SPACING_BETWEEN_SLICES,
                )),
                rows,
                cols,
                pixel: pixel.clone(),
                rescale_slope: slope.unwrap_or(1.0),
                rescale_intercept: intercept.unwrap_or(0.0),
                transfer_syntax: transfer_syntax.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let params = acquisition_params(obj, &groups, frames.first().and_then(|f| f.orientation));
    Ok(FileHeader {
        patient_id: text(obj, tags::PATIENT_ID).unwrap_or_default(),
        study_uid: text(obj, tags::STUDY_INSTANCE_UID).unwrap_or_default(),
        study_date: study_date(obj),
        study_description: text(obj, tags::STUDY_DESCRIPTION),
        series_uid,
        series_number: int(obj.get(tags::SERIES_NUMBER)),
        modality: text(obj, tags::MODALITY),
        sop_class_uid,
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        params,
        frames,
    })
}

fn pixel_format(path: &Path, obj: &InMemDicomObject) -> Result<PixelFormat> {
    let bits_allocated =
        uint(obj, tags::BITS_ALLOCATED).ok_or_else(|| Error::decoding(path, "no BitsAllocated"))?;
    let bits_stored = uint(obj, tags::BITS_STORED).unwrap_or(bits_allocated);
    let high_bit = uint(obj, tags::HIGH_BIT).unwrap_or(bits_stored.saturating_sub(1));
    let narrow = |v: u32, name: &str| {
        u16::try_from(v).map_err(|_| Error::decoding(path, format!("{name} {v} out of range")))
    };
    Ok(PixelFormat {
        samples_per_pixel: narrow(
            uint(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1),
            "SamplesPerPixel",
        )?,
        bits_allocated: narrow(bits_allocated, "BitsAllocated")?,
        bits_stored: narrow(bits_stored, "BitsStored")?,
        high_bit: narrow(high_bit, "HighBit")?,
        signed: uint(obj, tags::PIXEL_REPRESENTATION) == Some(1),
        photometric: text(obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default(),
    })
}

/// The two functional-group sequences of an enhanced multi-frame object, if present.
struct FunctionalGroups<'a> {
    shared: Option<&'a InMemDicomObject>,
    per_frame: Option<&'a [InMemDicomObject]>,
}

impl<'a> FunctionalGroups<'a> {
    fn of(obj: &'a InMemDicomObject) -> Self {
        FunctionalGroups {
            shared: obj
                .get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
                .and_then(|e| e.items())
                .and_then(|items| items.first()),
            per_frame: obj
                .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
                .and_then(|e| e.items()),
        }
    }

    /// `tag` inside the functional-group macro `seq`, from the frame's own item first,
    /// then from the shared item (PS3.3 C.7.6.16: a macro is in one or the other).
    fn frame_value(
        &self,
        frame: Option<&'a InMemDicomObject>,
        seq: Tag,
        tag: Tag,
    ) -> Option<&'a InMemElement> {
        [frame, self.shared]
            .into_iter()
            .flatten()
            .find_map(|group| macro_value(group, seq, tag))
    }

    /// `tag` anywhere one macro deep in the shared item or the first frame's item; for
    /// acquisition parameters, which enhanced MR keeps in several macros.
    fn any_value(&self, tag: Tag) -> Option<&'a InMemElement> {
        let first = self.per_frame.and_then(|items| items.first());
        [self.shared, first]
            .into_iter()
            .flatten()
            .find_map(|group| {
                group.iter().find_map(|element| {
                    element
                        .items()
                        .and_then(|items| items.first())
                        .and_then(|item| item.get(tag))
                })
            })
    }
}

fn macro_value(group: &InMemDicomObject, seq: Tag, tag: Tag) -> Option<&InMemElement> {
    group
        .get(seq)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
        .and_then(|item| item.get(tag))
}

/// Fills [`AcquisitionParams`]; for enhanced MR, which has no ScanningSequence /
/// SequenceVariant / ScanOptions, the equivalent enhanced attributes are mapped onto
/// them (EchoPulseSequence SPIN → SE, GRADIENT → GR; InversionRecovery YES → IR;
/// SpectrallySelectedSuppression FAT… → FS) so classification reads one vocabulary.
fn acquisition_params(
    obj: &InMemDicomObject,
    groups: &FunctionalGroups<'_>,
    orientation: Option<[f64; 6]>,
) -> AcquisitionParams {
    let get = |tag: Tag| obj.get(tag).or_else(|| groups.any_value(tag));
    let mut scanning_sequence = words(get(tags::SCANNING_SEQUENCE));
    let mut scan_options = words(get(tags::SCAN_OPTIONS));
    if scanning_sequence.is_empty() {
        match element_text(get(tags::ECHO_PULSE_SEQUENCE)).as_deref() {
            Some("SPIN") => scanning_sequence.push("SE".into()),
            Some("GRADIENT") => scanning_sequence.push("GR".into()),
            Some("BOTH") => scanning_sequence.extend(["SE".into(), "GR".into()]),
            _ => {}
        }
        if element_text(get(tags::INVERSION_RECOVERY)).as_deref() == Some("YES") {
            scanning_sequence.push("IR".into());
        }
    }
    if scan_options.is_empty()
        && element_text(get(tags::SPECTRALLY_SELECTED_SUPPRESSION))
            .is_some_and(|s| s.starts_with("FAT"))
    {
        scan_options.push("FS".into());
    }
    let mut image_type = words(obj.get(tags::IMAGE_TYPE));
    if image_type.is_empty() {
        image_type = words(groups.any_value(tags::FRAME_TYPE));
    }
    AcquisitionParams {
        series_description: text(obj, tags::SERIES_DESCRIPTION),
        protocol_name: text(obj, tags::PROTOCOL_NAME),
        sequence_name: text(obj, tags::SEQUENCE_NAME)
            .or_else(|| text(obj, tags::PULSE_SEQUENCE_NAME)),
        manufacturer: text(obj, tags::MANUFACTURER),
        field_strength_t: real(obj.get(tags::MAGNETIC_FIELD_STRENGTH)),
        repetition_time_ms: real(get(tags::REPETITION_TIME)),
        echo_time_ms: real(get(tags::ECHO_TIME)).or_else(|| real(get(tags::EFFECTIVE_ECHO_TIME))),
        inversion_time_ms: real(get(tags::INVERSION_TIME))
            .or_else(|| real(get(tags::INVERSION_TIMES))),
        echo_train_length: real(get(tags::ECHO_TRAIN_LENGTH)),
        flip_angle_deg: real(get(tags::FLIP_ANGLE)),
        scanning_sequence,
        sequence_variant: words(get(tags::SEQUENCE_VARIANT)),
        scan_options,
        image_type,
        orientation,
        contrast_agent: text(obj, tags::CONTRAST_BOLUS_AGENT),
    }
}

/// StudyDate, else SeriesDate, else AcquisitionDate, else the date part of
/// AcquisitionDateTime; which one was used is kept.
fn study_date(obj: &InMemDicomObject) -> Option<(NaiveDate, DateSource)> {
    [
        (tags::STUDY_DATE, DateSource::StudyDate),
        (tags::SERIES_DATE, DateSource::SeriesDate),
        (tags::ACQUISITION_DATE, DateSource::AcquisitionDate),
        (tags::ACQUISITION_DATE_TIME, DateSource::AcquisitionDate),
    ]
    .into_iter()
    .find_map(|(tag, source)| {
        text(obj, tag)
            .and_then(|s| parse_date(&s))
            .map(|d| (d, source))
    })
}

/// A DA value: `YYYYMMDD`, or the pre-1993 ACR-NEMA `YYYY.MM.DD`; a DT value's first
/// eight characters are its date.
pub(crate) fn parse_date(value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let number = |s: Option<&str>, n: usize| s.filter(|s| digits(s, n))?.parse::<u32>().ok();
    let (year, month, day) = match value.get(4..5) {
        Some(".") => (
            number(value.get(..4), 4)?,
            number(value.get(5..7), 2)?,
            number(value.get(8..10), 2)?,
        ),
        _ => (
            number(value.get(..4), 4)?,
            number(value.get(4..6), 2)?,
            number(value.get(6..8), 2)?,
        ),
    };
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

/// An element with VR UN (written by a converter that lacked the dictionary entry)
/// holds the raw bytes of its value; for text VRs those bytes are the text.
fn unknown_vr_text(element: &InMemElement) -> Option<String> {
    (element.vr() == VR::UN)
        .then(|| element.to_bytes().ok())
        .flatten()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

fn element_text(element: Option<&InMemElement>) -> Option<String> {
    let element = element?;
    match unknown_vr_text(element) {
        Some(text) => non_empty(&text),
        None => element.to_str().ok().and_then(|s| non_empty(&s)),
    }
}

fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    element_text(obj.get(tag))
}

fn words(element: Option<&InMemElement>) -> Vec<String> {
    let Some(element) = element else {
        return Vec::new();
    };
    match unknown_vr_text(element) {
        Some(text) => text.split('\\').filter_map(non_empty).collect(),
        None => element
            .to_multi_str()
            .map(|values| values.iter().filter_map(|v| non_empty(v)).collect())
            .unwrap_or_default(),
    }
}

/// Numeric values of an element, parsed from text when its VR is UN.
fn numbers(element: Option<&InMemElement>) -> Option<Vec<f64>> {
    let element = element?;
    match unknown_vr_text(element) {
        Some(text) => text
            .split('\\')
            .map(|v| {
                v.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .parse()
                    .ok()
            })
            .collect(),
        None => element.to_multi_float64().ok(),
    }
}

fn real(element: Option<&InMemElement>) -> Option<f64> {
    numbers(element)?.first().copied()
}

/// A rescale parameter: absent or empty means the default, but a value that is present
/// and not a finite number is an error. Reading "abc" as slope 1 would silently put the
/// series on another intensity scale than the rest of the exam.
fn rescale_value(path: &Path, name: &str, element: Option<&InMemElement>) -> Result<Option<f64>> {
    let Some(text) = element_text(element) else {
        return Ok(None);
    };
    match real(element) {
        Some(v) if v.is_finite() => Ok(Some(v)),
        Some(_) => Err(Error::decoding(path, format!("{name} is not finite"))),
        None => Err(Error::decoding(
            path,
            format!("{name} {:?} is not a number", text.trim()),
        )),
    }
}

fn int(element: Option<&InMemElement>) -> Option<i32> {
    let value = real(element)?;
    (value.fract() == 0.0 && value.abs() <= f64::from(i32::MAX)).then_some(value as i32)
}

/// An unsigned value; a UN element of two bytes is a binary US (little endian).
fn uint(obj: &InMemDicomObject, tag: Tag) -> Option<u32> {
    let element = obj.get(tag)?;
    if element.vr() == VR::UN {
        let bytes = element.to_bytes().ok()?;
        if let [lo, hi] = *bytes {
            return Some(u32::from(u16::from_le_bytes([lo, hi])));
        }
    }
    let value = real(Some(element))?;
    (value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value)).then_some(value as u32)
}

/// A multi-valued numeric element with exactly `N` finite values.
fn fixed<const N: usize>(element: Option<&InMemElement>) -> Option<[f64; N]> {
    let array: [f64; N] = numbers(element)?.try_into().ok()?;
    array.iter().all(|v| v.is_finite()).then_some(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dicom_dates() {
        assert_eq!(parse_date("20240131"), NaiveDate::from_ymd_opt(2024, 1, 31));
        assert_eq!(
            parse_date("1992.07.04"),
            NaiveDate::from_ymd_opt(1992, 7, 4)
        );
        assert_eq!(
            parse_date("20240131093000.5"),
            NaiveDate::from_ymd_opt(2024, 1, 31)
        );
        assert_eq!(parse_date("2024"), None);
        assert_eq!(parse_date("2024013"), None);
    }

    #[test]
    fn names_non_image_classes() {
        assert!(non_image_reason(uids::MEDIA_STORAGE_DIRECTORY_STORAGE).is_some());
        assert!(non_image_reason(uids::BASIC_TEXT_SR_STORAGE).is_some());
        assert!(non_image_reason(uids::GRAYSCALE_SOFTCOPY_PRESENTATION_STATE_STORAGE).is_some());
        assert!(non_image_reason(uids::MR_IMAGE_STORAGE).is_none());
        assert!(non_image_reason(uids::ENHANCED_MR_IMAGE_STORAGE).is_none());
    }
}
