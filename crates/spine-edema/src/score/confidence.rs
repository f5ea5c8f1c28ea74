//! Per-body confidence (0–1) in the BME % and its grades: something no reader reports.
//!
//! It is a product of independent factors, each 1 when that source of doubt is absent:
//! - **threshold sensitivity**: BME % is recomputed with the thresholds at the lenient and
//!   strict ends of their uncertainty (margins ∓ `threshold_perturbation_fraction`, reference
//!   ± the scatter of reference bodies about the bias fit). A 20-point swing gives 0; the
//!   factor is further ×0.8 when the Voormolen grade changes within the swing;
//! - **series**: t1+stir 1.0 (the studies' definition), t1+t2fs 0.9 (Dansie's usual pair),
//!   stir-only 0.7, t2fs-only 0.6, t1-only 0.5 (hypointensity alone also catches sclerosis,
//!   tumour and red marrow);
//! - **partial body** in the field of view: 0.6 (the unseen part may differ);
//! - **reference**: ≥ 4 normal bodies 1.0, 3 → 0.9, 2 → 0.8, 1 → 0.6, none (fallback to
//!   all bodies) 0.4;
//! - **no interior** (body too small to exclude its border): 0.7.

use crate::exam::ScoringMode;

/// BME swing (percentage points) at which threshold confidence reaches 0.
const FULL_DOUBT_SWING_PERCENT: f64 = 20.0;

/// What confidence is computed from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ConfidenceInputs {
    /// BME % at the lenient and strict thresholds.
    pub bme_range: Option<[f64; 2]>,
    /// The Voormolen grade differs between the two.
    pub grade_unstable: bool,
    /// The body is partly outside the field of view.
    pub partial: bool,
    /// Series used.
    pub mode: ScoringMode,
    /// Number of bodies in the normal-marrow reference.
    pub reference_bodies: usize,
    /// The reference fell back to all bodies.
    pub fallback: bool,
    /// Every voxel was classified directly (no eroded interior).
    pub no_interior: bool,
}

/// Confidence in 0–1 (0 when edema could not be scored at all).
pub(crate) fn confidence(inputs: &ConfidenceInputs) -> f64 {
    let Some([lenient, strict]) = inputs.bme_range else {
        return 0.0;
    };
    let swing = (lenient - strict).abs();
    let mut threshold = (1.0 - swing / FULL_DOUBT_SWING_PERCENT).max(0.0);
    if inputs.grade_unstable {
        threshold *= 0.8;
    }
    let series = match inputs.mode {
        ScoringMode::T1Stir => 1.0,
        ScoringMode::T1T2Fs => 0.9,
        ScoringMode::StirOnly => 0.7,
        ScoringMode::T2FsOnly => 0.6,
        ScoringMode::T1Only => 0.5,
        ScoringMode::T1T2 | ScoringMode::T2Only => 0.3,
    };
    let partial = if inputs.partial { 0.6 } else { 1.0 };
    let reference = if inputs.fallback {
        0.4
    } else {
        match inputs.reference_bodies {
            0 => 0.4,
            1 => 0.6,
            2 => 0.8,
            3 => 0.9,
            _ => 1.0,
        }
    };
    let interior = if inputs.no_interior { 0.7 } else { 1.0 };
    (threshold * series * partial * reference * interior).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConfidenceInputs {
        ConfidenceInputs {
            bme_range: Some([10.0, 10.0]),
            grade_unstable: false,
            partial: false,
            mode: ScoringMode::T1Stir,
            reference_bodies: 6,
            fallback: false,
            no_interior: false,
        }
    }

    #[test]
    fn each_doubt_lowers_confidence() {
        assert_eq!(confidence(&base()), 1.0);
        let swing = ConfidenceInputs {
            bme_range: Some([20.0, 10.0]),
            ..base()
        };
        assert!((confidence(&swing) - 0.5).abs() < 1e-12);
        let partial = ConfidenceInputs {
            partial: true,
            ..base()
        };
        assert!(confidence(&partial) < 1.0);
        let stir = ConfidenceInputs {
            mode: ScoringMode::StirOnly,
            ..base()
        };
        assert!(confidence(&stir) < 1.0);
        let lonely = ConfidenceInputs {
            reference_bodies: 1,
            ..base()
        };
        assert!(confidence(&lonely) < 1.0);
        let none = ConfidenceInputs {
            bme_range: None,
            ..base()
        };
        assert_eq!(confidence(&none), 0.0);
    }
}
