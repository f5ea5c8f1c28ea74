//! Synthetic sagittal exams with known truth for the scoring tests: elliptic-cylinder
//! bodies with a cortical shell along a (possibly tilted) straight spine, discs, a CSF
//! canal, air, a multiplicative bias ramp along z, Rician noise, and per-body edema bands,
//! cement spheres with rims, and cleft collections.
#![allow(dead_code)]

use nalgebra::{Point3, Vector3};
use ndarray::Array3;
use spine_edema::exam::{ExamImages, FluidImage};
use spine_edema::segment::{Segmentation, VertebralBody};
use spine_edema::series::Contrast;
use spine_edema::{Affine, Level, Volume};

/// Where a body's edema sits.
#[derive(Clone, Copy, Debug)]
pub enum EdemaSpec {
    None,
    /// The upper `fraction` of the local height (a sub-endplate band; 1.0 = whole body).
    UpperBand(f64),
    /// A sphere of this radius (mm) at the body centre.
    Sphere(f64),
}

#[derive(Clone, Debug)]
pub struct BodySpec {
    /// Endplate-to-endplate heights at the anterior margin, centre and posterior margin, mm.
    pub profile_mm: [f64; 3],
    pub edema: EdemaSpec,
    /// Cement sphere radius, mm.
    pub cement_radius_mm: Option<f64>,
    /// Rim thickness around the cement, mm (0 = none).
    pub rim_mm: f64,
    /// Cleft collection radius, mm.
    pub cleft_radius_mm: Option<f64>,
}

