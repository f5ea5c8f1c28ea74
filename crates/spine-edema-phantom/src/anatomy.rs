//! The patient: a smooth spine curve carrying the vertebrae, discs, canal and the soft
//! tissues around them, evaluated as an implicit function of position (anatomy mm).
//!
//! The curve is built by integrating a curvature profile (thoracic kyphosis, lumbar
//! lordosis, sacral kyphosis, plus a kink at every wedge fracture) along arc length;
//! each vertebra is a rigid body placed on it. Soft tissues are described in curve
//! coordinates `(s, x lateral, y anterior)`, so they follow the spine.

use crate::body::{Frame, Prim, Sample, V3, Vertebra};
use crate::noise::{Noise, floor_i32};
use crate::tissue::Tissue;

/// Spine region, which sets the shape of posterior elements and of the surroundings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Region {
    Thoracic,
    Lumbar,
    Sacral,
}

/// A disc below a vertebra.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Disc {
    pub height_mm: f64,
    pub degenerated: bool,
    /// Remnant disc between fused sacral segments.
    pub sacral_remnant: bool,
}

/// Curvature profile of one patient (rad/mm; positive = lordotic).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CurveParams {
    pub kyphosis: f64,
    pub lordosis: f64,
    pub sacral: f64,
    /// Angle of the anchored chord from the scanner's head–foot axis, rad.
    pub tilt_rad: f64,
    pub scoliosis_mm: f64,
    pub scoliosis_phase: f64,
}

/// Body build around the spine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Habitus {
    pub back_fat_mm: f64,
    pub front_fat_mm: f64,
    pub paraspinal_mm: f64,
    pub abdomen_depth_mm: f64,
    pub half_width_mm: f64,
    /// Fatty infiltration of muscle 0…1 (higher in the elderly).
    pub muscle_fat: f32,
    pub aorta_radius_mm: f64,
    pub noise: Noise,
}

/// Everything needed to lay out one exam's anatomy.
#[derive(Clone, Debug)]
pub(crate) struct SpineSpec {
    pub vertebrae: Vec<Vertebra>,
    pub regions: Vec<Region>,
    /// Canal (AP, width) per vertebra, mm.
    pub canal_mm: Vec<(f64, f64)>,
    /// `discs[i]` lies below `vertebrae[i]`; one fewer than vertebrae.
    pub discs: Vec<Disc>,
    pub curve: CurveParams,
    pub habitus: Habitus,
    /// Indices of the first and last vertebra of the preset (the anchor of the layout).
    pub anchor: (usize, usize),
    /// Position of the conus tip as a fractional vertebra index.
    pub conus_index: f64,
    /// Position of the aortic bifurcation / diaphragm as fractional vertebra indices.
    pub bifurcation_index: f64,
    pub diaphragm_index: f64,
    /// Normal (unfractured) anterior minus posterior height per vertebra, for kinks.
    pub normal_wedge_mm: Vec<f64>,
}

/// Cross-section facts along the curve, interpolated between vertebra centres.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Profile {
    depth_mm: f64,
    width_mm: f64,
    canal_ap_mm: f64,
    canal_w_mm: f64,
    region: Region,
}

/// Position relative to the spine curve.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CurvePoint {
    pub k: usize,
    pub s: f64,
    pub x: f64,
    pub y: f64,
}

const CURVE_STEP_MM: f64 = 0.5;

/// The laid-out patient, ready to be evaluated anywhere.
#[derive(Clone, Debug)]
pub(crate) struct Anatomy {
    pub vertebrae: Vec<Vertebra>,
    discs: Vec<Disc>,
    s0: f64,
    pos: Vec<V3>,
    sup: Vec<V3>,
    ant: Vec<V3>,
    lat: Vec<V3>,
    profiles: Vec<Profile>,
    nearest: Vec<u16>,
    habitus: Habitus,
    s_conus: f64,
    s_bifurcation: f64,
    s_diaphragm: f64,
    root_noise: Noise,
}

fn interp_index(centres: &[f64], x: f64) -> f64 {
    let last = centres.len().saturating_sub(1);
    let i = x.floor().clamp(0.0, last as f64) as usize;
    let j = (i + 1).min(last);
    let t = (x - i as f64).clamp(0.0, 1.0);
    centres[i] + (centres[j] - centres[i]) * t
}

