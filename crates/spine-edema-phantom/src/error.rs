//! Errors of the phantom generator: each names the file it concerns.

use std::path::{Path, PathBuf};

/// Result alias of this crate.
pub type Result<T, E = PhantomError> = std::result::Result<T, E>;

/// A failure while generating or writing a phantom.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhantomError {
    /// Creating or writing a file or folder failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Building or writing a DICOM file failed.
    #[error("{path}: DICOM: {reason}")]
    Dicom {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Reading or writing a truth JSON failed.
    #[error("{path}: truth JSON: {source}")]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing a NIfTI label map failed.
    #[error(transparent)]
    Nifti(#[from] spine_edema::Error),
    /// An option is out of range.
    #[error("invalid phantom option: {0}")]
    InvalidOption(String),
}

impl PhantomError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        PhantomError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn dicom(path: &Path, reason: impl Into<String>) -> Self {
        PhantomError::Dicom {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
