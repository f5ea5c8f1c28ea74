//! What a series' free text (SeriesDescription, ProtocolName) says about its contrast.
//!
//! Descriptions are typed by technologists and vendors' protocol trees, so they are
//! evidence, not truth: classification weighs them against the sequence parameters.
//! The vendor vocabulary matched here is tabulated in `docs/classification.md`.

use super::AcquisitionParams;

/// What a description names, when it names something classification cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Named {
    /// Short-tau inversion recovery (STIR, Siemens TIRM).
    Stir,
    /// T2 with fat suppression (FS, fat sat, SPAIR, SPIR).
    T2FatSat,
    /// T2 without a fat-suppression word.
    T2,
    /// T1 (including T1 FLAIR).
    T1,
    /// T1 with fat suppression: fat dark, so not the marrow T1.
    T1FatSat,
    /// Fluid-attenuated inversion recovery without "T1": a dark-fluid T2.
    Flair,
    /// Proton-density weighting.
    ProtonDensity,
}

/// Which Dixon output image a series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DixonImage {
    /// Water-only image.
    Water,
    /// Fat-only image.
    Fat,
    /// In-phase, opposed-phase or a fraction map.
    Other,
}

/// Lower-cased description and protocol name, split into tokens.
pub(super) struct SeriesText {
    /// Description and protocol name as written, for reasons.
    shown: String,
    /// Lower-cased description and protocol name joined by a space.
    raw: String,
    /// `raw` split at every character that is neither a letter nor a digit.
    tokens: Vec<String>,
}

/// Words that name a localiser / scout.
const LOCALIZER_TOKENS: &[&str] = &[
    "loc",
    "localizer",
    "localiser",
    "scout",
    "survey",
    "pilot",
    "tripilot",
    "aahead",
    "aascout",
    "3pl",
    "3plane",
];
/// Phrases that name a localiser across token boundaries.
const LOCALIZER_PHRASES: &[&str] = &["3-plane", "3 plane", "tri-pilot", "three plane"];
/// Words that name diffusion-weighted or echo-planar series.
const DIFFUSION_TOKENS: &[&str] = &[
    "dwi",
    "diff",
    "diffusion",
    "adc",
    "trace",
    "tracew",
    "dti",
    "tensor",
    "ivim",
    "resolve",
    "ep2d",
    "epi",
];
/// Words that mark a post-contrast acquisition.
const POST_CONTRAST_TOKENS: &[&str] = &[
    "gad",
    "gd",
    "gado",
    "gadolinium",
    "post",
    "postcontrast",
    "postgad",
    "contrast",
    "kontrast",
    "km",
];
/// Phrases that mark a post-contrast acquisition across token boundaries.
const POST_CONTRAST_PHRASES: &[&str] = &["+c", "c+", "+ c", "+gd", "+ gd", "+km", "w/ c", "w/c"];
/// Words for spectral / SPAIR / SPIR fat suppression.
const FAT_SAT_TOKENS: &[&str] = &[
    "fs", "fsat", "fatsat", "fatsup", "fsup", "spair", "spir", "chess", "sfs", "fsfrfse", "fsfse",
];
/// Phrases for fat suppression across token boundaries.
const FAT_SAT_PHRASES: &[&str] = &[
    "fat sat", "fat_sat", "fat-sat", "fat sup", "fat-sup", "spair",
];
/// Words for STIR: GE/Philips "STIR", Siemens "TIRM" (turbo inversion recovery magnitude).
const STIR_TOKENS: &[&str] = &["stir", "tirm", "tir", "stirlongte", "stir2d"];
/// Words that name a Dixon reconstruction (GE's version is IDEAL / FLEX).
const DIXON_TOKENS: &[&str] = &["dixon", "mdixon", "ideal", "flex"];
/// Dixon water-image words (Philips "W", Siemens "_W", GE "WATER").
const WATER_TOKENS: &[&str] = &["w", "water", "wat", "wateronly"];
/// Dixon fat-image words.
const FAT_TOKENS: &[&str] = &["f", "fat", "fatonly"];
/// Dixon in-/opposed-phase and fraction words.
const PHASE_TOKENS: &[&str] = &[
    "ip", "op", "in", "opp", "inphase", "outphase", "oop", "ff", "fraction",
];
/// Phrases that name fluid-attenuated IR; Siemens calls its FLAIR "tirm … dark-fluid",
/// so these must be tested before the STIR words.
const FLAIR_PHRASES: &[&str] = &["flair", "dark-fluid", "dark fluid", "darkfluid"];
/// Proton-density words.
const PD_TOKENS: &[&str] = &["pd", "pdw", "pdfs", "dp"];

impl SeriesText {
    /// Collects the description and protocol name of `params`.
    pub(super) fn new(params: &AcquisitionParams) -> Self {
        let mut parts: Vec<&str> = Vec::new();
        for text in [&params.series_description, &params.protocol_name]
            .into_iter()
            .flatten()
        {
            let trimmed = text.trim();
            if !trimmed.is_empty() && !parts.iter().any(|p| p.eq_ignore_ascii_case(trimmed)) {
                parts.push(trimmed);
            }
        }
        let shown = parts
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(" / ");
        let raw = parts.join(" ").to_lowercase();
        let tokens = raw
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        SeriesText { shown, raw, tokens }
    }

    /// True when there is no description or protocol name.
    pub(super) fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The description (and protocol name when different), quoted, for reasons.
    pub(super) fn shown(&self) -> &str {
        &self.shown
    }

    fn token(&self, words: &[&str]) -> Option<&str> {
        self.tokens
            .iter()
            .find(|t| words.contains(&t.as_str()))
            .map(String::as_str)
    }

