//! Tissues, their relaxation parameters at 1.0 / 1.5 / 3 T, and the spin-echo signal
//! equations that turn them into T1, STIR and T2(-FS) intensities.
//!
//! Marrow and other fatty tissues are two-compartment (water + fat): a sample carries a
//! water tissue, a fat fraction and an edema fraction, and the signal is the
//! fraction-weighted sum of the compartments' signals. That is what makes fatty marrow
//! bright on T1 and dark on STIR and edematous marrow the reverse, without any per-image
//! intensity rule. Values and sources: `docs/phantom.md`.

/// A water compartment (or signal-free material). Fat is the separate compartment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Tissue {
    /// Air, bowel gas, outside the patient.
    Air,
    /// Pure fat compartment holder (subcutaneous, retroperitoneal, epidural fat).
    Fat,
    /// Skeletal muscle (paraspinal, psoas, abdominal wall).
    Muscle,
    /// Cerebrospinal fluid.
    Csf,
    /// Spinal cord and nerve roots.
    Cord,
    /// Healthy nucleus pulposus.
    Nucleus,
    /// Degenerated (desiccated) nucleus.
    NucleusDegenerated,
    /// Annulus fibrosus and the remnant discs of the sacrum.
    Annulus,
    /// Cortical bone.
    Cortex,
    /// PMMA bone cement.
    Cement,
    /// Ligament and tendon.
    Ligament,
    /// Fast arterial flow (aorta): flow void on spin echo.
    ArterialFlow,
    /// Slow venous flow (IVC, basivertebral plexus).
    VenousBlood,
    /// Fluid-filled bowel.
    BowelFluid,
    /// Solid bowel content / bowel wall.
    BowelContent,
    /// Lung parenchyma.
    Lung,
    /// Heart with moving blood.
    Heart,
    /// Liver.
    Liver,
    /// Skin.
    Skin,
    /// Water of normal haematopoietic marrow.
    MarrowWater,
    /// Water of edematous marrow.
    EdemaWater,
    /// Fibrous / granulation tissue of a peri-cement rim (water-like).
    RimWater,
    /// Fluid in an intravertebral cleft.
    CleftFluid,
    /// Vascular spaces of a haemangioma.
    HaemangiomaWater,
}

/// Number of [`Tissue`] variants (for lookup tables).
pub(crate) const N_TISSUES: usize = Tissue::HaemangiomaWater as usize + 1;

/// All tissues, in discriminant order.
pub(crate) const ALL_TISSUES: [Tissue; N_TISSUES] = [
    Tissue::Air,
    Tissue::Fat,
    Tissue::Muscle,
    Tissue::Csf,
    Tissue::Cord,
    Tissue::Nucleus,
    Tissue::NucleusDegenerated,
    Tissue::Annulus,
    Tissue::Cortex,
    Tissue::Cement,
    Tissue::Ligament,
    Tissue::ArterialFlow,
    Tissue::VenousBlood,
    Tissue::BowelFluid,
    Tissue::BowelContent,
    Tissue::Lung,
    Tissue::Heart,
    Tissue::Liver,
    Tissue::Skin,
    Tissue::MarrowWater,
    Tissue::EdemaWater,
    Tissue::RimWater,
    Tissue::CleftFluid,
    Tissue::HaemangiomaWater,
];

/// Proton density (relative to pure water) and T1/T2 in ms at 1.5 T and 3 T.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Relaxation {
    pd: f64,
    t1_15_ms: f64,
    t2_15_ms: f64,
    t1_3_ms: f64,
    t2_3_ms: f64,
}

const fn relax(pd: f64, t1_15_ms: f64, t2_15_ms: f64, t1_3_ms: f64, t2_3_ms: f64) -> Relaxation {
    Relaxation {
        pd,
        t1_15_ms,
        t2_15_ms,
        t1_3_ms,
        t2_3_ms,
    }
}

/// Fat compartment. Effective T1 chosen so that the STIR fat-null TI equals the vendors'
/// default TI (≈ 150 / 170 / 230 ms at 1.0 / 1.5 / 3 T); T2 long as seen on fast spin echo
/// (J-coupling decoupling keeps fat bright on TSE).
pub(crate) const FAT: Relaxation = relax(0.9, 250.0, 85.0, 330.0, 75.0);

