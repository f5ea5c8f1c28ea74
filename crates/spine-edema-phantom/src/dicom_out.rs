//! DICOM writing: one classic MR Image Storage instance per slice, vendor-flavoured
//! headers, and the transfer syntaxes real archives use (explicit and implicit VR little
//! endian, deflated explicit VR, RLE lossless — the last encoded here, per PS3.5 Annex G).

use crate::acquisition::{ExamAcquisition, SeriesPlan, Vendor};
use crate::error::{PhantomError, Result};
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use std::path::Path;

/// MR Image Storage.
const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
/// Our implementation class UID (a random UUID under the 2.25 root, PS3.5 B.2).
const IMPLEMENTATION_CLASS_UID: &str = "2.25.238012750194561286395742168345213769051";

/// Transfer syntax of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Syntax {
    ExplicitLe,
    ImplicitLe,
    DeflatedExplicitLe,
    RleLossless,
}

impl Syntax {
    pub(crate) fn uid(self) -> &'static str {
        match self {
            Syntax::ExplicitLe => "1.2.840.10008.1.2.1",
            Syntax::ImplicitLe => "1.2.840.10008.1.2",
            Syntax::DeflatedExplicitLe => "1.2.840.10008.1.2.1.99",
            Syntax::RleLossless => "1.2.840.10008.1.2.5",
        }
    }
}

/// Patient and study identity shared by all files of an exam.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub patient_id: String,
    pub patient_name: String,
    pub birth_date: String,
    pub sex: &'static str,
    pub age_years: u32,
    pub study_uid: String,
    pub frame_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub accession: String,
    pub study_id: String,
    pub body_part: &'static str,
    pub institution: String,
}

/// A decimal string of at most 16 characters (the DS limit).
pub(crate) fn ds(x: f64) -> String {
    for decimals in (0..=6).rev() {
        let mut s = format!("{x:.decimals$}");
        if s.contains('.') {
            while s.ends_with('0') {
                s.pop();
            }
            if s.ends_with('.') {
                s.pop();
            }
        }
        if s == "-0" {
            s = "0".into();
        }
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.0}")
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_multi(obj: &mut InMemDicomObject, tag: Tag, vr: VR, values: &[String]) {
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.iter().cloned().collect()),
    ));
}

fn put_u16(obj: &mut InMemDicomObject, tag: Tag, value: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
}

