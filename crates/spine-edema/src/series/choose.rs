//! Choosing, in one study, the sagittal T1 and the fluid-sensitive series to score.
//!
//! Order of preference (documented in `docs/classification.md`):
//! 1. a classification the classifier is reasonably sure of (confidence ≥ 0.5);
//! 2. for the fluid series, the contrast: STIR > T2 fat-suppressed > Dixon water > T2
//!    (both reference studies define edema on STIR; study A read fat-suppressed T2);
//! 3. for the fluid series, sharing the chosen T1's FrameOfReferenceUID, so the two can be
//!    related by geometry and only need a small rigid refinement;
//! 4. more slices (wider left–right coverage of the bodies);
//! 5. higher classification confidence;
//! 6. the later series number: a repeated series is repeated because the first attempt was
//!    degraded (motion, wrong coverage), so the repeat is the one the technologist kept.
//!
//! A user override names a series by number or UID. It is honoured whatever the series
//! was classified as (the reason says what it was classified as); when it names no series
//! of the study the role is left empty and the reason says so — silently falling back to
//! an automatic choice would score a series the user explicitly did not ask for.

use super::{Classification, Contrast, Plane};
use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// One series of a study, as the chooser sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// SeriesInstanceUID.
    pub series_uid: String,
    /// SeriesNumber, when present.
    pub series_number: Option<i64>,
    /// Its classification.
    pub classification: Classification,
    /// Number of image slices (frames) in the series.
    pub slice_count: usize,
    /// FrameOfReferenceUID, when present.
    pub frame_of_reference_uid: Option<String>,
}

/// A user's choice of a series: by SeriesNumber or by SeriesInstanceUID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SeriesOverride {
    /// SeriesNumber (0020,0011).
    Number(i64),
    /// SeriesInstanceUID (0020,000E).
    Uid(String),
}

impl FromStr for SeriesOverride {
    type Err = Error;

    /// `"7"` → `Number(7)`; anything else non-empty → `Uid`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::Config(
                "series override is empty: give a series number or a series UID".to_owned(),
            ));
        }
        Ok(match s.parse::<i64>() {
            Ok(n) => SeriesOverride::Number(n),
            Err(_) => SeriesOverride::Uid(s.to_owned()),
        })
    }
}

impl fmt::Display for SeriesOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeriesOverride::Number(n) => write!(f, "series number {n}"),
            SeriesOverride::Uid(uid) => write!(f, "series UID {uid}"),
        }
    }
}

impl SeriesOverride {
    fn matches(&self, candidate: &Candidate) -> bool {
        match self {
            SeriesOverride::Number(n) => candidate.series_number == Some(*n),
            SeriesOverride::Uid(uid) => candidate.series_uid.trim() == uid.trim(),
        }
    }
}

/// The series chosen for the two roles, as indices into the candidates, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesChoice {
    /// Index of the sagittal T1, if one was found (or forced).
    pub t1: Option<usize>,
    /// Index of the fluid-sensitive (or T2) series, if one was found (or forced).
    pub fluid: Option<usize>,
    /// How the choice was made, one clause per role.
    pub reason: String,
}

/// A series needs at least this many slices to be a volume with an interior slice;
/// coverage beyond that is preferred by ranking, not required.
const MIN_SLICES: usize = 3;
/// Classifications below this confidence rank after every confident one.
const CONFIDENT: f64 = 0.5;

/// Chooses the sagittal T1 and the fluid-sensitive series of one study, honouring
/// overrides. See the module documentation for the order of preference.
pub fn choose_series(
    candidates: &[Candidate],
    t1: Option<&SeriesOverride>,
    fluid: Option<&SeriesOverride>,
) -> SeriesChoice {
    let (t1_index, t1_reason) = match t1 {
        Some(wanted) => forced(candidates, wanted, "T1", Contrast::T1),
        None => automatic_t1(candidates),
    };
    let (fluid_index, fluid_reason) = match fluid {
        Some(wanted) => forced(candidates, wanted, "fluid", Contrast::Stir),
        None => automatic_fluid(candidates, t1_index),
    };
    let mut reason = format!("T1: {t1_reason}; fluid: {fluid_reason}");
    if let (Some(t), Some(f)) = (t1_index, fluid_index) {
        reason.push_str("; ");
        reason.push_str(&frame_note(&candidates[t], &candidates[f]));
    }
    SeriesChoice {
        t1: t1_index,
        fluid: fluid_index,
        reason,
    }
}

