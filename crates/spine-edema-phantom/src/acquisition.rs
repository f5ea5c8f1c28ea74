//! How the exam is acquired: scanner vendor and field, patient position, the slab of
//! every series (matrix, field of view, slices, obliquity), sequence timing, signal to
//! noise, coil sensitivity, and the vendor-style header words that go with each series.

use crate::Preset;
use crate::body::V3;
use crate::noise::Noise;
use crate::rng::Rng;
use crate::tissue::{Sequence, fat_null_ti_ms};
use nalgebra::{Isometry3, Rotation3, Translation3, UnitQuaternion};
use serde::{Deserialize, Serialize};
use spine_edema::Affine;

/// Scanner manufacturer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// GE Healthcare.
    Ge,
    /// Siemens Healthineers.
    Siemens,
    /// Philips.
    Philips,
}

/// What a series is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeriesRole {
    /// Sagittal T1 (spin echo / TSE).
    T1,
    /// Sagittal STIR.
    Stir,
    /// Sagittal T2 with fat saturation.
    T2FatSat,
    /// Sagittal T2 without fat suppression (a distractor for classification).
    T2,
    /// Axial T2 through one level (a distractor for plane detection).
    AxialT2,
}

/// Coil sensitivity (multiplicative bias) of one series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bias {
    /// LPS y of the posterior (table) coil plane.
    pub coil_y_mm: f64,
    pub falloff_mm: f64,
    pub strength: f64,
    pub z_period_mm: f64,
    pub z_phase: f64,
    pub z_amp: f64,
    pub noise: Noise,
    /// Extra fat left by imperfect spectral saturation per (100 mm off-centre)².
    pub fat_sat_spread: f64,
    pub iso_mm: V3,
}

impl Bias {
    /// Coil sensitivity at an LPS point (about 0.3…2).
    pub(crate) fn at(&self, p: &V3) -> f64 {
        let d = (self.coil_y_mm - p.y).max(0.0);
        // Posterior surface array, after the vendor's intensity normalisation
        // (Prescan Normalize / SCIC / CLEAR) has taken out most of the fall-off.
        let surface = 0.65 + self.strength * (-d / self.falloff_mm).exp();
        let along = 1.0
            + self.z_amp * (p.z / self.z_period_mm * std::f64::consts::TAU + self.z_phase).sin();
        let slow = 1.0 + 0.08 * f64::from(self.noise.at(p.x / 120.0, p.y / 120.0, p.z / 120.0));
        surface * along * slow
    }

    /// Fraction of the unsuppressed fat signal left at `p` by spatially varying fat-sat.
    pub(crate) fn fat_residual(&self, p: &V3) -> f64 {
        let r = (p - self.iso_mm).norm() / 100.0;
        (self.fat_sat_spread * r * r).min(0.6)
    }
}

/// Vendor header words of a series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeaderWords {
    /// SeriesDescription.
    pub series_description: String,
    /// ProtocolName.
    pub protocol_name: String,
    /// SequenceName (may be empty).
    pub sequence_name: String,
    /// ScanningSequence values.
    pub scanning_sequence: Vec<String>,
    /// SequenceVariant values.
    pub sequence_variant: Vec<String>,
    /// ScanOptions values (may be empty).
    pub scan_options: Vec<String>,
    /// ImageType values.
    pub image_type: Vec<String>,
}

/// One planned series.
#[derive(Clone, Debug)]
pub(crate) struct SeriesPlan {
    pub role: SeriesRole,
    pub series_number: u32,
    pub series_uid: String,
    pub words: HeaderWords,
    pub sequence: Sequence,
    pub tr_ms: f64,
    pub te_ms: f64,
    pub ti_ms: Option<f64>,
    pub echo_train: u32,
    pub flip_deg: f64,
    pub rows: usize,
    pub cols: usize,
    /// Distance between rows and between columns, mm (DICOM PixelSpacing order).
    pub pixel_mm: [f64; 2],
    pub thickness_mm: f64,
    pub spacing_mm: f64,
    pub n_slices: usize,
    pub row_dir: V3,
    pub col_dir: V3,
    pub normal: V3,
    pub centre: V3,
    /// Anatomy → LPS for this series (patient position, including motion).
    pub pose: Isometry3<f64>,
    pub snr: f64,
    pub bias: Bias,
    /// Stored value per unit of signal.
    pub gain: f64,
    pub rescale: Option<(f64, f64)>,
    pub bits_stored: u16,
    /// Instance numbers run against the slice normal.
    pub reverse_instances: bool,
}

