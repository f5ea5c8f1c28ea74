//! One vertebra as an implicit shape in its own frame: the body (superelliptic cross
//! section, concave endplates, ~1 mm cortex) with its marrow content and pathology, and
//! the posterior elements as rounded boxes.
//!
//! Local coordinates, mm: `u` to the patient's left, `v` anterior, `w` superior (along the
//! local spine axis), origin at the body centre. Pathology fields (edema, cement, cleft)
//! live in *normalised body coordinates* `n` (each axis −1…1 across the body, the third
//! one measured between the two endplates at that point), so the same marrow can be
//! followed across exams after repositioning and height loss.

use crate::noise::Noise;
use crate::tissue::Tissue;
use nalgebra::Vector3;
use spine_edema::Level;

/// A vector in LPS mm or in local vertebra coordinates.
pub(crate) type V3 = Vector3<f64>;

/// Sample flag: inside a vertebral body (cortex included).
pub(crate) const FLAG_BODY: u8 = 1;
/// Sample flag: edematous marrow (truth definition).
pub(crate) const FLAG_EDEMA: u8 = 2;
/// Sample flag: PMMA cement.
pub(crate) const FLAG_CEMENT: u8 = 4;
/// Sample flag: peri-cement rim.
pub(crate) const FLAG_RIM: u8 = 8;
/// Sample flag: intravertebral cleft fluid.
pub(crate) const FLAG_CLEFT: u8 = 16;
/// Sample flag: Modic type 1 endplate signal (edema-like, not counted as BME).
pub(crate) const FLAG_MODIC1: u8 = 32;

/// What the model holds at one point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sample {
    /// Water compartment.
    pub tissue: Tissue,
    /// Fat fraction 0…1.
    pub fat: f32,
    /// Edema fraction of the water compartment 0…1 (marrow only).
    pub edema: f32,
    /// Level code of the labelled body the point is in, 0 otherwise.
    pub body: u8,
    /// `FLAG_*` bits.
    pub flags: u8,
}

impl Sample {
    /// A plain tissue without fat.
    pub(crate) fn pure(tissue: Tissue) -> Self {
        Sample {
            tissue,
            fat: if tissue == Tissue::Fat { 1.0 } else { 0.0 },
            edema: 0.0,
            body: 0,
            flags: 0,
        }
    }

    /// A water tissue with a fat fraction.
    pub(crate) fn mixed(tissue: Tissue, fat: f32) -> Self {
        Sample {
            fat: fat.clamp(0.0, 1.0),
            ..Sample::pure(tissue)
        }
    }
}

/// A right-handed orthonormal frame placed in space.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Frame {
    /// Origin.
    pub centre: V3,
    /// Unit vector to the patient's left.
    pub lat: V3,
    /// Unit vector anterior.
    pub ant: V3,
    /// Unit vector superior along the spine.
    pub sup: V3,
}

impl Frame {
    /// World point → local `(u, v, w)`.
    pub(crate) fn local(&self, q: &V3) -> V3 {
        let d = q - self.centre;
        V3::new(d.dot(&self.lat), d.dot(&self.ant), d.dot(&self.sup))
    }

    /// Local `(u, v, w)` → world point.
    pub(crate) fn world(&self, l: &V3) -> V3 {
        self.centre + self.lat * l.x + self.ant * l.y + self.sup * l.z
    }
}

/// Geometry of a vertebral body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BodyShape {
    /// Left–right width, mm.
    pub width_mm: f64,
    /// Antero-posterior depth, mm.
    pub depth_mm: f64,
    /// Height at the anterior margin, mm (before endplate concavity).
    pub h_ant_mm: f64,
    /// Height at the posterior margin, mm.
    pub h_post_mm: f64,
    /// Depth of the superior endplate concavity at the centre, mm.
    pub concave_sup_mm: f64,
    /// Depth of the inferior endplate concavity at the centre, mm.
    pub concave_inf_mm: f64,
    /// Cortical shell thickness, mm.
    pub cortex_mm: f64,
    /// Scalloping of the posterior wall at the midline, mm.
    pub posterior_indent_mm: f64,
}

/// Concavity of the body walls: the cross-section measure grows by this factor at
/// mid-height (≈ 5 % smaller radius), giving the waisted sagittal profile of real bodies.
const WAIST: f64 = 0.13;

