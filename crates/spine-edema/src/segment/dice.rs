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