    fn phrase(&self, phrases: &[&'static str]) -> Option<&'static str> {
        phrases.iter().copied().find(|p| self.raw.contains(p))
    }

    fn token_or_phrase(&self, words: &[&str], phrases: &[&'static str]) -> Option<String> {
        self.token(words)
            .map(str::to_owned)
            .or_else(|| self.phrase(phrases).map(str::to_owned))
    }

    /// The word that marks a localiser, if any.
    pub(super) fn localizer(&self) -> Option<String> {
        self.token_or_phrase(LOCALIZER_TOKENS, LOCALIZER_PHRASES)
    }

    /// The word that marks diffusion / EPI, if any.
    pub(super) fn diffusion(&self) -> Option<String> {
        self.token(DIFFUSION_TOKENS).map(str::to_owned)
    }

    /// The word that marks a post-contrast series, if any.
    pub(super) fn post_contrast(&self) -> Option<String> {
        self.token_or_phrase(POST_CONTRAST_TOKENS, POST_CONTRAST_PHRASES)
    }

    /// The fat-suppression word, if any (also `t2fs`-style glued suffixes).
    pub(super) fn fat_suppression(&self) -> Option<String> {
        self.token_or_phrase(FAT_SAT_TOKENS, FAT_SAT_PHRASES)
            .or_else(|| {
                self.tokens
                    .iter()
                    .find(|t| {
                        weighting_prefix(t).or_else(|| glued_weighting(t)).is_some()
                            && t.ends_with("fs")
                    })
                    .cloned()
            })
    }

    /// True when the text names a Dixon reconstruction.
    pub(super) fn names_dixon(&self) -> Option<String> {
        self.token(DIXON_TOKENS)
            .map(str::to_owned)
            .or_else(|| self.tokens.iter().find(|t| t.contains("dixon")).cloned())
    }

    /// Which Dixon image the text names, given that the series is known to be Dixon.
    pub(super) fn dixon_image(&self) -> Option<(DixonImage, String)> {
        if let Some(w) = self.token(WATER_TOKENS) {
            return Some((DixonImage::Water, w.to_owned()));
        }
        if let Some(w) = self.token(PHASE_TOKENS) {
            return Some((DixonImage::Other, w.to_owned()));
        }
        if let Some(w) = self.token(FAT_TOKENS) {
            return Some((DixonImage::Fat, w.to_owned()));
        }
        // Glued Siemens/Philips suffixes: "dixon_w" splits, but "dixonw" / "mdixonw" do not.
        self.tokens.iter().find_map(|t| {
            let stem = t.strip_prefix("m").unwrap_or(t);
            match stem {
                "dixonw" => Some((DixonImage::Water, t.clone())),
                "dixonf" => Some((DixonImage::Fat, t.clone())),
                _ => None,
            }
        })
    }

    /// The contrast the text names and the word that names it.
    pub(super) fn named(&self) -> Option<(Named, String)> {
        let weighting = self.weighting();
        if let Some(flair) = self.phrase(FLAIR_PHRASES) {
            return Some(match weighting {
                Some((1, w)) => (Named::T1, format!("{w} {flair}")),
                _ => (Named::Flair, flair.to_owned()),
            });
        }
        if let Some(w) = self.token(STIR_TOKENS) {
            return Some((Named::Stir, w.to_owned()));
        }
        if let Some(t) = self
            .tokens
            .iter()
            .find(|t| t.contains("stir") || t.contains("tirm"))
        {
            return Some((Named::Stir, t.clone()));
        }
        let fat_sat = self.fat_suppression();
        if let Some(pd) = self.token(PD_TOKENS) {
            return Some((Named::ProtonDensity, pd.to_owned()));
        }
        let both = |w: String, fs: String| if w == fs { w } else { format!("{w} + {fs}") };
        match (weighting, fat_sat) {
            (Some((2, w)), Some(fs)) => Some((Named::T2FatSat, both(w, fs))),
            (Some((2, w)), None) => Some((Named::T2, w)),
            (Some((1, w)), Some(fs)) => Some((Named::T1FatSat, both(w, fs))),
            (Some((1, w)), None) => Some((Named::T1, w)),
            // SPAIR / fat sat named alone is, on spine protocols, the fat-suppressed T2.
            (_, Some(fs)) => Some((Named::T2FatSat, fs)),
            _ => None,
        }
    }

    /// `(1, word)` or `(2, word)` when a token starts with "t1"/"t2" not followed by a
    /// digit ("T12" is a vertebral level, not a weighting).
    fn weighting(&self) -> Option<(u8, String)> {
        // Scan T2 first: "t1-t2 map" style mixtures are rare, and T2 words are the more
        // specific (a T1 protocol is never called "T2").
        for want in [2u8, 1u8] {
            if let Some(t) = self
                .tokens
                .iter()
                .find(|t| weighting_prefix(t) == Some(want))
            {
                return Some((want, t.clone()));
            }
            // Glued forms such as "sagt2fs" or "sagt1": the weighting inside a token.
            if let Some(t) = self
                .tokens
                .iter()
                .find(|t| glued_weighting(t) == Some(want))
            {
                return Some((want, t.clone()));
            }
        }
        None
    }
}

/// 1 or 2 when `token` starts with `t1` / `t2` and the next character is not a digit.
fn weighting_prefix(token: &str) -> Option<u8> {
    let b = token.as_bytes();
    if b.len() < 2 || b[0] != b't' || b.get(2).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    match b[1] {
        b'1' => Some(1),
        b'2' => Some(2),
        _ => None,
    }
}

/// 1 or 2 when `token` holds `t1` / `t2` after a plane prefix ("sagt2", "axt1fs").
fn glued_weighting(token: &str) -> Option<u8> {
    ["sag", "ax", "cor", "tra"]
        .iter()
        .find_map(|p| token.strip_prefix(p))
        .and_then(weighting_prefix)
}
