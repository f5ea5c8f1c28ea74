//! Shared fixtures of the phantom tests.
// Each test binary uses a subset of these helpers.
#![allow(dead_code)]
// Test fixtures: a failure to list a temp dir should abort the test.
#![allow(clippy::unwrap_used)]

use spine_edema_phantom::{PhantomOptions, Preset};
use std::path::{Path, PathBuf};

/// Small but complete options: every feature, a small matrix so debug tests stay quick.
pub fn small(preset: Preset, seed: u64, compressed: bool) -> PhantomOptions {
    PhantomOptions {
        preset,
        seed,
        followups: 1,
        matrix: Some(160),
        fluid_matrix: None,
        slices: None,
        compressed,
        extra_series: true,
    }
}

/// Every regular file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The DICOM files of a written tree (everything under a `dicom` folder).
pub fn dicom_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .is_some_and(|n| n == "dicom")
        })
        .collect()
}
