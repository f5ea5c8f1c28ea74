//! Plane and contrast of one series, from header facts, with the reason and a confidence.
//!
//! Two kinds of evidence are weighed: the sequence parameters (TR, TE, TI, the
//! inversion / fat-saturation / echo-planar flags), which are physics, and the free text
//! (description, protocol name), which is convention. Where the parameters are
//! physically decisive they win — an inversion time of 150 ms with an inversion pulse
//! nulls fat whatever the series is called — and a disagreeing description lowers the
//! confidence and is named in the reason. Thresholds and their evidence:
//! `docs/classification.md`.

use super::text::{DixonImage, Named, SeriesText};
use super::{AcquisitionParams, Contrast, Plane};
use nalgebra::Vector3;
use serde::{Deserialize, Serialize};

/// What a series is, how sure we are, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Acquisition plane from ImageOrientationPatient.
    pub plane: Plane,
    /// Image contrast.
    pub contrast: Contrast,
    /// 0–1: 0.95 when parameters and description agree, about 0.6 when they disagree or
    /// only the description speaks, 0.2 when nothing is recognised.
    pub confidence: f64,
    /// Human-readable explanation, e.g. "TR 450 ms, TE 12 ms: short TR/TE spin echo → T1;
    /// description 't1_tse_sag' agrees".
    pub reason: String,
}

/// A slice normal within this angle of a patient axis names the plane (IHE/DICOM practice
/// of calling a slab "sagittal" when it is within 30° of the true sagittal plane, so that
/// the usual ±20° obliquing of a spine slab along the cord still counts).
const PLANE_TOLERANCE_DEG: f64 = 30.0;

/// Longest TR of a T1-weighted spin echo: the studies used 400–535 ms (Dansie 2006) and
/// 400 ms (Voormolen 2006); T1 FSE at 3 T runs up to ~800 ms; beyond ~1000 ms T1
/// weighting is lost.
const T1_TR_MAX_MS: f64 = 1000.0;
/// Longest TE of a T1-weighted spin echo: 14–18 ms (Dansie), 13 ms (Voormolen); short
/// echo-train T1 FSE stays under ~30 ms.
const T1_TE_MAX_MS: f64 = 30.0;
/// Shortest TR of a T2 / STIR: T2 FSE 3250–3350 ms (Dansie), STIR 2500 ms (Voormolen).
const T2_TR_MIN_MS: f64 = 1800.0;
/// Shortest TE of a T2-weighted spin echo: 102–105 ms (Dansie); STIR uses 30–70 ms
/// (Voormolen 70 ms), which is why STIR is recognised by its TI, not its TE.
const T2_TE_MIN_MS: f64 = 60.0;
/// Long-TR series with TE at or under this are proton-density weighted.
const PD_TE_MAX_MS: f64 = 45.0;
/// Inversion times that null fat, from 0.2 T (≈ 90 ms) to 3 T (≈ 230–260 ms): the null
/// point is TI ≈ ln 2 · T1(fat), T1(fat) ≈ 260 ms at 1.5 T → ≈ 180 ms, used at 150–170 ms.
const STIR_TI_MS: (f64, f64) = (70.0, 300.0);
/// Inversion times of T1-FLAIR (T1 weighting with CSF nulled), 750–1000 ms at 1.5–3 T.
const T1_FLAIR_TI_MS: (f64, f64) = (600.0, 1300.0);
/// Inversion times of dark-fluid FLAIR: water's long T1 is nulled at TI ≈ 1800–2800 ms.
const FLAIR_TI_MIN_MS: f64 = 1500.0;

/// Plane of a series from ImageOrientationPatient (row then column cosines, LPS): the slice
/// normal within 30° of left–right is sagittal, of head–foot axial, of anterior–posterior
/// coronal; anything else (or a degenerate orientation) is oblique.
pub fn plane_of(orientation: &[f64; 6]) -> Plane {
    let row = Vector3::new(orientation[0], orientation[1], orientation[2]);
    let col = Vector3::new(orientation[3], orientation[4], orientation[5]);
    let normal = row.cross(&col);
    let norm = normal.norm();
    if !norm.is_finite() || norm < 1e-6 {
        return Plane::Oblique;
    }
    let n = normal / norm;
    let cos_limit = PLANE_TOLERANCE_DEG.to_radians().cos();
    if n.x.abs() >= cos_limit {
        Plane::Sagittal
    } else if n.z.abs() >= cos_limit {
        Plane::Axial
    } else if n.y.abs() >= cos_limit {
        Plane::Coronal
    } else {
        Plane::Oblique
    }
}

