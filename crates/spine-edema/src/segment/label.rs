//! Naming the segmented bodies: T1…L5, S1.
//!
//! The count is anchored at the sacrum when it is in view (the body directly above it is
//! L5). Without a sacrum the levels are guessed from the craniocaudal growth of body
//! height, which is weak evidence: the result says the anchor is uncertain. A user
//! anchor ("this body is L1") overrides both.

use crate::error::{Error, Result};
use crate::level::Level;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a user anchor sits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorPosition {
    /// The n-th body from the top of the field of view, 1-based (the body's label value).
    BodyIndex(usize),
    /// The body whose centre is nearest this head–feet position (LPS z, mm; superior
    /// positive), as read off a viewer.
    ZMm(f64),
}

/// A user statement "this body is that level": `L1=3` (third body from the top) or
/// `L1=-120.5mm` (the body centred nearest z = −120.5 mm).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    /// The level the user names.
    pub level: Level,
    /// Which body they mean.
    pub at: AnchorPosition,
}

impl FromStr for Anchor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::Config(format!(
                "anchor {s:?}: {why} (expected e.g. L1=3 or L1=-120.5mm)"
            ))
        };
        let (level, at) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
        let level: Level = level.parse().map_err(|_| bad("unknown level"))?;
        let at = at.trim();
        let at = if let Some(mm) = at.strip_suffix("mm") {
            let z: f64 = mm.trim().parse().map_err(|_| bad("bad mm value"))?;
            if !z.is_finite() {
                return Err(bad("mm value is not finite"));
            }
            AnchorPosition::ZMm(z)
        } else {
            let i: usize = at.parse().map_err(|_| bad("bad body index"))?;
            if i == 0 {
                return Err(bad("body indices start at 1"));
            }
            AnchorPosition::BodyIndex(i)
        };
        Ok(Anchor { level, at })
    }
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            AnchorPosition::BodyIndex(i) => write!(f, "{}={i}", self.level),
            AnchorPosition::ZMm(z) => write!(f, "{}={z}mm", self.level),
        }
    }
}

/// What the level names were counted from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorSource {
    /// The sacrum was found; the body above it is L5.
    Sacrum,
    /// The user named a body.
    User,
    /// No anchor in view: levels guessed from body heights (low confidence).
    BodySizes,
    /// Nothing could be named.
    None,
}

/// How the bodies were named, and what the reader should double-check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Labelling {
    /// What the count was anchored on.
    pub anchor: AnchorSource,
    /// True when the names rest on weak evidence and should be checked by a reader.
    pub anchor_uncertain: bool,
    /// Overall confidence in the names, 0–1.
    pub confidence: f64,
    /// Anatomical variants suspected (e.g. more bodies above the sacrum than T1–L5).
    pub anomalies: Vec<String>,
    /// Everything else the reader should know (fluid-only input, gaps in the chain, …).
    pub warnings: Vec<String>,
}

