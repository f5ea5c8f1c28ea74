//! NIfTI-1 reading and writing (`.nii`, `.nii.gz`), as produced by dcm2niix and read by
//! ITK-SNAP, 3D Slicer, SPINEPS and TotalSpineSeg.
//!
//! NIfTI stores world coordinates in **RAS**; this library works in **LPS** (DICOM). The
//! flip of the first two world axes happens here and nowhere else. Array index order is
//! kept as NIfTI's `(i, j, k)`, so the affine read from the header applies unchanged to
//! the index.

use crate::error::{Error, Result};
use crate::geometry::Affine;
use crate::volume::Volume;
use nalgebra::Matrix4;
use ndarray::{Array3, Ix3};
use nifti::writer::WriterOptions;
use nifti::{IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions, XForm};
use std::path::Path;

/// RAS ↔ LPS: negate x and y.
fn ras_lps_flip() -> Matrix4<f64> {
    Matrix4::from_diagonal(&nalgebra::Vector4::new(-1.0, -1.0, 1.0, 1.0))
}

/// Largest volume we agree to read from a NIfTI header (voxels). A hostile header could
/// otherwise claim terabytes; 2^31 voxels is far above any spine MRI.
const MAX_NIFTI_VOXELS: u64 = 1 << 31;

/// Reads a 3D NIfTI image as `f32` (scl_slope/inter applied), with its affine in LPS.
/// A 4D file with a single volume is accepted; more volumes are an error.
pub fn read_volume(path: &Path) -> Result<Volume<f32>> {
    let (header, voxels) = read_array::<f32>(path)?;
    Ok(Volume::new(voxels, affine_from_header(path, &header)?))
}

/// Reads a NIfTI label map as integer labels (`u32`); non-integer or negative values are
/// rejected because they cannot be labels.
pub fn read_labels(path: &Path) -> Result<Volume<u32>> {
    let (header, voxels) = read_array::<f64>(path)?;
    let mut bad = None;
    let labels = voxels.mapv(|v| {
        if v.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&v) {
            bad.get_or_insert(v);
            0
        } else {
            v as u32
        }
    });
    if let Some(v) = bad {
        return Err(Error::decoding(
            path,
            format!("label map holds a non-label value {v}"),
        ));
    }
    Ok(Volume::new(labels, affine_from_header(path, &header)?))
}

fn read_array<T>(path: &Path) -> Result<(NiftiHeader, Array3<T>)>
where
    T: nifti::DataElement,
{
    let header_only = NiftiHeader::from_file(path).map_err(|e| nifti_error(path, e))?;
    let dims = header_only.dim().map_err(|e| nifti_error(path, e))?;
    let extra: u64 = dims.iter().skip(3).map(|&d| u64::from(d.max(1))).product();
    if dims.is_empty() || extra > 1 {
        return Err(Error::unsupported(
            path,
            format!("expected a 3D image, header says dimensions {dims:?}"),
        ));
    }
    let voxels: u64 = dims.iter().map(|&d| u64::from(d.max(1))).product();
    if voxels > MAX_NIFTI_VOXELS {
        return Err(Error::limits(
            path,
            format!("{voxels} voxels (maximum {MAX_NIFTI_VOXELS})"),
        ));
    }
    let object = ReaderOptions::new()
        .read_file(path)
        .map_err(|e| nifti_error(path, e))?;
    let header = object.header().clone();
    let array = object
        .into_volume()
        .into_ndarray::<T>()
        .map_err(|e| nifti_error(path, e))?;
    let shape = array.shape().to_vec();
    let padded: [usize; 3] = [
        shape.first().copied().unwrap_or(1),
        shape.get(1).copied().unwrap_or(1),
        shape.get(2).copied().unwrap_or(1),
    ];
    let array = array
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order(ndarray::IxDyn(&padded))
        .and_then(|a| a.into_dimensionality::<Ix3>())
        .map_err(|e| Error::decoding(path, format!("unexpected array shape {shape:?}: {e}")))?;
    Ok((header, array))
}