/// Classifies one series: plane from the orientation, contrast from parameters and
/// description, with a confidence and a reason a reader can check.
pub fn classify(params: &AcquisitionParams) -> Classification {
    let plane = params.orientation.as_ref().map_or(Plane::Oblique, plane_of);
    let (contrast, confidence, mut reason) = contrast_of(params);
    if params.orientation.is_none() {
        reason.push_str("; no ImageOrientationPatient, plane unknown (reported as oblique)");
    }
    Classification {
        plane,
        contrast,
        confidence,
        reason,
    }
}

/// Contrast, confidence, reason.
fn contrast_of(params: &AcquisitionParams) -> (Contrast, f64, String) {
    let text = SeriesText::new(params);
    let facts = Facts::new(params);
    if let Some(excluded) = exclusion(params, &facts, &text) {
        return excluded;
    }
    let physics = physics(&facts);
    if let Some(dixon) = dixon(&facts, &text, physics.as_ref()) {
        return dixon;
    }
    weigh(&facts, physics, &text)
}

/// Normalised header facts.
struct Facts {
    tr_ms: Option<f64>,
    te_ms: Option<f64>,
    ti_ms: Option<f64>,
    field_t: Option<f64>,
    /// Where the inversion pulse is recorded, if anywhere.
    inversion: Option<&'static str>,
    fat_sat_option: Option<String>,
    echo_planar: bool,
    gradient_echo_only: bool,
    image_type: Vec<String>,
    /// "TR 450 ms, TE 12 ms" etc., for reasons.
    summary: String,
}

impl Facts {
    fn new(p: &AcquisitionParams) -> Self {
        let upper =
            |v: &[String]| -> Vec<String> { v.iter().map(|s| s.trim().to_uppercase()).collect() };
        let seq = upper(&p.scanning_sequence);
        let options = upper(&p.scan_options);
        let seq_name = p.sequence_name.as_deref().unwrap_or("").to_lowercase();
        let positive = |v: Option<f64>| v.filter(|x| x.is_finite() && *x > 0.0);
        let (tr_ms, te_ms, ti_ms) = (
            positive(p.repetition_time_ms),
            positive(p.echo_time_ms),
            positive(p.inversion_time_ms),
        );
        // Siemens names its IR sequences "*tir…"; some scanners record only TI.
        let inversion = if seq.iter().any(|s| s == "IR") {
            Some("ScanningSequence IR")
        } else if options.iter().any(|s| s == "IR") {
            Some("ScanOptions IR")
        } else if seq_name.trim_start_matches('*').starts_with("tir") {
            Some("sequence name *tir")
        } else if ti_ms.is_some() {
            Some("an inversion time")
        } else {
            None
        };
        let fat_sat_option = options
            .iter()
            .find(|o| {
                matches!(
                    o.as_str(),
                    "FS" | "SFS" | "FAT_SAT" | "SAT_FAT" | "FATSAT" | "SPAIR" | "SPIR" | "CHESS"
                )
            })
            .cloned();
        let echo_planar = seq.iter().any(|s| s == "EP")
            || seq_name.trim_start_matches('*').starts_with("ep")
            || seq_name.trim_start_matches('*').starts_with("re_b");
        let gradient_echo_only =
            seq.iter().any(|s| s == "GR") && !seq.iter().any(|s| s == "SE" || s == "IR");
        let mut summary = Vec::new();
        if let Some(tr) = tr_ms {
            summary.push(format!("TR {} ms", ms(tr)));
        }
        if let Some(te) = te_ms {
            summary.push(format!("TE {} ms", ms(te)));
        }
        if let Some(ti) = ti_ms {
            summary.push(format!("TI {} ms", ms(ti)));
        }
        if let Some(fs) = &fat_sat_option {
            summary.push(format!("ScanOptions {fs}"));
        }
        Facts {
            tr_ms,
            te_ms,
            ti_ms,
            field_t: p.field_strength_t,
            inversion,
            fat_sat_option,
            echo_planar,
            gradient_echo_only,
            image_type: upper(&p.image_type),
            summary: summary.join(", "),
        }
    }

    fn prefix(&self) -> String {
        if self.summary.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.summary)
        }
    }
}

/// Fat-nulling TI used in practice at a field strength (tesla), ms: T1 of fat lengthens
/// with B0, so the null point TI ≈ ln 2 · T1(fat) moves from ≈ 100 ms at 0.5 T through
/// 150–180 ms at 1.5 T (T1(fat) ≈ 260 ms) to ≈ 200–250 ms at 3 T.
fn typical_stir_ti_ms(field_t: f64) -> (f64, f64) {
    if field_t < 0.75 {
        (70.0, 130.0)
    } else if field_t < 1.25 {
        (100.0, 170.0)
    } else if field_t < 2.25 {
        (130.0, 190.0)
    } else {
        (180.0, 270.0)
    }
}