impl SeriesPlan {
    /// ImagePositionPatient of slice `k` (centre of its first pixel).
    pub(crate) fn slice_origin(&self, k: usize) -> V3 {
        let off = (k as f64 - 0.5 * (self.n_slices as f64 - 1.0)) * self.spacing_mm;
        self.centre + self.normal * off
            - self.row_dir * (0.5 * (self.cols as f64 - 1.0) * self.pixel_mm[1])
            - self.col_dir * (0.5 * (self.rows as f64 - 1.0) * self.pixel_mm[0])
    }

    /// Index `[slice, row, column]` → LPS mm.
    pub(crate) fn affine(&self) -> Affine {
        Affine::from_steps(
            nalgebra::Point3::from(self.slice_origin(0)),
            [
                self.normal * self.spacing_mm,
                self.col_dir * self.pixel_mm[0],
                self.row_dir * self.pixel_mm[1],
            ],
        )
    }
}

/// Acquisition of one exam.
#[derive(Clone, Debug)]
pub(crate) struct ExamAcquisition {
    pub vendor: Vendor,
    pub field_t: f64,
    pub model_name: String,
    pub series: Vec<SeriesPlan>,
    /// Rigid motion of the patient between the T1 and the fluid series (anatomy frame):
    /// translation mm and rotation degrees about x, y, z.
    pub motion_mm: V3,
    pub motion_deg: V3,
}

/// Scanner choice (kept for most follow-ups, as in practice).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scanner {
    pub vendor: Vendor,
    pub field_t: f64,
}

pub(crate) fn scanner(rng: &mut Rng) -> Scanner {
    Scanner {
        vendor: rng.weighted(&[
            (Vendor::Ge, 1.0),
            (Vendor::Siemens, 1.0),
            (Vendor::Philips, 1.0),
        ]),
        field_t: rng.weighted(&[(1.0, 0.15), (1.5, 0.55), (3.0, 0.3)]),
    }
}

fn model_name(s: Scanner, rng: &mut Rng) -> String {
    let names: &[&str] = match (s.vendor, s.field_t) {
        (Vendor::Ge, f) if f >= 3.0 => &["DISCOVERY MR750", "SIGNA Premier", "SIGNA Architect"],
        (Vendor::Ge, f) if f <= 1.0 => &["SIGNA OpenSpeed"],
        (Vendor::Ge, _) => &["SIGNA HDxt", "SIGNA Explorer", "Optima MR450w"],
        (Vendor::Siemens, f) if f >= 3.0 => &["Skyra", "Prisma", "Verio"],
        (Vendor::Siemens, f) if f <= 1.0 => &["Harmony"],
        (Vendor::Siemens, _) => &["Avanto", "Aera", "Espree"],
        (Vendor::Philips, f) if f >= 3.0 => &["Achieva", "Ingenia"],
        (Vendor::Philips, f) if f <= 1.0 => &["Panorama HFO", "Intera"],
        (Vendor::Philips, _) => &["Achieva", "Ingenia", "Intera"],
    };
    names[rng.int(0, names.len() as i64 - 1) as usize].to_string()
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.int(0, items.len() as i64 - 1) as usize]
}

