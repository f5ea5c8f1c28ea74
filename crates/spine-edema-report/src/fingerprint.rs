//! Input fingerprints, so a rerun skips exams whose inputs and settings have not changed.
//!
//! A fingerprint hashes, for every input file of an exam, its path, size and modification
//! time (reading the pixels again would cost as much as scoring), together with the
//! configuration and the tool version: a new threshold or a new release rescores
//! everything, an untouched exam is skipped.

use std::path::Path;

/// Computes the fingerprint of an exam's input files and settings.
pub fn fingerprint<'a>(files: impl IntoIterator<Item = &'a Path>, settings: &str) -> String {
    let mut entries: Vec<(String, u64, i128)> = files
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(p).ok();
            let size = meta.as_ref().map_or(0, |m| m.len());
            let mtime_ns = meta
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            (p.to_string_lossy().into_owned(), size, mtime_ns)
        })
        .collect();
    entries.sort();
    let mut hasher = blake3::Hasher::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    hasher.update(&[0]);
    hasher.update(settings.as_bytes());
    for (path, size, mtime) in &entries {
        hasher.update(&[0]);
        hasher.update(path.as_bytes());
        hasher.update(&size.to_le_bytes());
        hasher.update(&mtime.to_le_bytes());
    }
    hasher.finalize().to_hex().as_str()[..32].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_with_content_settings_and_file_set_but_not_order() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.dcm");
        let b = dir.path().join("b.dcm");
        std::fs::write(&a, b"one").unwrap();
        std::fs::write(&b, b"two").unwrap();
        let f1 = fingerprint([a.as_path(), b.as_path()], "cfg");
        assert_eq!(f1, fingerprint([b.as_path(), a.as_path()], "cfg"));
        assert_ne!(f1, fingerprint([a.as_path(), b.as_path()], "cfg2"));
        assert_ne!(f1, fingerprint([a.as_path()], "cfg"));
        std::fs::write(&b, b"three").unwrap();
        assert_ne!(f1, fingerprint([a.as_path(), b.as_path()], "cfg"));
    }
}
