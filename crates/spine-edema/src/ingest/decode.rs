//! Decoding the pixels of one indexed series into a [`Volume`]: frames are placed by
//! position along the slice normal, decoded in parallel (one task per file, so a
//! multi-frame file is opened once), and written straight into the volume buffer as
//! rescaled `f32` modality values.

#![deny(clippy::indexing_slicing)]

use super::index::{FrameEntry, PixelFormat, SeriesEntry};
use super::limits::Limits;
use super::open::{ReadMode, error_chain, open};
use crate::error::{Error, Result};
use crate::volume::Volume;
use crate::volume::dicom::{SliceGeometry, SliceGeometryReport, plan_slices};
use dicom_core::DicomValue;
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::PixelDecoder;
use ndarray::{Array3, ArrayViewMut2};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A decoded series.
#[derive(Clone, Debug)]
pub struct DecodedSeries {
    /// Rescaled values (RescaleSlope × stored + RescaleIntercept), `[slice, row, column]`.
    pub volume: Volume<f32>,
    /// Spacing regularity of the slice stack.
    pub geometry: SliceGeometryReport,
    /// `slice_frames[k]` is the index into [`SeriesEntry::frames`] of volume slice `k`.
    pub slice_frames: Vec<usize>,
}

/// Decodes every frame of `series` into one volume.
///
/// Fails with [`Error::Geometry`] when frames lack position/orientation/spacing, mix
/// matrix sizes, orientations or spacing, or share a position; [`Error::Limits`] before
/// allocating an over-limit volume; [`Error::Unsupported`] for colour or 1-bit images;
/// [`Error::Decoding`] (naming the file) when a file is truncated or a codec fails.
pub fn decode_series(series: &SeriesEntry, limits: &Limits) -> Result<DecodedSeries> {
    let context = series.label();
    let slices = series
        .frames
        .iter()
        .map(|frame| slice_geometry(&context, frame))
        .collect::<Result<Vec<_>>>()?;
    for frame in &series.frames {
        check_format(&frame.path, &frame.pixel)?;
    }
    let single_step = series
        .frames
        .first()
        .and_then(|f| f.spacing_between_slices_mm.or(f.slice_thickness_mm));
    let plan = plan_slices(&context, &slices, single_step)?;
    let (rows, cols) = series
        .frames
        .first()
        .map(|f| (f.rows, f.cols))
        .ok_or_else(|| Error::geometry(&context, "no frames"))?;
    limits
        .check_volume(plan.order.len(), rows, cols)
        .map_err(|reason| {
            Error::limits(
                series.frames.first().map_or(Path::new(""), |f| &f.path),
                reason,
            )
        })?;

    let ordered: Vec<&FrameEntry> = plan
        .order
        .iter()
        .filter_map(|&i| series.frames.get(i))
        .collect();
    let voxels = decode_into_stack(&ordered, rows, cols, limits)?;

    Ok(DecodedSeries {
        volume: Volume::new(voxels, plan.affine),
        geometry: plan.report,
        slice_frames: plan.order,
    })
}

/// Decodes every frame of `series` in stored order (file path, then frame number) into
/// a `[frame, row, column]` array of rescaled values, without any geometry: for series
/// that have none (secondary captures, stripped test images) and for comparing pixel
/// decoding across encodings. Fails like [`decode_series`] except for geometry, which is
/// not read beyond requiring one matrix size.
pub fn decode_frames(series: &SeriesEntry, limits: &Limits) -> Result<Array3<f32>> {
    let first = series
        .frames
        .first()
        .ok_or_else(|| Error::geometry(series.label(), "no frames"))?;
    for frame in &series.frames {
        check_format(&frame.path, &frame.pixel)?;
        if (frame.rows, frame.cols) != (first.rows, first.cols) {
            return Err(Error::geometry(
                series.label(),
                format!(
                    "mixed matrix sizes: {}×{} and {}×{}",
                    first.rows, first.cols, frame.rows, frame.cols
                ),
            ));
        }
    }
    limits
        .check_volume(series.frames.len(), first.rows, first.cols)
        .map_err(|reason| Error::limits(&first.path, reason))?;
    let frames: Vec<&FrameEntry> = series.frames.iter().collect();
    decode_into_stack(&frames, first.rows, first.cols, limits)
}