impl BodySpec {
    pub fn normal() -> Self {
        BodySpec {
            profile_mm: [26.0, 26.0, 26.0],
            edema: EdemaSpec::None,
            cement_radius_mm: None,
            rim_mm: 0.0,
            cleft_radius_mm: None,
        }
    }
    pub fn with_edema(mut self, e: EdemaSpec) -> Self {
        self.edema = e;
        self
    }
    pub fn with_profile(mut self, p: [f64; 3]) -> Self {
        self.profile_mm = p;
        self
    }
    pub fn with_cement(mut self, radius: f64, rim: f64) -> Self {
        self.cement_radius_mm = Some(radius);
        self.rim_mm = rim;
        self
    }
    pub fn with_cleft(mut self, radius: f64) -> Self {
        self.cleft_radius_mm = Some(radius);
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Series {
    T1Stir,
    T1T2Fs,
    StirOnly,
    T1Only,
    T2Only,
}

#[derive(Clone, Debug)]
pub struct ExamSpec {
    pub bodies: Vec<BodySpec>,
    /// Tilt of the spine from the z axis within the sagittal plane, degrees.
    pub tilt_deg: f64,
    /// Relative bias change per mm along z (multiplicative, shared by both series).
    pub bias_per_mm: f64,
    pub noise_sd: f64,
    pub seed: u64,
    /// Slice, row, column spacing, mm.
    pub spacing_mm: [f64; 3],
    pub series: Series,
    /// Level of the first (most cranial) body.
    pub first_level: Level,
    /// (T1, fluid) signal of edematous marrow.
    pub edema_signal: (f64, f64),
    /// Smallest grid (slices, rows, columns), to time realistic matrices.
    pub min_dims: [usize; 3],
}

impl ExamSpec {
    pub fn new(bodies: Vec<BodySpec>) -> Self {
        ExamSpec {
            bodies,
            tilt_deg: 0.0,
            bias_per_mm: 0.0,
            noise_sd: 20.0,
            seed: 1,
            spacing_mm: [3.5, 0.9, 0.9],
            series: Series::T1Stir,
            first_level: Level::T(10),
            edema_signal: EDEMA,
            min_dims: [0; 3],
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct BodyTruth {
    pub label: u16,
    pub bme_percent: f64,
    pub cement_percent: f64,
    pub heights_mm: [f64; 3],
    pub rim: bool,
    pub cleft: bool,
}

pub struct Synthetic {
    pub images: ExamImages,
    pub seg: Segmentation,
    pub truth: Vec<BodyTruth>,
}

/// Intensities (T1, fluid) per tissue.
const MARROW: (f64, f64) = (1000.0, 200.0);
const EDEMA: (f64, f64) = (450.0, 700.0);
const CORTEX: (f64, f64) = (120.0, 60.0);
const CEMENT: (f64, f64) = (15.0, 10.0);
const RIM: (f64, f64) = (420.0, 750.0);
const CLEFT: (f64, f64) = (300.0, 1500.0);
const DISC: (f64, f64) = (500.0, 550.0);
const CSF: (f64, f64) = (300.0, 1600.0);
const SOFT: (f64, f64) = (450.0, 300.0);
const AIR: (f64, f64) = (0.0, 0.0);

/// Body half-widths, mm.
const HALF_LR_MM: f64 = 21.0;
const HALF_AP_MM: f64 = 17.0;
const CORTEX_MM: f64 = 1.0;
const DISC_MM: f64 = 9.0;
/// Margin fraction used by the scoring defaults (anterior/posterior height positions).
pub const MARGIN: f64 = 0.10;

struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Local height at normalised AP position t (0 anterior … 1 posterior): the quadratic
/// through the three profile heights.
fn height_at(p: [f64; 3], t: f64) -> f64 {
    let l0 = 2.0 * (t - 0.5) * (t - 1.0);
    let l1 = -4.0 * t * (t - 1.0);
    let l2 = 2.0 * t * (t - 0.5);
    p[0] * l0 + p[1] * l1 + p[2] * l2
}

pub fn build(spec: &ExamSpec) -> Synthetic {
    let n_bodies = spec.bodies.len();
    let tilt = spec.tilt_deg.to_radians();
    // Spine direction (superior) and anterior direction in the sagittal (y, z) plane; LPS.
    let up = Vector3::new(0.0, tilt.sin(), tilt.cos());
    let ant = Vector3::new(0.0, -tilt.cos(), tilt.sin());
    let pitch: Vec<f64> = spec
        .bodies
        .iter()
        .map(|b| b.profile_mm[2].max(b.profile_mm[0]) + DISC_MM)
        .collect();
    let length: f64 = pitch.iter().sum::<f64>() + 30.0;
    let [ds, dr, dc] = spec.spacing_mm;
    let n0 = (((2.0 * HALF_LR_MM + 14.0) / ds).ceil() as usize).max(spec.min_dims[0]) | 1;
    let extent_z = length * tilt.cos() + 2.0 * HALF_AP_MM * tilt.sin().abs() + 20.0;
    let extent_y = length * tilt.sin().abs() + 2.0 * HALF_AP_MM + 60.0;
    let n1 = ((extent_z / dr).ceil() as usize).max(spec.min_dims[1]);
    let n2 = ((extent_y / dc).ceil() as usize).max(spec.min_dims[2]);
    let (extent_z, extent_y) = (n1 as f64 * dr, n2 as f64 * dc);
    // Axis 0: LR (+x), axis 1: rows going down (−z), axis 2: columns going posterior (+y).
    let origin = Point3::new(
        -(n0 as f64 - 1.0) / 2.0 * ds,
        -extent_y / 2.0,
        extent_z / 2.0,
    );
    let affine = Affine::from_steps(
        origin,
        [Vector3::x() * ds, -Vector3::z() * dr, Vector3::y() * dc],
    );
    // Body centres along the spine, cranial first, centred on the origin of patient space.
    let mut centres = Vec::new();
    let mut along = length / 2.0 - 15.0;
    for p in &pitch {
        along -= p / 2.0;
        centres.push(Point3::origin() + up * along);
        along -= p / 2.0;
    }
    let mut labels = Array3::<u16>::zeros((n0, n1, n2));
    let mut t1 = Array3::<f32>::zeros((n0, n1, n2));
    let mut fl = Array3::<f32>::zeros((n0, n1, n2));
    let mut counts = vec![[0usize; 5]; n_bodies]; // body, edema, cement, rim, cleft
    let mut rng = Rng(spec.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xABCD);
    for i in 0..n0 {
        for j in 0..n1 {
            for k in 0..n2 {
                let p = affine.index_to_mm([i as f64, j as f64, k as f64]);
                let mut tissue = SOFT;
                let mut label = 0u16;
                // Air in front of the abdomen wall (anterior 15 mm of the field).
                if (k as f64) * dc < 15.0 {
                    tissue = AIR;
                }
                // Canal: behind the bodies, 12 mm deep.
                let rel0 = p - Point3::origin();
                let a0 = rel0.dot(&ant);
                if (-HALF_AP_MM - 14.0..-HALF_AP_MM - 2.0).contains(&a0) && p.x.abs() < 8.0 {
                    tissue = CSF;
                }
                for (b, (spec_b, c)) in spec.bodies.iter().zip(&centres).enumerate() {
                    let rel = p - c;
                    let h = rel.dot(&up);
                    let a = rel.dot(&ant);
                    let l = p.x;
                    if h.abs() > pitch[b] / 2.0 {
                        continue;
                    }
                    let ell = (l / HALF_LR_MM).powi(2) + (a / HALF_AP_MM).powi(2);
                    if ell > 1.0 {
                        continue;
                    }
                    let t = (HALF_AP_MM - a) / (2.0 * HALF_AP_MM);
                    let hh = height_at(spec_b.profile_mm, t);
                    if h.abs() > hh / 2.0 {
                        if a.abs() < HALF_AP_MM && h.abs() <= pitch[b] / 2.0 {
                            tissue = DISC;
                        }
                        continue;
                    }
                    label = b as u16 + 1;
                    counts[b][0] += 1;
                    let inner = (l / (HALF_LR_MM - CORTEX_MM)).powi(2)
                        + (a / (HALF_AP_MM - CORTEX_MM)).powi(2)
                        <= 1.0
                        && h.abs() <= hh / 2.0 - CORTEX_MM;
                    let edema = match spec_b.edema {
                        EdemaSpec::None => false,
                        EdemaSpec::UpperBand(f) => (h + hh / 2.0) / hh > 1.0 - f,
                        EdemaSpec::Sphere(r) => rel.norm() <= r,
                    };
                    let r = rel.norm();
                    let cement = spec_b.cement_radius_mm.is_some_and(|rc| r <= rc);
                    let rim = spec_b
                        .cement_radius_mm
                        .is_some_and(|rc| r > rc && r <= rc + spec_b.rim_mm);
                    let cleft = spec_b.cleft_radius_mm.is_some_and(|rc| {
                        // A flat collection: rc in AP and LR, rc / 2 along the spine.
                        (a / rc).powi(2) + (l / rc).powi(2) + (h / (rc / 2.0)).powi(2) <= 1.0
                    });
                    tissue = if cement {
                        counts[b][2] += 1;
                        CEMENT
                    } else if rim {
                        counts[b][3] += 1;
                        RIM
                    } else if cleft {
                        counts[b][4] += 1;
                        CLEFT
                    } else if edema {
                        counts[b][1] += 1;
                        if inner { spec.edema_signal } else { CORTEX }
                    } else if inner {
                        MARROW
                    } else {
                        CORTEX
                    };
                }
                let bias = 1.0 + spec.bias_per_mm * p.z;
                let rician = |s: f64, rng: &mut Rng| {
                    let re = s * bias + spec.noise_sd * rng.gauss();
                    let im = spec.noise_sd * rng.gauss();
                    (re * re + im * im).sqrt() as f32
                };
                labels[[i, j, k]] = label;
                t1[[i, j, k]] = rician(tissue.0, &mut rng);
                fl[[i, j, k]] = rician(tissue.1, &mut rng);
            }
        }
    }
    let bodies: Vec<VertebralBody> = (0..n_bodies)
        .map(|b| VertebralBody {
            label: b as u16 + 1,
            level: spec.first_level.offset(b as i32),
            level_confidence: 1.0,
            centroid_mm: centres[b],
            volume_ml: counts[b][0] as f64 * ds * dr * dc / 1000.0,
            partial: false,
        })
        .collect();
    let truth = (0..n_bodies)
        .map(|b| {
            let s = &spec.bodies[b];
            let [body, edema, cement, rim, _cleft] = counts[b];
            let marrow = (body - cement) as f64;
            BodyTruth {
                label: b as u16 + 1,
                bme_percent: 100.0 * edema as f64 / marrow,
                cement_percent: 100.0 * cement as f64 / body as f64,
                heights_mm: [
                    height_at(s.profile_mm, MARGIN),
                    height_at(s.profile_mm, 0.5),
                    height_at(s.profile_mm, 1.0 - MARGIN),
                ],
                rim: rim > 0,
                cleft: s.cleft_radius_mm.is_some(),
            }
        })
        .collect();
    let vol = |v: Array3<f32>| Volume::new(v, affine);
    let (t1, fluid) = match spec.series {
        Series::T1Stir => (
            Some(vol(t1)),
            Some(FluidImage {
                contrast: Contrast::Stir,
                volume: vol(fl),
            }),
        ),
        Series::T1T2Fs => (
            Some(vol(t1)),
            Some(FluidImage {
                contrast: Contrast::T2FatSat,
                volume: vol(fl),
            }),
        ),
        Series::StirOnly => (
            None,
            Some(FluidImage {
                contrast: Contrast::Stir,
                volume: vol(fl),
            }),
        ),
        Series::T1Only => (Some(vol(t1)), None),
        Series::T2Only => (
            None,
            Some(FluidImage {
                contrast: Contrast::T2,
                volume: vol(fl),
            }),
        ),
    };
    Synthetic {
        images: ExamImages { t1, fluid },
        seg: Segmentation {
            labels: Volume::new(labels, affine),
            bodies,
            labelling: spine_edema::segment::Labelling::default(),
        },
        truth,
    }
}
