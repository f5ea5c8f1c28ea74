//! Ingest of synthetic series: slice order, spacing, affine, de-duplication, skipped
//! reasons, framings, enhanced multi-frame and limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ingest_support;

use ingest_support::{Framing, Spec, write_enhanced, write_series};
use nalgebra::Vector3;
use proptest::prelude::*;
use spine_edema::ingest::{DecodedSeries, Index, Limits, SeriesEntry, decode_series, index_paths};
use std::path::Path;

fn index(dir: &Path) -> Index {
    index_paths(&[dir.to_path_buf()], &Limits::default())
}

fn only_series(index: &Index) -> &SeriesEntry {
    let all: Vec<&SeriesEntry> = index
        .patients
        .iter()
        .flat_map(|p| &p.studies)
        .flat_map(|s| &s.series)
        .collect();
    assert_eq!(
        all.len(),
        1,
        "expected one series, skipped: {:?}",
        index.skipped
    );
    all[0]
}

/// Checks voxel values and affine against the spec's known geometry.
fn assert_matches_spec(decoded: &DecodedSeries, spec: &Spec, present: &[usize]) {
    let voxels = &decoded.volume.voxels;
    assert_eq!(
        voxels.shape(),
        &[
            present.len(),
            usize::from(spec.rows),
            usize::from(spec.cols)
        ]
    );
    for (slot, &k) in present.iter().enumerate() {
        for r in 0..usize::from(spec.rows) {
            for c in 0..usize::from(spec.cols) {
                let expected = spec.slope * f64::from(Spec::stored_value(k, r, c)) + spec.intercept;
                let got = f64::from(voxels[[slot, r, c]]);
                assert!(
                    (got - expected).abs() < 1e-3,
                    "slice {slot} ({k}) [{r},{c}]: {got} vs {expected}"
                );
            }
        }
    }
    let affine = &decoded.volume.affine;
    let origin = affine.origin_mm();
    assert!((origin.coords - spec.position(present[0])).norm() < 1e-4);
    let [row_spacing, col_spacing] = spec.pixel_spacing_mm;
    assert!((affine.step_mm(1) - spec.col_dir * row_spacing).norm() < 1e-5);
    assert!((affine.step_mm(2) - spec.row_dir * col_spacing).norm() < 1e-5);
    // Every voxel centre maps to the position the header gave its slice and pixel.
    for (slot, &k) in present.iter().enumerate() {
        let p = affine.index_to_mm([slot as f64, 2.0, 3.0]);
        let expected = spec.position(k)
            + spec.col_dir * (2.0 * row_spacing)
            + spec.row_dir * (3.0 * col_spacing);
        if present.len() > 1 && decoded.geometry.uniform {
            assert!(
                (p.coords - expected).norm() < 1e-4,
                "slot {slot}: {p:?} vs {expected:?}"
            );
        }
    }
}