/// Allocates a `[frames.len(), rows, cols]` array and decodes `frames[k]` into slice
/// `k`, one parallel task per file. Limits must have been checked by the caller.
fn decode_into_stack(
    frames: &[&FrameEntry],
    rows: u32,
    cols: u32,
    limits: &Limits,
) -> Result<Array3<f32>> {
    let mut voxels = Array3::<f32>::zeros((frames.len(), rows as usize, cols as usize));
    let mut jobs: BTreeMap<&PathBuf, Vec<(&FrameEntry, ArrayViewMut2<'_, f32>)>> = BTreeMap::new();
    for (slice, &frame) in voxels.outer_iter_mut().zip(frames) {
        jobs.entry(&frame.path).or_default().push((frame, slice));
    }
    jobs.into_par_iter()
        .try_for_each(|(path, frames)| decode_file(path, frames, limits))?;
    Ok(voxels)
}

fn slice_geometry(context: &str, frame: &FrameEntry) -> Result<SliceGeometry> {
    let missing = |what: &str| {
        Error::geometry(
            context,
            format!(
                "{}: frame {} has no {what}",
                frame.path.display(),
                frame.frame_index
            ),
        )
    };
    Ok(SliceGeometry {
        position_mm: frame
            .position_mm
            .ok_or_else(|| missing("ImagePositionPatient"))?,
        orientation: frame
            .orientation
            .ok_or_else(|| missing("ImageOrientationPatient"))?,
        pixel_spacing_mm: frame
            .pixel_spacing_mm
            .ok_or_else(|| missing("PixelSpacing"))?,
        rows: frame.rows,
        cols: frame.cols,
    })
}

/// Only grayscale 8/16/32-bit samples are volumes; the rest is not MR intensity.
fn check_format(path: &Path, format: &PixelFormat) -> Result<()> {
    if format.samples_per_pixel != 1 {
        return Err(Error::unsupported(
            path,
            format!(
                "colour image ({} samples per pixel, {})",
                format.samples_per_pixel, format.photometric
            ),
        ));
    }
    if !format.photometric.starts_with("MONOCHROME") {
        return Err(Error::unsupported(
            path,
            format!("photometric interpretation {}", format.photometric),
        ));
    }
    if !matches!(format.bits_allocated, 8 | 16 | 32) {
        return Err(Error::unsupported(
            path,
            format!("BitsAllocated {}", format.bits_allocated),
        ));
    }
    let fits = format.bits_stored >= 1
        && format.bits_stored <= format.bits_allocated
        && format.high_bit < format.bits_allocated
        && format.high_bit + 1 >= format.bits_stored;
    if !fits {
        return Err(Error::decoding(
            path,
            format!(
                "inconsistent BitsAllocated {}, BitsStored {}, HighBit {}",
                format.bits_allocated, format.bits_stored, format.high_bit
            ),
        ));
    }
    Ok(())
}

fn decode_file(
    path: &Path,
    frames: Vec<(&FrameEntry, ArrayViewMut2<'_, f32>)>,
    limits: &Limits,
) -> Result<()> {
    let object = open(path, ReadMode::Full, limits)?;
    for (frame, mut slice) in frames {
        let out = slice
            .as_slice_mut()
            .ok_or_else(|| Error::decoding(path, "volume slice is not contiguous"))?;
        decode_frame(path, &object, frame, out)?;
    }
    Ok(())
}

/// Decodes one frame into `out` (rows × cols values). Native (uncompressed) pixel data is
/// converted from the parsed element directly; encapsulated data goes through the codec.
fn decode_frame(
    path: &Path,
    object: &DefaultDicomObject,
    frame: &FrameEntry,
    out: &mut [f32],
) -> Result<()> {
    let element = object
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| Error::decoding(path, "no Pixel Data (file truncated?)"))?;
    let bytes_per_sample = usize::from(frame.pixel.bits_allocated / 8);
    let frame_bytes = out.len() * bytes_per_sample;
    let mut convert = |bytes: &[u8]| {
        to_modality_values(
            bytes,
            &frame.pixel,
            frame.rescale_slope,
            frame.rescale_intercept,
            out,
        )
        .map_err(|reason| Error::decoding(path, format!("frame {}: {reason}", frame.frame_index)))
    };
    match element.value() {
        DicomValue::Primitive(value) => {
            let data = value.to_bytes();
            let start = frame_bytes * frame.frame_index as usize;
            let bytes = data.get(start..start + frame_bytes).ok_or_else(|| {
                Error::decoding(
                    path,
                    format!(
                        "pixel data truncated: {} bytes, frame {} needs bytes {start}..{}",
                        data.len(),
                        frame.frame_index,
                        start + frame_bytes
                    ),
                )
            })?;
            convert(bytes)
        }
        DicomValue::PixelSequence(_) => {
            let decoded = object
                .decode_pixel_data_frame(frame.frame_index)
                .map_err(|e| {
                    Error::decoding(
                        path,
                        format!(
                            "cannot decode frame {} ({}): {}",
                            frame.frame_index,
                            frame.transfer_syntax,
                            error_chain(&e)
                        ),
                    )
                })?;
            convert(decoded.data())
        }
        DicomValue::Sequence(_) => Err(Error::decoding(path, "Pixel Data is a sequence")),
    }
}

/// Converts stored samples (native byte order, `format.bits_allocated` wide) to rescaled
/// values: the stored bits are `high_bit - bits_stored + 1 ..= high_bit`, sign-extended
/// when `format.signed` (PS3.5 §8.1.1). `Err` gives the reason in words.
pub(crate) fn to_modality_values(
    bytes: &[u8],
    format: &PixelFormat,
    slope: f64,
    intercept: f64,
    out: &mut [f32],
) -> std::result::Result<(), String> {
    let width = usize::from(format.bits_allocated / 8);
    let needed = out.len() * width;
    if bytes.len() < needed {
        return Err(format!(
            "decoded {} bytes, the frame needs {needed} (truncated)",
            bytes.len()
        ));
    }
    let stored = u32::from(format.bits_stored.clamp(1, 32));
    let shift = u32::from(format.high_bit + 1).saturating_sub(stored);
    let mask = if stored >= 32 {
        u32::MAX
    } else {
        (1u32 << stored) - 1
    };
    let extend = if format.signed { 64 - stored } else { 0 };
    let (slope, intercept) = (slope as f32, intercept as f32);
    let value = |raw: u32| {
        let bits = u64::from((raw >> shift) & mask);
        (((bits << extend) as i64) >> extend) as f32 * slope + intercept
    };
    match width {
        1 => out
            .iter_mut()
            .zip(bytes)
            .for_each(|(o, &b)| *o = value(u32::from(b))),
        2 => out
            .iter_mut()
            .zip(bytes.chunks_exact(2))
            .for_each(|(o, c)| {
                if let [a, b] = *c {
                    *o = value(u32::from(u16::from_ne_bytes([a, b])));
                }
            }),
        4 => out
            .iter_mut()
            .zip(bytes.chunks_exact(4))
            .for_each(|(o, c)| {
                if let [a, b, d, e] = *c {
                    *o = value(u32::from_ne_bytes([a, b, d, e]));
                }
            }),
        _ => return Err(format!("BitsAllocated {}", format.bits_allocated)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(bits_allocated: u16, bits_stored: u16, signed: bool) -> PixelFormat {
        PixelFormat {
            samples_per_pixel: 1,
            bits_allocated,
            bits_stored,
            high_bit: bits_stored - 1,
            signed,
            photometric: "MONOCHROME2".into(),
        }
    }

    #[test]
    fn sign_extends_twelve_bit_samples_and_ignores_bits_above() {
        // 0x0FFF is -1 in 12-bit two's complement; 0xF800 has garbage above bit 11.
        let samples: Vec<u8> = [0x0FFFu16, 0x0800, 0x07FF, 0xF001]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        let mut out = [0f32; 4];
        to_modality_values(&samples, &format(16, 12, true), 1.0, 0.0, &mut out).ok();
        assert_eq!(out, [-1.0, -2048.0, 2047.0, 1.0]);
        to_modality_values(&samples, &format(16, 12, false), 2.0, -10.0, &mut out).ok();
        assert_eq!(out, [8180.0, 4086.0, 4084.0, -8.0]);
    }

    #[test]
    fn eight_and_thirty_two_bit() {
        let mut out = [0f32; 2];
        to_modality_values(&[200, 5], &format(8, 8, true), 1.0, 0.0, &mut out).ok();
        assert_eq!(out, [-56.0, 5.0]);
        let wide: Vec<u8> = [70000u32, 3].iter().flat_map(|v| v.to_ne_bytes()).collect();
        to_modality_values(&wide, &format(32, 32, false), 0.5, 0.0, &mut out).ok();
        assert_eq!(out, [35000.0, 1.5]);
    }

    #[test]
    fn short_input_is_a_truncation_error() {
        let mut out = [0f32; 4];
        let err = to_modality_values(&[0; 6], &format(16, 16, false), 1.0, 0.0, &mut out);
        assert!(err.is_err_and(|r| r.contains("truncated")));
    }
}
