//! External vertebral masks: label maps written by other tools (SPINEPS, TotalSpineSeg,
//! TotalSegmentator, manual tools such as ITK-SNAP or 3D Slicer) as NIfTI, or DICOM SEG
//! objects, used instead of our own segmentation (SPEC §4 `--masks`).
//!
//! Label values are named by a [`MaskCodes`] preset. Labels that the preset knows are not
//! vertebrae (discs, endplates, cord, canal) are dropped with a note; every other non-zero
//! label is scored as one body.

mod dicom_seg;

use crate::error::{Error, Result};
use crate::level::Level;
use crate::segment::{Segmentation, VertebralBody};
use crate::volume::Volume;
use crate::volume::resample::resample_labels;
pub use dicom_seg::read_dicom_seg;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How the values of an external label map are named.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskCodes {
    /// VerSe / SPINEPS codes: C1=1 … C7=7, T1=8 … T12=19, L1=20 … L5=24, L6=25, S1=26,
    /// T13=28; SPINEPS writes discs as 100+ and endplates as 200+.
    #[default]
    Verse,
    /// TotalSpineSeg codes: C1=11 … C7=17, T1=21 … T12=32, L1=41 … L5=45, sacrum=50;
    /// cord 1, canal 2, discs 63–100.
    TotalSpineSeg,
    /// Plain numbers: every label is a region, none is named.
    None,
}

impl FromStr for MaskCodes {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "verse" | "spineps" => Ok(MaskCodes::Verse),
            "totalspineseg" | "tss" => Ok(MaskCodes::TotalSpineSeg),
            "none" => Ok(MaskCodes::None),
            other => Err(Error::Config(format!(
                "unknown mask code preset {other:?} (expected verse, totalspineseg or none)"
            ))),
        }
    }
}

/// What a label value of an external map stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelMeaning {
    /// A vertebra of a known level.
    Vertebra(Level),
    /// A region without a level name (scored, but not named).
    Region,
    /// Not a vertebra (disc, endplate, cord, canal): not scored.
    NotVertebra,
}

impl MaskCodes {
    /// The meaning of a label value under this preset.
    pub fn meaning(self, value: u32) -> LabelMeaning {
        match self {
            MaskCodes::Verse => match Level::from_code(value) {
                Some(level) => LabelMeaning::Vertebra(level),
                None if value >= 100 => LabelMeaning::NotVertebra,
                None => LabelMeaning::Region,
            },
            MaskCodes::TotalSpineSeg => match value {
                11..=17 => LabelMeaning::Vertebra(Level::C((value - 10) as u8)),
                21..=32 => LabelMeaning::Vertebra(Level::T((value - 20) as u8)),
                41..=45 => LabelMeaning::Vertebra(Level::L((value - 40) as u8)),
                50 => LabelMeaning::Vertebra(Level::S1),
                1 | 2 | 63..=100 | 200..=202 => LabelMeaning::NotVertebra,
                _ => LabelMeaning::Region,
            },
            MaskCodes::None => LabelMeaning::Region,
        }
    }
}

/// An external label map, on its own grid, with names for its labels.
#[derive(Clone, Debug)]
pub struct ExternalMasks {
    /// Label values (0 = background) on the mask's own grid.
    pub labels: Volume<u32>,
    /// Level name per label value, where the source names it.
    pub names: Vec<(u32, Option<Level>)>,
    /// Where it came from.
    pub source: PathBuf,
    /// Notes for the report (dropped labels, body-only restriction applied, …).
    pub notes: Vec<String>,
}

/// SPINEPS' subregion code for the vertebral body (its seg-subreg map); 41–48 are the
/// posterior elements, which are not part of the body the studies grade.
const SPINEPS_BODY_SUBREGION: u32 = 49;

/// Reads external masks from a NIfTI label map or a DICOM SEG file.
///
/// A SPINEPS instance map (`*seg-vert*`) labels whole vertebrae including the posterior
/// elements; when its sibling subregion map (`*seg-subreg*`) is present, the labels are
/// restricted to the vertebral body (subregion 49), which is what the studies grade.
pub fn read_external_masks(path: &Path, codes: MaskCodes) -> Result<ExternalMasks> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let is_nifti = name.ends_with(".nii") || name.ends_with(".nii.gz");
    let (mut labels, seg_names) = if is_nifti {
        (crate::nifti::read_labels(path)?, Vec::new())
    } else {
        let seg = read_dicom_seg(path)?;
        (seg.labels, seg.segment_levels)
    };
    let mut notes = Vec::new();
    if is_nifti && name.contains("seg-vert") {
        let subreg_path = path.with_file_name(name.replace("seg-vert", "seg-subreg"));
        if subreg_path.exists() {
            let subreg = crate::nifti::read_labels(&subreg_path)?;
            if subreg.same_grid(&labels) {
                ndarray::Zip::from(&mut labels.voxels)
                    .and(&subreg.voxels)
                    .for_each(|l, &s| {
                        if s != SPINEPS_BODY_SUBREGION {
                            *l = 0;
                        }
                    });
                notes.push(format!(
                    "restricted to the vertebral body using {}",
                    subreg_path.display()
                ));
            } else {
                notes.push(format!(
                    "{} is on another grid; whole vertebrae used",
                    subreg_path.display()
                ));
            }
        }
    }
    let mut present: Vec<u32> = labels.voxels.iter().copied().filter(|&v| v != 0).collect();
    present.sort_unstable();
    present.dedup();
    let mut names = Vec::new();
    let mut dropped = Vec::new();
    for value in present {
        let seg_level = seg_names
            .iter()
            .find(|(n, _)| *n == value)
            .and_then(|(_, l)| *l);
        let meaning = if seg_level.is_some() || !seg_names.is_empty() {
            seg_level.map_or(LabelMeaning::Region, LabelMeaning::Vertebra)
        } else {
            codes.meaning(value)
        };
        match meaning {
            LabelMeaning::Vertebra(level) => names.push((value, Some(level))),
            LabelMeaning::Region => names.push((value, None)),
            LabelMeaning::NotVertebra => dropped.push(value),
        }
    }
    if !dropped.is_empty() {
        labels.voxels.mapv_inplace(|v| {
            if dropped.binary_search(&v).is_ok() {
                0
            } else {
                v
            }
        });
        notes.push(format!(
            "labels {dropped:?} are not vertebrae under the {codes:?} codes and were ignored"
        ));
    }
    if names.is_empty() {
        return Err(Error::analysis(
            path.display().to_string(),
            "the mask holds no vertebra label",
        ));
    }
    Ok(ExternalMasks {
        labels,
        names,
        source: path.to_path_buf(),
        notes,
    })
}