/// "series 7" or "series 1.2.3…" when it has no number.
fn name(c: &Candidate) -> String {
    match c.series_number {
        Some(n) => format!("series {n}"),
        None => format!("series {}", c.series_uid),
    }
}

/// "series 7 (STIR, 19 slices, confidence 0.95)".
fn describe(c: &Candidate) -> String {
    format!(
        "{} ({} {}, {} slices, confidence {:.2})",
        name(c),
        c.classification.plane,
        c.classification.contrast,
        c.slice_count,
        c.classification.confidence
    )
}

fn forced(
    candidates: &[Candidate],
    wanted: &SeriesOverride,
    role: &str,
    expected: Contrast,
) -> (Option<usize>, String) {
    let matching: Vec<usize> = (0..candidates.len())
        .filter(|&i| wanted.matches(&candidates[i]))
        .collect();
    let Some(&first) = matching.first() else {
        let known: Vec<String> = candidates.iter().map(name).collect();
        return (
            None,
            format!(
                "override {wanted} names no series of this study (has: {}); no {role} series used",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        );
    };
    // Several series can share a number (e.g. a re-sent series); take the fullest.
    let index = matching.iter().copied().fold(first, |best, i| {
        if candidates[i].slice_count > candidates[best].slice_count {
            i
        } else {
            best
        }
    });
    let c = &candidates[index];
    let mut reason = format!("{} chosen by override ({wanted})", describe(c));
    if matching.len() > 1 {
        reason.push_str(&format!(
            ", the fullest of {} series matching it",
            matching.len()
        ));
    }
    let fits = match expected {
        Contrast::T1 => c.classification.contrast == Contrast::T1,
        _ => {
            c.classification.contrast.is_fluid_sensitive()
                || c.classification.contrast == Contrast::T2
        }
    };
    if !fits || c.classification.plane != Plane::Sagittal {
        reason.push_str(&format!(
            "; note: classified as {} {}, used as {role} as requested",
            c.classification.plane, c.classification.contrast
        ));
    }
    (Some(index), reason)
}

/// Sagittal, enough slices.
fn usable(c: &Candidate) -> bool {
    c.classification.plane == Plane::Sagittal && c.slice_count >= MIN_SLICES
}

/// Ranks `a` against `b` by confidence class, slices, confidence, series number.
fn rank_common(a: &Candidate, b: &Candidate) -> Ordering {
    let confident = |c: &Candidate| c.classification.confidence >= CONFIDENT;
    confident(a)
        .cmp(&confident(b))
        .then(a.slice_count.cmp(&b.slice_count))
        .then(
            a.classification
                .confidence
                .total_cmp(&b.classification.confidence),
        )
        .then(a.series_number.cmp(&b.series_number))
}

/// Why `best` beat `runner_up`, in words.
fn why_better(best: &Candidate, runner_up: &Candidate, fluid_keys: Option<Option<&str>>) -> String {
    let confident = |c: &Candidate| c.classification.confidence >= CONFIDENT;
    if confident(best) != confident(runner_up) {
        return format!("{} is only weakly classified", name(runner_up));
    }
    if let Some(t1_frame) = fluid_keys {
        let (pb, pr) = (
            fluid_priority(best.classification.contrast),
            fluid_priority(runner_up.classification.contrast),
        );
        if pb != pr {
            return format!(
                "{} preferred over {} of {}",
                best.classification.contrast,
                runner_up.classification.contrast,
                name(runner_up)
            );
        }
        if shares_frame(best, t1_frame) != shares_frame(runner_up, t1_frame) {
            return format!("{} is in another frame of reference", name(runner_up));
        }
    }
    if best.slice_count != runner_up.slice_count {
        return format!(
            "more slices than {} ({})",
            name(runner_up),
            runner_up.slice_count
        );
    }
    if best.classification.confidence != runner_up.classification.confidence {
        return format!("more confidently classified than {}", name(runner_up));
    }
    format!(
        "later than {} (a repeat replaces a degraded first attempt)",
        name(runner_up)
    )
}

fn best_of(
    indices: &[usize],
    cmp: impl Fn(usize, usize) -> Ordering,
) -> Option<(usize, Option<usize>)> {
    let mut sorted = indices.to_vec();
    sorted.sort_by(|&a, &b| cmp(b, a));
    sorted.first().map(|&b| (b, sorted.get(1).copied()))
}

fn automatic_t1(candidates: &[Candidate]) -> (Option<usize>, String) {
    let eligible: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            candidates[i].classification.contrast == Contrast::T1 && usable(&candidates[i])
        })
        .collect();
    match best_of(&eligible, |a, b| {
        rank_common(&candidates[a], &candidates[b])
    }) {
        Some((best, runner_up)) => {
            let mut reason = describe(&candidates[best]);
            match runner_up {
                Some(r) => reason.push_str(&format!(
                    ", best of {} sagittal T1: {}",
                    eligible.len(),
                    why_better(&candidates[best], &candidates[r], None)
                )),
                None => reason.push_str(", the only sagittal T1"),
            }
            (Some(best), reason)
        }
        None => (None, missing("T1", candidates, |c| c == Contrast::T1)),
    }
}

