//! End-to-end: the `spine-edema` binary on the bundled testdata — the CSV contract of
//! SPEC §4, resumability, and pseudonymisation of every output file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_spine-edema"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const SPEC_COLUMNS: &[&str] = &[
    "exam_id",
    "patient_id",
    "study_date",
    "level",
    "bme_percent",
    "dansie_score",
    "voormolen_grade",
    "cement_percent",
    "cement_ml",
    "cement_quartile",
    "rim_present",
    "cleft_fluid",
    "height_anterior_mm",
    "height_middle_mm",
    "height_posterior_mm",
    "height_loss_percent",
    "genant_grade",
    "genant_shape",
    "body_volume_ml",
    "fracture_activity",
    "fluid_series",
    "mode",
    "confidence",
];

const CHANGE_COLUMNS: &[&str] = &[
    "patient_id",
    "level",
    "baseline_date",
    "followup_date",
    "interval_days",
    "interval_bin_a",
    "interval_bin_b",
    "bme_percent_before",
    "bme_percent_after",
    "change",
    "newly_edematous_percent",
    "newly_normal_percent",
    "height_loss_anterior_mm",
    "height_loss_middle_mm",
    "height_loss_posterior_mm",
    "height_loss_max_mm",
    "height_loss_max_percent",
    "flags",
];

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, rows)
}

fn column<'a>(headers: &[String], rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let i = headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} missing"));
    rows.iter().map(|r| r[i].as_str()).collect()
}

#[test]
fn scores_testdata_with_the_stable_csv_contract_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, stderr) = run(&[
        "score",
        testdata().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    for file in [
        "vertebrae.csv",
        "failures.csv",
        "report.html",
        "changes.csv",
    ] {
        assert!(out.join(file).is_file(), "{file} missing; {stderr}");
    }
    let (headers, rows) = read_csv(&out.join("vertebrae.csv"));
    for c in SPEC_COLUMNS {
        assert!(headers.iter().any(|h| h == c), "vertebrae.csv lacks {c}");
    }
    assert!(!rows.is_empty());
    let levels = ["T", "L", "C"];
    for level in column(&headers, &rows, "level") {
        assert!(
            level.is_empty() || level == "S1" || levels.iter().any(|p| level.starts_with(p)),
            "{level}"
        );
        if !level.is_empty() {
            assert!(level.parse::<spine_edema::Level>().is_ok(), "{level}");
        }
    }
    for g in column(&headers, &rows, "voormolen_grade") {
        assert!(
            ["", "none", "minor", "moderate", "severe"].contains(&g),
            "{g}"
        );
    }
    for s in column(&headers, &rows, "dansie_score") {
        assert!(["", "1", "2", "3", "4"].contains(&s), "{s}");
    }
    for s in column(&headers, &rows, "genant_shape") {
        assert!(
            ["", "none", "wedge", "biconcave", "crush"].contains(&s),
            "{s}"
        );
    }
    for m in column(&headers, &rows, "mode") {
        assert!(
            [
                "t1+stir",
                "t1+t2fs",
                "t1+t2",
                "t1-only",
                "stir-only",
                "t2fs-only",
                "t2-only"
            ]
            .contains(&m),
            "{m}"
        );
    }
    for name in [
        "bme_percent",
        "cement_percent",
        "body_volume_ml",
        "confidence",
        "height_posterior_mm",
    ] {
        for v in column(&headers, &rows, name) {
            assert!(
                v.is_empty() || v.parse::<f64>().is_ok_and(f64::is_finite),
                "{name}={v}"
            );
        }
    }
    for b in column(&headers, &rows, "rim_present")
        .into_iter()
        .chain(column(&headers, &rows, "cleft_fluid"))
    {
        assert!(b == "true" || b == "false", "{b}");
    }
    let (change_headers, _) = read_csv(&out.join("changes.csv"));
    for c in CHANGE_COLUMNS {
        assert!(
            change_headers.iter().any(|h| h == c),
            "changes.csv lacks {c}"
        );
    }
    // Exam JSONs parse and name their exam.
    let jsons: Vec<_> = std::fs::read_dir(out.join("exams"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(jsons.len(), 4);
    for j in &jsons {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(j.path()).unwrap()).unwrap();
        assert!(v["report"]["vertebrae"].is_array());
    }

    // A second run skips every exam and writes identical tables.
    let before = std::fs::read(out.join("vertebrae.csv")).unwrap();
    let report_before = std::fs::read(out.join("report.html")).unwrap();
    let (code, stderr) = run(&[
        "score",
        testdata().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(stderr.contains("0 exam(s) scored, 4 unchanged"), "{stderr}");
    assert_eq!(before, std::fs::read(out.join("vertebrae.csv")).unwrap());
    assert_eq!(
        report_before,
        std::fs::read(out.join("report.html")).unwrap()
    );
}

fn all_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            all_files(&e.path(), files);
        } else {
            files.push(e.path());
        }
    }
}

#[test]
fn pseudonymized_outputs_hold_no_input_identifier() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, stderr) = run(&[
        "score",
        testdata().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--pseudonymize",
        "secret",
        "--save-masks",
        "--png",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // Identifiers of the inputs: patient IDs, names, study/series UIDs, folder names.
    let index = spine_edema::ingest::index_paths(&[testdata()], &Default::default());
    let mut identifiers: Vec<String> = vec!["PHX000011".into(), "PHX000012".into()];
    for (patient, study, series) in index.iter_series() {
        identifiers.push(patient.patient_id.clone());
        identifiers.push(study.study_uid.clone());
        identifiers.push(series.series_uid.clone());
        identifiers.extend(series.frame_of_reference_uid.clone());
    }
    let names = ["PatientName", "PHANTOM^"];
    let mut files = Vec::new();
    all_files(&out, &mut files);
    assert!(files.len() > 10);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for id in identifiers.iter().filter(|i| !i.is_empty()) {
            assert!(!text.contains(id.as_str()), "{} contains {id}", f.display());
        }
        for n in names {
            assert!(!text.contains(n), "{} contains {n}", f.display());
        }
    }
}

#[test]
fn empty_folder_and_missing_path_exit_non_zero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run(&[
        "score",
        dir.path().to_str().unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no exams found"), "{stderr}");
    let (code, stderr) = run(&[
        "score",
        "/nonexistent/xyz",
        "--out",
        dir.path().join("o2").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("does not exist"), "{stderr}");
}
