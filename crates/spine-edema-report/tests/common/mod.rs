//! Fixtures shared by the end-to-end tests: the binary, the bundled testdata, phantom
//! batches, CSV reading and a check that an output folder holds only complete files.

// Each test file uses a different subset of these helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use spine_edema_phantom::{PhantomOptions, Preset, WrittenPatient, generate_patient};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `spine-edema` binary built for this test run.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spine-edema"))
}

/// The repository's `testdata/`.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// The cargo target folder (`target/`), found from the binary's path so that
/// `CARGO_TARGET_DIR` is honoured.
pub fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_spine-edema"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap()
}

/// Runs `spine-edema score <input> --out <out> <extra…>`; returns (exit code, stderr).
pub fn score(input: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let output = bin()
        .arg("score")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A CSV file as (headers, rows).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

/// The values of one column.
pub fn column<'a>(headers: &[String], rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let i = headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} missing"));
    rows.iter().map(|r| r[i].as_str()).collect()
}

/// Number of rows per value of `name` (e.g. vertebrae per exam).
pub fn rows_per(path: &Path, name: &str) -> BTreeMap<String, usize> {
    let (headers, rows) = read_csv(path);
    let mut counts = BTreeMap::new();
    for v in column(&headers, &rows, name) {
        *counts.entry(v.to_string()).or_insert(0) += 1;
    }
    counts
}

/// Writes `patients` phantom patients (baseline + `followups` each) with small 64×64
/// matrices, alternating lumbar and thoracolumbar coverage and plain or compressed
/// transfer syntaxes. Seeds start at `first_seed`.
pub fn phantom_batch(
    dir: &Path,
    patients: usize,
    followups: usize,
    first_seed: u64,
) -> Vec<WrittenPatient> {
    (0..patients)
        .map(|i| {
            let opts = PhantomOptions {
                preset: if i % 2 == 0 {
                    Preset::Lumbar
                } else {
                    Preset::Thoracolumbar
                },
                seed: first_seed + i as u64,
                followups,
                matrix: Some(64),
                compressed: i % 3 == 2,
                extra_series: false,
                ..PhantomOptions::default()
            };
            let patient = generate_patient(&opts).unwrap();
            spine_edema_phantom::write_patient(&patient, dir).unwrap()
        })
        .collect()
}

/// Every regular file under `dir`, sorted.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

/// A temporary name of the writer (never a valid output).
pub fn is_temporary(path: &Path) -> bool {
    spine_edema_report::atomic::is_partial_name(
        &path.file_name().unwrap_or_default().to_string_lossy(),
    )
}

/// Checks that every output file under `out` with a final name is complete: CSVs parse
/// with their header, JSONs parse, PNGs and NIfTIs decode, the HTML is whole.
/// Temporary files are allowed (a killed run leaves them; the next run removes them).
/// Returns a description of the first incomplete file.
pub fn check_complete(out: &Path) -> Result<usize, String> {
    let mut checked = 0;
    for f in all_files(out) {
        if is_temporary(&f) {
            continue;
        }
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let bad = |why: String| Err(format!("{} incomplete: {why}", f.display()));
        if name.ends_with(".csv") {
            let first = match name.as_str() {
                "vertebrae.csv" => "exam_id,",
                "changes.csv" => "patient_id,",
                "failures.csv" => "path,",
                _ => "",
            };
            if !bytes.starts_with(first.as_bytes()) {
                return bad("header missing".into());
            }
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            let width = reader.headers().map_err(|e| e.to_string())?.len();
            for r in reader.records() {
                let r = r.map_err(|e| format!("{}: {e}", f.display()))?;
                if r.len() != width {
                    return bad(format!("row of {} cells, header of {width}", r.len()));
                }
            }
            if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                return bad("no final newline".into());
            }
        } else if name.ends_with(".json") {
            if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                return bad(e.to_string());
            }
        } else if name.ends_with(".png") {
            if let Err(e) = image::load_from_memory(&bytes) {
                return bad(e.to_string());
            }
        } else if name.ends_with(".nii.gz") {
            if let Err(e) = spine_edema::nifti::read_volume(&f) {
                return bad(e.to_string());
            }
        } else if name.ends_with(".html") {
            if !bytes.ends_with(b"</html>\n") {
                return bad("document not closed".into());
            }
        } else {
            return bad("unexpected output file".into());
        }
        checked += 1;
    }
    Ok(checked)
}
