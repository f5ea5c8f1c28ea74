//! External masks: DICOM SEG and NIfTI label maps with the VerSe / SPINEPS and
//! TotalSpineSeg code presets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use nalgebra::Point3;
use ndarray::Array3;
use spine_edema::masks::{MaskCodes, read_dicom_seg, read_external_masks};
use spine_edema::{Affine, Level, Volume};
use std::path::Path;

fn seq(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

fn ds(tag: dicom_core::Tag, values: &[f64]) -> DataElement<InMemDicomObject> {
    let s: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
    DataElement::new(tag, VR::DS, PrimitiveValue::Strs(s.into()))
}

/// Writes a binary SEG: 2 × 3 pixel frames on a sagittal plane, segments "vertebrae_L1"
/// (frames at x = 0 and x = 4 mm) and "L2 body" (frame at x = 4 mm).
fn write_seg(path: &Path, frames: &[(f64, u16, [u8; 6])]) {
    let segments = vec![
        item(vec![
            DataElement::new(tags::SEGMENT_NUMBER, VR::US, PrimitiveValue::from(1u16)),
            DataElement::new(
                tags::SEGMENT_LABEL,
                VR::LO,
                PrimitiveValue::from("vertebrae_L1"),
            ),
        ]),
        item(vec![
            DataElement::new(tags::SEGMENT_NUMBER, VR::US, PrimitiveValue::from(2u16)),
            DataElement::new(tags::SEGMENT_LABEL, VR::LO, PrimitiveValue::from("L2 body")),
        ]),
    ];
    let shared = item(vec![
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![ds(
                tags::IMAGE_ORIENTATION_PATIENT,
                &[0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
            )])],
        ),
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![ds(tags::PIXEL_SPACING, &[0.5, 0.8])])],
        ),
    ]);
    let mut bits = Vec::new();
    let per_frame: Vec<_> = frames
        .iter()
        .map(|(x, segment, pixels)| {
            bits.extend_from_slice(pixels);
            item(vec![
                seq(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![item(vec![ds(
                        tags::IMAGE_POSITION_PATIENT,
                        &[*x, -10.0, 50.0],
                    )])],
                ),
                seq(
                    tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                    vec![item(vec![DataElement::new(
                        tags::REFERENCED_SEGMENT_NUMBER,
                        VR::US,
                        PrimitiveValue::from(*segment),
                    )])],
                ),
            ])
        })
        .collect();
    let mut packed = vec![0u8; bits.len().div_ceil(8)];
    for (i, &b) in bits.iter().enumerate() {
        if b != 0 {
            packed[i / 8] |= 1 << (i % 8);
        }
    }
    if packed.len() % 2 == 1 {
        packed.push(0);
    }
    let obj = InMemDicomObject::from_element_iter(vec![
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.66.4"),
        ),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.3.4.5"),
        ),
        DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("SEG")),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(3u16)),
        DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames.len().to_string()),
        ),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(
            tags::SEGMENTATION_TYPE,
            VR::CS,
            PrimitiveValue::from("BINARY"),
        ),
        seq(tags::SEGMENT_SEQUENCE, segments),
        seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
        seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(packed)),
    ]);
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.66.4")
                .media_storage_sop_instance_uid("1.2.3.4.5"),
        )
        .unwrap();
    file.write_to_file(path).unwrap();
}

#[test]
fn dicom_seg_frames_land_on_their_slices_with_level_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seg.dcm");
    write_seg(
        &path,
        &[
            (0.0, 1, [1, 1, 0, 0, 1, 0]),
            (4.0, 1, [0, 1, 0, 0, 0, 0]),
            (4.0, 2, [0, 0, 1, 1, 0, 0]),
            (12.0, 2, [1, 0, 0, 0, 0, 0]),
        ],
    );
    let seg = read_dicom_seg(&path).unwrap();
    assert_eq!(
        seg.labels.shape(),
        [4, 2, 3],
        "slices at 0, 4, (8 empty), 12 mm"
    );
    // The slice normal of this orientation (row × column cosines) points to the patient's
    // right (−x), so slice 0 is the frame at x = 12 mm.
    let v = &seg.labels.voxels;
    assert_eq!((v[[3, 0, 0]], v[[3, 0, 1]], v[[3, 1, 1]]), (1, 1, 1));
    assert_eq!((v[[2, 0, 1]], v[[2, 0, 2]], v[[2, 1, 0]]), (1, 2, 2));
    assert_eq!(v[[1, 0, 0]], 0);
    assert_eq!(v[[0, 0, 0]], 2);
    assert_eq!(
        seg.segment_levels,
        vec![(1, Some(Level::L(1))), (2, Some(Level::L(2)))]
    );
    // Geometry: rows 0.5 mm down (−z), columns 0.8 mm posterior (+y).
    let p = seg.labels.affine.index_to_mm([0.0, 1.0, 2.0]);
    assert!(
        (p.x - 12.0).abs() < 1e-9
            && (p.y - (-10.0 + 1.6)).abs() < 1e-9
            && (p.z - 49.5).abs() < 1e-9,
        "{p}"
    );
    assert!((seg.labels.affine.index_to_mm([3.0, 0.0, 0.0]).x).abs() < 1e-9);

    let masks = read_external_masks(&path, MaskCodes::None).unwrap();
    assert_eq!(
        masks.names,
        vec![(1, Some(Level::L(1))), (2, Some(Level::L(2)))],
        "SEG labels win over the preset"
    );
}