impl Anatomy {
    /// Lays out the spine and places every vertebra on it.
    pub(crate) fn build(spec: SpineSpec) -> Anatomy {
        let SpineSpec {
            mut vertebrae,
            regions,
            canal_mm,
            discs,
            curve,
            habitus,
            anchor,
            conus_index,
            bifurcation_index,
            diaphragm_index,
            normal_wedge_mm,
        } = spec;
        let n = vertebrae.len();
        let mean_h = |v: &Vertebra| 0.5 * (v.shape.h_ant_mm + v.shape.h_post_mm);
        let mut centres_s = Vec::with_capacity(n);
        let mut s = 0.0;
        for i in 0..n {
            if i > 0 {
                s += 0.5 * mean_h(&vertebrae[i - 1])
                    + discs[i - 1].height_mm
                    + 0.5 * mean_h(&vertebrae[i]);
            }
            centres_s.push(s);
        }
        let s_start = -60.0;
        let s_end = s + 60.0;
        let steps = ((s_end - s_start) / CURVE_STEP_MM).ceil() as usize + 1;

        // Curvature at each vertebra centre, by region.
        let kappa_at: Vec<f64> = (0..n)
            .map(|i| match regions[i] {
                Region::Thoracic => {
                    let below_is_lumbar = regions.get(i + 1) == Some(&Region::Lumbar);
                    if below_is_lumbar {
                        0.0
                    } else {
                        -curve.kyphosis
                    }
                }
                Region::Lumbar => curve.lordosis,
                Region::Sacral => curve.sacral,
            })
            .collect();
        let kinks: Vec<(f64, f64, f64)> = vertebrae
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let wedge = v.shape.h_ant_mm - v.shape.h_post_mm - normal_wedge_mm[i];
                // An anterior collapse of Δ mm over the depth D adds Δ/D rad of kyphosis.
                (centres_s[i], wedge / v.shape.depth_mm, 0.5 * mean_h(v))
            })
            .collect();
        let mut theta = 0.0f64;
        let mut p = V3::zeros();
        let mut raw = Vec::with_capacity(steps);
        for k in 0..steps {
            let sk = s_start + k as f64 * CURVE_STEP_MM;
            raw.push(p);
            let fi = centres_s
                .iter()
                .position(|&c| c > sk)
                .map_or(n as f64 - 1.0, |j| {
                    if j == 0 {
                        0.0
                    } else {
                        let (a, b) = (centres_s[j - 1], centres_s[j]);
                        (j - 1) as f64 + (sk - a) / (b - a)
                    }
                });
            let mut kappa = {
                let i = fi.floor().clamp(0.0, (n - 1) as f64) as usize;
                let j = (i + 1).min(n - 1);
                let t = (fi - i as f64).clamp(0.0, 1.0);
                kappa_at[i] * (1.0 - t) + kappa_at[j] * t
            };
            for &(c, angle, sigma) in &kinks {
                if angle.abs() > 1e-6 {
                    let z = (sk - c) / sigma;
                    kappa +=
                        angle * (-0.5 * z * z).exp() / (sigma * (std::f64::consts::TAU).sqrt());
                }
            }
            theta = (theta + kappa * CURVE_STEP_MM).clamp(-1.35, 1.35);
            p += V3::new(0.0, theta.sin(), -theta.cos()) * CURVE_STEP_MM;
        }
        // Orient: the chord between the anchor vertebrae gets the requested tilt.
        let k_of = |s: f64| (((s - s_start) / CURVE_STEP_MM).round() as usize).min(steps - 1);
        let (ka, kb) = (k_of(centres_s[anchor.0]), k_of(centres_s[anchor.1]));
        let chord = raw[ka] - raw[kb];
        let current = chord.y.atan2(chord.z);
        let rot = nalgebra::Rotation3::from_axis_angle(&V3::x_axis(), current - curve.tilt_rad);
        let mid = (raw[ka] + raw[kb]) * 0.5;
        let s_mid = 0.5 * (centres_s[anchor.0] + centres_s[anchor.1]);
        let pos: Vec<V3> = raw
            .iter()
            .enumerate()
            .map(|(k, q)| {
                let sk = s_start + k as f64 * CURVE_STEP_MM;
                let mut r = rot * (q - mid);
                r.x += curve.scoliosis_mm
                    * ((sk - s_mid) / 260.0 * std::f64::consts::TAU + curve.scoliosis_phase).sin();
                r
            })
            .collect();
        let mut sup = Vec::with_capacity(steps);
        let mut ant = Vec::with_capacity(steps);
        let mut lat = Vec::with_capacity(steps);
        for k in 0..steps {
            let a = pos[k.saturating_sub(1)];
            let b = pos[(k + 1).min(steps - 1)];
            let t = (a - b).normalize();
            let minus_y = -V3::y();
            let an = (minus_y - t * minus_y.dot(&t)).normalize();
            sup.push(t);
            ant.push(an);
            lat.push(t.cross(&an));
        }
        for (i, v) in vertebrae.iter_mut().enumerate() {
            let k = k_of(centres_s[i]);
            v.frame = Frame {
                centre: pos[k],
                lat: lat[k],
                ant: ant[k],
                sup: sup[k],
            };
            let sacral_rank = regions[..i]
                .iter()
                .filter(|r| **r == Region::Sacral)
                .count();
            v.posterior = posterior_elements(v, regions[i], canal_mm[i], sacral_rank);
            v.posterior_bounds = bounds(&v.posterior);
        }
        let profile_at = |fi: f64| {
            let i = fi.floor().clamp(0.0, (n - 1) as f64) as usize;
            let j = (i + 1).min(n - 1);
            let t = (fi - i as f64).clamp(0.0, 1.0);
            let l = |a: f64, b: f64| a + (b - a) * t;
            let (vi, vj) = (&vertebrae[i].shape, &vertebrae[j].shape);
            Profile {
                depth_mm: l(vi.depth_mm, vj.depth_mm),
                width_mm: l(vi.width_mm, vj.width_mm),
                canal_ap_mm: l(canal_mm[i].0, canal_mm[j].0),
                canal_w_mm: l(canal_mm[i].1, canal_mm[j].1),
                region: if t < 0.5 { regions[i] } else { regions[j] },
            }
        };
        let mut profiles = Vec::with_capacity(steps);
        let mut nearest = Vec::with_capacity(steps);
        for k in 0..steps {
            let sk = s_start + k as f64 * CURVE_STEP_MM;
            let j = centres_s.partition_point(|&c| c < sk);
            let fi = if j == 0 {
                (sk - centres_s[0]) / 30.0
            } else if j >= n {
                (n - 1) as f64 + (sk - centres_s[n - 1]) / 30.0
            } else {
                let (a, b) = (centres_s[j - 1], centres_s[j]);
                (j - 1) as f64 + (sk - a) / (b - a)
            };
            profiles.push(profile_at(fi));
            nearest.push(fi.round().clamp(0.0, (n - 1) as f64) as u16);
        }
        Anatomy {
            s_conus: interp_index(&centres_s, conus_index),
            s_bifurcation: interp_index(&centres_s, bifurcation_index),
            s_diaphragm: interp_index(&centres_s, diaphragm_index),
            vertebrae,
            discs,
            s0: s_start,
            pos,
            sup,
            ant,
            lat,
            profiles,
            nearest,
            root_noise: Noise::new(habitus.noise_seed_roots()),
            habitus,
        }
    }

    /// Projects a point onto the spine curve.
    /// `hint` is a curve index to start from (the previous answer for a neighbouring
    /// point), or `usize::MAX` to search.
    pub(crate) fn project(&self, q: &V3, hint: usize) -> CurvePoint {
        let last = self.pos.len() - 1;
        let mut k = if hint <= last {
            hint
        } else {
            // z decreases along the curve: binary search for the first point below q.
            self.pos.partition_point(|p| p.z > q.z).min(last)
        };
        for _ in 0..6 {
            let t = (q - self.pos[k]).dot(&self.sup[k]);
            let dk = floor_i32(0.5 - t / CURVE_STEP_MM);
            if dk == 0 {
                break;
            }
            k = (k as i64 + i64::from(dk)).clamp(0, last as i64) as usize;
        }
        let t = (q - self.pos[k]).dot(&self.sup[k]);
        let d = q - self.pos[k] - self.sup[k] * t;
        CurvePoint {
            k,
            s: self.s0 + k as f64 * CURVE_STEP_MM - t,
            x: d.dot(&self.lat[k]),
            y: d.dot(&self.ant[k]),
        }
    }

    /// What the patient holds at anatomy point `q`. `hint` carries the curve index from
    /// call to call (start with `usize::MAX`) so that neighbouring points need no search.
    pub(crate) fn eval_near(&self, q: &V3, hint: &mut usize) -> Sample {
        let cp = self.project(q, *hint);
        *hint = cp.k;
        let prof = &self.profiles[cp.k];
        // Soft tissues use horizontal offsets from the spine at the same height: unlike
        // the perpendicular projection, these stay continuous far from a curved spine.
        let kh = self
            .pos
            .partition_point(|p| p.z > q.z)
            .min(self.pos.len() - 1);
        let hp = CurvePoint {
            k: kh,
            s: self.s0 + kh as f64 * CURVE_STEP_MM,
            x: q.x - self.pos[kh].x,
            y: self.pos[kh].y - q.y,
        };
        let prof_h = &self.profiles[kh];
        let h = &self.habitus;
        // Trunk outline (ellipse in the axial plane).
        let back = prof_h.depth_mm * 0.5 + prof_h.canal_ap_mm + h.paraspinal_mm + h.back_fat_mm;
        let front = prof_h.depth_mm * 0.5 + h.abdomen_depth_mm;
        let ymid = 0.5 * (front - back);
        let ry = 0.5 * (front + back);
        let (ax, ay) = (hp.x / h.half_width_mm, (hp.y - ymid) / ry);
        let ex = ax * ax + ay * ay;
        if ex > 1.0 {
            return Sample::pure(Tissue::Air);
        }
        let skin_depth = (1.0 - ex) * ry / 2.0;
        if skin_depth < 1.8 {
            return Sample::pure(Tissue::Skin);
        }
        let near_spine = cp.x.abs() < 0.5 * prof.width_mm + 70.0
            && cp.y < 0.5 * prof.depth_mm + 4.0
            && cp.y > -(0.5 * prof.depth_mm + prof.canal_ap_mm + 75.0);
        if near_spine {
            let i = usize::from(self.nearest[cp.k]);
            let n = self.vertebrae.len();
            let lo = i.saturating_sub(1);
            let hi = (i + 1).min(n - 1);
            let mut locals = [V3::zeros(); 3];
            for (slot, j) in (lo..=hi).enumerate() {
                let l = self.vertebrae[j].frame.local(q);
                if let Some(s) = self.vertebrae[j].body_sample(&l) {
                    return s;
                }
                locals[slot] = l;
            }
            for j in lo..hi {
                // A disc lies below the centre of the upper body and above the lower one's.
                if locals[j - lo].z > 0.0 || locals[j + 1 - lo].z < 0.0 {
                    continue;
                }
                if let Some(s) = self.disc_sample(j, &locals[j - lo], &locals[j + 1 - lo]) {
                    return s;
                }
            }
            let from = i.saturating_sub(2);
            for j in from..=hi {
                let l = if j >= lo {
                    locals[j - lo]
                } else {
                    self.vertebrae[j].frame.local(q)
                };
                if let Some(s) = self.vertebrae[j].posterior_sample(&l) {
                    return s;
                }
            }
            if let Some(s) = self.canal_sample(&cp, prof) {
                return s;
            }
        }
        self.soft_sample(&hp, prof_h, q, skin_depth, back, front)
    }

    fn disc_sample(&self, upper: usize, lu: &V3, ll: &V3) -> Option<Sample> {
        let (a, b) = (&self.vertebrae[upper], &self.vertebrae[upper + 1]);
        let disc = self.discs.get(upper)?;
        let ra = a.shape.radial(lu.x, lu.y);
        let rb = b.shape.radial(ll.x, ll.y);
        let r = 0.5 * (ra + rb);
        let bulge = if disc.degenerated { 1.15 } else { 1.08 };
        if r > bulge {
            return None;
        }
        let (bot_a, _) = a.shape.endplates(lu.y, ra.min(1.0));
        let (_, top_b) = b.shape.endplates(ll.y, rb.min(1.0));
        let d1 = bot_a - lu.z;
        let d2 = ll.z - top_b;
        if d1 < 0.0 || d2 < 0.0 {
            return None;
        }
        if disc.sacral_remnant {
            return Some(Sample::pure(Tissue::Annulus));
        }
        let t = d1 / (d1 + d2).max(1e-6);
        let rn = 0.5 * (a.shape.radial(lu.x, lu.y + 0.08 * a.shape.depth_mm) + rb);
        let tc = (t - 0.5) / 0.36;
        if rn / 0.35 + tc * tc < 1.0 {
            if disc.degenerated {
                return Some(Sample::pure(Tissue::NucleusDegenerated));
            }
            // Intranuclear cleft: the thin dark band of adult discs on T2.
            if (t - 0.5).abs() < 0.05 && rn < 0.2 {
                return Some(Sample::pure(Tissue::Annulus));
            }
            return Some(Sample::pure(Tissue::Nucleus));
        }
        Some(Sample::pure(Tissue::Annulus))
    }

    fn canal_sample(&self, cp: &CurvePoint, prof: &Profile) -> Option<Sample> {
        let post_wall = -(0.5 * prof.depth_mm - 1.5);
        let yc = post_wall - 0.8 - 0.5 * prof.canal_ap_mm;
        let (rx, ry) = (0.5 * prof.canal_w_mm, 0.5 * prof.canal_ap_mm);
        let dy = cp.y - yc;
        if (cp.x / rx).powi(2) + (dy / ry).powi(2) > 1.0 {
            return None;
        }
        let sac_y = yc + 0.12 * prof.canal_ap_mm;
        let (sx, sy) = (0.8 * rx, 0.75 * ry);
        let sac = (cp.x / sx).powi(2) + ((cp.y - sac_y) / sy).powi(2);
        if prof.region == Region::Sacral && cp.s > self.s_conus + 120.0 {
            return Some(Sample::pure(Tissue::Fat));
        }
        if sac > 1.0 {
            return Some(if cp.y > yc && cp.x.abs() > 0.5 * rx {
                Sample::mixed(Tissue::VenousBlood, 0.3)
            } else {
                Sample::pure(Tissue::Fat)
            });
        }
        if cp.s < self.s_conus {
            let taper = ((self.s_conus - cp.s) / 25.0).clamp(0.0, 1.0).sqrt();
            let (cx, cy) = (4.6 * taper + 0.3, 3.6 * taper + 0.3);
            if (cp.x / cx).powi(2) + ((cp.y - sac_y + 0.5) / cy).powi(2) < 1.0 {
                return Some(Sample::pure(Tissue::Cord));
            }
        } else if cp.y < sac_y + 1.0 {
            // Cauda equina roots lie dependent (posterior) in a supine patient.
            let v = self.root_noise.at(cp.x / 1.3, cp.y / 1.3, cp.s / 30.0);
            if v > 0.45 {
                return Some(Sample::pure(Tissue::Cord));
            }
        }
        Some(Sample::pure(Tissue::Csf))
    }

    fn soft_sample(
        &self,
        cp: &CurvePoint,
        prof: &Profile,
        q: &V3,
        skin_depth: f64,
        back: f64,
        front: f64,
    ) -> Sample {
        let h = &self.habitus;
        let p = [q.x, q.y, q.z];
        let half_d = 0.5 * prof.depth_mm;
        // The diaphragm is a dome: low behind (crura), higher in front.
        let diaphragm_s = self.s_diaphragm + 25.0 - 0.45 * (cp.y - half_d).max(0.0);
        let post_wall = -(half_d - 1.5);
        let behind_canal = post_wall - prof.canal_ap_mm - 2.0;
        // Subcutaneous fat: thicker behind and in front.
        let fat_layer = if cp.y < 0.0 {
            h.back_fat_mm * (0.35 + 0.65 * (-cp.y / back).clamp(0.0, 1.0))
        } else {
            h.front_fat_mm * (0.35 + 0.65 * (cp.y / front).clamp(0.0, 1.0))
        };
        // The fat–muscle border undulates by ±25 %; the noise is only needed near it.
        let fat_layer = if skin_depth < 1.3 * fat_layer + 3.0 {
            let wobble = 1.0 + 0.25 * f64::from(h.noise.at(q.x / 25.0, q.y / 25.0, q.z / 25.0));
            fat_layer * wobble
        } else {
            fat_layer
        };
        if skin_depth < fat_layer.max(3.0) {
            return Sample::pure(Tissue::Fat);
        }
        let muscle = |extra: f32| {
            let infil = h.muscle_fat
                // Fatty streaks run with the fibres, cranio-caudally.
                + 0.35 * h.noise.at(p[0] / 3.5 + 13.0, p[1] / 3.5, p[2] / 30.0)
                + extra;
            Sample::mixed(Tissue::Muscle, infil.clamp(0.0, 0.9))
        };
        if cp.y < behind_canal {
            // Back: paraspinal muscles with a midline ligament between the spinous processes.
            if cp.x.abs() < 2.2 {
                return Sample::mixed(Tissue::Ligament, 0.35);
            }
            return muscle(0.0);
        }
        if cp.y < half_d + 2.0 {
            // Beside the spine: foramina and the structures lateral to the bodies.
            if cp.x.abs() < 0.5 * prof.canal_w_mm + 14.0 && cp.y < post_wall + 3.0 {
                return Sample::pure(Tissue::Fat);
            }
            return match prof.region {
                Region::Thoracic if cp.s < diaphragm_s => {
                    if cp.x.abs() > 0.5 * prof.width_mm + 2.0 && cp.y > post_wall - 2.0 {
                        Sample::pure(Tissue::Lung)
                    } else {
                        muscle(0.0)
                    }
                }
                Region::Thoracic | Region::Lumbar => {
                    // Psoas grows from T12 down to L5.
                    let grow = ((cp.s - self.s_diaphragm) / 160.0).clamp(0.0, 1.0);
                    let r = 6.0 + 18.0 * grow;
                    let cx = 0.5 * prof.width_mm + r - 4.0;
                    let dx = cp.x.abs() - cx;
                    let dy = cp.y - (0.1 * half_d);
                    if (dx / r).powi(2) + (dy / (0.85 * r)).powi(2) < 1.0 {
                        muscle(-0.1)
                    } else if cp.x.abs() > 0.5 * prof.width_mm + 2.0 * r + 10.0 {
                        muscle(0.0)
                    } else {
                        Sample::pure(Tissue::Fat)
                    }
                }
                Region::Sacral => muscle(0.05),
            };
        }
        // In front of the spine.
        let ya = cp.y - half_d;
        let r_ao = h.aorta_radius_mm;
        if cp.s < self.s_bifurcation {
            let (ax, ay) = (cp.x - 13.0, ya - (r_ao + 1.5));
            if ax * ax + ay * ay < r_ao * r_ao {
                return Sample::pure(Tissue::ArterialFlow);
            }
        } else if prof.region != Region::Sacral {
            let spread = 8.0 + 0.35 * (cp.s - self.s_bifurcation);
            let (ax, ay) = (cp.x.abs() - spread, ya - 8.0);
            if ax * ax + ay * ay < 36.0 {
                return Sample::pure(Tissue::ArterialFlow);
            }
        }
        if cp.s < diaphragm_s {
            if cp.x.abs() > 16.0 {
                return Sample::pure(Tissue::Lung);
            }
            let (ex, ey) = (cp.x + 4.0, ya - 9.0);
            if (ex / 7.0).powi(2) + (ey / 5.0).powi(2) < 1.0 {
                return muscle(-0.2);
            }
            if ya > 24.0 && cp.s < diaphragm_s - 20.0 {
                return Sample::pure(Tissue::Heart);
            }
            return Sample::pure(Tissue::Fat);
        }
        if cp.s < self.s_bifurcation + 20.0 && prof.region != Region::Sacral {
            let r_ivc = 0.9 * r_ao + 2.0;
            let (vx, vy) = (cp.x + 16.0, ya - (r_ivc + 3.0));
            if vx * vx + vy * vy < r_ivc * r_ivc {
                return Sample::pure(Tissue::VenousBlood);
            }
        }
        if cp.s < diaphragm_s + 90.0 && cp.x < -5.0 && ya > 22.0 {
            return Sample::pure(Tissue::Liver);
        }
        if skin_depth < fat_layer + 12.0 && cp.y > 0.0 {
            return muscle(-0.1);
        }
        if ya > 28.0 || (prof.region == Region::Sacral && ya > 6.0) {
            let loop_v = h.noise.fbm([p[0] + 500.0, p[1], p[2]], 22.0);
            if loop_v > 0.12 {
                if loop_v < 0.17 {
                    return Sample::pure(Tissue::BowelContent);
                }
                let kind = h.noise.at(q.x / 45.0 + 7.0, q.y / 45.0, q.z / 45.0);
                return Sample::pure(if kind > 0.45 {
                    Tissue::Air
                } else if kind < -0.15 {
                    Tissue::BowelFluid
                } else {
                    Tissue::BowelContent
                });
            }
        }
        Sample::pure(Tissue::Fat)
    }

    /// Indices of labelled vertebrae.
    pub(crate) fn labelled(&self) -> impl Iterator<Item = (usize, &Vertebra)> {
        self.vertebrae
            .iter()
            .enumerate()
            .filter(|(_, v)| v.level.is_some())
    }
}

