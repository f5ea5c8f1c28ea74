//! Test helper: writes tiny synthetic DICOM MR series with known geometry.
//!
//! Stored value of pixel `(row r, column c)` on the slice that is `k`-th along the
//! normal is `k * 100 + r * 10 + c`, so a decoded volume shows at once whether slices and
//! pixels landed where the geometry says. Files are written in a caller-chosen order
//! with shuffled InstanceNumbers, so neither file names nor instance numbers agree with
//! the spatial order.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{FileDicomObject, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use nalgebra::Vector3;
use std::path::{Path, PathBuf};

/// How the file is framed on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// 128-byte preamble, "DICM", meta group, explicit VR little endian.
    Preamble,
    /// Meta group first, no preamble.
    NoPreamble,
    /// Bare implicit VR little endian data set, no meta group.
    Bare,
}

/// A synthetic series.
#[derive(Clone, Debug)]
pub struct Spec {
    pub rows: u16,
    pub cols: u16,
    pub slices: usize,
    pub spacing_mm: f64,
    /// Between rows, between columns.
    pub pixel_spacing_mm: [f64; 2],
    pub row_dir: Vector3<f64>,
    pub col_dir: Vector3<f64>,
    pub origin_mm: Vector3<f64>,
    pub series_uid: String,
    pub patient_id: String,
    pub slope: f64,
    pub intercept: f64,
    pub framing: Framing,
    /// Spatial slice indices to leave out (to make gaps).
    pub missing: Vec<usize>,
    /// Added to the SOPInstanceUID suffix, to write distinct instances of one slice.
    pub sop_offset: usize,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            rows: 4,
            cols: 5,
            slices: 6,
            spacing_mm: 4.0,
            pixel_spacing_mm: [0.8, 0.7],
            row_dir: Vector3::new(0.0, 1.0, 0.0),
            col_dir: Vector3::new(0.0, 0.0, -1.0),
            origin_mm: Vector3::new(-10.0, -50.0, 80.0),
            series_uid: "2.25.1001".into(),
            patient_id: "SYN001".into(),
            slope: 1.0,
            intercept: 0.0,
            framing: Framing::Preamble,
            missing: Vec::new(),
            sop_offset: 0,
        }
    }
}

impl Spec {
    pub fn normal(&self) -> Vector3<f64> {
        self.row_dir.cross(&self.col_dir)
    }

    /// ImagePositionPatient of the `k`-th slice along the normal.
    pub fn position(&self, k: usize) -> Vector3<f64> {
        self.origin_mm + self.normal() * (self.spacing_mm * k as f64)
    }

    pub fn stored_value(k: usize, r: usize, c: usize) -> u16 {
        (k * 100 + r * 10 + c) as u16
    }

    pub fn sop_uid(&self, k: usize) -> String {
        format!("{}.{}", self.series_uid, k + 1 + self.sop_offset)
    }

    fn orientation(&self) -> [f64; 6] {
        let (r, c) = (self.row_dir, self.col_dir);
        [r.x, r.y, r.z, c.x, c.y, c.z]
    }

    fn pixels(&self, k: usize) -> Vec<u16> {
        let mut data = Vec::with_capacity(usize::from(self.rows) * usize::from(self.cols));
        for r in 0..usize::from(self.rows) {
            for c in 0..usize::from(self.cols) {
                data.push(Self::stored_value(k, r, c));
            }
        }
        data
    }
}

fn put_str(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn ds(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.6}"))
        .collect::<Vec<_>>()
        .join("\\")
}

