//! Privacy of every output file, read the way a recipient could read it.
//!
//! `cli_score.rs` checks that pseudonymised text outputs hold no identifier the index
//! knows (PatientID, UIDs). This test adds what that one cannot see: the identifiers are
//! read from the DICOM files themselves (PatientName, PatientBirthDate, AccessionNumber,
//! which the index never reads), the run *without* `--pseudonymize` is checked too, and
//! compressed content is opened before scanning — gzip (`.nii.gz` mask headers),
//! PNG `tEXt` / `zTXt` / `iTXt` chunks (compressed text is invisible to a byte scan), and
//! PNGs embedded in HTML as base64 data URIs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use dicom_dictionary_std::tags;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Identifying values of the testdata exams, read from every DICOM file's header.
#[derive(Default)]
struct Identities {
    /// Never allowed in any output.
    always_secret: BTreeSet<String>,
    /// Allowed without `--pseudonymize` (they identify the exam to its owner), never with.
    pseudonymized: BTreeSet<String>,
}

fn identities() -> Identities {
    let mut ids = Identities::default();
    for path in files_under(&testdata()) {
        let Ok(obj) = dicom_object::open_file(&path) else {
            continue; // truth masks and JSON next to the DICOM folders
        };
        let text = |tag| {
            obj.element(tag)
                .ok()
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_matches([' ', '\0']).to_string())
                .filter(|s| !s.is_empty())
        };
        if let Some(name) = text(tags::PATIENT_NAME) {
            // The whole name and each component of it (a report could reformat "^").
            ids.always_secret.extend(
                name.split(['^', '=', ' '])
                    .filter(|part| part.len() >= 3)
                    .map(str::to_string),
            );
            ids.always_secret.insert(name);
        }
        if let Some(birth) = text(tags::PATIENT_BIRTH_DATE) {
            if let (Some(y), Some(m), Some(d)) = (birth.get(..4), birth.get(4..6), birth.get(6..8))
            {
                ids.always_secret.insert(format!("{y}-{m}-{d}"));
            }
            ids.always_secret.insert(birth);
        }
        for tag in [
            tags::PATIENT_ID,
            tags::STUDY_INSTANCE_UID,
            tags::ACCESSION_NUMBER,
        ] {
            ids.pseudonymized.extend(text(tag));
        }
    }
    ids
}

/// A view of an output: its bytes as stored, and every decoded form they contain.
fn views(path: &Path, bytes: Vec<u8>, out: &mut Vec<(String, Vec<u8>)>) {
    let label = path.display().to_string();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut inflated)
            .unwrap();
        out.push((format!("{label} (gunzipped)"), inflated));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png_text_chunks(&label, &bytes, out);
    }
    for (k, png) in embedded_pngs(&bytes).into_iter().enumerate() {
        png_text_chunks(&format!("{label} (embedded image {k})"), &png, out);
        out.push((format!("{label} (embedded image {k})"), png));
    }
    out.push((label, bytes));
}

/// The text chunks of a PNG; compressed ones (zTXt, compressed iTXt) inflated.
fn png_text_chunks(label: &str, png: &[u8], out: &mut Vec<(String, Vec<u8>)>) {
    let mut at = 8;
    while let Some(header) = png.get(at..at + 8) {
        let len = u32::from_be_bytes(header[..4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&header[4..8]).into_owned();
        let Some(data) = png.get(at + 8..at + 8 + len) else {
            panic!("{label}: PNG chunk {kind} runs past the end");
        };
        let zlib = |compressed: &[u8]| {
            let mut text = Vec::new();
            flate2::read::ZlibDecoder::new(compressed)
                .read_to_end(&mut text)
                .unwrap();
            text
        };
        let keyword_end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
        let text = match kind.as_str() {
            "tEXt" => Some(data.to_vec()),
            // keyword \0 method compressed-text
            "zTXt" => data.get(keyword_end + 2..).map(zlib),
            // keyword \0 flag method language \0 translated \0 text
            "iTXt" => {
                let flag = data.get(keyword_end + 1).copied().unwrap_or(0);
                let rest = data.get(keyword_end + 3..).unwrap_or_default();
                let mut fields = rest.splitn(3, |&b| b == 0);
                let (_, _, body) = (fields.next(), fields.next(), fields.next());
                body.map(|b| if flag == 1 { zlib(b) } else { b.to_vec() })
            }
            _ => None,
        };
        if let Some(text) = text {
            let mut chunk = data[..keyword_end].to_vec();
            chunk.push(b'=');
            chunk.extend(text);
            out.push((format!("{label} (PNG {kind} chunk)"), chunk));
        }
        at += 12 + len;
    }
}

/// PNGs embedded as `data:image/png;base64,…` (the HTML report's overlays).
fn embedded_pngs(bytes: &[u8]) -> Vec<Vec<u8>> {
    const PREFIX: &[u8] = b"data:image/png;base64,";
    let mut pngs = Vec::new();
    let mut rest = bytes;
    while let Some(start) = rest.windows(PREFIX.len()).position(|w| w == PREFIX) {
        let body = &rest[start + PREFIX.len()..];
        let end = body
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b"+/=".contains(&b)))
            .unwrap_or(body.len());
        pngs.push(
            base64::engine::general_purpose::STANDARD
                .decode(&body[..end])
                .unwrap(),
        );
        rest = &body[end..];
    }
    pngs
}