/// Where heights are measured: this far inside the anterior and posterior margins on the
/// mid-sagittal line (a reader puts the callipers just inside the corners).
const HEIGHT_INSET_MM: f64 = 1.5;

impl BodyShape {
    /// Superellipse measure of the cross-section at `(u, v)`: `|u/a|^2.5 + |v/b|^2.5`,
    /// 0 at the centre and 1 on the outer surface. (Exponent 2.5 keeps it to square roots.)
    pub(crate) fn radial(&self, u: f64, v: f64) -> f64 {
        let a = (u / (0.5 * self.width_mm)).abs();
        let b = if v >= 0.0 {
            v / (0.5 * self.depth_mm)
        } else {
            let indent = self.posterior_indent_mm * (1.0 - a * a).max(0.0);
            -v / (0.5 * self.depth_mm - indent)
        };
        a * a * a.sqrt() + b * b * b.sqrt()
    }

    fn edge_height(&self, v: f64) -> f64 {
        let t = (v / self.depth_mm + 0.5).clamp(0.0, 1.0);
        self.h_post_mm + (self.h_ant_mm - self.h_post_mm) * t
    }

    /// Inferior and superior endplate positions `(bottom, top)` along `w` at `(u, v)`
    /// with radial measure `r`.
    pub(crate) fn endplates(&self, v: f64, r: f64) -> (f64, f64) {
        let half = 0.5 * self.edge_height(v);
        let bowl = (1.0 - r).max(0.0);
        let rounding = 1.5 * ((r - 0.7) / 0.3).max(0.0).powi(2);
        (
            -half + self.concave_inf_mm * bowl + rounding,
            half - self.concave_sup_mm * bowl - rounding,
        )
    }

    /// `(depth below the surface in mm (approximate), radial measure, bottom, top)`, or
    /// `None` outside.
    pub(crate) fn inside(&self, l: &V3) -> Option<(f64, f64, f64, f64)> {
        if l.x.abs() > 0.5 * self.width_mm || l.y.abs() > 0.5 * self.depth_mm {
            return None;
        }
        let r = self.radial(l.x, l.y);
        // The body is waisted: its walls are concave between the endplate rims.
        let z = (2.0 * l.z / self.edge_height(l.y)).clamp(-1.0, 1.0);
        let r_waist = r * (1.0 + WAIST * (1.0 - z * z));
        if r_waist > 1.0 {
            return None;
        }
        let (bot, top) = self.endplates(l.y, r);
        if l.z < bot || l.z > top {
            return None;
        }
        // d(measure)/d(radius) = 2.5 at the surface.
        let radial_mm = (1.0 - r_waist) / 2.5 * 0.5 * self.width_mm.min(self.depth_mm);
        Some((radial_mm.min(top - l.z).min(l.z - bot), r, bot, top))
    }

    /// Normalised coordinates of a local point inside the body.
    pub(crate) fn normalised(&self, l: &V3, bot: f64, top: f64) -> V3 {
        V3::new(
            l.x / (0.5 * self.width_mm),
            l.y / (0.5 * self.depth_mm),
            (2.0 * l.z - top - bot) / (top - bot).max(1e-6),
        )
    }

    /// The local point with normalised coordinates `n` (inverse of [`Self::normalised`]).
    pub(crate) fn denormalised(&self, n: &V3) -> V3 {
        let u = n.x * 0.5 * self.width_mm;
        let v = n.y * 0.5 * self.depth_mm;
        let (bot, top) = self.endplates(v, self.radial(u, v));
        V3::new(u, v, 0.5 * (top + bot) + 0.5 * n.z * (top - bot))
    }

    /// Anterior, middle and posterior heights (mm) on the mid-sagittal line, along `w`.
    pub(crate) fn heights_mm(&self) -> [f64; 3] {
        let post_wall = -(0.5 * self.depth_mm - self.posterior_indent_mm);
        [
            0.5 * self.depth_mm - HEIGHT_INSET_MM,
            0.0,
            post_wall + HEIGHT_INSET_MM,
        ]
        .map(|v| {
            let (bot, top) = self.endplates(v, self.radial(0.0, v));
            top - bot
        })
    }

