//! Series classification: plane from ImageOrientationPatient, contrast from sequence
//! parameters and descriptions, each with the reason a reader can check.
//! Rules and their evidence: `docs/ingest.md`.

use serde::{Deserialize, Serialize};

/// Acquisition plane, from the slice normal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    /// Normal within 30° of the patient's left–right axis.
    Sagittal,
    /// Normal within 30° of the head–foot axis.
    Axial,
    /// Normal within 30° of the anterior–posterior axis.
    Coronal,
    /// None of the above.
    Oblique,
}

/// Image contrast, as far as the scoring cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Contrast {
    /// T1-weighted (spin echo or fast spin echo): fat bright, water dark.
    T1,
    /// Short-tau inversion recovery: fat suppressed, water bright.
    Stir,
    /// T2-weighted with fat saturation (spectral or SPAIR): water bright, fat dark.
    T2FatSat,
    /// T2-weighted without fat suppression: water and fat both bright.
    T2,
    /// Dixon water image: fat suppressed by chemical-shift separation.
    DixonWater,
    /// Dixon fat image.
    DixonFat,
    /// Anything else (localisers, diffusion, post-contrast, …).
    Other,
}

impl Contrast {
    /// True when the contrast shows marrow water bright against suppressed fat — what the
    /// edema definition of both reference studies needs on its "fluid" side.
    pub fn is_fluid_sensitive(self) -> bool {
        matches!(
            self,
            Contrast::Stir | Contrast::T2FatSat | Contrast::DixonWater
        )
    }
}
