//! The studies' grading scales as pure functions of the measured percentages.
//!
//! Boundaries (also in `docs/scoring.md`): every class is half-open `[lower, upper)` on the
//! measured value, which is continuous, so "minor 1–24 %" of Voormolen et al. means
//! `[1, 25)`: 24.5 % is minor, 74.5 % is moderate. Dansie's middle tercile "1/3 to 2/3" is
//! closed at both ends because the outer classes are "under 1/3" and "over 2/3".

use super::config::CutPoint;
use super::types::{CementQuartile, DansieScore, GenantGrade, GenantShape, VoormolenGrade};

/// Dansie et al. 2006 terciles: 1 none (< floor), 2 under 1/3, 3 from 1/3 to 2/3, 4 over 2/3.
pub fn dansie_score(bme_percent: f64, floor_percent: f64) -> DansieScore {
    const ONE_THIRD: f64 = 100.0 / 3.0;
    const TWO_THIRDS: f64 = 200.0 / 3.0;
    if bme_percent < floor_percent {
        DansieScore::None
    } else if bme_percent < ONE_THIRD {
        DansieScore::UnderOneThird
    } else if bme_percent <= TWO_THIRDS {
        DansieScore::OneToTwoThirds
    } else {
        DansieScore::OverTwoThirds
    }
}

/// Voormolen et al. 2006: none (< floor, 1 % by default), minor [floor, 25), moderate
/// [25, 75), severe [75, 100].
pub fn voormolen_grade(bme_percent: f64, floor_percent: f64) -> VoormolenGrade {
    if bme_percent < floor_percent {
        VoormolenGrade::None
    } else if bme_percent < 25.0 {
        VoormolenGrade::Minor
    } else if bme_percent < 75.0 {
        VoormolenGrade::Moderate
    } else {
        VoormolenGrade::Severe
    }
}

/// Dansie et al. 2006 cement fill quartile: [0, 25) → 1, [25, 50) → 2, [50, 75) → 3, ≥ 75 → 4.
pub fn cement_quartile(cement_percent: f64) -> CementQuartile {
    if cement_percent < 25.0 {
        CementQuartile::First
    } else if cement_percent < 50.0 {
        CementQuartile::Second
    } else if cement_percent < 75.0 {
        CementQuartile::Third
    } else {
        CementQuartile::Fourth
    }
}

/// Genant semiquantitative grade from the largest height reduction (%): < 20 → 0,
/// [20, 25) → 1, [25, 40] → 2, > 40 → 3.
pub fn genant_grade(reduction_percent: f64) -> GenantGrade {
    if reduction_percent < 20.0 {
        GenantGrade::Normal
    } else if reduction_percent < 25.0 {
        GenantGrade::Mild
    } else if reduction_percent <= 40.0 {
        GenantGrade::Moderate
    } else {
        GenantGrade::Severe
    }
}

/// A posterior reduction at least this share of the larger of the anterior and middle
/// reductions is "the whole body" (crush) rather than one height reduced most. A share, not
/// a fixed margin in points, because a severe collapse (anterior 40 %, posterior 31 %) is
/// as much a whole-body fracture as a mild one (22 %, 17 %).
pub const CRUSH_POSTERIOR_SHARE: f64 = 0.75;
/// Least posterior reduction (%) of a crush: below it the posterior wall is within normal
/// variation (study B's fracture criterion is 15 % against the posterior wall).
pub const CRUSH_MIN_POSTERIOR_PERCENT: f64 = 15.0;

/// Genant shape from the reductions (%) of the anterior, middle and posterior heights:
/// posterior reduced by at least [`CRUSH_MIN_POSTERIOR_PERCENT`] and at least
/// [`CRUSH_POSTERIOR_SHARE`] of the front → crush (posterior or whole body), otherwise
/// anterior most → wedge, middle most → biconcave. `None` shape for grade 0.
pub fn genant_shape(
    grade: GenantGrade,
    anterior_percent: f64,
    middle_percent: f64,
    posterior_percent: f64,
) -> GenantShape {
    if grade == GenantGrade::Normal {
        return GenantShape::None;
    }
    let front = anterior_percent.max(middle_percent);
    if posterior_percent >= CRUSH_MIN_POSTERIOR_PERCENT
        && posterior_percent >= CRUSH_POSTERIOR_SHARE * front
    {
        GenantShape::Crush
    } else if anterior_percent >= middle_percent {
        GenantShape::Wedge
    } else {
        GenantShape::Biconcave
    }
}

/// The user class of `bme_percent`: the last cut-point whose lower bound it reaches;
/// `None` below the first or when none are configured.
pub fn custom_grade(bme_percent: f64, cut_points: &[CutPoint]) -> Option<String> {
    cut_points
        .iter()
        .rev()
        .find(|c| bme_percent >= c.min_percent)
        .map(|c| c.name.clone())
}