/// Vendor-style header words for a series.
fn words(vendor: Vendor, role: SeriesRole, preset: Preset, etl: u32, rng: &mut Rng) -> HeaderWords {
    let region = match (vendor, preset) {
        (Vendor::Ge, Preset::Lumbar) => "L-SPINE",
        (Vendor::Ge, Preset::Thoracolumbar) => "T-L SPINE",
        (Vendor::Ge, Preset::Thoracic) => "T-SPINE",
        (Vendor::Siemens, Preset::Thoracic) => "BWS",
        (Vendor::Siemens, _) => "LWS",
        (_, Preset::Thoracic) => "Thoracic spine",
        (_, _) => "Lumbar spine",
    };
    match vendor {
        Vendor::Ge => {
            let (desc, ss, opts): (&str, &[&str], &[&str]) = match role {
                SeriesRole::T1 => (
                    pick(rng, &["Sag T1", "SAG T1 FSE", "Sag T1 FSE"]),
                    &["SE"],
                    &["NPW", "FAST_GEMS", "EDR_GEMS"],
                ),
                SeriesRole::Stir => (
                    pick(rng, &["Sag STIR", "SAG STIR", "Sag IR FSE"]),
                    &["SE", "IR"],
                    &["IR_GEMS", "FAST_GEMS", "EDR_GEMS"],
                ),
                SeriesRole::T2FatSat => (
                    pick(rng, &["Sag T2 FS", "SAG T2 FSE FS", "Sag T2 FSE FatSat"]),
                    &["SE"],
                    &["FAST_GEMS", "FS", "EDR_GEMS"],
                ),
                SeriesRole::T2 => (
                    pick(rng, &["Sag T2", "SAG T2 FSE"]),
                    &["SE"],
                    &["FAST_GEMS", "EDR_GEMS"],
                ),
                SeriesRole::AxialT2 => (
                    pick(rng, &["Ax T2", "AX T2 FSE"]),
                    &["SE"],
                    &["FAST_GEMS", "EDR_GEMS"],
                ),
            };
            HeaderWords {
                series_description: desc.to_string(),
                protocol_name: format!("{region} ROUTINE"),
                sequence_name: if role == SeriesRole::Stir {
                    "fse-ir".into()
                } else {
                    "fse-xl".into()
                },
                scanning_sequence: strs(ss),
                sequence_variant: strs(&["SK", "OSP"]),
                scan_options: strs(opts),
                image_type: strs(&["ORIGINAL", "PRIMARY", "OTHER"]),
            }
        }
        Vendor::Siemens => {
            let (desc, name, ss, sv, opts): (&str, String, &[&str], &[&str], &[&str]) = match role {
                SeriesRole::T1 => (
                    pick(rng, &["t1_tse_sag", "t1_tse_sag_384", "T1 TSE SAG"]),
                    format!("*tse2d1_{etl}"),
                    &["SE"],
                    &["SK", "SP", "OSP"],
                    &[],
                ),
                SeriesRole::Stir => (
                    pick(rng, &["t2_tirm_sag", "t2_stir_sag", "tirm_sag"]),
                    format!("*tir2d1_{etl}"),
                    &["SE", "IR"],
                    &["SK", "SP", "MP", "OSP"],
                    &["IR"],
                ),
                SeriesRole::T2FatSat => (
                    pick(rng, &["t2_tse_fs_sag", "t2_tse_sag_fs"]),
                    format!("*tse2d1_{etl}"),
                    &["SE"],
                    &["SK", "SP", "OSP"],
                    &["FS"],
                ),
                SeriesRole::T2 => (
                    "t2_tse_sag",
                    format!("*tse2d1_{etl}"),
                    &["SE"],
                    &["SK", "SP", "OSP"],
                    &[],
                ),
                SeriesRole::AxialT2 => (
                    "t2_tse_tra",
                    format!("*tse2d1_{etl}"),
                    &["SE"],
                    &["SK", "SP", "OSP"],
                    &[],
                ),
            };
            HeaderWords {
                series_description: desc.to_string(),
                protocol_name: desc.to_string(),
                sequence_name: name,
                scanning_sequence: strs(ss),
                sequence_variant: strs(sv),
                scan_options: strs(opts),
                image_type: strs(&["ORIGINAL", "PRIMARY", "M", "NORM", "DIS2D"]),
            }
        }
        Vendor::Philips => {
            let (desc, ss, opts, it): (&str, &[&str], &[&str], &[&str]) = match role {
                SeriesRole::T1 => (
                    pick(rng, &["sT1W_TSE", "T1W_TSE SAG", "SAG T1"]),
                    &["SE"],
                    &[],
                    &["ORIGINAL", "PRIMARY", "M_SE", "M", "SE"],
                ),
                SeriesRole::Stir => (
                    pick(rng, &["sSTIR", "STIR SAG", "sT2W_STIR"]),
                    &["IR"],
                    &[],
                    &["ORIGINAL", "PRIMARY", "M_IR", "M", "IR"],
                ),
                SeriesRole::T2FatSat => (
                    pick(rng, &["sT2W_TSE_SPAIR", "T2W_SPAIR SAG"]),
                    &["SE"],
                    &["FS"],
                    &["ORIGINAL", "PRIMARY", "M_SE", "M", "SE"],
                ),
                SeriesRole::T2 => (
                    pick(rng, &["sT2W_TSE", "T2W_TSE SAG"]),
                    &["SE"],
                    &[],
                    &["ORIGINAL", "PRIMARY", "M_SE", "M", "SE"],
                ),
                SeriesRole::AxialT2 => (
                    "T2W_TSE TRA",
                    &["SE"],
                    &[],
                    &["ORIGINAL", "PRIMARY", "M_SE", "M", "SE"],
                ),
            };
            HeaderWords {
                series_description: desc.to_string(),
                protocol_name: format!("WIP {desc} CLEAR"),
                sequence_name: if rng.chance(0.5) {
                    String::new()
                } else {
                    "TSE".into()
                },
                scanning_sequence: strs(ss),
                sequence_variant: strs(&["SK"]),
                scan_options: strs(opts),
                image_type: strs(it),
            }
        }
    }
}

