//! Every generated file is valid DICOM with the tags downstream code needs, pixel data
//! decodes (uncompressed, deflated and RLE alike) to exactly the rendered image, and
//! `dcmdump` (DCMTK) reads every file without an error or warning.

mod common;

use dicom_dictionary_std::tags;
use dicom_object::open_file;
use dicom_pixeldata::PixelDecoder;
use spine_edema_phantom::{Preset, generate_patient, read_truth, write_patient};
use std::collections::HashMap;

#[test]
fn files_parse_with_expected_tags_and_pixels() {
    for (preset, seed, compressed) in [(Preset::Thoracic, 5, false), (Preset::Lumbar, 6, true)] {
        let patient = generate_patient(&common::small(preset, seed, compressed)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let written = write_patient(&patient, dir.path()).unwrap();
        for (exam, files) in patient.exams.iter().zip(&written.exams) {
            let truth = read_truth(&files.truth_json).unwrap();
            // JSON keeps floats to within an ulp; identifiers and labels exactly.
            assert_eq!(truth.study_instance_uid, exam.truth.study_instance_uid);
            assert_eq!(truth.series, exam.truth.series);
            assert_eq!(truth.levels.len(), exam.truth.levels.len());
            for (a, b) in truth.levels.iter().zip(&exam.truth.levels) {
                assert_eq!(
                    (a.level, a.genant_grade, a.rim_present),
                    (b.level, b.genant_grade, b.rim_present)
                );
                assert!((a.bme_percent - b.bme_percent).abs() < 1e-9);
                assert!((a.body_volume_ml - b.body_volume_ml).abs() < 1e-9);
            }
            let by_uid: HashMap<_, _> = exam
                .series
                .iter()
                .map(|s| (s.series_instance_uid.clone(), s))
                .collect();
            let mut seen = HashMap::new();
            for path in &files.dicom_files {
                let obj = open_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let text = |tag| {
                    obj.element(tag)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .trim()
                        .to_string()
                };
                assert_eq!(text(tags::PATIENT_ID), truth.patient_id);
                assert_eq!(text(tags::STUDY_INSTANCE_UID), truth.study_instance_uid);
                assert_eq!(text(tags::STUDY_DATE), truth.study_date);
                assert_eq!(
                    text(tags::FRAME_OF_REFERENCE_UID),
                    truth.frame_of_reference_uid
                );
                assert_eq!(text(tags::MODALITY), "MR");
                for tag in [
                    tags::PATIENT_NAME,
                    tags::PATIENT_BIRTH_DATE,
                    tags::SERIES_DESCRIPTION,
                    tags::MANUFACTURER,
                    tags::MAGNETIC_FIELD_STRENGTH,
                    tags::REPETITION_TIME,
                    tags::ECHO_TIME,
                    tags::SCANNING_SEQUENCE,
                    tags::SEQUENCE_VARIANT,
                    tags::IMAGE_TYPE,
                    tags::SLICE_THICKNESS,
                    tags::SOP_INSTANCE_UID,
                ] {
                    assert!(!text(tag).is_empty(), "{}: {tag} empty", path.display());
                }
                let iop: Vec<f64> = obj
                    .element(tags::IMAGE_ORIENTATION_PATIENT)
                    .unwrap()
                    .to_multi_float64()
                    .unwrap();
                assert_eq!(iop.len(), 6);
                let ipp: Vec<f64> = obj
                    .element(tags::IMAGE_POSITION_PATIENT)
                    .unwrap()
                    .to_multi_float64()
                    .unwrap();
                let uid = text(tags::SERIES_INSTANCE_UID);
                let series = by_uid[&uid];
                let affine = series.volume.affine;
                // The file's position must be one of the grid's slice origins.
                let slice = (0..series.volume.shape()[0])
                    .find(|&k| {
                        let o = affine.index_to_mm([k as f64, 0.0, 0.0]);
                        (o.x - ipp[0]).abs() + (o.y - ipp[1]).abs() + (o.z - ipp[2]).abs() < 1e-3
                    })
                    .unwrap_or_else(|| panic!("{}: IPP {ipp:?} off the grid", path.display()));
                let decoded = obj.decode_pixel_data().unwrap();
                // Stored values: files with RescaleSlope/Intercept would otherwise be rescaled.
                let raw = dicom_pixeldata::ConvertOptions::new()
                    .with_modality_lut(dicom_pixeldata::ModalityLutOption::None);
                let values: Vec<u16> = decoded.to_vec_with_options(&raw).unwrap();
                let expected: Vec<u16> = series
                    .volume
                    .voxels
                    .index_axis(ndarray::Axis(0), slice)
                    .iter()
                    .copied()
                    .collect();
                assert_eq!(values, expected, "{}", path.display());
                *seen.entry(uid).or_insert(0usize) += 1;
            }
            for s in &exam.series {
                assert_eq!(seen.get(&s.series_instance_uid), Some(&s.volume.shape()[0]));
            }
        }
    }
}

/// `dcmdump` must read every file cleanly. Missing dcmdump fails in CI, skips locally.
#[test]
fn dcmdump_reads_every_file_without_warnings() {
    let dcmdump = std::process::Command::new("dcmdump")
        .arg("--version")
        .output();
    if dcmdump.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "dcmdump (dcmtk) is required in CI"
        );
        eprintln!("skipping: dcmdump not installed (apt-get install dcmtk)");
        return;
    }
    for (preset, seed, compressed) in [
        (Preset::Lumbar, 31, false),
        (Preset::Thoracolumbar, 32, true),
    ] {
        let patient = generate_patient(&common::small(preset, seed, compressed)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_patient(&patient, dir.path()).unwrap();
        let files = common::dicom_files(dir.path());
        for chunk in files.chunks(64) {
            let out = std::process::Command::new("dcmdump")
                .arg("-q")
                .arg("+E")
                .args(chunk)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "dcmdump failed: {stderr}");
            let bad: Vec<&str> = stderr
                .lines()
                .chain(stdout.lines())
                .filter(|l| l.starts_with("E:") || l.starts_with("W:") || l.starts_with("F:"))
                .collect();
            assert!(bad.is_empty(), "dcmdump complained: {bad:?}");
        }
    }
}
