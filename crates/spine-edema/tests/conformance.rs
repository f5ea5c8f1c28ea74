//! Conformance over a third-party DICOM corpus: the test files of the pydicom 3.0.2 and
//! pydicom-data 1.0.0 wheels, fetched by `scripts/fetch-dicom-corpus.sh` into the folder
//! named by `SPINE_EDEMA_DICOM_CORPUS` (`.ci/run` does both).
//!
//! Every file must either index and decode, or yield a typed error — never panic or
//! hang. Lossless encodings of one image must decode to identical values, and the
//! truncated file must fail with a decoding error that names it.

use ndarray::Array3;
use spine_edema::Error;
use spine_edema::ingest::{Limits, decode_frames, decode_series, index_paths};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Longest one file may take (debug build, shared 2-core machine) before it counts as a hang.
const PER_FILE_TIMEOUT: Duration = Duration::from_secs(120);

/// Where the corpus is: `SPINE_EDEMA_DICOM_CORPUS`; without it, CI fails and a
/// developer machine falls back to the main checkout's `.corpus` or skips.
fn corpus_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SPINE_EDEMA_DICOM_CORPUS") {
        return Some(PathBuf::from(dir));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "SPINE_EDEMA_DICOM_CORPUS is unset in CI; run scripts/fetch-dicom-corpus.sh"
    );
    let fallback = PathBuf::from("/work/main/.corpus");
    if fallback.is_dir() {
        return Some(fallback);
    }
    eprintln!(
        "conformance: SKIPPED, no corpus (set SPINE_EDEMA_DICOM_CORPUS, see scripts/fetch-dicom-corpus.sh)"
    );
    None
}

/// Corpus files: everything unpacked, not the cached wheels or the unpack stamps.
fn corpus_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            !p.components().any(|c| c.as_os_str() == ".wheels")
                && p.file_name().is_some_and(|n| n != ".complete")
        })
        .collect();
    files.sort();
    files
}

enum Outcome {
    /// Indexed and its pixels decoded: the transfer syntax, the frames, and whether a
    /// volume in patient space could be built (`Err`: a geometry error, e.g. a secondary
    /// capture without position).
    Loaded {
        transfer_syntax: String,
        voxels: Array3<f32>,
        volume: Result<(), Error>,
    },
    /// A typed error, from indexing (skipped) or decoding.
    Rejected(Error),
    Panicked(String),
    Hung,
}

struct Loaded {
    transfer_syntax: String,
    voxels: Array3<f32>,
    volume: Result<(), Error>,
}

fn load(path: &Path) -> Result<Loaded, Error> {
    let limits = Limits::default();
    let mut index = index_paths(&[path.to_path_buf()], &limits);
    if let Some(skipped) = index.skipped.pop() {
        return Err(skipped.reason);
    }
    let series = index
        .patients
        .into_iter()
        .flat_map(|p| p.studies)
        .flat_map(|s| s.series)
        .next()
        .ok_or_else(|| Error::decoding(path, "indexed to nothing (test harness)"))?;
    let transfer_syntax = series
        .frames
        .first()
        .map(|f| f.transfer_syntax.clone())
        .unwrap_or_default();
    let voxels = decode_frames(&series, &limits)?;
    let volume = decode_series(&series, &limits).map(|decoded| {
        assert_eq!(
            decoded.volume.voxels.len(),
            voxels.len(),
            "{}: volume and frames differ in size",
            path.display()
        );
    });
    Ok(Loaded {
        transfer_syntax,
        voxels,
        volume,
    })
}

