//! Per-body voxel crops kept with each exam's result.
//!
//! Study A's descriptive change ("did edematous marrow become normal, did normal marrow
//! become edematous") is a voxel-wise question, so comparing two exams needs each body's
//! masks, not just its percentages. Keeping a small crop per body (its bounding box on the
//! exam grid, three bit masks run-length encoded) makes an exam's JSON self-contained: a
//! follow-up scored months later can be compared with a baseline scored today without
//! re-reading the baseline's DICOM.

use crate::geometry::Affine;
use crate::score::{ScoreMasks, mask_class};
use crate::volume::Volume;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

/// Bit masks of one vertebral body inside its bounding box.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BodyCrop {
    /// Crop index → LPS mm.
    pub affine: Affine,
    /// Crop shape.
    pub shape: [usize; 3],
    /// The body.
    pub body: RunLengthMask,
    /// Edematous voxels (a subset of the body).
    pub edema: RunLengthMask,
    /// Cement voxels (a subset of the body).
    pub cement: RunLengthMask,
}

impl BodyCrop {
    /// Crops of every label in `wanted` that is present in `labels`, in `wanted`'s order.
    /// The label map is scanned once for all bounding boxes (a scan per body was ≈ 60 ms
    /// of a 512² exam's scoring).
    pub fn all_from_masks(
        labels: &Volume<u16>,
        wanted: &[u16],
        masks: &ScoreMasks,
    ) -> Vec<(u16, BodyCrop)> {
        let boxes = label_boxes(labels);
        wanted
            .iter()
            .filter_map(|&label| {
                let b = boxes.get(usize::from(label))?.as_ref()?;
                Some((label, Self::within(labels, label, *b, masks)))
            })
            .collect()
    }

    /// Crops label `label` of `labels` (plus one voxel of margin) together with its edema
    /// and cement voxels from the scoring classes on the same grid. `None` when the label
    /// is absent.
    pub fn from_masks(labels: &Volume<u16>, label: u16, masks: &ScoreMasks) -> Option<BodyCrop> {
        Self::all_from_masks(labels, &[label], masks)
            .pop()
            .map(|(_, c)| c)
    }

    /// The crop of `label` inside its bounding box `[lo, hi]` (inclusive voxel indices).
    fn within(
        labels: &Volume<u16>,
        label: u16,
        [lo, hi]: [[usize; 3]; 2],
        masks: &ScoreMasks,
    ) -> BodyCrop {
        let classes = &masks.classes.voxels;
        let shape = labels.shape();
        let lo = [0, 1, 2].map(|a| lo[a].saturating_sub(1));
        let hi = [0, 1, 2].map(|a| (hi[a] + 1).min(shape[a] - 1));
        let crop_shape = [0, 1, 2].map(|a| hi[a] - lo[a] + 1);
        let view = |f: &dyn Fn([usize; 3]) -> bool| {
            Array3::from_shape_fn(
                (crop_shape[0], crop_shape[1], crop_shape[2]),
                |(i, j, k)| f([lo[0] + i, lo[1] + j, lo[2] + k]),
            )
        };
        let body = view(&|p| labels.voxels[p] == label);
        let edema_bits = view(&|p| labels.voxels[p] == label && classes[p] == mask_class::EDEMA);
        let cement_bits = view(&|p| labels.voxels[p] == label && classes[p] == mask_class::CEMENT);
        let origin = labels
            .affine
            .index_to_mm([lo[0] as f64, lo[1] as f64, lo[2] as f64]);
        let affine = Affine::from_steps(origin, [0, 1, 2].map(|a| labels.affine.step_mm(a)));
        BodyCrop {
            affine,
            shape: crop_shape,
            body: RunLengthMask::encode(body.iter().copied()),
            edema: RunLengthMask::encode(edema_bits.iter().copied()),
            cement: RunLengthMask::encode(cement_bits.iter().copied()),
        }
    }

    /// Decodes one of the masks into an array of the crop's shape.
    pub fn decode(&self, mask: &RunLengthMask) -> Array3<bool> {
        let n = self.shape[0] * self.shape[1] * self.shape[2];
        let bits = mask.decode(n);
        Array3::from_shape_vec((self.shape[0], self.shape[1], self.shape[2]), bits).unwrap_or_else(
            |_| Array3::from_elem((self.shape[0], self.shape[1], self.shape[2]), false),
        )
    }
}

/// Bounding box `[lo, hi]` (inclusive voxel indices) of every label value, indexed by the
/// value; `None` for values absent from the map (and for 0, the background).
fn label_boxes(labels: &Volume<u16>) -> Vec<Option<[[usize; 3]; 2]>> {
    let mut boxes: Vec<Option<[[usize; 3]; 2]>> = Vec::new();
    for ((i, j, k), &v) in labels.voxels.indexed_iter() {
        if v == 0 {
            continue;
        }
        let v = usize::from(v);
        if boxes.len() <= v {
            boxes.resize(v + 1, None);
        }
        let p = [i, j, k];
        match &mut boxes[v] {
            Some([lo, hi]) => {
                for a in 0..3 {
                    lo[a] = lo[a].min(p[a]);
                    hi[a] = hi[a].max(p[a]);
                }
            }
            empty => *empty = Some([p, p]),
        }
    }
    boxes
}

