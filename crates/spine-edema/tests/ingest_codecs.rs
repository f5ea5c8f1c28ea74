//! Compressed series: a synthetic series re-encoded file by file with the codecs that can
//! encode (JPEG-LS lossless and near-lossless) must decode into the same volume as the
//! uncompressed original (exactly, or within the near-lossless bound).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ingest_support;

use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::adapters::EncodeOptions;
use dicom_pixeldata::Transcode;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use ingest_support::{Spec, write_series};
use ndarray::Array3;
use spine_edema::ingest::{Limits, decode_series, index_paths};
use std::path::Path;

const JPEG_LS_LOSSLESS: &str = "1.2.840.10008.1.2.4.80";
const JPEG_LS_NEAR_LOSSLESS: &str = "1.2.840.10008.1.2.4.81";

fn volume_of(dir: &Path) -> (Array3<f32>, Vec<String>) {
    let limits = Limits::default();
    let index = index_paths(&[dir.to_path_buf()], &limits);
    assert!(index.skipped.is_empty(), "{:?}", index.skipped);
    let (_, _, series) = index.iter_series().next().unwrap();
    let syntaxes = series
        .frames
        .iter()
        .map(|f| f.transfer_syntax.clone())
        .collect();
    (
        decode_series(series, &limits).unwrap().volume.voxels,
        syntaxes,
    )
}

fn transcode_all(files: &[std::path::PathBuf], ts_uid: &str, quality: u8) {
    let ts = TransferSyntaxRegistry.get(ts_uid).unwrap();
    let mut options = EncodeOptions::default();
    options.quality = Some(quality);
    for file in files {
        let mut obj = dicom_object::open_file(file).unwrap();
        obj.transcode_with_options(ts, options.clone()).unwrap();
        obj.write_to_file(file).unwrap();
    }
}

#[test]
fn jpeg_ls_series_decode_like_the_original() {
    let spec = Spec {
        rows: 24,
        cols: 20,
        slope: 1.5,
        intercept: -7.0,
        ..Spec::default()
    };
    let order = [4, 1, 5, 0, 3, 2];
    let original = tempfile::tempdir().unwrap();
    write_series(original.path(), &spec, &order);
    let (expected, _) = volume_of(original.path());

    let lossless = tempfile::tempdir().unwrap();
    let files = write_series(lossless.path(), &spec, &order);
    transcode_all(&files, JPEG_LS_LOSSLESS, 100);
    let (voxels, syntaxes) = volume_of(lossless.path());
    assert!(
        syntaxes.iter().all(|s| s == JPEG_LS_LOSSLESS),
        "{syntaxes:?}"
    );
    assert_eq!(voxels, expected);

    // Near-lossless at quality 90 allows NEAR = 2^(12-4) × 10 % = 25 stored units
    // (dicom-rs JPEG-LS adapter), i.e. 37.5 after the slope of 1.5.
    let near = tempfile::tempdir().unwrap();
    let files = write_series(near.path(), &spec, &order);
    transcode_all(&files, JPEG_LS_NEAR_LOSSLESS, 90);
    let (voxels, syntaxes) = volume_of(near.path());
    assert!(
        syntaxes.iter().all(|s| s == JPEG_LS_NEAR_LOSSLESS),
        "{syntaxes:?}"
    );
    let worst = voxels
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 25.0 * 1.5, "near-lossless error {worst}");
}
