//! The one error type of the library.
//!
//! Every error that comes from reading input names the file it came from, so a batch
//! can list failures a research assistant can act on ("this file, this reason").
//! Variants are grouped by what the caller can do about them, after image-rs:
//! the input is broken (`Decoding`), too large (`Limits`), valid but not supported
//! (`Unsupported`), geometrically unusable (`Geometry`), or the system failed (`Io`).

use std::path::{Path, PathBuf};

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure, with the file it concerns when there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed at the operating-system level.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid DICOM / NIfTI, or is truncated or inconsistent.
    #[error("{path}: {reason}")]
    Decoding {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// The input claims more memory or items than the configured limits allow.
    #[error("{path}: exceeds limit: {reason}")]
    Limits {
        /// The file concerned.
        path: PathBuf,
        /// Which limit and by how much.
        reason: String,
    },
    /// The input is valid but uses something this tool does not handle.
    #[error("{path}: unsupported: {reason}")]
    Unsupported {
        /// The file concerned.
        path: PathBuf,
        /// What is unsupported.
        reason: String,
    },
    /// Image geometry is missing or inconsistent (orientation, spacing, slice positions).
    #[error("{context}: geometry: {reason}")]
    Geometry {
        /// The series or file concerned.
        context: String,
        /// What is inconsistent.
        reason: String,
    },
    /// The exam lacks something the requested analysis needs (e.g. no usable series).
    #[error("{context}: {reason}")]
    Analysis {
        /// The exam or series concerned.
        context: String,
        /// What is missing or failed.
        reason: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A decoding error on `path`.
    pub fn decoding(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Decoding {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }

    /// A limits error on `path`.
    pub fn limits(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Limits {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }

    /// An unsupported-input error on `path`.
    pub fn unsupported(path: impl AsRef<Path>, reason: impl Into<String>) -> Self {
        Error::Unsupported {
            path: path.as_ref().to_path_buf(),
            reason: reason.into(),
        }
    }

    /// A geometry error in `context` (a series or file description).
    pub fn geometry(context: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Geometry {
            context: context.into(),
            reason: reason.into(),
        }
    }

    /// An analysis error in `context` (an exam or series description).
    pub fn analysis(context: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Analysis {
            context: context.into(),
            reason: reason.into(),
        }
    }

    /// A short machine-readable category, used as a column in `failures.csv`.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Decoding { .. } => "decoding",
            Error::Limits { .. } => "limits",
            Error::Unsupported { .. } => "unsupported",
            Error::Geometry { .. } => "geometry",
            Error::Analysis { .. } => "analysis",
            Error::Config(_) => "config",
        }
    }
}