    /// Half-extents of a box that holds the body, mm.
    pub(crate) fn half_extent_mm(&self) -> V3 {
        V3::new(
            0.5 * self.width_mm,
            0.5 * self.depth_mm,
            0.5 * self.h_ant_mm.max(self.h_post_mm),
        )
    }
}

/// Spatial pattern of marrow edema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdemaPattern {
    /// A band under one endplate (the typical acute osteoporotic fracture).
    Band,
    /// A large irregular region around the fractured endplate.
    Diffuse,
    /// Scattered patches.
    Patchy,
    /// The whole body.
    Whole,
}

/// An edema field: a scalar `g(n)` and a threshold; marrow is edematous where `g ≥ t`,
/// and the image signal ramps over `ramp` units of `g` around it (soft borders).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct EdemaField {
    pub pattern: EdemaPattern,
    pub threshold: f32,
    pub noise: Noise,
    pub superior: bool,
    /// Nominal half-extents (mm) turning normalised coordinates into pseudo-millimetres,
    /// fixed per vertebra so the field is the same in every exam.
    pub scale_mm: V3,
    pub centre: V3,
}

impl EdemaField {
    /// The field value (pseudo-mm) at normalised coordinates `n`.
    pub(crate) fn g(&self, n: &V3) -> f32 {
        let p = n.component_mul(&self.scale_mm);
        let pa = [p.x, p.y, p.z];
        match self.pattern {
            EdemaPattern::Band => {
                let from_plate = if self.superior { 1.0 - n.z } else { 1.0 + n.z };
                (-from_plate * self.scale_mm.z) as f32 + 3.0 * self.noise.fbm(pa, 7.0)
            }
            EdemaPattern::Diffuse => {
                let c = self.centre.component_mul(&self.scale_mm);
                -((p - c).norm() as f32) + 6.0 * self.noise.fbm(pa, 9.0)
            }
            EdemaPattern::Patchy => 12.0 * self.noise.fbm(pa, 6.0),
            EdemaPattern::Whole => 1000.0,
        }
    }

    /// Edema fraction for the image (soft border) and whether the point is edema in truth.
    pub(crate) fn at(&self, n: &V3) -> (f32, bool) {
        const RAMP: f32 = 2.5;
        let d = self.g(n) - self.threshold;
        ((0.5 + d / RAMP).clamp(0.0, 1.0), d >= 0.0)
    }
}

/// A PMMA cast: a union of ellipsoidal lobes (normalised coordinates) with a rough surface.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CementField {
    pub lobes: Vec<(V3, V3)>,
    pub scale: f64,
    pub noise: Noise,
    pub scale_mm: V3,
    /// Thickness of the STIR-bright / T1-dark rim around the cast (0 = no rim), mm.
    pub rim_mm: f64,
}

impl CementField {
    /// Approximate signed distance to the cast surface, mm (negative inside).
    pub(crate) fn distance_mm(&self, n: &V3) -> f64 {
        let mut best = f64::INFINITY;
        for (c, r) in &self.lobes {
            let radii = r * self.scale;
            let d = (n - c).component_div(&radii).norm();
            let radius_mm = radii.component_mul(&self.scale_mm).min();
            best = best.min((d - 1.0) * radius_mm);
        }
        let p = n.component_mul(&self.scale_mm);
        best + 1.6 * f64::from(self.noise.fbm([p.x, p.y, p.z], 4.0))
    }
}

/// A sphere in local mm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sphere {
    pub centre: V3,
    pub radius_mm: f64,
}

impl Sphere {
    fn contains(&self, l: &V3) -> bool {
        (l - self.centre).norm_squared() < self.radius_mm * self.radius_mm
    }
}

/// Modic endplate change next to a degenerated disc.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Modic {
    /// 1 = edema-like (T1 dark, STIR bright), 2 = fatty (T1 bright).
    pub kind: u8,
    pub superior: bool,
    pub depth_mm: f64,
}

/// Geometry and truth flags of a point inside a body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BodyCore {
    pub depth: f64,
    pub bot: f64,
    pub top: f64,
    pub n: V3,
    pub edema: f32,
    pub flags: u8,
}

/// Marrow composition of one vertebra.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Marrow {
    pub fat_fraction: f32,
    pub heterogeneity: f32,
    pub noise: Noise,
}