/// The identifying and acquisition attributes common to every instance.
fn base_object(spec: &Spec, sop_class: &str, sop_uid: &str) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    put_str(&mut obj, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop_uid);
    put_str(&mut obj, tags::STUDY_DATE, VR::DA, "20240131");
    put_str(&mut obj, tags::MODALITY, VR::CS, "MR");
    put_str(&mut obj, tags::MANUFACTURER, VR::LO, "SIEMENS");
    put_str(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, "t2_tirm_sag");
    put_str(&mut obj, tags::PATIENT_NAME, VR::PN, "Doe^Jane");
    put_str(&mut obj, tags::PATIENT_ID, VR::LO, &spec.patient_id);
    put_str(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, "2.25.77");
    put_str(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &spec.series_uid,
    );
    put_str(&mut obj, tags::SERIES_NUMBER, VR::IS, "5");
    put_str(&mut obj, tags::FRAME_OF_REFERENCE_UID, VR::UI, "2.25.78");
    put_str(&mut obj, tags::SCANNING_SEQUENCE, VR::CS, "SE\\IR");
    put_str(&mut obj, tags::SEQUENCE_VARIANT, VR::CS, "SK\\SP");
    put_str(&mut obj, tags::SCAN_OPTIONS, VR::CS, "IR");
    put_str(&mut obj, tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\M");
    put_str(&mut obj, tags::REPETITION_TIME, VR::DS, "3500");
    put_str(&mut obj, tags::ECHO_TIME, VR::DS, "41");
    put_str(&mut obj, tags::INVERSION_TIME, VR::DS, "160");
    put_str(&mut obj, tags::MAGNETIC_FIELD_STRENGTH, VR::DS, "1.5");
    obj.put(DataElement::new(
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1_u16),
    ));
    put_str(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(spec.rows),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(spec.cols),
    ));
    obj.put(DataElement::new(
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16_u16),
    ));
    obj.put(DataElement::new(
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(12_u16),
    ));
    obj.put(DataElement::new(
        tags::HIGH_BIT,
        VR::US,
        PrimitiveValue::from(11_u16),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0_u16),
    ));
    put_str(&mut obj, tags::RESCALE_SLOPE, VR::DS, &ds(&[spec.slope]));
    put_str(
        &mut obj,
        tags::RESCALE_INTERCEPT,
        VR::DS,
        &ds(&[spec.intercept]),
    );
    obj
}

/// Writes one classic MR instance for spatial slice `k` to `path`.
pub fn write_slice(spec: &Spec, k: usize, instance_number: usize, path: &Path) {
    let mut obj = base_object(spec, uids::MR_IMAGE_STORAGE, &spec.sop_uid(k));
    put_str(
        &mut obj,
        tags::INSTANCE_NUMBER,
        VR::IS,
        &instance_number.to_string(),
    );
    let p = spec.position(k);
    put_str(
        &mut obj,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        &ds(&[p.x, p.y, p.z]),
    );
    put_str(
        &mut obj,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        &ds(&spec.orientation()),
    );
    put_str(
        &mut obj,
        tags::PIXEL_SPACING,
        VR::DS,
        &ds(&spec.pixel_spacing_mm),
    );
    put_str(&mut obj, tags::SLICE_THICKNESS, VR::DS, "3");
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(spec.pixels(k).into()),
    ));
    write_object(obj, spec.framing, path);
}

/// Writes `obj` with the given framing (explicit VR LE in a meta group, or bare implicit).
pub fn write_object(obj: InMemDicomObject, framing: Framing, path: &Path) {
    let ts_uid = match framing {
        Framing::Bare => uids::IMPLICIT_VR_LITTLE_ENDIAN,
        _ => uids::EXPLICIT_VR_LITTLE_ENDIAN,
    };
    match framing {
        Framing::Bare => {
            let ts = TransferSyntaxRegistry.get(ts_uid).unwrap();
            let file = std::fs::File::create(path).unwrap();
            obj.write_dataset_with_ts(file, ts).unwrap();
        }
        _ => {
            let file: FileDicomObject<InMemDicomObject> = obj
                .with_meta(FileMetaTableBuilder::new().transfer_syntax(ts_uid))
                .unwrap();
            if framing == Framing::Preamble {
                file.write_to_file(path).unwrap();
            } else {
                // Meta group first: no preamble, no magic code.
                let mut out = std::fs::File::create(path).unwrap();
                file.write_meta(&mut out).unwrap();
                file.write_dataset(&mut out).unwrap();
            }
        }
    }
}

/// Writes the series into `dir`, one file per slice, in `file_order` (a permutation of
/// the spatial indices); files are named by write order and InstanceNumbers reversed.
pub fn write_series(dir: &Path, spec: &Spec, file_order: &[usize]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    file_order
        .iter()
        .enumerate()
        .filter(|(_, k)| !spec.missing.contains(k))
        .map(|(i, &k)| {
            let path = dir.join(format!("IM{i:04}"));
            write_slice(spec, k, file_order.len() - i, &path);
            path
        })
        .collect()
}

