//! The same exam read from DICOM by us and converted to NIfTI by dcm2niix (the standard
//! converter) must sit at the same place in the patient: same voxel grid in LPS, same
//! intensities. This checks our slice ordering, affine and RAS↔LPS handling against an
//! independent implementation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use spine_edema::ingest::{Limits, decode_series, index_paths};
use std::path::{Path, PathBuf};
use std::process::Command;

fn dcm2niix_available() -> bool {
    let found = Command::new("dcm2niix").arg("-v").output().is_ok();
    if !found && std::env::var_os("CI").is_some() {
        panic!("dcm2niix is required in CI (.ci/run installs it)");
    }
    found
}

#[test]
fn our_dicom_volumes_match_dcm2niix_geometry_and_voxels() {
    if !dcm2niix_available() {
        eprintln!("dcm2niix not installed; skipping");
        return;
    }
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let index = index_paths(&[testdata], &Limits::default());
    let mut checked = 0;
    for (_, _, series) in index.iter_series().take(4) {
        let ours = decode_series(series, &Limits::default()).unwrap().volume;
        // Convert just this series' files.
        let input = tempfile::tempdir().unwrap();
        for (i, f) in series.frames.iter().enumerate() {
            std::fs::copy(&f.path, input.path().join(format!("{i}.dcm"))).unwrap();
        }
        let output = tempfile::tempdir().unwrap();
        let status = Command::new("dcm2niix")
            .args(["-z", "n", "-b", "n", "-f", "vol", "-o"])
            .arg(output.path())
            .arg(input.path())
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let nii: Vec<PathBuf> = std::fs::read_dir(output.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "nii"))
            .collect();
        assert_eq!(nii.len(), 1, "{nii:?}");
        let theirs = spine_edema::nifti::read_volume(&nii[0]).unwrap();
        assert_eq!(ours.len(), theirs.len(), "voxel count");
        // Every voxel centre of ours must be a voxel centre of theirs with the same value.
        let shape = ours.shape();
        let mut worst_mm: f64 = 0.0;
        for i in (0..shape[0]).step_by(3) {
            for j in (0..shape[1]).step_by(37) {
                for k in (0..shape[2]).step_by(41) {
                    let p = ours.affine.index_to_mm([i as f64, j as f64, k as f64]);
                    let q = theirs.affine.mm_to_index(&p);
                    let r = q.map(f64::round);
                    let back = theirs.affine.index_to_mm(r);
                    worst_mm = worst_mm.max((back - p).norm());
                    let v = theirs.voxels[[r[0] as usize, r[1] as usize, r[2] as usize]];
                    assert!(
                        (v - ours.voxels[[i, j, k]]).abs() <= 1e-3 * v.abs().max(1.0),
                        "value at {i},{j},{k}"
                    );
                }
            }
        }
        // dcm2niix stores the affine in float32: allow 0.05 mm.
        assert!(
            worst_mm < 0.05,
            "{}: voxel centres differ by {worst_mm} mm",
            series.label()
        );
        checked += 1;
    }
    assert!(checked >= 2, "testdata should hold several series");
}