/// " (typical for 1.5 T)" or " (unusual for 3 T, where fat nulls at 180–270 ms)".
fn field_note(ti_ms: f64, field_t: Option<f64>) -> String {
    let Some(b) = field_t.filter(|b| b.is_finite() && *b > 0.0) else {
        return String::new();
    };
    let (lo, hi) = typical_stir_ti_ms(b);
    if (lo..=hi).contains(&ti_ms) {
        format!(" (typical for {b} T)")
    } else {
        format!(
            " (unusual for {b} T, where fat nulls at {}–{} ms; still short-tau)",
            ms(lo),
            ms(hi)
        )
    }
}

/// Milliseconds without a spurious ".0".
fn ms(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Localisers, diffusion and post-contrast series: never scored, whatever they look like.
fn exclusion(
    params: &AcquisitionParams,
    facts: &Facts,
    text: &SeriesText,
) -> Option<(Contrast, f64, String)> {
    let other = |confidence: f64, reason: String| Some((Contrast::Other, confidence, reason));
    if let Some(agent) = params
        .contrast_agent
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty() && !matches!(a.to_lowercase().as_str(), "none" | "no" | "n"))
    {
        return other(
            0.95,
            format!(
                "ContrastBolusAgent '{agent}': post-contrast, excluded (gadolinium makes \
                 enhancing marrow bright on T1 and is suppressed with fat on STIR)"
            ),
        );
    }
    if facts.image_type.iter().any(|t| t == "LOCALIZER") {
        return other(0.95, "ImageType LOCALIZER: localiser, excluded".to_owned());
    }
    if let Some(word) = text.localizer() {
        return other(
            0.85,
            format!(
                "description {} names a localiser ('{word}'), excluded",
                text.shown()
            ),
        );
    }
    if facts.echo_planar {
        return other(
            0.95,
            format!(
                "{}echo-planar (EP) sequence: diffusion / EPI, not a marrow contrast",
                facts.prefix()
            ),
        );
    }
    if let Some(t) = facts
        .image_type
        .iter()
        .find(|t| matches!(t.as_str(), "DIFFUSION" | "ADC" | "TRACEW" | "FA" | "EADC"))
    {
        return other(0.95, format!("ImageType {t}: diffusion, excluded"));
    }
    if let Some(word) = text.diffusion() {
        return other(
            0.85,
            format!(
                "description {} names diffusion ('{word}'), excluded",
                text.shown()
            ),
        );
    }
    if let Some(word) = text.post_contrast() {
        return other(
            0.8,
            format!(
                "description {} marks a post-contrast series ('{word}'), excluded",
                text.shown()
            ),
        );
    }
    None
}

/// What the sequence parameters alone say.
struct Physics {
    contrast: Contrast,
    /// Decisive: the physics fixes the contrast. Otherwise only suggestive.
    decisive: bool,
    /// True when a recorded TI or flag rules out a fat-nulling inversion.
    inversion_ruled_out: bool,
    /// True when a T2 contrast's fat suppression is known from ScanOptions.
    fat_sat_known: bool,
    reason: String,
}