/// A rounded box of the posterior elements, rotated by `angle` in the v–w plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Prim {
    pub centre: V3,
    pub half: V3,
    /// Sine and cosine of the rotation in the v–w plane.
    pub sin_cos: (f64, f64),
    pub round_mm: f64,
}

impl Prim {
    fn sdf(&self, l: &V3) -> f64 {
        let d = l - self.centre;
        let (s, c) = self.sin_cos;
        let p = V3::new(
            d.x.abs(),
            (c * d.y + s * d.z).abs(),
            (-s * d.y + c * d.z).abs(),
        );
        let q = p - self.half + V3::repeat(self.round_mm);
        let outside = q.map(|x| x.max(0.0)).norm();
        outside + q.x.max(q.y).max(q.z).min(0.0) - self.round_mm
    }
}

/// Everything about one vertebra (or fused sacral segment) in one exam.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Vertebra {
    /// Level, or `None` for S2–S5 (not labelled, SPEC §4).
    pub level: Option<Level>,
    pub frame: Frame,
    pub shape: BodyShape,
    pub marrow: Marrow,
    pub edema: Option<EdemaField>,
    pub cement: Option<CementField>,
    /// Cleft ellipsoid (centre, radii) in normalised coordinates.
    pub cleft: Option<(V3, V3)>,
    pub schmorl: Option<Sphere>,
    pub modic: Option<Modic>,
    pub haemangioma: Option<Sphere>,
    pub posterior: Vec<Prim>,
    /// Bounding box (min, max) of the posterior elements in the local frame.
    pub posterior_bounds: (V3, V3),
    /// Cortex of the posterior elements, mm.
    pub posterior_cortex_mm: f64,
}

impl Vertebra {
    /// The truth-relevant facts of a local point: `None` outside the body (or in a
    /// Schmorl node, which is disc material), else depth below the surface, normalised
    /// coordinates, edema fraction for the image and the `FLAG_*` bits.
    pub(crate) fn body_core(&self, l: &V3) -> Option<BodyCore> {
        let (depth, _r, bot, top) = self.shape.inside(l)?;
        if self.schmorl.as_ref().is_some_and(|node| node.contains(l)) {
            return None;
        }
        let n = self.shape.normalised(l, bot, top);
        let mut core = BodyCore {
            depth,
            bot,
            top,
            n,
            edema: 0.0,
            flags: FLAG_BODY,
        };
        if let Some(c) = &self.cement {
            let d = c.distance_mm(&n);
            if d < 0.0 {
                core.flags |= FLAG_CEMENT;
                return Some(core);
            }
            if d < c.rim_mm {
                core.flags |= FLAG_RIM;
                return Some(core);
            }
        }
        if let Some((c, r)) = &self.cleft {
            if (n - c).component_div(r).norm_squared() < 1.0 {
                core.flags |= FLAG_CLEFT;
                return Some(core);
            }
        }
        if let Some(f) = &self.edema {
            let (e, is_edema) = f.at(&n);
            core.edema = e;
            if is_edema {
                core.flags |= FLAG_EDEMA;
            }
        }
        if let Some(modic) = &self.modic {
            let from_plate = if modic.superior { top - l.z } else { l.z - bot };
            let wobble = 0.7 + 0.3 * f64::from(self.marrow.noise.at(l.x / 6.0, l.y / 6.0, 3.3));
            if from_plate < modic.depth_mm * wobble && n.x.abs() < 0.75 && modic.kind == 1 {
                core.flags |= FLAG_MODIC1;
            }
        }
        Some(core)
    }

