//! The HTML report in a real browser: headless Chromium opens `report.html` of the bundled
//! testdata, and the test checks that every image decoded, every plot drew, and every
//! table has the rows the CSV files have. A screenshot is kept as a CI artefact
//! (`target/artefacts/report.png`).
//!
//! The report itself carries no script (it must stay safe to archive and e-mail), so the
//! test opens a copy with a small probe script appended: on `load` it writes what the page
//! holds as JSON into `<pre id="selftest">`, which `--dump-dom` prints. The screenshot is
//! taken of the unmodified report.
//!
//! Without Chromium the test is skipped with a message, unless `CI` is set (then it fails:
//! `.ci/run` installs Debian's `chromium`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{read_csv, rows_per, score, target_dir, testdata};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the probe found in the rendered page.
#[derive(Debug, Deserialize)]
struct PageStatus {
    images: usize,
    images_loaded: usize,
    images_shown: usize,
    image_sizes: Vec<[u32; 2]>,
    svgs: usize,
    svgs_drawn: usize,
    vertebra_rows: BTreeMap<String, usize>,
    change_rows: BTreeMap<String, usize>,
    failure_rows: usize,
    external_requests: Vec<String>,
}

/// Appended to a copy of the report: reports, once everything has loaded, what the browser
/// actually rendered.
const PROBE: &str = r#"<script>
addEventListener('load', () => {
  const images = [...document.images];
  const svgs = [...document.querySelectorAll('svg')];
  const rows = (selector, attribute) => Object.fromEntries(
    [...document.querySelectorAll(selector)].map(t => [t.getAttribute(attribute), t.tBodies[0].rows.length]));
  const failures = document.querySelector('table.failures');
  const status = {
    images: images.length,
    images_loaded: images.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0).length,
    images_shown: images.filter(i => { const r = i.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length,
    image_sizes: images.map(i => [i.naturalWidth, i.naturalHeight]),
    svgs: svgs.length,
    svgs_drawn: svgs.filter(s => { const b = s.getBBox(); return b.width > 0 && b.height > 0; }).length,
    vertebra_rows: rows('table.vertebrae', 'data-exam-id'),
    change_rows: rows('table.changes', 'data-patient-id'),
    failure_rows: failures ? failures.tBodies[0].rows.length : 0,
    external_requests: performance.getEntriesByType('resource').map(r => r.name).filter(n => !n.startsWith('data:')),
  };
  const pre = document.createElement('pre');
  pre.id = 'selftest';
  pre.textContent = JSON.stringify(status);
  document.body.appendChild(pre);
});
</script>"#;

/// Longest a Chromium run may take before the test gives up on it (a hang, not a timing
/// assertion).
const CHROMIUM_LIMIT: Duration = Duration::from_secs(180);

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPINE_EDEMA_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| {
            ["chromium", "chromium-browser", "google-chrome"]
                .into_iter()
                .map(move |n| d.join(n))
        })
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `extra` flags; returns its standard output.
fn chromium(exe: &Path, profile: &Path, page: &Path, extra: &[String]) -> String {
    let mut child = Command::new(exe)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--virtual-time-budget=5000",
        ])
        // A private profile: no clash with another Chromium on the machine.
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).map(|_| s)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_reader.join().unwrap().unwrap();
    let err = err_reader.join().unwrap().unwrap();
    assert!(status.success(), "chromium failed ({status}): {err}");
    out
}

fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn page_status(dom: &str) -> PageStatus {
    let start_tag = r#"<pre id="selftest">"#;
    let start = dom
        .find(start_tag)
        .unwrap_or_else(|| panic!("probe wrote no status; DOM tail: {}", tail(dom)))
        + start_tag.len();
    let end = start + dom[start..].find("</pre>").unwrap();
    serde_json::from_str(&unescape_html(&dom[start..end])).unwrap()
}

fn tail(s: &str) -> &str {
    let mut from = s.len().saturating_sub(2000);
    while !s.is_char_boundary(from) {
        from += 1;
    }
    &s[from..]
}