/// Builds the data set of one slice.
#[allow(clippy::too_many_arguments)]
pub(crate) fn instance(
    who: &Identity,
    acq: &ExamAcquisition,
    plan: &SeriesPlan,
    slice: usize,
    instance_number: usize,
    sop_uid: &str,
    pixels: &[u16],
    syntax: Syntax,
) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100");
    put_multi(&mut o, tags::IMAGE_TYPE, VR::CS, &plan.words.image_type);
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, MR_IMAGE_STORAGE);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    for tag in [
        tags::STUDY_DATE,
        tags::SERIES_DATE,
        tags::ACQUISITION_DATE,
        tags::CONTENT_DATE,
    ] {
        put(&mut o, tag, VR::DA, &who.study_date);
    }
    put(&mut o, tags::STUDY_TIME, VR::TM, &who.study_time);
    put(&mut o, tags::ACCESSION_NUMBER, VR::SH, &who.accession);
    put(&mut o, tags::MODALITY, VR::CS, "MR");
    let manufacturer = match acq.vendor {
        Vendor::Ge => "GE MEDICAL SYSTEMS",
        Vendor::Siemens => "SIEMENS",
        Vendor::Philips => "Philips Medical Systems",
    };
    put(&mut o, tags::MANUFACTURER, VR::LO, manufacturer);
    put(&mut o, tags::INSTITUTION_NAME, VR::LO, &who.institution);
    put(&mut o, tags::STUDY_DESCRIPTION, VR::LO, "MRI SPINE");
    put(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        &plan.words.series_description,
    );
    put(
        &mut o,
        tags::MANUFACTURER_MODEL_NAME,
        VR::LO,
        &acq.model_name,
    );
    put(&mut o, tags::PATIENT_NAME, VR::PN, &who.patient_name);
    put(&mut o, tags::PATIENT_ID, VR::LO, &who.patient_id);
    put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, &who.birth_date);
    put(&mut o, tags::PATIENT_SEX, VR::CS, who.sex);
    put(
        &mut o,
        tags::PATIENT_AGE,
        VR::AS,
        &format!("{:03}Y", who.age_years),
    );
    put(&mut o, tags::BODY_PART_EXAMINED, VR::CS, who.body_part);
    put_multi(
        &mut o,
        tags::SCANNING_SEQUENCE,
        VR::CS,
        &plan.words.scanning_sequence,
    );
    put_multi(
        &mut o,
        tags::SEQUENCE_VARIANT,
        VR::CS,
        &plan.words.sequence_variant,
    );
    if !plan.words.scan_options.is_empty() {
        put_multi(&mut o, tags::SCAN_OPTIONS, VR::CS, &plan.words.scan_options);
    }
    put(&mut o, tags::MR_ACQUISITION_TYPE, VR::CS, "2D");
    if !plan.words.sequence_name.is_empty() {
        put(
            &mut o,
            tags::SEQUENCE_NAME,
            VR::SH,
            &plan.words.sequence_name,
        );
    }
    put(
        &mut o,
        tags::SLICE_THICKNESS,
        VR::DS,
        &ds(plan.thickness_mm),
    );
    put(&mut o, tags::REPETITION_TIME, VR::DS, &ds(plan.tr_ms));
    put(&mut o, tags::ECHO_TIME, VR::DS, &ds(plan.te_ms));
    if let Some(ti) = plan.ti_ms {
        put(&mut o, tags::INVERSION_TIME, VR::DS, &ds(ti));
    }
    put(&mut o, tags::NUMBER_OF_AVERAGES, VR::DS, "1");
    put(
        &mut o,
        tags::IMAGING_FREQUENCY,
        VR::DS,
        &ds(42.577 * acq.field_t),
    );
    put(
        &mut o,
        tags::MAGNETIC_FIELD_STRENGTH,
        VR::DS,
        &ds(acq.field_t),
    );
    put(
        &mut o,
        tags::SPACING_BETWEEN_SLICES,
        VR::DS,
        &ds(plan.spacing_mm),
    );
    put(
        &mut o,
        tags::ECHO_TRAIN_LENGTH,
        VR::IS,
        &plan.echo_train.to_string(),
    );
    put(
        &mut o,
        tags::PROTOCOL_NAME,
        VR::LO,
        &plan.words.protocol_name,
    );
    put(&mut o, tags::FLIP_ANGLE, VR::DS, &ds(plan.flip_deg));
    put(&mut o, tags::PATIENT_POSITION, VR::CS, "HFS");
    put(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, &who.study_uid);
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, &plan.series_uid);
    put(&mut o, tags::STUDY_ID, VR::SH, &who.study_id);
    put(
        &mut o,
        tags::SERIES_NUMBER,
        VR::IS,
        &plan.series_number.to_string(),
    );
    put(&mut o, tags::ACQUISITION_NUMBER, VR::IS, "1");
    put(
        &mut o,
        tags::INSTANCE_NUMBER,
        VR::IS,
        &instance_number.to_string(),
    );
    let ipp = plan.slice_origin(slice);
    put_multi(
        &mut o,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        &[ds(ipp.x), ds(ipp.y), ds(ipp.z)],
    );
    let iop = [
        plan.row_dir.x,
        plan.row_dir.y,
        plan.row_dir.z,
        plan.col_dir.x,
        plan.col_dir.y,
        plan.col_dir.z,
    ];
    put_multi(
        &mut o,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        &iop.map(ds),
    );
    put(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, &who.frame_uid);
    put(
        &mut o,
        tags::SLICE_LOCATION,
        VR::DS,
        &ds(ipp.dot(&plan.normal)),
    );
    put_u16(&mut o, tags::SAMPLES_PER_PIXEL, 1);
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put_u16(&mut o, tags::ROWS, plan.rows as u16);
    put_u16(&mut o, tags::COLUMNS, plan.cols as u16);
    put_multi(
        &mut o,
        tags::PIXEL_SPACING,
        VR::DS,
        &[ds(plan.pixel_mm[0]), ds(plan.pixel_mm[1])],
    );
    put_u16(&mut o, tags::BITS_ALLOCATED, 16);
    put_u16(&mut o, tags::BITS_STORED, plan.bits_stored);
    put_u16(&mut o, tags::HIGH_BIT, plan.bits_stored - 1);
    put_u16(&mut o, tags::PIXEL_REPRESENTATION, 0);
    let max = pixels.iter().copied().max().unwrap_or(0);
    let (slope, intercept) = plan.rescale.unwrap_or((1.0, 0.0));
    put(
        &mut o,
        tags::WINDOW_CENTER,
        VR::DS,
        &ds((f64::from(max) * 0.45 * slope + intercept).round()),
    );
    put(
        &mut o,
        tags::WINDOW_WIDTH,
        VR::DS,
        &ds((f64::from(max) * 0.9 * slope).round().max(1.0)),
    );
    if plan.rescale.is_some() {
        put(&mut o, tags::RESCALE_INTERCEPT, VR::DS, &ds(intercept));
        put(&mut o, tags::RESCALE_SLOPE, VR::DS, &ds(slope));
        put(&mut o, tags::RESCALE_TYPE, VR::LO, "US");
    }
    if syntax == Syntax::RleLossless {
        let fragment = rle_encode(pixels, plan.cols);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::PixelSequence(PixelFragmentSequence::new(
                Vec::<u32>::new(),
                vec![fragment],
            )),
        ));
    } else {
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(pixels.iter().copied().collect()),
        ));
    }
    o
}

