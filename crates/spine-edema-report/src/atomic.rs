//! Crash-safe output files.
//!
//! A batch that is killed half-way must leave every output either complete or absent,
//! never truncated: outputs are written to a temporary file in the same directory,
//! flushed to disk, and renamed over the final name (rename is atomic on POSIX file
//! systems). The directory is synced too, so the rename itself survives a power cut.

use anyhow::{Context, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically (temp file + fsync + rename + directory fsync).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
        // Persist the directory entry; not all platforms allow opening a directory.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Whether a file name is one of our temporary names: `.<name>.partial-<pid>` from
/// [`write_atomic`], or `_<stem>-partial.nii[.gz]` from the NIfTI writer.
pub fn is_partial_name(name: &str) -> bool {
    name.contains(".partial-")
        || (name.starts_with('_')
            && (name.ends_with("-partial.nii") || name.ends_with("-partial.nii.gz")))
}

/// Removes temporary files left by a run that was killed while writing (they are never
/// valid outputs), in `dir` and two levels below it (`exams/<exam_id>/`, `png/`): deep
/// enough for every output, shallow enough not to walk an input tree the output folder
/// happens to hold.
pub fn remove_stale_partials(dir: &Path) {
    remove_partials_below(dir, 2);
}

fn remove_partials_below(dir: &Path, depth: usize) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if depth > 0 {
                remove_partials_below(&path, depth - 1);
            }
        } else if is_partial_name(&entry.file_name().to_string_lossy()) {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("a.csv");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn stale_partials_are_removed_in_subfolders_too() {
        let dir = tempfile::tempdir().unwrap();
        let exam = dir.path().join("exams").join("e1");
        fs::create_dir_all(&exam).unwrap();
        fs::write(dir.path().join(".x.json.partial-123"), b"half").unwrap();
        fs::write(dir.path().join("x.json"), b"{}").unwrap();
        fs::write(exam.join(".t1.png.partial-9"), b"half").unwrap();
        fs::write(exam.join("_bodies-partial.nii.gz"), b"half").unwrap();
        fs::write(exam.join("t1.png"), b"png").unwrap();
        remove_stale_partials(dir.path());
        let names = |d: &Path| -> Vec<_> {
            let mut n: Vec<_> = fs::read_dir(d)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            n.sort();
            n
        };
        assert_eq!(names(dir.path()), ["exams", "x.json"]);
        assert_eq!(names(&exam), ["t1.png"]);
    }
}
