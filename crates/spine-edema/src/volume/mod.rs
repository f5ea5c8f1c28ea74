//! Volumes in patient space: voxels plus the affine that places them.
//!
//! A [`Volume`] is the unit every later stage works on. Voxel data is a C-ordered
//! `Array3` indexed `[slice, row, column]` for DICOM-built volumes; the [`Affine`] maps
//! those indices to LPS millimetres, so two volumes of the same patient can be related
//! without knowing how either was acquired.

pub mod dicom;
pub mod register;
pub mod resample;

use crate::geometry::Affine;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

/// Voxels on a grid placed in patient space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume<T = f32> {
    /// Voxel values, C order, indexed like the affine's index space.
    pub voxels: Array3<T>,
    /// Index → LPS mm.
    pub affine: Affine,
}

impl<T> Volume<T> {
    /// Wraps voxels and their affine.
    pub fn new(voxels: Array3<T>, affine: Affine) -> Self {
        Volume { voxels, affine }
    }

    /// Array shape `[n0, n1, n2]`.
    pub fn shape(&self) -> [usize; 3] {
        let s = self.voxels.shape();
        [s[0], s[1], s[2]]
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.voxels.len()
    }

    /// True when the volume holds no voxel.
    pub fn is_empty(&self) -> bool {
        self.voxels.is_empty()
    }

    /// A volume of the same grid with other voxel values.
    pub fn with_voxels<U>(&self, voxels: Array3<U>) -> Volume<U> {
        Volume {
            voxels,
            affine: self.affine,
        }
    }

    /// True when `other` has the same shape and (within 1e-3 mm) the same affine,
    /// i.e. voxel `[i,j,k]` of both is the same place in the patient.
    pub fn same_grid<U>(&self, other: &Volume<U>) -> bool {
        self.shape() == other.shape()
            && (self.affine.matrix() - other.affine.matrix()).abs().max() < 1e-3
    }
}

/// A label map on some grid (0 = background).
pub type LabelMap = Volume<u8>;