/// Brings external masks onto the exam's reference grid (nearest neighbour, by geometry)
/// and turns every kept label into a [`VertebralBody`], ordered head to foot.
///
/// Bodies cut by the edge of the reference grid are flagged `partial`. Labels that vanish
/// on the reference grid (outside its field of view) are reported in the notes.
pub fn to_segmentation(
    masks: &ExternalMasks,
    reference: &Volume<f32>,
) -> (Segmentation, Vec<String>) {
    let on_grid = resample_labels(&masks.labels, reference.shape(), &reference.affine, None);
    let shape = on_grid.shape();
    struct Acc {
        count: usize,
        sum: nalgebra::Vector3<f64>,
        touches_edge: bool,
    }
    let mut acc: BTreeMap<u32, Acc> = BTreeMap::new();
    for ((i, j, k), &v) in on_grid.voxels.indexed_iter() {
        if v == 0 {
            continue;
        }
        let a = acc.entry(v).or_insert(Acc {
            count: 0,
            sum: nalgebra::Vector3::zeros(),
            touches_edge: false,
        });
        a.count += 1;
        a.sum += nalgebra::Vector3::new(i as f64, j as f64, k as f64);
        let idx = [i, j, k];
        a.touches_edge |= (0..3).any(|d| idx[d] == 0 || idx[d] + 1 == shape[d]);
    }
    let mut notes = masks.notes.clone();
    let voxel_ml = reference.affine.voxel_volume_mm3() / 1000.0;
    let mut bodies: Vec<(u32, VertebralBody)> = Vec::new();
    for (value, level) in &masks.names {
        let Some(a) = acc.get(value) else {
            notes.push(format!(
                "label {value} lies outside the image and was not scored"
            ));
            continue;
        };
        let c = a.sum / a.count as f64;
        bodies.push((
            *value,
            VertebralBody {
                label: 0,
                level: *level,
                level_confidence: if level.is_some() { 1.0 } else { 0.0 },
                centroid_mm: reference.affine.index_to_mm([c.x, c.y, c.z]),
                volume_ml: a.count as f64 * voxel_ml,
                partial: a.touches_edge,
            },
        ));
    }
    // Head to foot: named levels by their order, unnamed regions by height (LPS z).
    bodies.sort_by(|(_, a), (_, b)| match (a.level, b.level) {
        (Some(la), Some(lb)) => la.ordinal().cmp(&lb.ordinal()),
        _ => b.centroid_mm.z.total_cmp(&a.centroid_mm.z),
    });
    let mut relabel: BTreeMap<u32, u16> = BTreeMap::new();
    for (index, (value, body)) in bodies.iter_mut().enumerate() {
        let label = u16::try_from(index + 1).unwrap_or(u16::MAX);
        body.label = label;
        relabel.insert(*value, label);
    }
    let labels = on_grid
        .voxels
        .mapv(|v| relabel.get(&v).copied().unwrap_or(0));
    let segmentation = Segmentation {
        labels: reference.with_voxels(labels),
        bodies: bodies.into_iter().map(|(_, b)| b).collect(),
    };
    (segmentation, notes)
}

/// Finds a level name in a free-text segment label: "L1", "vertebrae_L1", "L1 vertebral
/// body", "Vertebra T12" all name a level.
pub fn level_in_text(text: &str) -> Option<Level> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .find_map(|token| token.parse::<Level>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_levels_and_drop_non_vertebrae() {
        assert_eq!(
            MaskCodes::Verse.meaning(20),
            LabelMeaning::Vertebra(Level::L(1))
        );
        assert_eq!(MaskCodes::Verse.meaning(105), LabelMeaning::NotVertebra);
        assert_eq!(MaskCodes::Verse.meaning(27), LabelMeaning::Region);
        assert_eq!(
            MaskCodes::TotalSpineSeg.meaning(41),
            LabelMeaning::Vertebra(Level::L(1))
        );
        assert_eq!(
            MaskCodes::TotalSpineSeg.meaning(32),
            LabelMeaning::Vertebra(Level::T(12))
        );
        assert_eq!(
            MaskCodes::TotalSpineSeg.meaning(50),
            LabelMeaning::Vertebra(Level::S1)
        );
        assert_eq!(
            MaskCodes::TotalSpineSeg.meaning(92),
            LabelMeaning::NotVertebra
        );
        assert_eq!(MaskCodes::None.meaning(20), LabelMeaning::Region);
        assert!("bogus".parse::<MaskCodes>().is_err());
    }

    #[test]
    fn level_names_in_free_text() {
        assert_eq!(level_in_text("vertebrae_L1"), Some(Level::L(1)));
        assert_eq!(level_in_text("Vertebra T12 body"), Some(Level::T(12)));
        assert_eq!(level_in_text("sacrum"), None);
        assert_eq!(level_in_text("S1"), Some(Level::S1));
    }
}
