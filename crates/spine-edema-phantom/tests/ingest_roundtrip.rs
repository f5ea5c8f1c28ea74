//! Written phantoms round-trip through the product's own ingest: every series is found
//! under its SeriesInstanceUID, classified as the contrast and plane it was generated as
//! (including the T2 and axial distractors), and decoded onto exactly the grid and values
//! it was rendered with — uncompressed, deflated and RLE alike, with shuffled file names.

// A fixture that cannot be built should fail the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use spine_edema::ingest::{Limits, decode_series, index_paths};
use spine_edema::series::{Contrast, Plane, classify};
use spine_edema_phantom::{Preset, SeriesRole, generate_patient, write_patient};

fn expected(role: SeriesRole) -> (Contrast, Plane) {
    match role {
        SeriesRole::T1 => (Contrast::T1, Plane::Sagittal),
        SeriesRole::Stir => (Contrast::Stir, Plane::Sagittal),
        SeriesRole::T2FatSat => (Contrast::T2FatSat, Plane::Sagittal),
        SeriesRole::T2 => (Contrast::T2, Plane::Sagittal),
        SeriesRole::AxialT2 => (Contrast::T2, Plane::Axial),
    }
}

#[test]
fn series_are_classified_and_decoded_as_generated() {
    let limits = Limits::default();
    for (preset, seed, compressed) in [
        (Preset::Lumbar, 31, false),
        (Preset::Thoracolumbar, 32, true),
        (Preset::Thoracic, 33, false),
    ] {
        let patient = generate_patient(&common::small(preset, seed, compressed)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let written = write_patient(&patient, dir.path()).unwrap();
        let folders: Vec<_> = written.exams.iter().map(|e| e.dir.join("dicom")).collect();
        let index = index_paths(&folders, &limits);
        assert!(index.skipped.is_empty(), "{:?}", index.skipped);
        let mut checked = 0;
        for exam in &patient.exams {
            for generated in &exam.series {
                let uid = &generated.series_instance_uid;
                let (_, study, entry) = index
                    .iter_series()
                    .find(|(_, _, s)| &s.series_uid == uid)
                    .unwrap_or_else(|| panic!("{preset} {seed}: series {uid} not indexed"));
                assert_eq!(study.study_uid, exam.truth.study_instance_uid);

                let class = classify(&entry.params);
                assert_eq!(
                    (class.contrast, class.plane),
                    expected(generated.role),
                    "{preset} {seed} {:?}: {}",
                    generated.role,
                    class.reason
                );

                let decoded = decode_series(entry, &limits).unwrap();
                let volume = &decoded.volume;
                assert_eq!(volume.shape(), generated.volume.shape());
                let (a, b) = (volume.affine.matrix(), generated.volume.affine.matrix());
                let worst = (a - b).abs().max();
                assert!(
                    worst < 1e-3,
                    "{preset} {seed} {:?}: affine off by {worst} mm",
                    generated.role
                );
                let (slope, intercept) = generated.rescale;
                for (got, stored) in volume.voxels.iter().zip(&generated.volume.voxels) {
                    let want = (f64::from(*stored) * slope + intercept) as f32;
                    assert!((got - want).abs() <= 1e-3 * want.abs().max(1.0));
                }
                checked += 1;
            }
        }
        assert!(checked >= 4, "{preset}: only {checked} series");
    }
}