impl Habitus {
    fn noise_seed_roots(&self) -> u64 {
        u64::from(self.noise.at(0.37, 0.11, 0.73).to_bits()) ^ 0xC0DA
    }
}

/// Local bounding box of a set of rotated boxes (using their bounding spheres).
fn bounds(prims: &[Prim]) -> (V3, V3) {
    let mut lo = V3::repeat(f64::INFINITY);
    let mut hi = V3::repeat(f64::NEG_INFINITY);
    for p in prims {
        let r = V3::repeat(p.half.norm());
        lo = lo.inf(&(p.centre - r));
        hi = hi.sup(&(p.centre + r));
    }
    (lo, hi)
}

/// Builds the posterior elements of a vertebra as rounded boxes in its frame
/// (`sacral_rank`: 0 for S1, 1 for S2, …; ignored above the sacrum).
fn posterior_elements(
    v: &Vertebra,
    region: Region,
    canal: (f64, f64),
    sacral_rank: usize,
) -> Vec<Prim> {
    let s = &v.shape;
    let (c_ap, c_w) = canal;
    let d = s.depth_mm;
    let w = s.width_mm;
    let h = 0.5 * (s.h_ant_mm + s.h_post_mm);
    let pw = -(0.5 * d - s.posterior_indent_mm);
    let prim = |c: [f64; 3], half: [f64; 3], angle_rad: f64, round_mm: f64| Prim {
        centre: V3::from(c),
        half: V3::from(half),
        sin_cos: angle_rad.sin_cos(),
        round_mm,
    };
    let mut out = Vec::new();
    let sacral_level = sacral_rank == 0;
    match region {
        Region::Thoracic | Region::Lumbar => {
            let lumbar = region == Region::Lumbar;
            let pr = if lumbar { 4.5 } else { 3.5 };
            for side in [-1.0, 1.0] {
                out.push(prim(
                    [side * (0.5 * c_w + pr), pw - 0.5 * c_ap, 0.12 * h],
                    [pr, 0.5 * c_ap + 3.0, if lumbar { 7.0 } else { 5.5 }],
                    0.0,
                    2.0,
                ));
                let fx = if lumbar { 5.5 } else { 4.0 };
                out.push(prim(
                    [side * (0.5 * c_w + fx), pw - c_ap - 1.5, 0.0],
                    [fx, if lumbar { 6.0 } else { 4.0 }, 0.5 * h + 3.0],
                    0.0,
                    2.0,
                ));
            }
            out.push(prim(
                [0.0, pw - c_ap - 3.5, -0.05 * h],
                [0.5 * c_w + 6.0, 3.0, 0.43 * h],
                0.22,
                1.5,
            ));
            let (len, alpha, half_h): (f64, f64, f64) = if lumbar {
                (30.0, 0.15, 0.3 * h)
            } else {
                (38.0, 0.85, 4.0)
            };
            let v0 = pw - c_ap - 5.0;
            out.push(prim(
                [
                    0.0,
                    v0 - 0.5 * len * alpha.cos(),
                    -0.1 * h - 0.5 * len * alpha.sin(),
                ],
                [3.2, 0.5 * len, half_h],
                alpha,
                2.5,
            ));
        }
        Region::Sacral => {
            if sacral_rank < 2 {
                let (span, half_w) = if sacral_level {
                    (18.0, 22.0)
                } else {
                    (12.0, 15.0)
                };
                for side in [-1.0, 1.0] {
                    out.push(prim(
                        [side * (0.5 * w + span), -0.15 * d, -0.1 * h],
                        [half_w, 0.42 * d, 0.45 * h],
                        0.0,
                        5.0,
                    ));
                }
            }
            if sacral_level {
                for side in [-1.0, 1.0] {
                    out.push(prim(
                        [side * (0.5 * c_w + 6.0), pw - c_ap - 2.0, 0.5 * h],
                        [5.0, 6.0, 5.0],
                        0.0,
                        2.0,
                    ));
                }
            }
            out.push(prim(
                [0.0, pw - c_ap - 2.5, 0.0],
                [0.5 * c_w + 6.0, 2.5, 0.5 * h + 1.5],
                0.0,
                1.2,
            ));
            out.push(prim(
                [0.0, pw - c_ap - 7.0, 0.0],
                [2.5, 4.5, 0.35 * h],
                0.0,
                2.0,
            ));
        }
    }
    out
}
