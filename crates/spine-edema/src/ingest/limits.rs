//! Limits for untrusted input (after image-rs `Limits`): every size a header claims is
//! checked against these before anything is allocated for it, so a hostile or corrupt
//! header cannot exhaust memory.

#![deny(clippy::indexing_slicing)]

use serde::{Deserialize, Serialize};

/// Upper bounds on what ingest will read or allocate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest Rows (0028,0010) accepted. Clinical MR matrices stay at or below 1024.
    pub max_rows: u32,
    /// Largest Columns (0028,0011) accepted.
    pub max_cols: u32,
    /// Largest NumberOfFrames (0028,0008) in one file.
    pub max_frames_per_file: u32,
    /// Largest file size in bytes that is opened at all.
    pub max_file_bytes: u64,
    /// Largest number of uncompressed pixel bytes one file may claim
    /// (Rows × Columns × Frames × SamplesPerPixel × BitsAllocated / 8).
    pub max_pixel_bytes_per_file: u64,
    /// Largest number of files one index pass walks.
    pub max_files: usize,
    /// Largest number of slices (frames) in one series volume.
    pub max_slices_per_series: usize,
    /// Largest decoded series volume in bytes (`f32` voxels).
    pub max_volume_bytes: u64,
    /// Deepest nesting of sequences in one file. The parser builds nested sequences by
    /// recursion, so an unbounded depth overflows the stack; real files (enhanced MR
    /// functional groups, SR content trees) stay far below this.
    pub max_sequence_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 4096,
            max_cols: 4096,
            max_frames_per_file: 8192,
            max_file_bytes: 4 << 30,
            max_pixel_bytes_per_file: 2 << 30,
            max_files: 2_000_000,
            max_slices_per_series: 4096,
            max_volume_bytes: 2 << 30,
            max_sequence_depth: 64,
        }
    }
}

impl Limits {
    /// Checks a header's claimed image size; `Err` holds the reason in words.
    pub(crate) fn check_image(
        &self,
        rows: u32,
        cols: u32,
        frames: u32,
        samples_per_pixel: u32,
        bits_allocated: u32,
    ) -> Result<(), String> {
        if rows > self.max_rows {
            return Err(format!("Rows {rows} > {}", self.max_rows));
        }
        if cols > self.max_cols {
            return Err(format!("Columns {cols} > {}", self.max_cols));
        }
        if frames > self.max_frames_per_file {
            return Err(format!(
                "NumberOfFrames {frames} > {}",
                self.max_frames_per_file
            ));
        }
        let bytes = u64::from(rows)
            * u64::from(cols)
            * u64::from(frames)
            * u64::from(samples_per_pixel)
            * u64::from(bits_allocated).div_ceil(8);
        if bytes > self.max_pixel_bytes_per_file {
            return Err(format!(
                "{bytes} pixel bytes > {}",
                self.max_pixel_bytes_per_file
            ));
        }
        Ok(())
    }

    /// Checks the size of a series volume before it is allocated.
    pub(crate) fn check_volume(&self, slices: usize, rows: u32, cols: u32) -> Result<(), String> {
        if slices > self.max_slices_per_series {
            return Err(format!("{slices} slices > {}", self.max_slices_per_series));
        }
        let bytes = (slices as u64)
            .saturating_mul(u64::from(rows))
            .saturating_mul(u64::from(cols))
            .saturating_mul(4);
        if bytes > self.max_volume_bytes {
            return Err(format!(
                "volume of {bytes} bytes > {}",
                self.max_volume_bytes
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_header_is_rejected_by_arithmetic_alone() {
        let limits = Limits::default();
        let err = limits.check_image(65535, 65535, 10000, 1, 16);
        assert!(err.is_err_and(|r| r.contains("Rows")));
        let huge_frames = limits.check_image(512, 512, 10000, 1, 16);
        assert!(huge_frames.is_err_and(|r| r.contains("NumberOfFrames")));
        assert!(limits.check_image(512, 512, 200, 1, 16).is_ok());
    }

    #[test]
    fn volume_limit_counts_f32_bytes() {
        let limits = Limits {
            max_volume_bytes: 1000,
            ..Limits::default()
        };
        assert!(limits.check_volume(1, 10, 25,).is_ok());
        assert!(limits.check_volume(2, 10, 25).is_err());
    }
}