    /// Classifies a local point of the body for the image; `None` outside the body.
    pub(crate) fn body_sample(&self, l: &V3) -> Option<Sample> {
        let inside = self.shape.inside(l);
        if inside.is_some() && self.schmorl.as_ref().is_some_and(|node| node.contains(l)) {
            return Some(Sample::pure(Tissue::Nucleus));
        }
        let core = self.body_core(l)?;
        let mut s = Sample {
            body: self.level.map_or(0, Level::code),
            flags: core.flags,
            ..Sample::pure(Tissue::MarrowWater)
        };
        let cortex = core.depth < self.shape.cortex_mm;
        if core.flags & FLAG_CEMENT != 0 {
            s.tissue = Tissue::Cement;
            return Some(s);
        }
        if cortex {
            s.tissue = Tissue::Cortex;
            return Some(s);
        }
        if core.flags & FLAG_RIM != 0 {
            s.tissue = Tissue::RimWater;
            s.fat = 0.05;
            return Some(s);
        }
        if core.flags & FLAG_CLEFT != 0 {
            s.tissue = Tissue::CleftFluid;
            return Some(s);
        }
        let p = [l.x, l.y, l.z];
        let m = &self.marrow;
        if self.haemangioma.as_ref().is_some_and(|h| h.contains(l)) {
            s.tissue = Tissue::HaemangiomaWater;
            s.fat = 0.6;
            return Some(s);
        }
        // Basivertebral venous plexus: a short horizontal fluid-like line behind the centre.
        let basi = V3::new(
            l.x / 3.5,
            (l.y + 0.5 * self.shape.depth_mm - 5.5) / 5.0,
            l.z / 1.3,
        );
        if basi.norm_squared() < 1.0 {
            s.tissue = Tissue::VenousBlood;
            return Some(s);
        }
        if core.flags & FLAG_MODIC1 != 0 {
            s.tissue = Tissue::EdemaWater;
            s.fat = 0.12;
            return Some(s);
        }
        if let Some(modic) = &self.modic {
            let from_plate = if modic.superior {
                core.top - l.z
            } else {
                l.z - core.bot
            };
            if modic.kind == 2 && from_plate < modic.depth_mm && core.n.x.abs() < 0.75 {
                s.fat = 0.93;
                return Some(s);
            }
        }
        let mut fat = m.fat_fraction
            + m.heterogeneity * m.noise.fbm(p, 11.0)
            + 0.05 * m.noise.at(l.x / 2.2 + 31.0, l.y / 2.2, l.z / 2.2);
        if m.noise.at(p[0] / 5.0 + 91.0, p[1] / 5.0, p[2] / 5.0) > 0.5 {
            // Focal fatty islands, common in elderly marrow.
            fat += 0.3;
        }
        s.fat = fat.clamp(0.03, 0.95) * (1.0 - 0.85 * core.edema);
        s.edema = core.edema;
        Some(s)
    }

    /// Classifies a local point of the posterior elements (marrow with a cortex).
    pub(crate) fn posterior_sample(&self, l: &V3) -> Option<Sample> {
        let (lo, hi) = &self.posterior_bounds;
        if l.x < lo.x || l.y < lo.y || l.z < lo.z || l.x > hi.x || l.y > hi.y || l.z > hi.z {
            return None;
        }
        let d = self
            .posterior
            .iter()
            .map(|p| p.sdf(l))
            .fold(f64::INFINITY, f64::min);
        if d >= 0.0 {
            return None;
        }
        if d > -self.posterior_cortex_mm {
            return Some(Sample::pure(Tissue::Cortex));
        }
        let m = &self.marrow;
        let fat = m.fat_fraction + 0.08 + m.heterogeneity * m.noise.fbm([l.x, l.y, l.z], 9.0);
        Some(Sample::mixed(Tissue::MarrowWater, fat.clamp(0.05, 0.95)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lumbar() -> BodyShape {
        BodyShape {
            width_mm: 45.0,
            depth_mm: 34.0,
            h_ant_mm: 27.0,
            h_post_mm: 27.0,
            concave_sup_mm: 1.5,
            concave_inf_mm: 1.5,
            cortex_mm: 1.0,
            posterior_indent_mm: 1.5,
        }
    }

    #[test]
    fn normalised_coordinates_invert() {
        let s = lumbar();
        for &(u, v, w) in &[(0.0, 0.0, 0.0), (10.0, -8.0, 9.0), (-15.0, 12.0, -11.0)] {
            let l = V3::new(u, v, w);
            let (_, _, bot, top) = s.inside(&l).unwrap();
            let n = s.normalised(&l, bot, top);
            assert!((s.denormalised(&n) - l).norm() < 1e-9);
        }
    }

    #[test]
    fn heights_reflect_concavity_and_wedging() {
        let mut s = lumbar();
        let [a, m, p] = s.heights_mm();
        assert!(m < a && m < p && (a - p).abs() < 0.3, "{a} {m} {p}");
        s.h_ant_mm = 18.0;
        let [a2, _, p2] = s.heights_mm();
        assert!(a2 < p2 - 6.0);
    }
}
