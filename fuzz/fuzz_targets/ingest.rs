//! The ingest path on one hostile file: the input bytes are written as a `.dcm` next to
//! a valid companion slice of the same series, then indexed (header parse), and every
//! series found is decoded (pixel decode + slice ordering + volume build) and classified.
//!
//! What counts as a crash: a panic that escapes the library (the body runs under
//! `catch_unwind` and aborts on one), a stack overflow, an allocation over libFuzzer's
//! `-malloc_limit_mb`, or a hang. A panic inside a third-party parser or codec that the
//! library's per-file guard turns into a typed error is not a crash — that is the guard
//! working — but every one is appended (as `file:line`) to the file named by
//! `SPINE_EDEMA_FUZZ_PANICS`, so each can be reported upstream and given a regression
//! test. `SPINE_EDEMA_FUZZ_STRICT=1` keeps libfuzzer-sys's abort-on-any-panic hook.
//!
//! With `SPINE_EDEMA_FUZZ_SEEDS=<dir>` set, the synthetic seed files are written into
//! `<dir>` before libFuzzer reads its corpus (`scripts/fuzz.sh` does this).

#![no_main]

use libfuzzer_sys::fuzz_target;
use spine_edema::ingest::{Limits, decode_frames, decode_series, index_paths};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::OnceLock;

/// A private folder holding the companion slice; the input is rewritten for every run.
fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("spine-edema-fuzz-{}", std::process::id()));
        let made = std::fs::create_dir_all(&dir).and_then(|()| {
            std::fs::write(dir.join("companion.dcm"), spine_edema_fuzz::companion())
        });
        assert!(made.is_ok(), "cannot prepare {}", dir.display());
        dir
    })
}

/// Tighter than the defaults so a legitimately large (but in-limit) claim does not
/// trip libFuzzer's 2 GB RSS limit; the checks exercised are the same.
fn limits() -> Limits {
    Limits {
        max_pixel_bytes_per_file: 64 << 20,
        max_volume_bytes: 64 << 20,
        max_slices_per_series: 512,
        ..Limits::default()
    }
}

/// Replaces libfuzzer-sys's aborting panic hook by one that records where the panic
/// happened; whether it was caught decides whether it is a crash (see the module doc).
fn record_panics() {
    if std::env::var_os("SPINE_EDEMA_FUZZ_STRICT").is_some() {
        return;
    }
    let log = std::env::var_os("SPINE_EDEMA_FUZZ_PANICS").map(PathBuf::from);
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().map_or_else(
            || "unknown".to_string(),
            |l| format!("{}:{}", l.file(), l.line()),
        );
        if let Some(log) = &log {
            if let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
            {
                let _ = writeln!(file, "{location}");
            }
        }
    }));
}

fn init() {
    write_seeds();
    record_panics();
}

fn write_seeds() {
    let Some(dir) = std::env::var_os("SPINE_EDEMA_FUZZ_SEEDS").map(PathBuf::from) else {
        return;
    };
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        spine_edema_fuzz::seeds()
            .into_iter()
            .try_for_each(|(name, bytes)| std::fs::write(dir.join(name), bytes))
    });
    assert!(written.is_ok(), "cannot write seeds to {}", dir.display());
}

fuzz_target!(init: init(), |data: &[u8]| {
    if catch_unwind(AssertUnwindSafe(|| ingest(data))).is_err() {
        // A panic escaped the library: that is a bug in spine-edema.
        std::process::abort();
    }
});

fn ingest(data: &[u8]) {
    let dir = workdir();
    let input = dir.join("input.dcm");
    if std::fs::write(&input, data).is_err() {
        return;
    }
    let limits = limits();
    let index = index_paths(&[dir.clone()], &limits);
    for skipped in &index.skipped {
        let message = skipped.reason.to_string();
        assert!(
            message.contains("input.dcm") || message.contains("companion.dcm"),
            "error does not name the file: {message}"
        );
    }
    for (_, study, series) in index.iter_series() {
        if let Err(error) = decode_series(series, &limits) {
            let message = error.to_string();
            assert!(
                message.contains(&*dir.to_string_lossy()),
                "unnamed error: {message}"
            );
        }
        let _ = decode_frames(series, &limits);
        let _ = spine_edema::load::candidates(study);
    }
}