/// `needle` in `haystack`, ignoring ASCII case, as a whole word: not preceded or followed
/// by a letter or digit (so "DOE" is not found in "does", nor in base64 image data, and a
/// birth date not inside a longer number).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let is_word = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    haystack
        .windows(needle.len())
        .enumerate()
        .position(|(at, w)| {
            w.eq_ignore_ascii_case(needle)
                && !is_word(at.checked_sub(1).and_then(|i| haystack.get(i)))
                && !is_word(haystack.get(at + needle.len()))
        })
}

/// Scores the testdata into a fresh folder, with or without a pseudonymisation key, and
/// returns every output's views.
fn score(key: Option<&str>) -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut command = Command::new(env!("CARGO_BIN_EXE_spine-edema"));
    command
        .env_remove("SPINE_EDEMA_PSEUDONYMIZE_KEY")
        .arg("score")
        .arg(testdata())
        .arg("--out")
        .arg(&out)
        .args(["--save-masks", "--png"]);
    if let Some(key) = key {
        command.args(["--pseudonymize", key]);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut all = Vec::new();
    let files = files_under(&out);
    for kind in ["csv", "json", "html", "png", "nii.gz"] {
        assert!(
            files.iter().any(|f| f.to_string_lossy().ends_with(kind)),
            "no .{kind} output to check in {files:?}"
        );
    }
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        views(&path, bytes, &mut all);
    }
    (dir, all)
}

fn leaks<'a>(
    outputs: &[(String, Vec<u8>)],
    secrets: impl IntoIterator<Item = &'a String> + Clone,
) -> Vec<String> {
    let mut found = Vec::new();
    for (label, bytes) in outputs {
        for secret in secrets.clone() {
            if find(bytes, secret.as_bytes()).is_some() {
                found.push(format!("{label} contains {secret:?}"));
            }
        }
    }
    found
}

#[test]
fn outputs_never_hold_names_or_birth_dates_and_pseudonymised_ones_no_identifiers() {
    let ids = identities();
    assert!(
        !ids.always_secret.is_empty() && ids.pseudonymized.len() >= 3,
        "testdata lost its identifying headers; the test would check nothing"
    );

    let (_plain_dir, plain) = score(None);
    let embedded = plain
        .iter()
        .filter(|(l, _)| l.contains("embedded image"))
        .count();
    let text_chunks = plain.iter().filter(|(l, _)| l.contains("PNG t")).count();
    println!(
        "plain run: {} views ({embedded} embedded images, {text_chunks} PNG text chunks)",
        plain.len()
    );
    let plain_leaks = leaks(&plain, &ids.always_secret);
    assert!(plain_leaks.is_empty(), "{}", plain_leaks.join("\n"));
    // Without a key the exams keep their identity: the check above must not pass merely
    // because nothing identifying is written at all.
    assert!(
        !leaks(&plain, &ids.pseudonymized).is_empty(),
        "no PatientID / StudyInstanceUID in the plain outputs: the scan is blind"
    );

    let (_keyed_dir, keyed) = score(Some("privacy-test-key"));
    let keyed_leaks = leaks(&keyed, ids.always_secret.iter().chain(&ids.pseudonymized));
    assert!(keyed_leaks.is_empty(), "{}", keyed_leaks.join("\n"));
}

#[test]
fn scanner_sees_text_inside_compressed_png_chunks_and_gzip() {
    // The scanner itself must find a secret hidden the ways an output could hide it.
    let secret = "DOE^JANE".to_string();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: Vec<u8>| {
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(kind);
        png.extend(&data);
        png.extend([0; 4]); // CRC: not checked by the scanner
    };
    let mut compressed = Vec::new();
    flate2::read::ZlibEncoder::new(secret.as_bytes(), flate2::Compression::default())
        .read_to_end(&mut compressed)
        .unwrap();
    let mut ztxt = b"Author\0\0".to_vec();
    ztxt.extend(&compressed);
    chunk(b"zTXt", ztxt);
    let mut itxt = b"Comment\0\x01\0en\0\0".to_vec();
    itxt.extend(&compressed);
    chunk(b"iTXt", itxt);
    chunk(b"IEND", Vec::new());

    let mut outputs = Vec::new();
    views(Path::new("x.png"), png.clone(), &mut outputs);
    assert_eq!(leaks(&outputs, [&secret]).len(), 2, "zTXt and iTXt");

    let html = format!(
        "<img src=\"data:image/png;base64,{}\">",
        base64::engine::general_purpose::STANDARD.encode(&png)
    );
    let mut outputs = Vec::new();
    views(Path::new("r.html"), html.into_bytes(), &mut outputs);
    assert_eq!(leaks(&outputs, [&secret]).len(), 2, "embedded PNG chunks");

    let mut gz = Vec::new();
    flate2::read::GzEncoder::new(b"header DOE^JANE".as_slice(), flate2::Compression::fast())
        .read_to_end(&mut gz)
        .unwrap();
    let mut outputs = Vec::new();
    views(Path::new("m.nii.gz"), gz, &mut outputs);
    assert_eq!(leaks(&outputs, [&secret]).len(), 1, "gunzipped");
}
