//! `spine-edema bench --decode-only` on a phantom whose sizes are forced with
//! `spine-edema phantom --matrix/--fluid-matrix/--slices`: the decode floor that
//! `scripts/compare-tools.sh` measures must decode every voxel of every series.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn spine_edema(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_spine-edema"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn decode_only_decodes_every_voxel_of_a_forced_phantom() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    spine_edema(&[
        "phantom",
        "--out",
        out,
        "--seed",
        "3",
        "--matrix",
        "96",
        "--fluid-matrix",
        "64",
        "--slices",
        "5",
        "--no-extra-series",
    ]);
    let json = spine_edema(&["bench", "--decode-only", "--repeat", "2", "--json", out]);
    let result: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(result["mode"], "decode-only");
    assert_eq!(result["exams"], 1);
    assert_eq!(result["failures"], 0);
    assert_eq!(result["repeats"], 2);
    // Seed 3 draws a T1 and a STIR and nothing else once distractors are off.
    assert_eq!(result["voxels"], 5 * (96 * 96 + 64 * 64));
    let stages: Vec<&str> = result["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["index", "decode"]);
}