fn rotation_deg(deg: V3) -> Rotation3<f64> {
    Rotation3::from_euler_angles(deg.x.to_radians(), deg.y.to_radians(), deg.z.to_radians())
}

/// Sequence timing for a role at a field strength.
fn timing(role: SeriesRole, field_t: f64, rng: &mut Rng) -> (Sequence, f64, f64, Option<f64>, u32) {
    match role {
        SeriesRole::T1 => {
            let tr = if field_t >= 3.0 {
                rng.uniform(550.0, 800.0)
            } else {
                rng.uniform(400.0, 650.0)
            }
            .round();
            let te = rng.uniform(7.0, 15.0).round();
            (
                Sequence::SpinEcho {
                    tr_ms: tr,
                    te_ms: te,
                    fat_sat: 0.0,
                },
                tr,
                te,
                None,
                rng.int(2, 5) as u32,
            )
        }
        SeriesRole::Stir => {
            let tr = rng.uniform(2500.0, 5500.0).round();
            let te = rng.uniform(30.0, 70.0).round();
            // Scanners use a default TI a little off the true null of this patient's fat.
            let ti = (fat_null_ti_ms(tr, field_t) * rng.uniform(0.95, 1.06)).round();
            (
                Sequence::Stir {
                    tr_ms: tr,
                    te_ms: te,
                    ti_ms: ti,
                },
                tr,
                te,
                Some(ti),
                rng.int(9, 17) as u32,
            )
        }
        SeriesRole::T2FatSat | SeriesRole::T2 | SeriesRole::AxialT2 => {
            let tr = rng.uniform(2500.0, 4500.0).round();
            let te = rng.uniform(80.0, 115.0).round();
            let fs = if role == SeriesRole::T2FatSat {
                rng.uniform(0.88, 0.97)
            } else {
                0.0
            };
            (
                Sequence::SpinEcho {
                    tr_ms: tr,
                    te_ms: te,
                    fat_sat: fs,
                },
                tr,
                te,
                None,
                rng.int(12, 24) as u32,
            )
        }
    }
}

/// Slab geometry drawn for a sagittal series.
struct Slab {
    fov_mm: f64,
    matrix: usize,
    thickness_mm: f64,
    spacing_mm: f64,
    n_slices: usize,
    rot: Rotation3<f64>,
    centre_anatomy: V3,
}

/// Geometry a caller forces on the sagittal series instead of drawing it (benchmarks need
/// exact sizes). Applied after the draws, so the random stream and every other property
/// of a seed stay the same.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SlabOverrides {
    /// Matrix (rows = columns) of every sagittal series.
    pub matrix: Option<usize>,
    /// Matrix of the fluid-sensitive series (STIR, T2 fat-sat), over `matrix`.
    pub fluid_matrix: Option<usize>,
    /// Number of slices of every sagittal series.
    pub slices: Option<usize>,
}

