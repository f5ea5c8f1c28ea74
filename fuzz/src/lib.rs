//! Inputs for the ingest fuzz target: tiny valid DICOM files built with dicom-object, so
//! the fuzzer starts from files that reach every stage (header, pixels, volume) and a
//! fixed companion slice that a mutated file can form a series with.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;

/// SeriesInstanceUID shared by every synthetic file, so seeds and the companion group
/// into one series and the volume builder runs.
pub const SERIES_UID: &str = "2.25.4242";
/// Matrix of the synthetic slices (small: the fuzzer should spend its time on parsing).
const ROWS: u16 = 6;
const COLS: u16 = 5;
/// Distance between slices along the normal, mm.
const SLICE_STEP_MM: f64 = 4.0;

fn text(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn short(obj: &mut InMemDicomObject, tag: Tag, value: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
}

fn position(k: usize) -> String {
    format!("-10\\-50\\{}", 80.0 + SLICE_STEP_MM * k as f64)
}

fn pixels(k: usize, frames: usize) -> Vec<u16> {
    (0..frames * usize::from(ROWS) * usize::from(COLS))
        .map(|i| ((k * 100 + i) % 4096) as u16)
        .collect()
}

/// The attributes every synthetic instance has (an axial-ish MR slice, 12-bit stored).
fn base(sop_class: &str, sop_uid: &str) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    text(&mut obj, tags::SOP_CLASS_UID, VR::UI, sop_class);
    text(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    text(&mut obj, tags::STUDY_DATE, VR::DA, "20240131");
    text(&mut obj, tags::MODALITY, VR::CS, "MR");
    text(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, "t1_tse_sag");
    text(&mut obj, tags::PATIENT_ID, VR::LO, "FUZZ01");
    text(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, "2.25.4240");
    text(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, SERIES_UID);
    text(&mut obj, tags::SERIES_NUMBER, VR::IS, "3");
    text(&mut obj, tags::SCANNING_SEQUENCE, VR::CS, "SE");
    text(&mut obj, tags::REPETITION_TIME, VR::DS, "500");
    text(&mut obj, tags::ECHO_TIME, VR::DS, "10");
    short(&mut obj, tags::SAMPLES_PER_PIXEL, 1);
    text(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    short(&mut obj, tags::ROWS, ROWS);
    short(&mut obj, tags::COLUMNS, COLS);
    short(&mut obj, tags::BITS_ALLOCATED, 16);
    short(&mut obj, tags::BITS_STORED, 12);
    short(&mut obj, tags::HIGH_BIT, 11);
    short(&mut obj, tags::PIXEL_REPRESENTATION, 0);
    text(&mut obj, tags::RESCALE_SLOPE, VR::DS, "1.5");
    text(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, "-3");
    obj
}

fn part10(obj: InMemDicomObject, ts_uid: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    let written = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(ts_uid))
        .map(|file| file.write_all(&mut bytes).is_ok());
    // Only this crate's own constant objects get here; failing to write one is a bug in
    // this file, not a finding.
    assert!(
        written.unwrap_or(false),
        "synthetic object cannot be written"
    );
    bytes
}

/// A classic single-frame MR slice at position `k` along the normal, Part-10 framed.
pub fn slice(k: usize, ts_uid: &str) -> Vec<u8> {
    let mut obj = base(uids::MR_IMAGE_STORAGE, &format!("{SERIES_UID}.{}", k + 1));
    text(
        &mut obj,
        tags::INSTANCE_NUMBER,
        VR::IS,
        &(k + 1).to_string(),
    );
    text(&mut obj, tags::IMAGE_POSITION_PATIENT, VR::DS, &position(k));
    text(
        &mut obj,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        "0\\1\\0\\0\\0\\-1",
    );
    text(&mut obj, tags::PIXEL_SPACING, VR::DS, "0.8\\0.7");
    text(&mut obj, tags::SLICE_THICKNESS, VR::DS, "3");
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels(k, 1).into()),
    ));
    part10(obj, ts_uid)
}

/// An enhanced MR file with `frames` frames at positions `first..first + frames`, with
/// per-frame positions and shared orientation, spacing and rescale macros.
pub fn enhanced(first: usize, frames: usize) -> Vec<u8> {
    let mut obj = base(
        uids::ENHANCED_MR_IMAGE_STORAGE,
        &format!("{SERIES_UID}.900"),
    );
    obj.remove_element(tags::RESCALE_SLOPE);
    obj.remove_element(tags::RESCALE_INTERCEPT);
    text(
        &mut obj,
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        &frames.to_string(),
    );
    let item = |elements: Vec<DataElement<InMemDicomObject>>| {
        InMemDicomObject::from_element_iter(elements)
    };
    let seq = |tag, items: Vec<InMemDicomObject>| {
        DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
    };
    let ds = |tag, value: &str| DataElement::new(tag, VR::DS, PrimitiveValue::from(value));
    let shared = item(vec![
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![ds(
                tags::IMAGE_ORIENTATION_PATIENT,
                "0\\1\\0\\0\\0\\-1",
            )])],
        ),
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![ds(tags::PIXEL_SPACING, "0.8\\0.7")])],
        ),
        seq(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![item(vec![
                ds(tags::RESCALE_SLOPE, "2"),
                ds(tags::RESCALE_INTERCEPT, "0"),
            ])],
        ),
    ]);
    let per_frame = (first..first + frames)
        .map(|k| {
            item(vec![seq(
                tags::PLANE_POSITION_SEQUENCE,
                vec![item(vec![ds(tags::IMAGE_POSITION_PATIENT, &position(k))])],
            )])
        })
        .collect();
    obj.put(seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]));
    obj.put(seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels(first, frames).into()),
    ));
    part10(obj, uids::EXPLICIT_VR_LITTLE_ENDIAN)
}

/// The companion slice every fuzz input is indexed next to (position 0).
pub fn companion() -> Vec<u8> {
    slice(0, uids::EXPLICIT_VR_LITTLE_ENDIAN)
}

/// Seed inputs: slices of the companion's series in three transfer syntaxes and an
/// enhanced multi-frame file.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "slice-explicit-le.dcm",
            slice(1, uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ),
        (
            "slice-implicit-le.dcm",
            slice(2, uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ),
        (
            "slice-deflated.dcm",
            slice(3, uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
        ),
        ("enhanced-3-frames.dcm", enhanced(1, 3)),
    ]
}