fn affine_from_header(path: &Path, header: &NiftiHeader) -> Result<Affine> {
    let ras = header.affine::<f64>();
    Affine::from_matrix(ras_lps_flip() * ras)
        .ok_or_else(|| Error::decoding(path, "affine (sform/qform) is singular or missing"))
}

fn nifti_error(path: &Path, e: nifti::NiftiError) -> Error {
    match e {
        nifti::NiftiError::Io(source) => Error::io(path, source),
        other => Error::decoding(path, other.to_string()),
    }
}

/// Writes a volume as NIfTI (gzip-compressed when the name ends in `.gz`), with sform and
/// qform both set to the scanner-space affine so every viewer places it the same way.
/// The file is written to a temporary name beside `path` and renamed into place, so a
/// crash never leaves a truncated file under the final name.
pub fn write_volume<T>(path: &Path, volume: &Volume<T>) -> Result<()>
where
    T: nifti::DataElement + bytemuck::Pod,
{
    let ras = ras_lps_flip() * volume.affine.matrix();
    let mut header = NiftiHeader::default();
    header.set_sform(&ras, XForm::ScannerAnat);
    header.set_qform(&ras, XForm::ScannerAnat);
    header.xyzt_units = 2; // millimetres
    let spacing = volume.affine.spacing_mm();
    header.pixdim = [
        1.0,
        spacing[0] as f32,
        spacing[1] as f32,
        spacing[2] as f32,
        1.0,
        1.0,
        1.0,
        1.0,
    ];
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::decoding(path, "output path has no file name"))?;
    let gz = name.ends_with(".gz");
    // The nifti writer re-derives extensions from the name, so the temporary name must
    // have no inner dots.
    let stem = name
        .trim_end_matches(".gz")
        .trim_end_matches(".nii")
        .replace('.', "_");
    let tmp_name = if gz {
        format!("_{stem}-partial.nii.gz")
    } else {
        format!("_{stem}-partial.nii")
    };
    let tmp = path.with_file_name(tmp_name);
    WriterOptions::new(&tmp)
        .reference_header(&header)
        .compress(gz)
        .write_nifti(&volume.voxels)
        .map_err(|e| nifti_error(path, e))?;
    // On disk before the rename makes it visible, and the rename itself made durable, so
    // a power cut leaves the old file or the whole new one, never a truncated mask.
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if let Some(dir) = path.parent().and_then(|d| std::fs::File::open(d).ok()) {
        // Some platforms cannot sync a directory; the rename is still atomic there.
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Affine;
    use nalgebra::{Point3, Rotation3};

    #[test]
    fn write_then_read_keeps_voxels_and_lps_affine() {
        let dir = tempfile::tempdir().unwrap();
        let rot = Rotation3::from_euler_angles(0.1, -0.2, 0.3);
        let m = rot.matrix();
        let affine = Affine::from_steps(
            Point3::new(-12.5, 30.0, 80.0),
            [m.column(0) * 4.0, m.column(1) * 0.7, m.column(2) * 0.8],
        );
        let voxels = Array3::from_shape_fn((3, 5, 7), |(i, j, k)| (i * 100 + j * 10 + k) as f32);
        let volume = Volume::new(voxels, affine);
        for name in ["v.nii", "v.nii.gz"] {
            let path = dir.path().join(name);
            write_volume(&path, &volume).unwrap();
            let back = read_volume(&path).unwrap();
            assert_eq!(back.voxels, volume.voxels, "{name}");
            let diff = (back.affine.matrix() - volume.affine.matrix()).abs().max();
            assert!(diff < 1e-4, "{name}: affine differs by {diff}");
        }
    }

    #[test]
    fn labels_reject_fractions_and_missing_files_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frac.nii.gz");
        let affine = Affine::axis_aligned(Point3::origin(), [1.0, 1.0, 1.0]);
        write_volume(
            &path,
            &Volume::new(Array3::from_elem((2, 2, 2), 1.5f32), affine),
        )
        .unwrap();
        assert!(matches!(read_labels(&path), Err(Error::Decoding { .. })));
        let missing = dir.path().join("missing.nii");
        let err = read_volume(&missing).unwrap_err();
        assert!(err.to_string().contains("missing.nii"), "{err}");
    }
}