#[test]
fn non_seg_and_truncated_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.dcm");
    std::fs::write(&junk, b"not dicom at all").unwrap();
    let err = read_dicom_seg(&junk).unwrap_err();
    assert!(err.to_string().contains("junk.dcm"), "{err}");
}

#[test]
fn nifti_maps_drop_discs_and_name_levels_by_preset() {
    let dir = tempfile::tempdir().unwrap();
    let affine = Affine::axis_aligned(Point3::origin(), [1.0, 1.0, 1.0]);
    let mut labels = Array3::<f32>::zeros((4, 4, 4));
    labels[[0, 0, 0]] = 20.0; // VerSe L1 / TotalSpineSeg "region"
    labels[[1, 0, 0]] = 105.0; // SPINEPS disc
    labels[[2, 0, 0]] = 41.0; // TotalSpineSeg L1 / VerSe unknown region
    let path = dir.path().join("labels.nii.gz");
    spine_edema::nifti::write_volume(&path, &Volume::new(labels, affine)).unwrap();
    let verse = read_external_masks(&path, MaskCodes::Verse).unwrap();
    assert_eq!(verse.names, vec![(20, Some(Level::L(1))), (41, None)]);
    assert_eq!(verse.labels.voxels[[1, 0, 0]], 0, "disc removed");
    assert!(verse.notes.iter().any(|n| n.contains("105")));
    let tss = read_external_masks(&path, MaskCodes::TotalSpineSeg).unwrap();
    assert_eq!(
        tss.names,
        vec![(20, None), (41, Some(Level::L(1))), (105, None)]
    );
}

#[test]
fn spineps_sample_is_restricted_to_vertebral_bodies() {
    let Some(real) = real_data() else { return };
    let vert = real.join("spineps-sample/sub-mri_seg-vert_label-6_msk.nii.gz");
    let masks = read_external_masks(&vert, MaskCodes::Verse).unwrap();
    let levels: Vec<_> = masks.names.iter().filter_map(|(_, l)| *l).collect();
    assert_eq!(levels, vec![Level::C(5), Level::C(6), Level::C(7)]);
    assert!(
        masks
            .notes
            .iter()
            .any(|n| n.contains("restricted to the vertebral body")),
        "{:?}",
        masks.notes
    );
    // Only body voxels remain: fewer than the whole vertebrae.
    let whole = spine_edema::nifti::read_labels(&vert).unwrap();
    let body_voxels = masks.labels.voxels.iter().filter(|&&v| v != 0).count();
    let whole_voxels = whole
        .voxels
        .iter()
        .filter(|&&v| (1..=28).contains(&v))
        .count();
    assert!(
        body_voxels > 0 && body_voxels < whole_voxels,
        "{body_voxels} vs {whole_voxels}"
    );
}

fn real_data() -> Option<std::path::PathBuf> {
    match std::env::var_os("SPINE_EDEMA_REAL_DATA") {
        Some(p) => Some(p.into()),
        None if std::env::var_os("CI").is_some() => {
            panic!("SPINE_EDEMA_REAL_DATA must be set in CI")
        }
        None => {
            let p = std::path::PathBuf::from("/work/shared/real");
            if p.exists() {
                Some(p)
            } else {
                eprintln!("real data not found; skipping");
                None
            }
        }
    }
}

#[test]
fn external_labels_become_bodies_on_the_reference_grid() {
    // Mask at 1 mm; reference at 2 mm with a shifted origin. Two named bodies, one cut by
    // the edge of the reference grid, one label entirely outside it.
    let mask_affine = Affine::axis_aligned(Point3::origin(), [1.0, 1.0, 1.0]);
    let mut labels = Array3::<u32>::zeros((20, 20, 40));
    for i in 4..12 {
        for j in 4..12 {
            for k in 2..10 {
                labels[[i, j, k]] = 21; // L2, lower
            }
            for k in 20..36 {
                labels[[i, j, k]] = 20; // L1, higher (z grows superior)
            }
        }
    }
    labels[[19, 19, 0]] = 22; // L3: a single voxel outside the reference grid
    let masks = spine_edema::masks::ExternalMasks {
        labels: Volume::new(labels, mask_affine),
        names: vec![
            (20, Some(Level::L(1))),
            (21, Some(Level::L(2))),
            (22, Some(Level::L(3))),
        ],
        source: "m.nii.gz".into(),
        notes: vec![],
    };
    let reference = Volume::new(
        Array3::<f32>::zeros((10, 10, 17)),
        Affine::axis_aligned(Point3::new(0.5, 0.5, 0.5), [2.0, 2.0, 2.0]),
    );
    let (seg, notes) = spine_edema::masks::to_segmentation(&masks, &reference);
    assert_eq!(seg.bodies.len(), 2);
    assert_eq!(seg.bodies[0].level, Some(Level::L(1)));
    assert_eq!(seg.bodies[0].label, 1);
    assert_eq!(seg.bodies[1].level, Some(Level::L(2)));
    assert!(
        seg.bodies[0].partial,
        "L1 reaches the top of the reference grid"
    );
    assert!(!seg.bodies[1].partial);
    assert!(
        (seg.bodies[1].volume_ml - 0.512).abs() < 0.1,
        "{}",
        seg.bodies[1].volume_ml
    );
    assert!(notes.iter().any(|n| n.contains("22")), "{notes:?}");
    assert!(seg.labels.same_grid(&reference));
}