/// Writes a data set as a DICOM Part 10 file.
pub(crate) fn write_file(obj: InMemDicomObject, syntax: Syntax, path: &Path) -> Result<()> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(syntax.uid())
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name("SPINE_EDEMA_PH1");
    let file = obj
        .with_meta(meta)
        .map_err(|e| PhantomError::dicom(path, e.to_string()))?;
    file.write_to_file(path)
        .map_err(|e| PhantomError::dicom(path, e.to_string()))
}

/// RLE Lossless (PS3.5 Annex G) of one 16-bit frame: two segments (high bytes, then low
/// bytes), each row PackBits-encoded on its own so that no run crosses a row boundary.
pub(crate) fn rle_encode(pixels: &[u16], cols: usize) -> Vec<u8> {
    let mut segments = [Vec::new(), Vec::new()];
    for row in pixels.chunks(cols.max(1)) {
        let hi: Vec<u8> = row.iter().map(|p| (p >> 8) as u8).collect();
        let lo: Vec<u8> = row.iter().map(|p| (p & 0xFF) as u8).collect();
        packbits(&hi, &mut segments[0]);
        packbits(&lo, &mut segments[1]);
    }
    for s in segments.iter_mut() {
        if s.len() % 2 == 1 {
            s.push(0);
        }
    }
    let mut out = Vec::with_capacity(64 + segments[0].len() + segments[1].len());
    let mut header = [0u32; 16];
    header[0] = 2;
    header[1] = 64;
    header[2] = 64 + segments[0].len() as u32;
    for h in header {
        out.extend_from_slice(&h.to_le_bytes());
    }
    out.extend_from_slice(&segments[0]);
    out.extend_from_slice(&segments[1]);
    out
}

fn packbits(bytes: &[u8], out: &mut Vec<u8>) {
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        let mut run = 1;
        while i + run < n && run < 128 && bytes[i + run] == bytes[i] {
            run += 1;
        }
        if run >= 2 {
            out.push((257 - run) as u8);
            out.push(bytes[i]);
            i += run;
        } else {
            let start = i;
            let mut len = 0;
            while i < n && len < 128 {
                if i + 1 < n && bytes[i] == bytes[i + 1] {
                    break;
                }
                i += 1;
                len += 1;
            }
            out.push((len - 1) as u8);
            out.extend_from_slice(&bytes[start..start + len]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpackbits(data: &[u8], expect: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < expect && i < data.len() {
            let h = data[i] as i8;
            i += 1;
            if h >= 0 {
                let len = h as usize + 1;
                out.extend_from_slice(&data[i..i + len]);
                i += len;
            } else if h != -128 {
                let len = 1 - h as isize;
                out.extend(std::iter::repeat_n(data[i], len as usize));
                i += 1;
            }
        }
        out
    }

    #[test]
    fn packbits_round_trips_runs_and_literals() {
        let mut bytes = vec![7u8; 300];
        bytes.extend((0..=255u8).cycle().take(400));
        bytes.extend([1, 1, 2, 3, 3, 3, 4]);
        let mut enc = Vec::new();
        packbits(&bytes, &mut enc);
        assert_eq!(unpackbits(&enc, bytes.len()), bytes);
        assert!(enc.len() < bytes.len() + bytes.len() / 64 + 4);
    }

    #[test]
    fn ds_fits_sixteen_characters() {
        for x in [
            0.0,
            -0.0,
            1.5,
            -123.456789123,
            1e7 + 0.123456,
            0.000001234,
            -1234567.891,
        ] {
            let s = ds(x);
            assert!(s.len() <= 16, "{s}");
            assert!((s.parse::<f64>().unwrap() - x).abs() < 1e-3 * x.abs().max(1.0));
        }
    }
}