/// (width, height) of every overlay PNG of the run, sorted.
fn overlay_sizes(out: &Path) -> Vec<[u32; 2]> {
    let mut sizes: Vec<[u32; 2]> = common::all_files(&out.join("exams"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "png"))
        .map(|f| {
            let (w, h) = image::image_dimensions(&f).unwrap();
            [w, h]
        })
        .collect();
    sizes.sort();
    sizes
}

/// Vertebrae per exam as the exam JSONs hold them (exams with none included).
fn vertebrae_per_exam(out: &Path) -> BTreeMap<String, usize> {
    std::fs::read_dir(out.join("exams"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
            (
                v["exam_id"].as_str().unwrap().to_string(),
                v["report"]["vertebrae"].as_array().unwrap().len(),
            )
        })
        .collect()
}

#[test]
fn report_renders_in_chromium_with_every_image_and_row() {
    let Some(exe) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromium is not installed (.ci/run installs it)"
        );
        eprintln!("SKIPPED: chromium not found (install Debian's `chromium` to run this test)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, stderr) = score(&testdata(), &out, &["--png"]);
    assert_eq!(code, 0, "{stderr}");

    // The probe runs on a copy; the report itself stays script-free.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "the report must carry no script");
    let at = html.rfind("</body>").unwrap();
    let probed = dir.path().join("probe.html");
    std::fs::write(&probed, format!("{}{PROBE}{}", &html[..at], &html[at..])).unwrap();
    let profile = dir.path().join("chromium-profile");
    let dom = chromium(&exe, &profile, &probed, &["--dump-dom".to_string()]);
    let status = page_status(&dom);
    eprintln!("{status:?}");

    // Every overlay image decoded at its PNG size and takes room on the page.
    let sizes = overlay_sizes(&out);
    assert!(!sizes.is_empty());
    assert_eq!(status.images, sizes.len(), "one <img> per overlay PNG");
    assert_eq!(
        status.images_loaded, status.images,
        "images that failed to load"
    );
    assert_eq!(status.images_shown, status.images, "images with no area");
    let mut shown = status.image_sizes.clone();
    shown.sort();
    assert_eq!(shown, sizes);
    // `--png` copies are the same pictures.
    let copies = common::all_files(&out.join("png"));
    assert_eq!(copies.len(), sizes.len());

    // One vertebra table per exam, one row per vertebra; the CSV agrees.
    let expected = vertebrae_per_exam(&out);
    assert_eq!(status.vertebra_rows, expected);
    let csv_rows = rows_per(&out.join("vertebrae.csv"), "exam_id");
    for (exam, n) in &expected {
        assert_eq!(csv_rows.get(exam).copied().unwrap_or(0), *n, "{exam}");
    }
    assert_eq!(
        csv_rows.values().sum::<usize>(),
        expected.values().sum::<usize>()
    );

    // Change tables per patient match changes.csv; the cohort plots drew.
    let changes = out.join("changes.csv");
    let change_rows = if changes.is_file() {
        rows_per(&changes, "patient_id")
    } else {
        BTreeMap::new()
    };
    assert_eq!(status.change_rows, change_rows);
    assert_eq!(status.svgs, if change_rows.is_empty() { 0 } else { 3 });
    assert_eq!(
        status.svgs_drawn, status.svgs,
        "plots with an empty drawing"
    );
    assert_eq!(
        status.failure_rows,
        read_csv(&out.join("failures.csv")).1.len()
    );
    assert!(
        status.external_requests.is_empty(),
        "the report fetched {:?}",
        status.external_requests
    );

    // Screenshot of the unmodified report, kept as an artefact.
    let artefacts = target_dir().join("artefacts");
    std::fs::create_dir_all(&artefacts).unwrap();
    let shot = artefacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &exe,
        &profile,
        &out.join("report.html"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
        ],
    );
    let picture = image::open(&shot)
        .unwrap_or_else(|e| panic!("{}: {e}", shot.display()))
        .to_rgb8();
    assert_eq!(picture.dimensions(), (1280, 2000));
    let mut colours: Vec<[u8; 3]> = picture.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    // Text, tables, plots and MR images: far more than a blank or single-colour page.
    assert!(
        colours.len() > 256,
        "screenshot has only {} colours",
        colours.len()
    );
    eprintln!("screenshot: {}", shot.display());
}
