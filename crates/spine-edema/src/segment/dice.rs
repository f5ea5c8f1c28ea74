//! Overlap between two label maps on the same grid, per label (`spine-edema dice A B`).

use crate::error::{Error, Result};
use crate::volume::Volume;
use std::collections::BTreeMap;

/// Dice coefficient of one label between two maps.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LabelDice {
    /// The label value (a level code when both maps use VerSe codes).
    pub label: u16,
    /// 2|A∩B| / (|A|+|B|); 0 when the label is present in only one map.
    pub dice: f64,
    /// Voxels with this label in the first map.
    pub voxels_a: u64,
    /// Voxels with this label in the second map.
    pub voxels_b: u64,
}

/// Dice per label for every non-zero label present in either map, in label order.
/// Both maps must be on the same grid (resample external masks first).
pub fn dice_per_label(a: &Volume<u16>, b: &Volume<u16>) -> Result<Vec<LabelDice>> {
    if !a.same_grid(b) {
        return Err(Error::Analysis {
            context: "dice".into(),
            reason: format!(
                "label maps are on different grids ({:?} vs {:?}); resample one onto the other",
                a.shape(),
                b.shape()
            ),
        });
    }
    // (|A|, |B|, |A∩B|) per label.
    let mut counts: BTreeMap<u16, [u64; 3]> = BTreeMap::new();
    for (&x, &y) in a.voxels.iter().zip(b.voxels.iter()) {
        if x != 0 {
            counts.entry(x).or_default()[0] += 1;
        }
        if y != 0 {
            counts.entry(y).or_default()[1] += 1;
        }
        if x != 0 && x == y {
            counts.entry(x).or_default()[2] += 1;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(label, [na, nb, both])| LabelDice {
            label,
            dice: 2.0 * both as f64 / (na + nb).max(1) as f64,
            voxels_a: na,
            voxels_b: nb,
        })
        .collect())
}

/// How one body of a reference (truth) label map was found by a segmentation.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BodyAgreement {
    /// The body's level code in the reference map.
    pub code: u16,
    /// Dice between the reference body and the segmentation's body with the same code.
    pub dice: f64,
    /// The segmentation's body that overlaps this one most carries the same code: the
    /// level is named correctly (false when nothing overlaps).
    pub named_correctly: bool,
    /// Dice against the segmentation's body that overlaps this one most, whatever its
    /// name: the quality of the outline alone, apart from naming.
    pub outline_dice: f64,
}

/// Per reference body: Dice against the same code in `ours` and whether the level was
/// named correctly. Both maps carry level codes (SPEC §4) on the same grid. A body that is
/// found but named one level off gets Dice 0 here, as it would in every table built from
/// it: a mislabelled body is a wrong measurement, not a good outline.
pub fn truth_agreement(truth: &Volume<u16>, ours: &Volume<u16>) -> Result<Vec<BodyAgreement>> {
    let dice = dice_per_label(truth, ours)?;
    let mut overlap: BTreeMap<(u16, u16), u64> = BTreeMap::new();
    for (&t, &o) in truth.voxels.iter().zip(ours.voxels.iter()) {
        if t != 0 && o != 0 {
            *overlap.entry((t, o)).or_default() += 1;
        }
    }
    let size_b: BTreeMap<u16, u64> = dice.iter().map(|d| (d.label, d.voxels_b)).collect();
    Ok(dice
        .iter()
        .filter(|d| d.voxels_a > 0)
        .map(|d| {
            let best = overlap
                .range((d.label, 0)..=(d.label, u16::MAX))
                .max_by_key(|(_, n)| **n)
                .map(|((_, o), n)| (*o, *n));
            let outline_dice = best.map_or(0.0, |(o, n)| {
                let size = size_b.get(&o).copied().unwrap_or(0);
                2.0 * n as f64 / (d.voxels_a + size).max(1) as f64
            });
            BodyAgreement {
                code: d.label,
                dice: d.dice,
                named_correctly: best.map(|b| b.0) == Some(d.label),
                outline_dice,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Affine, PointMm};
    use ndarray::Array3;

    #[test]
    fn dice_counts_overlap_per_label() {
        let affine = Affine::axis_aligned(PointMm::origin(), [1.0; 3]);
        let mut a = Array3::<u16>::zeros((1, 2, 4));
        let mut b = Array3::<u16>::zeros((1, 2, 4));
        // Label 20: A has 4 voxels, B has 2 of them → 2·2/6.
        for c in 0..4 {
            a[[0, 0, c]] = 20;
        }
        b[[0, 0, 0]] = 20;
        b[[0, 0, 1]] = 20;
        // Label 21 only in B.
        b[[0, 1, 3]] = 21;
        let d = dice_per_label(&Volume::new(a, affine), &Volume::new(b, affine)).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].label, 20);
        assert!((d[0].dice - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!((d[1].label, d[1].dice), (21, 0.0));
    }

    #[test]
    fn agreement_flags_a_body_named_one_level_off() {
        let affine = Affine::axis_aligned(PointMm::origin(), [1.0; 3]);
        let mut truth = Array3::<u16>::zeros((1, 3, 4));
        let mut ours = Array3::<u16>::zeros((1, 3, 4));
        for c in 0..4 {
            truth[[0, 0, c]] = 20; // L1, found and named
            ours[[0, 0, c]] = 20;
            truth[[0, 1, c]] = 21; // L2, found but called L3
            ours[[0, 1, c]] = 22;
            truth[[0, 2, c]] = 23; // L4, missed
        }
        let a = truth_agreement(&Volume::new(truth, affine), &Volume::new(ours, affine)).unwrap();
        let got: Vec<(u16, f64, bool, f64)> = a
            .iter()
            .map(|b| (b.code, b.dice, b.named_correctly, b.outline_dice))
            .collect();
        assert_eq!(
            got,
            vec![
                (20, 1.0, true, 1.0),
                (21, 0.0, false, 1.0),
                (23, 0.0, false, 0.0)
            ]
        );
    }

    #[test]
    fn different_grids_are_refused() {
        let a = Volume::new(
            Array3::<u16>::zeros((1, 2, 2)),
            Affine::axis_aligned(PointMm::origin(), [1.0; 3]),
        );
        let b = Volume::new(
            Array3::<u16>::zeros((1, 2, 3)),
            Affine::axis_aligned(PointMm::origin(), [1.0; 3]),
        );
        assert!(dice_per_label(&a, &b).is_err());
    }
}
