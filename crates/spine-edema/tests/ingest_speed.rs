//! Header-indexing and decoding throughput on ≥ 1,000 synthetic files. Ignored by
//! default (it measures, it does not check); run in release mode:
//!
//! ```text
//! cargo test --release -p spine-edema --test ingest_speed -- --ignored --nocapture
//! ```
//! Results go in `docs/performance.md` ("Header indexing").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ingest_support;

use ingest_support::{Spec, write_series};
use spine_edema::ingest::{Limits, decode_series, index_paths};
use std::time::Instant;

#[test]
#[ignore = "measurement; run in release mode with --ignored --nocapture"]
fn header_indexing_speed() {
    const SERIES: usize = 24;
    const SLICES: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let written = Instant::now();
    for s in 0..SERIES {
        let spec = Spec {
            rows: 256,
            cols: 256,
            slices: SLICES,
            series_uid: format!("2.25.{}", 5000 + s),
            patient_id: format!("P{:03}", s / 3),
            ..Spec::default()
        };
        let order: Vec<usize> = (0..SLICES).rev().collect();
        write_series(&dir.path().join(format!("series{s:02}")), &spec, &order);
    }
    let files = SERIES * SLICES;
    println!(
        "wrote {files} files (256×256, 16-bit) in {:.1?}",
        written.elapsed()
    );

    let limits = Limits::default();
    let threads = rayon::current_num_threads();
    let mut best = f64::INFINITY;
    let mut index = None;
    for _ in 0..3 {
        let start = Instant::now();
        let result = index_paths(&[dir.path().to_path_buf()], &limits);
        best = best.min(start.elapsed().as_secs_f64());
        index = Some(result);
    }
    let index = index.unwrap();
    assert!(index.skipped.is_empty());
    println!(
        "header indexing: {files} files in {:.3} s = {:.0} files/s ({threads} rayon threads, warm page cache, best of 3)",
        best,
        files as f64 / best
    );

    let series: Vec<_> = index
        .patients
        .iter()
        .flat_map(|p| &p.studies)
        .flat_map(|s| &s.series)
        .collect();
    assert_eq!(series.len(), SERIES);
    let start = Instant::now();
    for entry in &series {
        decode_series(entry, &limits).unwrap();
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "decoding: {} series of {SLICES} slices in {seconds:.3} s = {:.0} slices/s",
        series.len(),
        files as f64 / seconds
    );
}
