//! DICOM Segmentation objects (SEG, SOP class 1.2.840.10008.5.1.4.1.1.66.4), as written by
//! 3D Slicer, highdicom, dcmqi and PACS annotation tools, read into a label map.
//!
//! A SEG stores one frame per (segment, slice): binary frames bit-packed back to back
//! (BitsAllocated 1) or fractional frames of one byte per pixel. Each frame says where it
//! lies (PlanePositionSequence) and which segment it belongs to
//! (SegmentIdentificationSequence). Frames are placed on a grid built from their positions
//! along the slice normal, so segments that cover different slices still line up.

#![deny(clippy::indexing_slicing)]

use super::level_in_text;
use crate::error::{Error, Result};
use crate::geometry::Affine;
use crate::level::Level;
use crate::volume::Volume;
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use nalgebra::{Point3, Vector3};
use ndarray::Array3;
use std::path::Path;

/// SEG storage SOP class.
const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";

/// Largest label map a SEG may describe (voxels); far above any spine exam, far below what
/// would exhaust memory.
const MAX_SEG_VOXELS: u64 = 1 << 30;

/// A SEG read into a label map.
#[derive(Clone, Debug)]
pub struct DicomSeg {
    /// Segment numbers on the grid of the frames (0 = background).
    pub labels: Volume<u32>,
    /// Each segment's number with the level its label names, if any.
    pub segment_levels: Vec<(u32, Option<Level>)>,
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    obj.get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().to_string())
}

