//! Vertebral levels and their label-map codes.
//!
//! Codes follow the VerSe / SPINEPS convention (SPEC §4) so that masks we write open
//! correctly next to those tools' output: C1=1…C7=7, T1=8…T12=19, L1=20…L5=24, L6=25,
//! S1=26, T13=28. L6 and T13 exist because transitional anatomy is common (about one
//! person in ten has 4 or 6 lumbar or 11/13 thoracic vertebrae) and a tool that cannot
//! name them silently miscounts.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One vertebral level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Level {
    /// Cervical vertebra 1–7.
    C(u8),
    /// Thoracic vertebra 1–12, or 13 for a supernumerary thoracic vertebra.
    T(u8),
    /// Lumbar vertebra 1–5, or 6 for a supernumerary lumbar vertebra.
    L(u8),
    /// First sacral segment.
    S1,
}

impl Level {
    /// The VerSe / SPINEPS label-map code.
    pub fn code(self) -> u8 {
        match self {
            Level::C(n) => n,
            Level::T(13) => 28,
            Level::T(n) => 7 + n,
            Level::L(n) => 19 + n,
            Level::S1 => 26,
        }
    }

    /// The level for a VerSe / SPINEPS label-map code, if it is one.
    pub fn from_code(code: u32) -> Option<Level> {
        match code {
            1..=7 => Some(Level::C(code as u8)),
            8..=19 => Some(Level::T((code - 7) as u8)),
            20..=25 => Some(Level::L((code - 19) as u8)),
            26 => Some(Level::S1),
            28 => Some(Level::T(13)),
            _ => None,
        }
    }

    /// Position along the spine from the skull down (C1 = 0), with T13 between T12 and L1
    /// and L6 between L5 and S1, so that sorting levels sorts them cranio-caudally.
    pub fn ordinal(self) -> u32 {
        match self {
            Level::C(n) => u32::from(n) - 1,
            Level::T(n) => 6 + u32::from(n),
            Level::L(n) => 19 + u32::from(n),
            Level::S1 => 26,
        }
    }

    /// The standard (non-transitional) level `steps` positions below this one
    /// (negative = above), skipping T13 and L6. `None` past C1 or S1.
    pub fn offset(self, steps: i32) -> Option<Level> {
        let standard: i32 = match self {
            Level::C(n) => i32::from(n) - 1,
            Level::T(n) => 6 + i32::from(n.min(12)),
            Level::L(n) => 18 + i32::from(n.min(5)),
            Level::S1 => 24,
        };
        let target = standard + steps;
        match target {
            0..=6 => Some(Level::C((target + 1) as u8)),
            7..=18 => Some(Level::T((target - 6) as u8)),
            19..=23 => Some(Level::L((target - 18) as u8)),
            24 => Some(Level::S1),
            _ => None,
        }
    }

    /// True for lumbar and thoracic levels, where vertebroplasty is done (T5–L5 in practice).
    pub fn is_thoracolumbar(self) -> bool {
        matches!(self, Level::T(_) | Level::L(_))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::C(n) => write!(f, "C{n}"),
            Level::T(n) => write!(f, "T{n}"),
            Level::L(n) => write!(f, "L{n}"),
            Level::S1 => write!(f, "S1"),
        }
    }
}

/// A string that is not a level name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a vertebral level: {0:?} (expected C1–C7, T1–T13, L1–L6 or S1)")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLevelError(s.to_string());
        let t = s.trim().to_ascii_uppercase();
        if t == "S1" {
            return Ok(Level::S1);
        }
        let (region, num) = t.split_at_checked(1).ok_or_else(err)?;
        let n: u8 = num.parse().map_err(|_| err())?;
        match (region, n) {
            ("C", 1..=7) => Ok(Level::C(n)),
            ("T", 1..=13) => Ok(Level::T(n)),
            ("L", 1..=6) => Ok(Level::L(n)),
            _ => Err(err()),
        }
    }
}

impl From<Level> for String {
    fn from(l: Level) -> String {
        l.to_string()
    }
}

impl TryFrom<String> for Level {
    type Error = ParseLevelError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_verse() {
        assert_eq!(Level::C(1).code(), 1);
        assert_eq!(Level::T(1).code(), 8);
        assert_eq!(Level::T(12).code(), 19);
        assert_eq!(Level::L(1).code(), 20);
        assert_eq!(Level::L(5).code(), 24);
        assert_eq!(Level::L(6).code(), 25);
        assert_eq!(Level::S1.code(), 26);
        assert_eq!(Level::T(13).code(), 28);
        for code in 0..40 {
            if let Some(l) = Level::from_code(code) {
                assert_eq!(u32::from(l.code()), code);
                assert_eq!(l.to_string().parse::<Level>(), Ok(l));
            }
        }
        assert_eq!(Level::from_code(27), None);
        assert_eq!(Level::from_code(0), None);
    }

    #[test]
    fn ordering_is_craniocaudal() {
        let mut v = vec![
            Level::S1,
            Level::L(6),
            Level::T(13),
            Level::L(1),
            Level::T(12),
            Level::C(7),
        ];
        v.sort_by_key(|l| l.ordinal());
        assert_eq!(
            v,
            vec![
                Level::C(7),
                Level::T(12),
                Level::T(13),
                Level::L(1),
                Level::L(6),
                Level::S1
            ]
        );
    }

    #[test]
    fn offsets() {
        assert_eq!(Level::L(5).offset(1), Some(Level::S1));
        assert_eq!(Level::S1.offset(-1), Some(Level::L(5)));
        assert_eq!(Level::T(12).offset(1), Some(Level::L(1)));
        assert_eq!(Level::L(1).offset(-1), Some(Level::T(12)));
        assert_eq!(Level::C(1).offset(-1), None);
        assert_eq!(Level::S1.offset(1), None);
    }

    #[test]
    fn parse_rejects_nonsense() {
        for bad in ["", "X1", "L0", "L7", "T14", "C8", "S2", "L", "1"] {
            assert!(bad.parse::<Level>().is_err(), "{bad}");
        }
        assert_eq!(" l3 ".parse::<Level>(), Ok(Level::L(3)));
    }
}