/// Writes the series as one Enhanced MR multi-frame file whose frames are stored in
/// `frame_order` (spatial indices), with per-frame positions and shared orientation,
/// spacing and timing macros.
pub fn write_enhanced(spec: &Spec, frame_order: &[usize], path: &Path) {
    let mut obj = base_object(spec, uids::ENHANCED_MR_IMAGE_STORAGE, &spec.sop_uid(0));
    // Enhanced MR keeps these in functional groups, not at top level.
    for tag in [
        tags::SCANNING_SEQUENCE,
        tags::SEQUENCE_VARIANT,
        tags::SCAN_OPTIONS,
        tags::REPETITION_TIME,
        tags::ECHO_TIME,
        tags::INVERSION_TIME,
        tags::RESCALE_SLOPE,
        tags::RESCALE_INTERCEPT,
    ] {
        obj.remove_element(tag);
    }
    put_str(&mut obj, tags::ECHO_PULSE_SEQUENCE, VR::CS, "SPIN");
    put_str(
        &mut obj,
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        &frame_order.len().to_string(),
    );
    let item = |elements: Vec<DataElement<InMemDicomObject>>| {
        InMemDicomObject::from_element_iter(elements)
    };
    let seq = |tag, items: Vec<InMemDicomObject>| {
        DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
    };
    let text = |tag, vr, value: String| DataElement::new(tag, vr, PrimitiveValue::from(value));
    let shared = item(vec![
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![text(
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                ds(&spec.orientation()),
            )])],
        ),
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![
                text(tags::PIXEL_SPACING, VR::DS, ds(&spec.pixel_spacing_mm)),
                text(tags::SLICE_THICKNESS, VR::DS, "3".into()),
            ])],
        ),
        seq(
            tags::MR_TIMING_AND_RELATED_PARAMETERS_SEQUENCE,
            vec![InMemDicomObject::new_empty().tap_fd(tags::REPETITION_TIME, 3500.0)],
        ),
        seq(
            tags::MR_ECHO_SEQUENCE,
            vec![InMemDicomObject::new_empty().tap_fd(tags::EFFECTIVE_ECHO_TIME, 41.0)],
        ),
        seq(
            tags::MR_MODIFIER_SEQUENCE,
            vec![
                item(vec![text(tags::INVERSION_RECOVERY, VR::CS, "YES".into())])
                    .tap_fd(tags::INVERSION_TIMES, 160.0),
            ],
        ),
        seq(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![item(vec![
                text(tags::RESCALE_SLOPE, VR::DS, ds(&[spec.slope])),
                text(tags::RESCALE_INTERCEPT, VR::DS, ds(&[spec.intercept])),
            ])],
        ),
    ]);
    let per_frame: Vec<InMemDicomObject> = frame_order
        .iter()
        .map(|&k| {
            let p = spec.position(k);
            item(vec![seq(
                tags::PLANE_POSITION_SEQUENCE,
                vec![item(vec![text(
                    tags::IMAGE_POSITION_PATIENT,
                    VR::DS,
                    ds(&[p.x, p.y, p.z]),
                )])],
            )])
        })
        .collect();
    obj.put(seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]));
    obj.put(seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame));
    let pixels: Vec<u16> = frame_order.iter().flat_map(|&k| spec.pixels(k)).collect();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    ));
    write_object(obj, Framing::Preamble, path);
}

trait TapFd {
    fn tap_fd(self, tag: dicom_core::Tag, value: f64) -> Self;
}

impl TapFd for InMemDicomObject {
    fn tap_fd(mut self, tag: dicom_core::Tag, value: f64) -> Self {
        self.put(DataElement::new(tag, VR::FD, PrimitiveValue::from(value)));
        self
    }
}

/// Writes a header claiming an absurd image (65535 × 65535 × 10000 frames) with no
/// pixel data at all: indexing must reject it from the header alone.
pub fn write_hostile_header(spec: &Spec, path: &Path) {
    let mut obj = base_object(spec, uids::MR_IMAGE_STORAGE, "2.25.666");
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(65535_u16),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(65535_u16),
    ));
    put_str(&mut obj, tags::NUMBER_OF_FRAMES, VR::IS, "10000");
    write_object(obj, Framing::Preamble, path);
}

/// Writes a Basic Text SR document (no pixels).
pub fn write_sr(path: &Path) {
    let mut obj = InMemDicomObject::new_empty();
    put_str(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::BASIC_TEXT_SR_STORAGE,
    );
    put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, "2.25.999");
    put_str(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, "2.25.998");
    put_str(&mut obj, tags::MODALITY, VR::CS, "SR");
    write_object(obj, Framing::Preamble, path);
}