fn physics(f: &Facts) -> Option<Physics> {
    let p = f.prefix();
    let make = |contrast, decisive, reason: String| Physics {
        contrast,
        decisive,
        inversion_ruled_out: f.inversion.is_some() || f.ti_ms.is_some(),
        fat_sat_known: f.fat_sat_option.is_some(),
        reason,
    };
    if let Some(via) = f.inversion {
        return match (f.ti_ms, f.te_ms) {
            (Some(ti), _) if (STIR_TI_MS.0..=STIR_TI_MS.1).contains(&ti) => Some(make(
                Contrast::Stir,
                true,
                format!(
                    "{p}inversion recovery ({via}) with a short TI nulls fat → STIR{}",
                    field_note(ti, f.field_t)
                ),
            )),
            (Some(ti), Some(te))
                if (T1_FLAIR_TI_MS.0..=T1_FLAIR_TI_MS.1).contains(&ti) && te <= T1_TE_MAX_MS =>
            {
                Some(make(
                    Contrast::T1,
                    true,
                    format!(
                        "{p}inversion recovery with TI near CSF null and short TE: \
                         T1-FLAIR → T1 (not STIR)"
                    ),
                ))
            }
            (Some(ti), _) if ti >= FLAIR_TI_MIN_MS => Some(make(
                Contrast::Other,
                true,
                format!("{p}long-TI inversion nulls water: dark-fluid FLAIR, not fluid-sensitive"),
            )),
            (Some(_), _) => Some(make(
                Contrast::Other,
                false,
                format!("{p}inversion time neither fat-nulling (STIR) nor T1-FLAIR"),
            )),
            (None, Some(te)) if te > T1_TE_MAX_MS => Some(Physics {
                inversion_ruled_out: false,
                ..make(
                    Contrast::Stir,
                    false,
                    format!(
                        "{p}inversion recovery ({via}) with long TE but no TI recorded: likely STIR"
                    ),
                )
            }),
            (None, _) => None,
        };
    }
    if f.gradient_echo_only {
        return Some(make(
            Contrast::Other,
            true,
            format!("{p}gradient echo (ScanningSequence GR): not a spin-echo T1/T2"),
        ));
    }
    let (tr, te) = (f.tr_ms?, f.te_ms?);
    if tr <= T1_TR_MAX_MS && te <= T1_TE_MAX_MS {
        return Some(if let Some(fs) = &f.fat_sat_option {
            make(
                Contrast::Other,
                true,
                format!(
                    "{p}short TR/TE spin echo with fat saturation ({fs}): fat-suppressed T1, \
                     fat dark, not the marrow T1"
                ),
            )
        } else {
            make(Contrast::T1, true, format!("{p}short TR/TE spin echo → T1"))
        });
    }
    if tr >= T2_TR_MIN_MS && te >= T2_TE_MIN_MS {
        return Some(if let Some(fs) = &f.fat_sat_option {
            make(
                Contrast::T2FatSat,
                true,
                format!("{p}long TR/TE spin echo with fat saturation ({fs}) → T2 fat-suppressed"),
            )
        } else {
            make(Contrast::T2, true, format!("{p}long TR/TE spin echo → T2"))
        });
    }
    if tr >= T2_TR_MIN_MS && te <= PD_TE_MAX_MS {
        return Some(make(
            Contrast::Other,
            false,
            format!("{p}long TR, short TE: proton density"),
        ));
    }
    Some(make(
        Contrast::Other,
        false,
        format!("{p}intermediate TR/TE, weighting unclear"),
    ))
}

/// Dixon outputs: water (fluid-sensitive only when T2-weighted), fat, phase images.
fn dixon(
    facts: &Facts,
    text: &SeriesText,
    physics: Option<&Physics>,
) -> Option<(Contrast, f64, String)> {
    let it = &facts.image_type;
    let has = |words: &[&str]| it.iter().find(|t| words.contains(&t.as_str())).cloned();
    let header_dixon = has(&["DIXON", "WATER", "FAT", "IDEAL"]);
    let text_dixon = text.names_dixon();
    if header_dixon.is_none() && text_dixon.is_none() {
        return None;
    }
    // Single letters (Philips "W"/"F") only count next to a DIXON marker.
    let dixon_marked = has(&["DIXON"]).is_some();
    let from_header = if let Some(t) = has(&["WATER"]).or(has(&["W"]).filter(|_| dixon_marked)) {
        Some((DixonImage::Water, t))
    } else if let Some(t) = has(&["FAT"]).or(has(&["F"]).filter(|_| dixon_marked)) {
        Some((DixonImage::Fat, t))
    } else {
        has(&["IN_PHASE", "OUT_PHASE", "OPP_PHASE", "IP", "OP", "FF"])
            .map(|t| (DixonImage::Other, t))
    };
    let (image, evidence, confidence) = match (from_header, text.dixon_image()) {
        (Some((img, t)), _) => (img, format!("ImageType {t}"), 0.95),
        (None, Some((img, word))) => (img, format!("description {} ('{word}')", text.shown()), 0.8),
        (None, None) => {
            return Some((
                Contrast::Other,
                0.5,
                format!(
                    "Dixon series ({}) without a water/fat marker: not used",
                    header_dixon.as_deref().unwrap_or("description")
                ),
            ));
        }
    };
    Some(match image {
        DixonImage::Water => {
            let t1_weighted = physics.is_some_and(|p| p.contrast == Contrast::T1)
                || matches!(text.named(), Some((Named::T1 | Named::T1FatSat, _)));
            if t1_weighted {
                (
                    Contrast::Other,
                    confidence - 0.1,
                    format!(
                        "Dixon water image ({evidence}) of a T1-weighted acquisition: \
                         fat-suppressed T1, not fluid-sensitive"
                    ),
                )
            } else {
                (
                    Contrast::DixonWater,
                    confidence,
                    format!(
                        "{}Dixon water image ({evidence}): fat removed by chemical-shift separation",
                        facts.prefix()
                    ),
                )
            }
        }
        DixonImage::Fat => (
            Contrast::DixonFat,
            confidence,
            format!("Dixon fat image ({evidence})"),
        ),
        DixonImage::Other => (
            Contrast::Other,
            confidence,
            format!("Dixon in-/opposed-phase or fraction image ({evidence}): not used"),
        ),
    })
}