fn run(path: &Path) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let result = catch_unwind(AssertUnwindSafe(|| load(&owned)));
        // The receiver is gone only when the harness already gave up on this file.
        let _ = tx.send(result);
    });
    match rx.recv_timeout(PER_FILE_TIMEOUT) {
        Ok(Ok(Ok(loaded))) => Outcome::Loaded {
            transfer_syntax: loaded.transfer_syntax,
            voxels: loaded.voxels,
            volume: loaded.volume,
        },
        Ok(Ok(Err(error))) => Outcome::Rejected(error),
        Ok(Err(panic)) => Outcome::Panicked(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
        Err(_) => Outcome::Hung,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Files whose pixels are a lossless re-encoding of the first one in each group.
const LOSSLESS_GROUPS: [&[&str]; 2] = [
    &[
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "MR_small_padded.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
    ],
    &[
        "emri_small.dcm",
        "emri_small_big_endian.dcm",
        "emri_small_RLE.dcm",
        "emri_small_jpeg_ls_lossless.dcm",
        "emri_small_jpeg_2k_lossless.dcm",
    ],
];

#[test]
fn every_corpus_file_loads_or_fails_with_a_typed_error() {
    let Some(dir) = corpus_dir() else { return };
    let files = corpus_files(&dir);
    assert!(
        files.len() > 100,
        "corpus at {} holds only {} files; rerun scripts/fetch-dicom-corpus.sh",
        dir.display(),
        files.len()
    );

    let mut outcomes: BTreeMap<PathBuf, Outcome> = BTreeMap::new();
    for path in &files {
        outcomes.insert(path.clone(), run(path));
    }

    // Summary table: the counts the closing note quotes.
    let mut loaded_by_syntax: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut rejected_by_category: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut no_volume: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    for (path, outcome) in &outcomes {
        match outcome {
            Outcome::Loaded {
                transfer_syntax,
                volume,
                ..
            } => {
                let counts = loaded_by_syntax.entry(transfer_syntax.clone()).or_default();
                counts.0 += 1;
                match volume {
                    Ok(()) => counts.1 += 1,
                    Err(error) => no_volume.push(format!("{error}")),
                }
            }
            Outcome::Rejected(error) => rejected_by_category
                .entry(error.category())
                .or_default()
                .push(format!("{error}")),
            Outcome::Panicked(message) => {
                failures.push(format!("PANIC {}: {message}", path.display()))
            }
            Outcome::Hung => failures.push(format!("HANG {}", path.display())),
        }
    }
    let loaded: usize = loaded_by_syntax.values().map(|c| c.0).sum();
    let volumes: usize = loaded_by_syntax.values().map(|c| c.1).sum();
    println!(
        "conformance corpus: {} ({} files)",
        dir.display(),
        files.len()
    );
    println!("pixels decoded: {loaded} files, of which {volumes} also built a volume");
    println!("  files  volumes  transfer syntax");
    for (syntax, (count, with_volume)) in &loaded_by_syntax {
        println!("  {count:5}  {with_volume:7}  {syntax}");
    }
    println!("decoded but no volume (geometry): {}", no_volume.len());
    for error in &no_volume {
        println!("    {error}");
    }
    for (category, errors) in &rejected_by_category {
        println!("rejected ({category}): {}", errors.len());
        for error in errors {
            println!("    {error}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let by_name: BTreeMap<String, &Outcome> = outcomes
        .iter()
        .map(|(path, outcome)| (file_name(path), outcome))
        .collect();
    for group in LOSSLESS_GROUPS {
        let mut reference: Option<(&str, &Array3<f32>)> = None;
        for name in group {
            let outcome = by_name.get(*name).copied();
            let Some(Outcome::Loaded { voxels, .. }) = outcome else {
                let why = match outcome {
                    Some(Outcome::Rejected(e)) => e.to_string(),
                    _ => "missing from corpus".to_string(),
                };
                panic!("{name} must decode (lossless variant): {why}");
            };
            match reference {
                None => reference = Some((name, voxels)),
                Some((first, expected)) => {
                    assert_eq!(voxels.shape(), expected.shape(), "{name} vs {first}: shape");
                    let differing = voxels.iter().zip(expected).filter(|(a, b)| a != b).count();
                    assert_eq!(differing, 0, "{name} vs {first}: {differing} voxels differ");
                }
            }
        }
    }

    match by_name.get("MR_truncated.dcm") {
        Some(Outcome::Rejected(error)) => {
            assert_eq!(error.category(), "decoding", "{error}");
            assert!(error.to_string().contains("MR_truncated.dcm"), "{error}");
        }
        Some(Outcome::Loaded { .. }) => panic!("MR_truncated.dcm decoded"),
        _ => panic!("MR_truncated.dcm missing from the corpus"),
    }
}
