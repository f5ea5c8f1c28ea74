//! Corrupted input: valid synthetic files damaged at random (bytes overwritten, file cut
//! short) must index and decode to a value or a typed error naming the file — never a
//! panic escaping the library, never an error that forgets the file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ingest_support;

use ingest_support::{Framing, Spec, write_enhanced, write_slice};
use proptest::prelude::*;
use spine_edema::ingest::{Limits, decode_series, index_paths};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

/// Indexes and decodes everything under `dir`; returns the error texts met.
fn ingest_all(dir: &Path) -> Vec<String> {
    let limits = Limits::default();
    let index = index_paths(&[dir.to_path_buf()], &limits);
    let mut errors: Vec<String> = index.skipped.iter().map(|s| s.reason.to_string()).collect();
    for series in index
        .patients
        .iter()
        .flat_map(|p| &p.studies)
        .flat_map(|s| &s.series)
    {
        if let Err(error) = decode_series(series, &limits) {
            errors.push(error.to_string());
        }
    }
    errors
}

fn damage(bytes: &mut Vec<u8>, edits: &[(usize, u8)], keep_fraction: f64) {
    let len = bytes.len();
    for &(at, value) in edits {
        bytes[at % len] = value;
    }
    let keep = ((len as f64) * keep_fraction) as usize;
    bytes.truncate(keep.max(1));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn damaged_files_never_panic(
        edits in prop::collection::vec((0usize..4000, any::<u8>()), 0..12),
        keep_fraction in prop_oneof![Just(1.0f64), 0.0f64..1.0],
        kind in 0usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("damaged.dcm");
        let spec = Spec {
            framing: [Framing::Preamble, Framing::NoPreamble, Framing::Bare, Framing::Preamble][kind],
            ..Spec::default()
        };
        if kind == 3 {
            write_enhanced(&spec, &[2, 0, 1], &path);
        } else {
            write_slice(&spec, 0, 1, &path);
        }
        let mut bytes = std::fs::read(&path).unwrap();
        damage(&mut bytes, &edits, keep_fraction);
        std::fs::write(&path, &bytes).unwrap();

        let outcome = catch_unwind(AssertUnwindSafe(|| ingest_all(dir.path())));
        prop_assert!(outcome.is_ok(), "a panic escaped ingest");
        for error in outcome.unwrap() {
            prop_assert!(error.contains("damaged.dcm") || error.contains(&*dir.path().to_string_lossy()), "{}", error);
        }
    }
}