/// What a description's named contrast means as a [`Contrast`], with its reading.
fn named_contrast(named: Named) -> (Contrast, &'static str) {
    match named {
        Named::Stir => (Contrast::Stir, "STIR"),
        Named::T2FatSat => (Contrast::T2FatSat, "T2 fat-suppressed"),
        Named::T2 => (Contrast::T2, "T2"),
        Named::T1 => (Contrast::T1, "T1"),
        Named::T1FatSat => (Contrast::Other, "fat-suppressed T1"),
        Named::Flair => (Contrast::Other, "FLAIR"),
        Named::ProtonDensity => (Contrast::Other, "proton density"),
    }
}

/// Combines parameter physics and description.
fn weigh(facts: &Facts, physics: Option<Physics>, text: &SeriesText) -> (Contrast, f64, String) {
    let named = text.named();
    let described = named.as_ref().map(|(n, word)| {
        let (c, reading) = named_contrast(*n);
        (
            c,
            format!("description {} ('{word}' → {reading})", text.shown()),
        )
    });
    let Some(phys) = physics else {
        return match described {
            Some((c, d)) => (
                c,
                0.65,
                format!("{}parameters not decisive; {d}", facts.prefix()),
            ),
            None => (
                Contrast::Other,
                0.2,
                format!(
                    "{}no decisive parameters and {}",
                    facts.prefix(),
                    if text.is_empty() {
                        "no description".to_owned()
                    } else {
                        format!("description {} not recognised", text.shown())
                    }
                ),
            ),
        };
    };
    let Some((desc_contrast, desc)) = described else {
        let confidence = if phys.decisive { 0.85 } else { 0.5 };
        let note = if text.is_empty() {
            "no description"
        } else {
            "description names no contrast"
        };
        return (
            phys.contrast,
            confidence,
            format!("{}; {note}", phys.reason),
        );
    };
    // A plain T2 by parameters is compatible with a description naming its fat suppression
    // (many scanners record fat saturation only in the protocol name) and, when nothing
    // rules an inversion out, with a STIR (STIR is long-TR and vendors do not always
    // record TI).
    if phys.contrast == Contrast::T2 && !phys.fat_sat_known {
        if desc_contrast == Contrast::T2FatSat {
            return (
                Contrast::T2FatSat,
                0.9,
                format!("{}; {desc} adds the fat suppression", phys.reason),
            );
        }
        if desc_contrast == Contrast::Stir && !phys.inversion_ruled_out {
            return (
                Contrast::Stir,
                0.75,
                format!(
                    "{}; {desc}: no inversion recorded but none ruled out, taken as STIR",
                    phys.reason
                ),
            );
        }
    }
    if phys.contrast == Contrast::T2FatSat && desc_contrast == Contrast::T2 {
        return (
            Contrast::T2FatSat,
            0.9,
            format!("{}; {desc} agrees on T2", phys.reason),
        );
    }
    if phys.contrast == Contrast::T1 && named.as_ref().is_some_and(|(n, _)| *n == Named::T1FatSat) {
        return (
            Contrast::Other,
            0.7,
            format!("{}; but {desc}: fat dark, not the marrow T1", phys.reason),
        );
    }
    if let (Contrast::Stir, Some(ti)) = (desc_contrast, facts.ti_ms)
        && phys.contrast != Contrast::Stir
    {
        return (
            phys.contrast,
            0.5,
            format!(
                "{}; {desc}, but an inversion at TI {} ms does not null fat",
                phys.reason,
                ms(ti)
            ),
        );
    }
    match (desc_contrast == phys.contrast, phys.decisive) {
        (true, true) => (
            phys.contrast,
            0.95,
            format!("{}; {desc} agrees", phys.reason),
        ),
        (true, false) => (
            phys.contrast,
            0.8,
            format!("{}; {desc} agrees", phys.reason),
        ),
        (false, true) => (
            phys.contrast,
            0.6,
            format!(
                "{}; {desc} disagrees, but the parameters are physically decisive",
                phys.reason
            ),
        ),
        (false, false) => (
            desc_contrast,
            0.55,
            format!("{}; parameters not decisive, following {desc}", phys.reason),
        ),
    }
}