fn sagittal_slab(preset: Preset, forced: SlabOverrides, rng: &mut Rng) -> Slab {
    let fov_mm = match preset {
        Preset::Lumbar => rng.uniform(260.0, 340.0),
        Preset::Thoracolumbar => rng.uniform(360.0, 380.0),
        Preset::Thoracic => rng.uniform(320.0, 380.0),
    }
    .round();
    let matrix = forced.matrix.unwrap_or_else(|| {
        rng.weighted(&[
            (256usize, 1.0),
            (320, 1.0),
            (384, 1.0),
            (448, 0.5),
            (512, 1.0),
        ])
    });
    let thickness_mm = rng.weighted(&[(3.0, 0.5), (3.5, 0.5), (4.0, 1.0), (4.5, 0.5), (5.0, 0.6)]);
    let gap = rng.weighted(&[(0.0, 0.25), (0.1, 0.4), (0.2, 0.25), (0.3, 0.1)]);
    let spacing_mm = ((thickness_mm * (1.0 + gap)) * 10.0f64).round() / 10.0;
    // Enough slices to cover the bodies and pedicles (48–70 mm), within 11–17.
    let drawn_slices = ((rng.uniform(48.0, 70.0) / spacing_mm).ceil() as usize).clamp(11, 17);
    let n_slices = forced.slices.unwrap_or(drawn_slices);
    let oblique = rng.chance(0.7);
    let deg = if oblique {
        V3::new(
            rng.uniform(-8.0, 8.0),
            rng.uniform(-5.0, 5.0),
            rng.uniform(-8.0, 8.0),
        )
    } else {
        V3::zeros()
    };
    Slab {
        fov_mm,
        matrix,
        thickness_mm,
        spacing_mm,
        n_slices,
        rot: rotation_deg(deg),
        centre_anatomy: V3::new(
            rng.uniform(-4.0, 4.0),
            rng.uniform(0.0, 25.0),
            rng.uniform(-20.0, 20.0),
        ),
    }
}