fn oblique(yaw: f64, tilt: f64) -> (Vector3<f64>, Vector3<f64>) {
    let rot = nalgebra::Rotation3::from_euler_angles(tilt, 0.3 * tilt, yaw);
    (
        rot * Vector3::new(0.0, 1.0, 0.0),
        rot * Vector3::new(0.0, 0.0, -1.0),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever order files are written in (and whatever their InstanceNumbers say),
    /// slices come out ordered along the normal with the header's geometry.
    #[test]
    fn shuffled_oblique_series_is_sorted_by_position(
        order in Just((0..7usize).collect::<Vec<_>>()).prop_shuffle(),
        yaw in -0.6f64..0.6,
        tilt in -0.5f64..0.5,
        spacing in 0.8f64..6.0,
        framing in prop_oneof![Just(Framing::Preamble), Just(Framing::NoPreamble), Just(Framing::Bare)],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (row_dir, col_dir) = oblique(yaw, tilt);
        let spec = Spec { slices: 7, spacing_mm: spacing, row_dir, col_dir, framing, slope: 2.0, intercept: -100.0, ..Spec::default() };
        write_series(dir.path(), &spec, &order);
        let index = index(dir.path());
        prop_assert!(index.skipped.is_empty(), "{:?}", index.skipped);
        let decoded = decode_series(only_series(&index), &Limits::default()).unwrap();
        assert_matches_spec(&decoded, &spec, &(0..7).collect::<Vec<_>>());
        prop_assert!((decoded.geometry.spacing_mm - spacing).abs() < 1e-4);
        prop_assert!(decoded.geometry.uniform);
        prop_assert_eq!(decoded.geometry.gaps, 0);
    }
}

#[test]
fn header_facts_are_indexed_without_the_patient_name() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::default();
    write_series(dir.path(), &spec, &[2, 0, 1, 3, 5, 4]);
    let index = index(dir.path());
    let patient = &index.patients[0];
    assert_eq!(patient.patient_id, "SYN001");
    let study = &patient.studies[0];
    assert_eq!(
        study.study_date,
        chrono::NaiveDate::from_ymd_opt(2024, 1, 31)
    );
    let series = only_series(&index);
    assert_eq!(series.series_number, Some(5));
    assert_eq!(series.frames.len(), 6);
    let params = &series.params;
    assert_eq!(params.series_description.as_deref(), Some("t2_tirm_sag"));
    assert_eq!(params.repetition_time_ms, Some(3500.0));
    assert_eq!(params.echo_time_ms, Some(41.0));
    assert_eq!(params.inversion_time_ms, Some(160.0));
    assert_eq!(params.field_strength_t, Some(1.5));
    assert_eq!(params.scanning_sequence, ["SE", "IR"]);
    assert_eq!(params.image_type, ["ORIGINAL", "PRIMARY", "M"]);
    assert!(params.orientation.is_some());
    let json = serde_json::to_string(&index).unwrap();
    assert!(!json.contains("Doe"), "patient name leaked into the index");
}

#[test]
fn gaps_and_uneven_spacing_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec {
        slices: 6,
        missing: vec![3],
        ..Spec::default()
    };
    write_series(dir.path(), &spec, &[5, 4, 3, 2, 1, 0]);
    let decoded = decode_series(only_series(&index(dir.path())), &Limits::default()).unwrap();
    let report = &decoded.geometry;
    assert_eq!(report.slice_count, 5);
    assert_eq!(report.gaps, 1);
    assert!(!report.uniform);
    assert!((report.median_spacing_mm - 4.0).abs() < 1e-6);
    assert!((report.max_spacing_mm - 8.0).abs() < 1e-6);
    assert!((report.max_deviation_mm - 4.0).abs() < 1e-6);
}

#[test]
fn duplicate_instances_are_dropped_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec::default();
    let files = write_series(&dir.path().join("a"), &spec, &[0, 1, 2, 3, 4, 5]);
    let copy = dir.path().join("b");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(&files[2], copy.join("again.dcm")).unwrap();
    let index = index(dir.path());
    assert_eq!(only_series(&index).frames.len(), 6);
    assert_eq!(index.skipped.len(), 1);
    assert!(
        index.skipped[0]
            .reason
            .to_string()
            .contains("duplicate SOPInstanceUID")
    );
}