/// Fluid-role preference: 4 for STIR down to 1 for plain T2; 0 is not eligible.
fn fluid_priority(contrast: Contrast) -> u8 {
    match contrast {
        Contrast::Stir => 4,
        Contrast::T2FatSat => 3,
        Contrast::DixonWater => 2,
        Contrast::T2 => 1,
        Contrast::T1 | Contrast::DixonFat | Contrast::Other => 0,
    }
}

fn shares_frame(c: &Candidate, t1_frame: Option<&str>) -> bool {
    t1_frame.is_some() && c.frame_of_reference_uid.as_deref() == t1_frame
}

fn automatic_fluid(candidates: &[Candidate], t1: Option<usize>) -> (Option<usize>, String) {
    let t1_frame = t1.and_then(|i| candidates[i].frame_of_reference_uid.as_deref());
    let eligible: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            Some(i) != t1
                && fluid_priority(candidates[i].classification.contrast) > 0
                && usable(&candidates[i])
        })
        .collect();
    let confident = |c: &Candidate| c.classification.confidence >= CONFIDENT;
    let cmp = |a: usize, b: usize| {
        let (ca, cb) = (&candidates[a], &candidates[b]);
        confident(ca)
            .cmp(&confident(cb))
            .then(
                fluid_priority(ca.classification.contrast)
                    .cmp(&fluid_priority(cb.classification.contrast)),
            )
            .then(shares_frame(ca, t1_frame).cmp(&shares_frame(cb, t1_frame)))
            .then(rank_common(ca, cb))
    };
    match best_of(&eligible, cmp) {
        Some((best, runner_up)) => {
            let mut reason = describe(&candidates[best]);
            match runner_up {
                Some(r) => reason.push_str(&format!(
                    ", best of {} sagittal fluid-sensitive/T2 series: {}",
                    eligible.len(),
                    why_better(&candidates[best], &candidates[r], Some(t1_frame))
                )),
                None => reason.push_str(", the only sagittal fluid-sensitive/T2 series"),
            }
            if candidates[best].classification.contrast == Contrast::T2 {
                reason.push_str(
                    " (plain T2: fat stays bright, edema only weakly separable from fatty marrow)",
                );
            }
            (Some(best), reason)
        }
        None => (
            None,
            missing("fluid-sensitive", candidates, |c| fluid_priority(c) > 0),
        ),
    }
}

/// Why no series fits a role: none of that contrast at all, or only in other planes /
/// with too few slices.
fn missing(role: &str, candidates: &[Candidate], wanted: impl Fn(Contrast) -> bool) -> String {
    let elsewhere: Vec<String> = candidates
        .iter()
        .filter(|c| wanted(c.classification.contrast))
        .map(describe)
        .collect();
    if elsewhere.is_empty() {
        format!(
            "no sagittal {role} series among {} series",
            candidates.len()
        )
    } else {
        format!(
            "no usable sagittal {role} series (sagittal with ≥ {MIN_SLICES} slices); \
             not usable: {}",
            elsewhere.join(", ")
        )
    }
}

/// Whether geometry alone relates the two chosen series.
fn frame_note(t1: &Candidate, fluid: &Candidate) -> String {
    match (&t1.frame_of_reference_uid, &fluid.frame_of_reference_uid) {
        (Some(a), Some(b)) if a == b => {
            "T1 and fluid share a frame of reference: aligned by geometry plus a small rigid \
             refinement"
                .to_owned()
        }
        (Some(_), Some(_)) => "T1 and fluid are in different frames of reference (patient \
                               repositioned?): geometry alone may not align them"
            .to_owned(),
        _ => "frame of reference missing on one series: alignment assumes the scanner's \
              patient coordinates are shared"
            .to_owned(),
    }
}
