//! Follow-up interval bins of the two reference studies.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Days per month used to turn the studies' month boundaries into days (365.25 / 12).
const DAYS_PER_MONTH: f64 = 30.4375;

/// Study A's follow-up bins (Dansie et al., AJNR 2006): 0–6 weeks, 6 weeks–3 months,
/// 3–6 months, over 6 months. Boundaries belong to the lower bin (42 days is "0–6 weeks").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IntervalBinA {
    /// 0–6 weeks (≤ 42 days).
    #[serde(rename = "0-6w")]
    UpTo6Weeks,
    /// Over 6 weeks, up to 3 months (≤ 91.3 days).
    #[serde(rename = "6w-3m")]
    SixWeeksTo3Months,
    /// Over 3 months, up to 6 months (≤ 182.6 days).
    #[serde(rename = "3-6m")]
    ThreeTo6Months,
    /// Over 6 months.
    #[serde(rename = ">6m")]
    Over6Months,
}

impl IntervalBinA {
    /// The bin of an interval in days (negative intervals are not follow-ups: `None`).
    pub fn of_days(days: i64) -> Option<Self> {
        let d = days as f64;
        match days {
            ..0 => None,
            0..=42 => Some(Self::UpTo6Weeks),
            _ if d <= 3.0 * DAYS_PER_MONTH => Some(Self::SixWeeksTo3Months),
            _ if d <= 6.0 * DAYS_PER_MONTH => Some(Self::ThreeTo6Months),
            _ => Some(Self::Over6Months),
        }
    }

    /// All bins in order.
    pub const ALL: [IntervalBinA; 4] = [
        Self::UpTo6Weeks,
        Self::SixWeeksTo3Months,
        Self::ThreeTo6Months,
        Self::Over6Months,
    ];

    /// CSV spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpTo6Weeks => "0-6w",
            Self::SixWeeksTo3Months => "6w-3m",
            Self::ThreeTo6Months => "3-6m",
            Self::Over6Months => ">6m",
        }
    }
}

impl fmt::Display for IntervalBinA {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One scheduled time point of study B (Voormolen et al., AJNR 2006: MRI at 3, 6 and 12
/// months) with the window of intervals that count as that visit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimePoint {
    /// Name used in CSV and plots, e.g. `3m`.
    pub name: String,
    /// Nominal interval in days.
    pub nominal_days: f64,
    /// Shortest interval (days, inclusive) that counts as this visit.
    pub min_days: f64,
    /// Longest interval (days, exclusive) that counts as this visit.
    pub max_days: f64,
}

/// Study B's schedule with default windows halfway between the visits (3 months: 1.5–4.5
/// months; 6 months: 4.5–9; 12 months: 9–18), so every interval from 6 weeks to 18 months
/// falls on its nearest visit. Configurable because real follow-up is irregular.
pub fn default_time_points() -> Vec<TimePoint> {
    let m = DAYS_PER_MONTH;
    vec![
        TimePoint {
            name: "3m".into(),
            nominal_days: 3.0 * m,
            min_days: 1.5 * m,
            max_days: 4.5 * m,
        },
        TimePoint {
            name: "6m".into(),
            nominal_days: 6.0 * m,
            min_days: 4.5 * m,
            max_days: 9.0 * m,
        },
        TimePoint {
            name: "12m".into(),
            nominal_days: 12.0 * m,
            min_days: 9.0 * m,
            max_days: 18.0 * m,
        },
    ]
}

/// Study B's bin of an interval: the visit whose window holds it, or `None` ("outside").
pub fn time_point_of_days(days: i64, points: &[TimePoint]) -> Option<&TimePoint> {
    let d = days as f64;
    points
        .iter()
        .filter(|p| d >= p.min_days && d < p.max_days)
        .min_by(|a, b| {
            (a.nominal_days - d)
                .abs()
                .total_cmp(&(b.nominal_days - d).abs())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn study_a_boundaries() {
        assert_eq!(IntervalBinA::of_days(-1), None);
        assert_eq!(IntervalBinA::of_days(0), Some(IntervalBinA::UpTo6Weeks));
        assert_eq!(IntervalBinA::of_days(42), Some(IntervalBinA::UpTo6Weeks));
        assert_eq!(
            IntervalBinA::of_days(43),
            Some(IntervalBinA::SixWeeksTo3Months)
        );
        assert_eq!(
            IntervalBinA::of_days(91),
            Some(IntervalBinA::SixWeeksTo3Months)
        );
        assert_eq!(
            IntervalBinA::of_days(92),
            Some(IntervalBinA::ThreeTo6Months)
        );
        assert_eq!(
            IntervalBinA::of_days(182),
            Some(IntervalBinA::ThreeTo6Months)
        );
        assert_eq!(IntervalBinA::of_days(183), Some(IntervalBinA::Over6Months));
        assert_eq!(IntervalBinA::of_days(3650), Some(IntervalBinA::Over6Months));
    }

    #[test]
    fn study_b_nearest_visit() {
        let tp = default_time_points();
        let name = |d| time_point_of_days(d, &tp).map(|p| p.name.clone());
        assert_eq!(name(30), None);
        assert_eq!(name(46), Some("3m".into()));
        assert_eq!(name(91), Some("3m".into()));
        assert_eq!(name(136), Some("3m".into()));
        assert_eq!(name(137), Some("6m".into()));
        assert_eq!(name(182), Some("6m".into()));
        assert_eq!(name(274), Some("12m".into()));
        assert_eq!(name(365), Some("12m".into()));
        assert_eq!(name(548), None);
    }
}