/// Plans the series of one exam.
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan_exam(
    rng: &mut Rng,
    preset: Preset,
    scanner: Scanner,
    forced: SlabOverrides,
    axial_centre: (V3, V3),
    uid: &mut dyn FnMut() -> String,
) -> ExamAcquisition {
    let Scanner { vendor, field_t } = scanner;
    let model = model_name(scanner, rng);
    let pose_rot = rotation_deg(V3::new(
        rng.uniform(-2.5, 2.5),
        rng.uniform(-2.5, 2.5),
        rng.uniform(-2.5, 2.5),
    ));
    let pose = Isometry3::from_parts(
        Translation3::new(
            rng.uniform(-10.0, 10.0),
            rng.uniform(-15.0, 15.0),
            rng.uniform(-40.0, 40.0),
        ),
        UnitQuaternion::from_rotation_matrix(&pose_rot),
    );
    // Patient motion between series: at most 2 mm and 2° in total (±1.1 per axis).
    let motion_mm = V3::new(
        rng.uniform(-1.1, 1.1),
        rng.uniform(-1.1, 1.1),
        rng.uniform(-1.1, 1.1),
    );
    let motion_deg = V3::new(
        rng.uniform(-1.1, 1.1),
        rng.uniform(-1.1, 1.1),
        rng.uniform(-1.1, 1.1),
    );
    let moved = pose
        * Isometry3::from_parts(
            Translation3::from(motion_mm),
            UnitQuaternion::from_rotation_matrix(&rotation_deg(motion_deg)),
        );
    let t1_slab = sagittal_slab(preset, forced, rng);
    let fluid_role = if rng.chance(0.7) {
        SeriesRole::Stir
    } else {
        SeriesRole::T2FatSat
    };
    let mut roles = vec![(SeriesRole::T1, pose), (fluid_role, moved)];
    if rng.chance(0.15) {
        roles.push((
            if fluid_role == SeriesRole::Stir {
                SeriesRole::T2FatSat
            } else {
                SeriesRole::Stir
            },
            moved,
        ));
    }
    if rng.chance(0.35) {
        roles.push((SeriesRole::T2, moved));
    }
    if rng.chance(0.3) {
        roles.push((SeriesRole::AxialT2, moved));
    }
    let mut series = Vec::new();
    let bias_noise_seed = rng.next_u64();
    let coil_y = pose
        .transform_point(&nalgebra::Point3::new(0.0, 80.0, 0.0))
        .y;
    let first_number = rng.int(2, 4) as u32;
    for (number, (role, role_pose)) in (first_number..).zip(roles) {
        let (sequence, tr, te, ti, etl) = timing(role, field_t, rng);
        let words = words(vendor, role, preset, etl, rng);
        let same_geometry =
            role != SeriesRole::AxialT2 && (role == SeriesRole::T1 || rng.chance(0.65));
        let drawn = sagittal_slab(preset, forced, rng);
        let slab = if same_geometry {
            Slab {
                matrix: if role == SeriesRole::T1 || rng.chance(0.5) {
                    t1_slab.matrix
                } else {
                    drawn.matrix
                },
                rot: t1_slab.rot,
                centre_anatomy: t1_slab.centre_anatomy,
                fov_mm: t1_slab.fov_mm,
                thickness_mm: t1_slab.thickness_mm,
                spacing_mm: t1_slab.spacing_mm,
                n_slices: t1_slab.n_slices,
            }
        } else {
            drawn
        };
        let (row_dir, col_dir, normal, centre, fov, n_slices, thickness, spacing, mat) =
            if role == SeriesRole::AxialT2 {
                let (c, up) = axial_centre;
                let n = pose.rotation * up;
                let row = (V3::x() - n * V3::x().dot(&n)).normalize();
                let col = n.cross(&row);
                let centre = pose.transform_point(&nalgebra::Point3::from(c)).coords;
                (
                    row,
                    col,
                    n,
                    centre,
                    200.0,
                    rng.int(5, 9) as usize,
                    4.0,
                    4.4,
                    forced.matrix.unwrap_or(256).min(320),
                )
            } else {
                // Technologists plan on the patient as lying in the scanner.
                let rot = pose.rotation.to_rotation_matrix() * slab.rot;
                let row = rot * V3::y();
                let col = rot * -V3::z();
                let normal = row.cross(&col);
                let centre = pose
                    .transform_point(&nalgebra::Point3::from(slab.centre_anatomy))
                    .coords;
                (
                    row,
                    col,
                    normal,
                    centre,
                    slab.fov_mm,
                    slab.n_slices,
                    slab.thickness_mm,
                    slab.spacing_mm,
                    match (role, forced.fluid_matrix) {
                        (SeriesRole::Stir | SeriesRole::T2FatSat, Some(m)) => m,
                        _ => slab.matrix,
                    },
                )
            };
        let pixel = fov / mat as f64;
        let voxel_ratio = (pixel * pixel * thickness) / (0.9 * 0.9 * 4.0);
        let field_gain = match field_t {
            f if f >= 3.0 => 1.7,
            f if f <= 1.0 => 0.7,
            _ => 1.0,
        };
        let base_snr = match role {
            SeriesRole::T1 => rng.uniform(22.0, 40.0),
            SeriesRole::Stir => rng.uniform(14.0, 26.0),
            _ => rng.uniform(16.0, 30.0),
        };
        let snr = (base_snr * field_gain * voxel_ratio.powf(0.6)).clamp(7.0, 90.0);
        let bias = Bias {
            coil_y_mm: coil_y,
            falloff_mm: rng.uniform(80.0, 160.0),
            strength: rng.uniform(0.25, 0.9),
            z_period_mm: rng.uniform(250.0, 450.0),
            z_phase: rng.uniform(0.0, std::f64::consts::TAU),
            z_amp: rng.uniform(0.03, 0.15),
            noise: Noise::new(bias_noise_seed ^ u64::from(number)),
            fat_sat_spread: if role == SeriesRole::T2FatSat {
                rng.uniform(0.02, 0.12)
            } else {
                0.0
            },
            iso_mm: centre,
        };
        let (rescale, bits_stored, target_max) = match vendor {
            Vendor::Philips => (
                Some((rng.uniform(1.2, 3.5), 0.0)),
                12u16,
                rng.uniform(1500.0, 3500.0),
            ),
            Vendor::Ge => (None, 16, rng.uniform(1200.0, 3000.0)),
            Vendor::Siemens => (
                if rng.chance(0.2) {
                    Some((1.0, 0.0))
                } else {
                    None
                },
                12,
                rng.uniform(600.0, 1600.0),
            ),
        };
        series.push(SeriesPlan {
            role,
            series_number: number,
            series_uid: uid(),
            words,
            sequence,
            tr_ms: tr,
            te_ms: te,
            ti_ms: ti,
            echo_train: etl,
            flip_deg: if vendor == Vendor::Siemens {
                150.0
            } else {
                90.0
            },
            rows: mat,
            cols: mat,
            pixel_mm: [pixel, pixel],
            thickness_mm: thickness,
            spacing_mm: spacing,
            n_slices,
            row_dir,
            col_dir,
            normal,
            centre,
            pose: role_pose,
            snr,
            bias,
            gain: target_max,
            rescale,
            bits_stored,
            reverse_instances: rng.chance(0.4),
        });
    }
    ExamAcquisition {
        vendor,
        field_t,
        model_name: model,
        series,
        motion_mm,
        motion_deg,
    }
}
