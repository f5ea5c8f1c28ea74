//! Series classification: plane from ImageOrientationPatient, contrast from sequence
//! parameters and descriptions, each with the reason a reader can check; then the choice,
//! per study, of the sagittal T1 and the fluid-sensitive series the scoring reads.
//! Rules and their evidence: `docs/classification.md`.

mod choose;
mod classify;
mod text;

pub use choose::{Candidate, SeriesChoice, SeriesOverride, choose_series};
pub use classify::{Classification, classify, plane_of};

use serde::{Deserialize, Serialize};
use std::fmt;

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

impl fmt::Display for Plane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Plane::Sagittal => "sagittal",
            Plane::Axial => "axial",
            Plane::Coronal => "coronal",
            Plane::Oblique => "oblique",
        })
    }
}

impl fmt::Display for Contrast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Contrast::T1 => "T1",
            Contrast::Stir => "STIR",
            Contrast::T2FatSat => "T2 fat-suppressed",
            Contrast::T2 => "T2",
            Contrast::DixonWater => "Dixon water",
            Contrast::DixonFat => "Dixon fat",
            Contrast::Other => "other",
        })
    }
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

/// The header facts classification reads, copied out of one representative instance of a
/// series by ingest. Plain data, so classification is a pure function that tests can
/// drive with vendor examples without writing DICOM.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AcquisitionParams {
    /// SeriesDescription (0008,103E).
    pub series_description: Option<String>,
    /// ProtocolName (0018,1030).
    pub protocol_name: Option<String>,
    /// SequenceName (0018,0024), e.g. Siemens `*tir2d1_13`.
    pub sequence_name: Option<String>,
    /// Manufacturer (0008,0070).
    pub manufacturer: Option<String>,
    /// MagneticFieldStrength (0018,0087), tesla.
    pub field_strength_t: Option<f64>,
    /// RepetitionTime (0018,0080), ms.
    pub repetition_time_ms: Option<f64>,
    /// EchoTime (0018,0081), ms.
    pub echo_time_ms: Option<f64>,
    /// InversionTime (0018,0082), ms.
    pub inversion_time_ms: Option<f64>,
    /// EchoTrainLength (0018,0091).
    pub echo_train_length: Option<f64>,
    /// FlipAngle (0018,1314), degrees.
    pub flip_angle_deg: Option<f64>,
    /// ScanningSequence (0018,0020) values: SE, IR, GR, EP, RM.
    pub scanning_sequence: Vec<String>,
    /// SequenceVariant (0018,0021) values: SK, MTC, SS, TRSS, SP, MP, OSP, NONE.
    pub sequence_variant: Vec<String>,
    /// ScanOptions (0018,0022) values: FS, IR, SAT_FAT/FAT_SAT variants, …
    pub scan_options: Vec<String>,
    /// ImageType (0008,0008) values, e.g. ORIGINAL, PRIMARY, M, WATER, FAT.
    pub image_type: Vec<String>,
    /// ImageOrientationPatient (0020,0037): row then column direction cosines (LPS).
    pub orientation: Option<[f64; 6]>,
    /// Enhanced MR: MRAcquisitionType / ContrastBolusAgent etc. are not read;
    /// ContrastBolusAgent (0018,0010) present means post-contrast.
    pub contrast_agent: Option<String>,
}