#[test]
fn foreign_and_non_image_files_are_skipped_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), &Spec::default(), &[0, 1, 2, 3, 4, 5]);
    std::fs::write(
        dir.path().join("notes.txt"),
        "not an image at all, just words",
    )
    .unwrap();
    ingest_support::write_sr(&dir.path().join("report.dcm"));
    let index = index(dir.path());
    assert_eq!(only_series(&index).frames.len(), 6);
    let reasons: Vec<(String, &str)> = index
        .skipped
        .iter()
        .map(|s| {
            (
                s.path.file_name().unwrap().to_string_lossy().into_owned(),
                s.reason.category(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("notes.txt".to_string(), "decoding"),
            ("report.dcm".to_string(), "unsupported")
        ]
    );
    assert!(
        index.skipped[0]
            .reason
            .to_string()
            .contains("not a DICOM file")
    );
    assert!(
        index.skipped[1]
            .reason
            .to_string()
            .contains("structured report")
    );
}

#[test]
fn enhanced_multiframe_uses_per_frame_positions() {
    let dir = tempfile::tempdir().unwrap();
    let (row_dir, col_dir) = oblique(0.2, -0.1);
    let spec = Spec {
        slices: 5,
        row_dir,
        col_dir,
        slope: 0.5,
        intercept: 3.0,
        ..Spec::default()
    };
    write_enhanced(&spec, &[3, 0, 4, 1, 2], &dir.path().join("enhanced.dcm"));
    let index = index(dir.path());
    let series = only_series(&index);
    assert_eq!(series.frames.len(), 5);
    assert_eq!(series.instance_count(), 1);
    assert_eq!(series.params.repetition_time_ms, Some(3500.0));
    assert_eq!(series.params.echo_time_ms, Some(41.0));
    assert_eq!(series.params.inversion_time_ms, Some(160.0));
    assert_eq!(series.params.scanning_sequence, ["SE", "IR"]);
    let decoded = decode_series(series, &Limits::default()).unwrap();
    assert_matches_spec(&decoded, &spec, &[0, 1, 2, 3, 4]);
    assert_eq!(decoded.slice_frames, [1, 3, 4, 0, 2]);
}

#[test]
fn inconsistent_series_are_geometry_errors() {
    let spec = Spec::default();
    // Two instances (different SOP UIDs) at one position.
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), &spec, &[0, 1, 2]);
    let repeat = Spec {
        sop_offset: 100,
        ..spec.clone()
    };
    ingest_support::write_slice(&repeat, 1, 9, &dir.path().join("repeat"));
    let err = decode_series(only_series(&index(dir.path())), &Limits::default()).unwrap_err();
    assert_eq!(err.category(), "geometry");
    assert!(err.to_string().contains("same position"), "{err}");

    // A different matrix size in one series.
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), &spec, &[0, 1, 2]);
    let bigger = Spec {
        rows: 6,
        ..spec.clone()
    };
    ingest_support::write_slice(&bigger, 3, 4, &dir.path().join("big"));
    let err = decode_series(only_series(&index(dir.path())), &Limits::default()).unwrap_err();
    assert_eq!(err.category(), "geometry");
    assert!(err.to_string().contains("mixed matrix sizes"), "{err}");

    // A tilted slice.
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), &spec, &[0, 1, 2]);
    let (row_dir, col_dir) = oblique(0.1, 0.0);
    let tilted = Spec {
        row_dir,
        col_dir,
        ..spec.clone()
    };
    ingest_support::write_slice(&tilted, 3, 4, &dir.path().join("tilted"));
    let err = decode_series(only_series(&index(dir.path())), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("mixed orientations"), "{err}");
}

#[test]
fn hostile_header_is_rejected_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    ingest_support::write_hostile_header(&Spec::default(), &dir.path().join("huge.dcm"));
    let index = index(dir.path());
    assert!(index.patients.is_empty());
    assert_eq!(index.skipped[0].reason.category(), "limits");
    assert!(index.skipped[0].reason.to_string().contains("huge.dcm"));
}

#[test]
fn volume_limit_is_checked_before_decoding() {
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), &Spec::default(), &[0, 1, 2, 3, 4, 5]);
    let index = index(dir.path());
    let limits = Limits {
        max_slices_per_series: 5,
        ..Limits::default()
    };
    let err = decode_series(only_series(&index), &limits).unwrap_err();
    assert_eq!(err.category(), "limits");
    let limits = Limits {
        max_volume_bytes: 6 * 4 * 5 * 4 - 1,
        ..Limits::default()
    };
    assert_eq!(
        decode_series(only_series(&index), &limits)
            .unwrap_err()
            .category(),
        "limits"
    );
}
