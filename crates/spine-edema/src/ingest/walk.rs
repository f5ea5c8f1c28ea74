//! Finding candidate files under the paths a user gives.

#![deny(clippy::indexing_slicing)]

use super::Skipped;
use super::limits::Limits;
use crate::error::Error;
use std::path::PathBuf;

/// Every regular file under `paths` (files are taken as they are, folders walked
/// recursively), sorted and de-duplicated, plus the walk errors as skipped entries.
///
/// Symbolic links are followed so that archive layouts built from links work; walkdir
/// detects link loops and reports them as an error, which becomes a skipped entry.
pub(crate) fn candidate_files(paths: &[PathBuf], limits: &Limits) -> (Vec<PathBuf>, Vec<Skipped>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    'roots: for root in paths {
        for entry in walkdir::WalkDir::new(root).follow_links(true) {
            match entry {
                Ok(entry) if entry.file_type().is_file() => {
                    if files.len() >= limits.max_files {
                        skipped.push(Skipped {
                            path: root.clone(),
                            reason: Error::limits(
                                root,
                                format!(
                                    "more than {} files; the rest is not read",
                                    limits.max_files
                                ),
                            ),
                        });
                        break 'roots;
                    }
                    files.push(entry.into_path());
                }
                Ok(_) => {}
                Err(err) => {
                    let path = err.path().map_or_else(|| root.clone(), PathBuf::from);
                    let reason = match err.into_io_error() {
                        Some(io) => Error::io(&path, io),
                        None => Error::unsupported(&path, "symbolic link loop"),
                    };
                    skipped.push(Skipped { path, reason });
                }
            }
        }
    }
    files.sort();
    files.dedup();
    (files, skipped)
}