impl Tissue {
    /// Relaxation parameters. Sources (rounded): muscle, liver, fat — de Bazelaire et al.,
    /// Radiology 2004 and Gold et al., AJR 2004; cord ≈ white matter and CSF — Stanisz et
    /// al., MRM 2005; disc — Marinelli et al. 2009 (T2 of nucleus); marrow water
    /// compartment chosen so that 50 % fat marrow has an apparent T1 near the 550 ms
    /// de Bazelaire measured in lumbar marrow at 1.5 T.
    pub(crate) fn relaxation(self) -> Relaxation {
        match self {
            Tissue::Air => relax(0.0, 1000.0, 1.0, 1000.0, 1.0),
            Tissue::Fat => FAT,
            Tissue::Muscle => relax(0.75, 1008.0, 44.0, 1412.0, 50.0),
            Tissue::Csf => relax(1.0, 3700.0, 1800.0, 4300.0, 1500.0),
            Tissue::Cord => relax(0.72, 884.0, 72.0, 1084.0, 69.0),
            Tissue::Nucleus => relax(0.9, 1100.0, 120.0, 1300.0, 110.0),
            Tissue::NucleusDegenerated => relax(0.7, 900.0, 55.0, 1050.0, 50.0),
            Tissue::Annulus => relax(0.75, 850.0, 40.0, 1000.0, 35.0),
            Tissue::Cortex => relax(0.03, 1000.0, 1.0, 1200.0, 1.0),
            Tissue::Cement => relax(0.0, 1000.0, 1.0, 1000.0, 1.0),
            Tissue::Ligament => relax(0.25, 600.0, 15.0, 700.0, 12.0),
            Tissue::ArterialFlow => relax(0.04, 1450.0, 180.0, 1650.0, 150.0),
            Tissue::VenousBlood => relax(0.55, 1450.0, 180.0, 1650.0, 150.0),
            Tissue::BowelFluid => relax(0.95, 3000.0, 600.0, 3300.0, 500.0),
            Tissue::BowelContent => relax(0.7, 900.0, 80.0, 1100.0, 70.0),
            Tissue::Lung => relax(0.06, 1200.0, 30.0, 1300.0, 25.0),
            Tissue::Heart => relax(0.3, 1500.0, 200.0, 1700.0, 170.0),
            Tissue::Liver => relax(0.75, 586.0, 46.0, 809.0, 34.0),
            Tissue::Skin => relax(0.6, 600.0, 30.0, 700.0, 28.0),
            Tissue::MarrowWater => relax(0.8, 1000.0, 45.0, 1200.0, 40.0),
            Tissue::EdemaWater => relax(0.95, 1300.0, 95.0, 1600.0, 85.0),
            Tissue::RimWater => relax(0.9, 1400.0, 110.0, 1700.0, 95.0),
            Tissue::CleftFluid => relax(0.95, 3000.0, 800.0, 3400.0, 700.0),
            Tissue::HaemangiomaWater => relax(0.9, 1400.0, 200.0, 1700.0, 170.0),
        }
    }
}

impl Relaxation {
    /// `(PD, T1 ms, T2 ms)` at field strength `b0_t`. 1.0 T is extrapolated from 1.5 T with
    /// the usual T1 ∝ B0^0.3 dispersion of soft tissue (Bottomley et al., Med Phys 1984),
    /// weaker (B0^0.2) for fat; intermediate fields interpolate linearly.
    pub(crate) fn at_field(&self, b0_t: f64, is_fat: bool) -> (f64, f64, f64) {
        if b0_t <= 1.5 {
            let exponent = if is_fat { 0.2 } else { 0.3 };
            let f = (b0_t.max(0.2) / 1.5).powf(exponent);
            (self.pd, self.t1_15_ms * f, self.t2_15_ms * (2.0 - f))
        } else {
            let t = ((b0_t - 1.5) / 1.5).min(1.0);
            (
                self.pd,
                self.t1_15_ms + t * (self.t1_3_ms - self.t1_15_ms),
                self.t2_15_ms + t * (self.t2_3_ms - self.t2_15_ms),
            )
        }
    }
}

/// The pulse sequence of a series, with its timing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Sequence {
    /// Spin echo / turbo spin echo.
    SpinEcho {
        /// Repetition time, ms.
        tr_ms: f64,
        /// Echo time, ms.
        te_ms: f64,
        /// Fraction of the fat signal removed by spectral fat saturation (0 = none).
        fat_sat: f64,
    },
    /// Short-tau inversion recovery (magnitude).
    Stir {
        /// Repetition time, ms.
        tr_ms: f64,
        /// Echo time, ms.
        te_ms: f64,
        /// Inversion time, ms.
        ti_ms: f64,
    },
}

