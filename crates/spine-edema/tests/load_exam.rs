//! `load_exam` hands the decoded volumes to the analysis without changing them: the T1 is
//! exactly what `decode_series` gives for the chosen series, and the fluid series is
//! exactly that series decoded and resampled onto the T1 grid. Guards the loading path
//! when it is optimised (volumes moved instead of copied).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use spine_edema::ingest::{SeriesEntry, Study, decode_series};
use spine_edema::load::{ExamSource, LoadConfig, discover, load_exam};
use spine_edema::volume::resample::resample_trilinear;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn series<'a>(study: &'a Study, uid: &str) -> &'a SeriesEntry {
    study.series.iter().find(|s| s.series_uid == uid).unwrap()
}

#[test]
fn loaded_volumes_are_the_decoded_series() {
    // Without the rigid search the fluid series is resampled by geometry alone, which
    // this test can reproduce independently.
    let mut cfg = LoadConfig::default();
    cfg.registration.enabled = false;
    let discovery = discover(&[testdata()], &cfg.limits);
    assert!(discovery.exams.len() >= 2, "testdata holds several exams");
    for source in &discovery.exams {
        let ExamSource::Dicom { study, .. } = source else {
            panic!("testdata is DICOM");
        };
        let loaded = load_exam(source, &cfg).unwrap();
        let t1_used = loaded.info.t1.as_ref().unwrap();
        let t1 = decode_series(series(study, &t1_used.series_uid), &cfg.limits)
            .unwrap()
            .volume;
        assert_eq!(loaded.images.t1.as_ref(), Some(&t1), "{}", study.study_uid);
        assert_eq!(t1_used.slices, t1.shape()[0]);

        let fluid_used = loaded.info.fluid.as_ref().unwrap();
        let fluid = decode_series(series(study, &fluid_used.series_uid), &cfg.limits)
            .unwrap()
            .volume;
        let expected = if fluid.same_grid(&t1) {
            fluid
        } else {
            resample_trilinear(&fluid, t1.shape(), &t1.affine, None)
        };
        let got = loaded.images.fluid.as_ref().unwrap();
        assert_eq!(got.contrast, fluid_used.contrast);
        assert_eq!(got.volume, expected, "{}", study.study_uid);

        let files: BTreeSet<&Path> = study
            .series
            .iter()
            .flat_map(|s| s.frames.iter().map(|f| f.path.as_path()))
            .collect();
        assert_eq!(loaded.info.files, files.len());
        assert_eq!(source.files().len(), files.len());
    }
}

#[test]
fn rigid_alignment_keeps_the_t1_and_the_fluid_on_its_grid() {
    let cfg = LoadConfig::default();
    let discovery = discover(&[testdata()], &cfg.limits);
    for source in &discovery.exams {
        let ExamSource::Dicom { study, .. } = source else {
            panic!("testdata is DICOM");
        };
        let loaded = load_exam(source, &cfg).unwrap();
        let t1_uid = &loaded.info.t1.as_ref().unwrap().series_uid;
        let t1 = decode_series(series(study, t1_uid), &cfg.limits)
            .unwrap()
            .volume;
        assert_eq!(loaded.images.t1.as_ref(), Some(&t1));
        let fluid = &loaded.images.fluid.as_ref().unwrap().volume;
        assert!(fluid.same_grid(&t1));
        assert!(loaded.info.alignment.is_some());
    }
}