impl Default for Labelling {
    fn default() -> Self {
        Labelling {
            anchor: AnchorSource::None,
            anchor_uncertain: true,
            confidence: 0.0,
            anomalies: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Typical mid-sagittal body heights (mm) T1…L5, used only to guess levels when no anchor
/// is visible. Rounded from Panjabi et al., Spine 1991 (thoracic) and Zhou et al., Eur
/// Spine J 2000 (lumbar).
const TYPICAL_HEIGHT_MM: [f64; 17] = [
    15.0, 16.0, 16.5, 17.0, 17.5, 18.0, 19.0, 19.5, 20.5, 21.5, 23.0, 24.5, 26.0, 27.0, 27.5, 27.5,
    27.0,
];

/// Input to naming: the bodies of the column, cranial to caudal.
#[derive(Clone, Copy, Debug)]
pub struct BodyForNaming {
    /// Head–feet position of the centre (LPS z, mm).
    pub z_mm: f64,
    /// Mid-sagittal height (mm).
    pub height_mm: f64,
}

/// Names `bodies` (cranial → caudal, the sacrum excluded) given whether the first sacral
/// segment was found directly below the last one. Returns one level per body (plus the
/// S1 name is implied by the caller) and per-body confidences.
pub fn name_levels(
    bodies: &[BodyForNaming],
    sacrum_found: bool,
    user: Option<&Anchor>,
    labelling: &mut Labelling,
) -> Vec<(Option<Level>, f64)> {
    let n = bodies.len();
    if n == 0 {
        labelling.anchor = AnchorSource::None;
        return Vec::new();
    }
    if let Some(anchor) = user {
        // The user counts the S1 body too when it is segmented.
        let k = match anchor.at {
            AnchorPosition::BodyIndex(i) => i.saturating_sub(1) as i64,
            AnchorPosition::ZMm(z) => bodies
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1.z_mm - z).abs().total_cmp(&(b.1.z_mm - z).abs()))
                .map(|(i, _)| i as i64)
                .unwrap_or(0),
        };
        labelling.anchor = AnchorSource::User;
        labelling.anchor_uncertain = false;
        labelling.confidence = 0.95;
        return (0..n as i64)
            .map(|j| (anchor.level.offset((j - k) as i32), 0.95))
            .collect();
    }
    if sacrum_found {
        labelling.anchor = AnchorSource::Sacrum;
        labelling.anchor_uncertain = false;
        labelling.confidence = 0.9;
        if n > 17 {
            labelling.anomalies.push(format!(
                "{n} bodies above the sacrum, more than T1–L5: count from the sacrum kept, \
                 check for a supernumerary vertebra"
            ));
        }
        return (0..n)
            .map(|j| {
                let steps_up = (n - j) as i32;
                // Confidence decays slowly with distance from the anchor: each counted
                // disc is one more chance to miscount.
                let conf = (0.95 - 0.01 * f64::from(steps_up)).max(0.5);
                (Level::S1.offset(-steps_up), conf)
            })
            .collect();
    }
    labelling.anchor = AnchorSource::BodySizes;
    labelling.anchor_uncertain = true;
    labelling.confidence = 0.3;
    labelling
        .warnings
        .push("sacrum not in view: levels guessed from body heights; confirm with --anchor".into());
    // Index in TYPICAL_HEIGHT_MM of the lowest body, chosen by least squares on log
    // heights with a free scale (scanner, patient size).
    let best_last = (n - 1..TYPICAL_HEIGHT_MM.len())
        .map(|last| {
            let logs: Vec<f64> = bodies
                .iter()
                .enumerate()
                .map(|(j, b)| b.height_mm.max(1.0).ln() - TYPICAL_HEIGHT_MM[last + 1 + j - n].ln())
                .collect();
            let mean = logs.iter().sum::<f64>() / n as f64;
            let err: f64 = logs.iter().map(|l| (l - mean).powi(2)).sum();
            (last, err)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(last, _)| last)
        .unwrap_or(TYPICAL_HEIGHT_MM.len() - 1);
    (0..n)
        .map(|j| {
            let idx = (best_last + 1 + j) as i32 - n as i32;
            (Level::T(1).offset(idx), 0.3)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(n: usize) -> Vec<BodyForNaming> {
        (0..n)
            .map(|j| BodyForNaming {
                z_mm: -(j as f64) * 35.0,
                height_mm: 26.0,
            })
            .collect()
    }

    #[test]
    fn anchor_parses_both_forms() {
        let a: Anchor = "L1=3".parse().unwrap();
        assert_eq!(a.level, Level::L(1));
        assert_eq!(a.at, AnchorPosition::BodyIndex(3));
        let b: Anchor = "t12=-120.5mm".parse().unwrap();
        assert_eq!(b.at, AnchorPosition::ZMm(-120.5));
        for bad in ["L1", "X1=3", "L1=0", "L1=abcmm", "L1=nanmm"] {
            assert!(bad.parse::<Anchor>().is_err(), "{bad}");
        }
        assert_eq!(a.to_string(), "L1=3");
    }

    #[test]
    fn sacrum_anchor_counts_up_from_l5() {
        let mut lab = Labelling::default();
        let names = name_levels(&bodies(7), true, None, &mut lab);
        let levels: Vec<_> = names.iter().map(|n| n.0.unwrap().to_string()).collect();
        assert_eq!(levels, ["T11", "T12", "L1", "L2", "L3", "L4", "L5"]);
        assert_eq!(lab.anchor, AnchorSource::Sacrum);
        assert!(!lab.anchor_uncertain);
    }

    #[test]
    fn user_anchor_overrides() {
        let mut lab = Labelling::default();
        let anchor: Anchor = "L1=2".parse().unwrap();
        let names = name_levels(&bodies(3), true, Some(&anchor), &mut lab);
        let levels: Vec<_> = names.iter().map(|n| n.0.unwrap().to_string()).collect();
        assert_eq!(levels, ["T12", "L1", "L2"]);
        assert_eq!(lab.anchor, AnchorSource::User);
        let by_mm: Anchor = "L3=-36mm".parse().unwrap();
        let names = name_levels(&bodies(3), false, Some(&by_mm), &mut lab);
        assert_eq!(names[1].0, Some(Level::L(3)));
    }

    #[test]
    fn without_sacrum_the_anchor_is_uncertain() {
        let mut lab = Labelling::default();
        let thoracic: Vec<BodyForNaming> = (0..6)
            .map(|j| BodyForNaming {
                z_mm: -(j as f64) * 25.0,
                height_mm: TYPICAL_HEIGHT_MM[3 + j],
            })
            .collect();
        let names = name_levels(&thoracic, false, None, &mut lab);
        assert!(lab.anchor_uncertain);
        assert_eq!(lab.anchor, AnchorSource::BodySizes);
        assert_eq!(names[0].0, Some(Level::T(4)));
    }
}