impl Sequence {
    /// Signal of one compartment with the given PD, T1, T2.
    pub(crate) fn signal(&self, pd: f64, t1_ms: f64, t2_ms: f64) -> f64 {
        match *self {
            Sequence::SpinEcho { tr_ms, te_ms, .. } => {
                pd * (1.0 - (-tr_ms / t1_ms).exp()) * (-te_ms / t2_ms).exp()
            }
            Sequence::Stir {
                tr_ms,
                te_ms,
                ti_ms,
            } => {
                pd * (1.0 - 2.0 * (-ti_ms / t1_ms).exp() + (-tr_ms / t1_ms).exp()).abs()
                    * (-te_ms / t2_ms).exp()
            }
        }
    }
}

/// The inversion time that nulls fat for a STIR with repetition time `tr_ms` at `b0_t`.
pub(crate) fn fat_null_ti_ms(tr_ms: f64, b0_t: f64) -> f64 {
    let (_, t1, _) = FAT.at_field(b0_t, true);
    t1 * (2.0 / (1.0 + (-tr_ms / t1).exp())).ln()
}

/// Per-series signal lookup: the water signal of every tissue and the fat signal.
#[derive(Clone, Debug)]
pub(crate) struct SignalTable {
    water: [f32; N_TISSUES],
    fat: f32,
}

impl SignalTable {
    /// Evaluates the signal equation for every tissue.
    pub(crate) fn new(sequence: &Sequence, b0_t: f64) -> Self {
        let mut water = [0.0f32; N_TISSUES];
        for (slot, tissue) in water.iter_mut().zip(ALL_TISSUES) {
            let (pd, t1, t2) = tissue.relaxation().at_field(b0_t, false);
            *slot = sequence.signal(pd, t1, t2) as f32;
        }
        let (pd, t1, t2) = FAT.at_field(b0_t, true);
        let mut fat = sequence.signal(pd, t1, t2);
        if let Sequence::SpinEcho { fat_sat, .. } = sequence {
            fat *= 1.0 - fat_sat;
        }
        // The "Fat" tissue is all fat compartment: its water slot must not add signal.
        water[Tissue::Fat as usize] = 0.0;
        SignalTable {
            water,
            fat: fat as f32,
        }
    }

    /// Signal of a water tissue.
    pub(crate) fn water(&self, tissue: Tissue) -> f32 {
        self.water[tissue as usize]
    }

    /// Signal of the fat compartment.
    pub(crate) fn fat(&self) -> f32 {
        self.fat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marrow(table: &SignalTable, fat: f32, edema: f32) -> f32 {
        let water = (1.0 - edema) * table.water(Tissue::MarrowWater)
            + edema * table.water(Tissue::EdemaWater);
        (1.0 - fat) * water + fat * table.fat()
    }

    #[test]
    fn contrasts_behave_like_real_mri_at_every_field() {
        for b0 in [1.0, 1.5, 3.0] {
            let t1 = SignalTable::new(
                &Sequence::SpinEcho {
                    tr_ms: 500.0,
                    te_ms: 12.0,
                    fat_sat: 0.0,
                },
                b0,
            );
            let ti = fat_null_ti_ms(3500.0, b0);
            let stir = SignalTable::new(
                &Sequence::Stir {
                    tr_ms: 3500.0,
                    te_ms: 50.0,
                    ti_ms: ti,
                },
                b0,
            );
            let fatty = marrow(&t1, 0.6, 0.0);
            let edema = marrow(&t1, 0.6 * 0.15, 1.0);
            assert!(
                fatty > 1.5 * edema,
                "T1 at {b0} T: fatty {fatty} edema {edema}"
            );
            assert!(t1.water(Tissue::Csf) < t1.water(Tissue::Muscle));
            let fatty_s = marrow(&stir, 0.6, 0.0);
            let edema_s = marrow(&stir, 0.6 * 0.15, 1.0);
            assert!(
                edema_s > 2.0 * fatty_s,
                "STIR at {b0} T: {edema_s} vs {fatty_s}"
            );
            assert!(stir.fat() < 0.01, "fat not nulled at {b0} T");
            assert!(stir.water(Tissue::Csf) > stir.water(Tissue::Muscle));
            assert!(t1.water(Tissue::Cement) == 0.0 && stir.water(Tissue::Cement) == 0.0);
            assert!((100.0..260.0).contains(&ti), "TI {ti}");
        }
    }
}