/// A bit mask in C order as alternating run lengths, starting with a run of `false`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunLengthMask(pub Vec<u32>);

impl RunLengthMask {
    /// Encodes bits in iteration order.
    pub fn encode(bits: impl IntoIterator<Item = bool>) -> Self {
        let mut runs = Vec::new();
        let mut current = false;
        let mut run = 0u32;
        for b in bits {
            if b == current {
                run += 1;
            } else {
                runs.push(run);
                current = b;
                run = 1;
            }
        }
        runs.push(run);
        RunLengthMask(runs)
    }

    /// Decodes exactly `len` bits (missing runs are `false`, excess bits are dropped), so a
    /// damaged JSON cannot make us allocate more than the crop.
    pub fn decode(&self, len: usize) -> Vec<bool> {
        let mut bits = Vec::with_capacity(len);
        let mut value = false;
        for &run in &self.0 {
            let take = (run as usize).min(len - bits.len());
            bits.extend(std::iter::repeat_n(value, take));
            value = !value;
        }
        bits.resize(len, false);
        bits
    }

    /// Number of set bits.
    pub fn count(&self) -> usize {
        self.0.iter().skip(1).step_by(2).map(|&r| r as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn run_length_round_trip(bits in proptest::collection::vec(any::<bool>(), 0..500)) {
            let rle = RunLengthMask::encode(bits.iter().copied());
            prop_assert_eq!(rle.decode(bits.len()), bits.clone());
            prop_assert_eq!(rle.count(), bits.iter().filter(|&&b| b).count());
        }
    }

    #[test]
    fn crop_keeps_body_edema_and_cement() {
        let affine = Affine::axis_aligned(nalgebra::Point3::new(10.0, 20.0, 30.0), [4.0, 1.0, 1.0]);
        let mut labels = Array3::<u16>::zeros((6, 10, 10));
        let mut classes = Array3::<u8>::zeros((6, 10, 10));
        for i in 2..4 {
            for j in 3..7 {
                for k in 4..8 {
                    labels[[i, j, k]] = 2;
                }
            }
        }
        classes[[2, 3, 4]] = mask_class::EDEMA;
        classes[[2, 3, 5]] = mask_class::RIM; // neither edema nor cement
        classes[[0, 0, 0]] = mask_class::EDEMA; // outside the body: not kept
        let labels = Volume::new(labels, affine);
        let masks = ScoreMasks {
            classes: labels.with_voxels(classes),
        };
        let crop = BodyCrop::from_masks(&labels, 2, &masks).unwrap();
        assert_eq!(crop.shape, [4, 6, 6]);
        assert_eq!(crop.body.count(), 2 * 4 * 4);
        assert_eq!(crop.edema.count(), 1);
        assert_eq!(crop.cement.count(), 0);
        let origin = crop.affine.origin_mm();
        assert_eq!((origin.x, origin.y, origin.z), (14.0, 22.0, 33.0));
        assert!(BodyCrop::from_masks(&labels, 9, &masks).is_none());
    }

    #[test]
    fn all_crops_from_one_scan_match_single_crops() {
        let affine = Affine::axis_aligned(nalgebra::Point3::new(0.0, 0.0, 0.0), [4.0, 1.0, 1.0]);
        let labels = Array3::from_shape_fn((5, 12, 9), |(i, j, k)| match (i, j, k) {
            (1..=3, 0..=4, 2..=6) => 1u16,
            (0..=4, 6..=10, 1..=7) => 3,
            (2, 11, 8) => 3,
            _ => 0,
        });
        let classes = Array3::from_shape_fn((5, 12, 9), |(i, j, k)| {
            [0, mask_class::EDEMA, mask_class::CEMENT][(i + 2 * j + k) % 3]
        });
        let labels = Volume::new(labels, affine);
        let masks = ScoreMasks {
            classes: labels.with_voxels(classes),
        };
        let all = BodyCrop::all_from_masks(&labels, &[3, 2, 1], &masks);
        assert_eq!(all.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!(all[0].1.shape, [5, 7, 9]);
        assert_eq!(all[1].1.shape, [5, 6, 7]);
        for (label, crop) in &all {
            // The body's own voxels, recounted from the label map.
            let n = labels.voxels.iter().filter(|&&v| v == *label).count();
            assert_eq!(crop.body.count(), n);
            let edema = labels
                .voxels
                .indexed_iter()
                .filter(|&(p, &v)| v == *label && masks.classes.voxels[p] == mask_class::EDEMA)
                .count();
            assert_eq!(crop.edema.count(), edema);
        }
    }
}