fn floats(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<Vec<f64>> {
    obj.get(tag).and_then(|e| e.to_multi_float64().ok())
}

fn int(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    obj.get(tag).and_then(|e| e.to_int::<i64>().ok())
}

fn first_item(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
}

/// A value from a functional group: per-frame first, shared otherwise.
fn functional<'a, T>(
    per_frame: Option<&'a InMemDicomObject>,
    shared: Option<&'a InMemDicomObject>,
    sequence: dicom_core::Tag,
    read: impl Fn(&'a InMemDicomObject) -> Option<T>,
) -> Option<T> {
    per_frame
        .and_then(|f| first_item(f, sequence))
        .and_then(&read)
        .or_else(|| shared.and_then(|s| first_item(s, sequence)).and_then(&read))
}

/// Reads a DICOM SEG file into a label map of segment numbers.
pub fn read_dicom_seg(path: &Path) -> Result<DicomSeg> {
    let file = OpenFileOptions::new()
        .open_file(path)
        .map_err(|e| Error::decoding(path, format!("not a readable DICOM file: {e}")))?;
    let sop_class = file
        .meta()
        .media_storage_sop_class_uid
        .trim_end_matches('\0')
        .trim()
        .to_string();
    if sop_class != SEGMENTATION_STORAGE {
        return Err(Error::unsupported(
            path,
            format!("SOP class {sop_class} is not a DICOM Segmentation"),
        ));
    }
    let obj: &InMemDicomObject = &file;
    let rows = int(obj, tags::ROWS)
        .filter(|&v| v > 0)
        .ok_or_else(|| Error::decoding(path, "Rows missing"))? as usize;
    let cols = int(obj, tags::COLUMNS)
        .filter(|&v| v > 0)
        .ok_or_else(|| Error::decoding(path, "Columns missing"))? as usize;
    let frames = int(obj, tags::NUMBER_OF_FRAMES)
        .filter(|&v| v > 0)
        .unwrap_or(1) as usize;
    let bits = int(obj, tags::BITS_ALLOCATED).unwrap_or(1);
    let fractional =
        text(obj, tags::SEGMENTATION_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("FRACTIONAL"));
    let max_fraction = int(obj, tags::MAXIMUM_FRACTIONAL_VALUE)
        .unwrap_or(255)
        .max(1) as f64;
    if (rows as u64) * (cols as u64) * (frames as u64) > MAX_SEG_VOXELS {
        return Err(Error::limits(
            path,
            format!("{rows} × {cols} × {frames} frames"),
        ));
    }

    let segment_levels: Vec<(u32, Option<Level>)> = obj
        .get(tags::SEGMENT_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap_or(&[])
        .iter()
        .filter_map(|item| {
            let number = u32::try_from(int(item, tags::SEGMENT_NUMBER)?).ok()?;
            let label = text(item, tags::SEGMENT_LABEL).unwrap_or_default();
            Some((number, level_in_text(&label)))
        })
        .collect();

    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame: Vec<&InMemDicomObject> = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .map(|i| i.iter().collect())
        .unwrap_or_default();
    if per_frame.len() != frames {
        return Err(Error::decoding(
            path,
            format!("{} per-frame groups for {frames} frames", per_frame.len()),
        ));
    }
    let orientation = functional(
        per_frame.first().copied(),
        shared,
        tags::PLANE_ORIENTATION_SEQUENCE,
        |g| floats(g, tags::IMAGE_ORIENTATION_PATIENT),
    )
    .and_then(|v| <[f64; 6]>::try_from(v).ok())
    .ok_or_else(|| {
        Error::geometry(
            path.display().to_string(),
            "ImageOrientationPatient missing",
        )
    })?;
    let spacing = functional(
        per_frame.first().copied(),
        shared,
        tags::PIXEL_MEASURES_SEQUENCE,
        |g| floats(g, tags::PIXEL_SPACING),
    )
    .and_then(|v| <[f64; 2]>::try_from(v).ok())
    .filter(|v| v.iter().all(|s| s.is_finite() && *s > 0.0))
    .ok_or_else(|| {
        Error::geometry(
            path.display().to_string(),
            "PixelSpacing missing or not positive",
        )
    })?;
    let [r0, r1, r2, c0, c1, c2] = orientation;
    let [row_spacing_mm, col_spacing_mm] = spacing;
    let row_dir = Vector3::new(r0, r1, r2);
    let col_dir = Vector3::new(c0, c1, c2);
    let normal = row_dir.cross(&col_dir);
    if normal.norm() < 0.5 {
        return Err(Error::geometry(
            path.display().to_string(),
            "ImageOrientationPatient is degenerate",
        ));
    }
    let normal = normal.normalize();

    // Frame positions and segments.
    let mut placed = Vec::with_capacity(frames);
    for group in &per_frame {
        let position = functional(Some(group), shared, tags::PLANE_POSITION_SEQUENCE, |g| {
            floats(g, tags::IMAGE_POSITION_PATIENT)
        })
        .and_then(|v| <[f64; 3]>::try_from(v).ok())
        .ok_or_else(|| {
            Error::geometry(
                path.display().to_string(),
                "a frame has no ImagePositionPatient",
            )
        })?;
        let segment = functional(
            Some(group),
            shared,
            tags::SEGMENT_IDENTIFICATION_SEQUENCE,
            |g| int(g, tags::REFERENCED_SEGMENT_NUMBER),
        )
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| Error::decoding(path, "a frame has no ReferencedSegmentNumber"))?;
        let [px, py, pz] = position;
        let p = Point3::new(px, py, pz);
        placed.push((p, p.coords.dot(&normal), segment));
    }
    let mut distances: Vec<f64> = placed.iter().map(|f| f.1).collect();
    distances.sort_by(f64::total_cmp);
    distances.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
    let slice_step_mm = distances
        .windows(2)
        .filter_map(|w| Some(w.get(1)? - w.first()?))
        .fold(f64::INFINITY, f64::min);
    let slice_step_mm = if slice_step_mm.is_finite() {
        slice_step_mm
    } else {
        1.0
    };
    let (first_distance, last_distance) = match (distances.first(), distances.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => return Err(Error::decoding(path, "no frames")),
    };
    let slices = ((last_distance - first_distance) / slice_step_mm).round() as usize + 1;
    if (slices as u64) * (rows as u64) * (cols as u64) > MAX_SEG_VOXELS {
        return Err(Error::limits(path, format!("frames span {slices} slices")));
    }
    let origin_frame = placed
        .iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|f| f.0)
        .ok_or_else(|| Error::decoding(path, "no frames"))?;
    let origin = origin_frame - normal * (origin_frame.coords.dot(&normal) - first_distance);
    let affine = Affine::from_steps(
        origin,
        [
            normal * slice_step_mm,
            col_dir.normalize() * row_spacing_mm,
            row_dir.normalize() * col_spacing_mm,
        ],
    );

    let pixel_data = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.to_bytes().ok())
        .ok_or_else(|| {
            Error::decoding(
                path,
                "PixelData missing or encapsulated (compressed SEG is not supported)",
            )
        })?;
    let frame_pixels = rows * cols;
    let needed = if bits == 1 {
        (frame_pixels * frames).div_ceil(8)
    } else {
        frame_pixels * frames
    };
    if pixel_data.len() < needed {
        return Err(Error::decoding(
            path,
            format!(
                "PixelData holds {} bytes, {needed} needed (truncated?)",
                pixel_data.len()
            ),
        ));
    }
    let mut labels = Array3::<u32>::zeros((slices, rows, cols));
    for (frame, (p, distance, segment)) in placed.iter().enumerate() {
        let slice = ((distance - first_distance) / slice_step_mm).round() as usize;
        // In-plane offset of this frame relative to the grid origin (frames of a SEG may be
        // cropped to the segment's extent).
        let offset = p - (origin + normal * (distance - first_distance));
        let row0 = (offset.dot(&col_dir) / row_spacing_mm).round() as i64;
        let col0 = (offset.dot(&row_dir) / col_spacing_mm).round() as i64;
        for r in 0..rows {
            for c in 0..cols {
                let pixel = frame * frame_pixels + r * cols + c;
                let on = if bits == 1 {
                    pixel_data
                        .get(pixel / 8)
                        .is_some_and(|byte| byte >> (pixel % 8) & 1 == 1)
                } else {
                    let v = pixel_data.get(pixel).copied().unwrap_or(0);
                    if fractional {
                        f64::from(v) / max_fraction >= 0.5
                    } else {
                        v != 0
                    }
                };
                let (rr, cc) = (row0 + r as i64, col0 + c as i64);
                if on && rr >= 0 && cc >= 0 {
                    if let Some(v) = labels.get_mut((slice, rr as usize, cc as usize)) {
                        *v = *segment;
                    }
                }
            }
        }
    }
    Ok(DicomSeg {
        labels: Volume::new(labels, affine),
        segment_levels,
    })
}
