//! The random design of one patient: anatomy that stays the same across exams, and the
//! per-level pathology state of every exam (fractures, edema, cement, rim, cleft), evolved
//! from one exam to the next the way the reference studies describe.

use crate::anatomy::{CurveParams, Disc, Habitus, Region, SpineSpec};
use crate::body::{
    BodyShape, CementField, EdemaField, EdemaPattern, Frame, Marrow, Modic, Sphere, V3, Vertebra,
};
use crate::noise::Noise;
use crate::rng::Rng;
use crate::{GenantShape, Preset};
use spine_edema::Level;

/// Static anatomy of one vertebra.
#[derive(Clone, Debug)]
pub(crate) struct LevelSpec {
    pub level: Option<Level>,
    pub region: Region,
    pub shape: BodyShape,
    pub canal_mm: (f64, f64),
    pub disc_below: Option<Disc>,
    pub marrow: Marrow,
    pub schmorl: Option<Sphere>,
    pub modic: Option<Modic>,
    pub haemangioma: Option<Sphere>,
    /// May be fractured (T5–L5 inside the preset range).
    pub eligible: bool,
}

/// A fracture deformity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Fracture {
    pub shape: GenantShape,
    /// Planned fractional reduction of the most affected height.
    pub reduction: f64,
    /// Share of a biconcave depression taken by the superior endplate.
    pub sup_share: f64,
}

/// Edema of one level in one exam.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct EdemaSpec {
    pub pattern: EdemaPattern,
    pub fraction: f64,
    pub superior: bool,
    pub centre: V3,
    pub seed: u64,
}

/// Cement of one level.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CementSpec {
    pub lobes: Vec<(V3, V3)>,
    pub fraction: f64,
    pub seed: u64,
}

/// What happened to a level between two exams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdemaEvent {
    /// No edema before or after.
    None,
    /// Edema appeared in a level that had none (new fracture).
    New,
    /// Edema disappeared.
    Resolved,
    /// Edema shrank.
    Decreased,
    /// Edema unchanged.
    Persistent,
    /// Edema grew.
    Increased,
}

/// Pathology state of one level in one exam.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LevelState {
    pub fracture: Option<Fracture>,
    /// Additional height loss since the fracture (anterior, middle, posterior), mm.
    pub extra_loss_mm: [f64; 3],
    pub edema: Option<EdemaSpec>,
    pub cement: Option<CementSpec>,
    pub rim_mm: f64,
    pub cleft: bool,
    pub event: EdemaEvent,
}

/// The whole static patient.
#[derive(Clone, Debug)]
pub(crate) struct PatientModel {
    pub age_years: u32,
    pub female: bool,
    pub levels: Vec<LevelSpec>,
    pub anchor: (usize, usize),
    pub curve: CurveParams,
    pub habitus: Habitus,
    pub conus_index: f64,
    pub bifurcation_index: f64,
    pub diaphragm_index: f64,
}

/// Levels modelled for a preset (the preset range plus neighbours that may show at the
/// edge of the field of view), and the anchor (first, last) of the preset range.
fn modelled_levels(preset: Preset) -> (Vec<Level>, Level, Level) {
    let t = |a: u8, b: u8| (a..=b).map(Level::T).collect::<Vec<_>>();
    let lumbar: Vec<Level> = (1..=5).map(Level::L).collect();
    match preset {
        Preset::Lumbar => ([t(8, 12), lumbar].concat(), Level::T(11), Level::S1),
        Preset::Thoracolumbar => ([t(2, 12), lumbar].concat(), Level::T(6), Level::S1),
        Preset::Thoracic => (
            [t(1, 12), (1..=3).map(Level::L).collect()].concat(),
            Level::T(3),
            Level::L(1),
        ),
    }
}

/// Normal adult dimensions by level (T1 = 1 … L5 = 17): height, AP depth, width, disc
/// below, canal AP, canal width (mm). Rounded from morphometric series (Panjabi et al.,
/// Spine 1991/1992) to the ranges of SPEC §5.
fn normal_dims(pos: usize) -> [f64; 6] {
    const H: [f64; 17] = [
        15.5, 16.0, 16.5, 17.0, 17.5, 18.0, 18.5, 19.0, 19.5, 20.5, 21.5, 22.5, 24.0, 25.0, 26.0,
        26.5, 26.5,
    ];
    const D: [f64; 17] = [
        20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0,
        35.0, 35.0,
    ];
    const W: [f64; 17] = [
        28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 38.0, 40.0, 42.0, 43.0, 45.0, 47.0,
        49.0, 50.0,
    ];
    const DISC: [f64; 17] = [
        3.5, 4.0, 4.0, 4.5, 4.5, 5.0, 5.0, 5.0, 5.5, 5.5, 6.0, 6.5, 8.0, 9.0, 10.0, 11.0, 10.0,
    ];
    let i = pos.clamp(1, 17) - 1;
    let lumbar = i >= 12;
    let canal_ap = if lumbar { 16.5 } else { 14.5 };
    let canal_w = if lumbar { 21.0 + (i - 12) as f64 } else { 16.5 };
    [H[i], D[i], W[i], DISC[i], canal_ap, canal_w]
}

/// Usual anterior − posterior height of a normal body: thoracic bodies are slightly wedged,
/// L5 and S1 reverse-wedged (lordotic).
fn normal_wedge_mm(level: Level) -> f64 {
    match level {
        Level::T(_) => -1.8,
        Level::L(4) => 1.0,
        Level::L(5) => 3.6,
        Level::S1 => 2.0,
        _ => 0.0,
    }
}

fn level_pos(level: Level) -> usize {
    match level {
        Level::T(n) => usize::from(n.min(12)),
        Level::L(n) => 12 + usize::from(n.min(5)),
        _ => 17,
    }
}

/// Draws the static patient.
pub(crate) fn patient(preset: Preset, rng: &mut Rng) -> PatientModel {
    let (levels, first, last) = modelled_levels(preset);
    let age_years = rng.int(52, 91) as u32;
    let female = rng.chance(0.7);
    let size = rng.uniform(0.9, 1.1) * if female { 0.96 } else { 1.02 };
    let old = (f64::from(age_years) - 50.0) / 40.0;
    let base_fat = 0.32 + 0.38 * old + rng.uniform(-0.07, 0.07);
    let mut specs = Vec::new();
    for &level in &levels {
        let [h, d, w, disc, cap, cw] = normal_dims(level_pos(level));
        let j = |r: &mut Rng| r.uniform(0.97, 1.03);
        let h = h * size * j(rng);
        let wedge = normal_wedge_mm(level);
        let lumbar = matches!(level, Level::L(_));
        let degenerated = rng.chance(if lumbar { 0.2 + 0.3 * old } else { 0.12 });
        let shape = BodyShape {
            width_mm: w * size * j(rng),
            depth_mm: d * size * j(rng),
            h_ant_mm: h + 0.5 * wedge,
            h_post_mm: h - 0.5 * wedge,
            concave_sup_mm: rng.uniform(0.8, 2.0),
            concave_inf_mm: rng.uniform(0.8, 2.0),
            cortex_mm: rng.uniform(0.8, 1.2),
            posterior_indent_mm: 1.5,
        };
        let disc_h = disc
            * size
            * if degenerated {
                rng.uniform(0.35, 0.65)
            } else {
                j(rng)
            };
        specs.push(LevelSpec {
            level: Some(level),
            region: if lumbar {
                Region::Lumbar
            } else {
                Region::Thoracic
            },
            shape,
            canal_mm: (cap * j(rng), cw * j(rng)),
            disc_below: Some(Disc {
                height_mm: disc_h,
                degenerated,
                sacral_remnant: false,
            }),
            marrow: Marrow {
                fat_fraction: (base_fat + rng.uniform(-0.05, 0.05)) as f32,
                heterogeneity: rng.uniform(0.05, 0.17) as f32,
                noise: Noise::new(rng.next_u64()),
            },
            schmorl: None,
            modic: None,
            haemangioma: None,
            eligible: false,
        });
    }
    if preset != Preset::Thoracic {
        const SACRAL: [[f64; 6]; 5] = [
            [26.0, 33.0, 46.0, 2.0, 12.0, 22.0],
            [20.0, 27.0, 36.0, 1.5, 9.0, 18.0],
            [16.0, 21.0, 28.0, 1.5, 7.0, 14.0],
            [12.0, 16.0, 20.0, 1.2, 5.0, 10.0],
            [9.0, 12.0, 14.0, 0.0, 4.0, 8.0],
        ];
        for (k, dims) in SACRAL.iter().enumerate() {
            let [h, d, w, disc, cap, cw] = *dims;
            let wedge = if k == 0 {
                normal_wedge_mm(Level::S1)
            } else {
                0.0
            };
            specs.push(LevelSpec {
                level: (k == 0).then_some(Level::S1),
                region: Region::Sacral,
                shape: BodyShape {
                    width_mm: w * size,
                    depth_mm: d * size,
                    h_ant_mm: h * size + 0.5 * wedge,
                    h_post_mm: h * size - 0.5 * wedge,
                    concave_sup_mm: if k == 0 { 1.2 } else { 0.3 },
                    concave_inf_mm: 0.3,
                    cortex_mm: 0.9,
                    posterior_indent_mm: 1.5,
                },
                canal_mm: (cap * size, cw * size),
                disc_below: (k < 4).then_some(Disc {
                    height_mm: disc,
                    degenerated: false,
                    sacral_remnant: true,
                }),
                marrow: Marrow {
                    fat_fraction: (base_fat + 0.05) as f32,
                    heterogeneity: 0.12,
                    noise: Noise::new(rng.next_u64()),
                },
                schmorl: None,
                modic: None,
                haemangioma: None,
                eligible: false,
            });
        }
    }
    let index_of = |l: Level| specs.iter().position(|s| s.level == Some(l)).unwrap_or(0);
    let anchor = (index_of(first), index_of(last));
    for (i, s) in specs.iter_mut().enumerate() {
        s.eligible = i >= anchor.0
            && i <= anchor.1
            && s.level
                .is_some_and(|l| l.is_thoracolumbar() && l >= Level::T(5));
    }
    // Confounders on levels that will stay unfractured are drawn later; here the
    // degenerative ones, which belong to the anatomy.
    for spec in specs.iter_mut() {
        if spec.level.is_none() || spec.level == Some(Level::S1) {
            continue;
        }
        let half_w = 0.5 * spec.shape.width_mm;
        let half_d = 0.5 * spec.shape.depth_mm;
        let top = 0.5 * spec.shape.h_post_mm;
        if rng.chance(0.12) {
            let superior = rng.chance(0.5);
            let u = rng.uniform(-0.4, 0.4) * half_w;
            let v = rng.uniform(-0.3, 0.4) * half_d;
            let z = if superior { top } else { -top };
            spec.schmorl = Some(Sphere {
                centre: V3::new(u, v, z),
                radius_mm: rng.uniform(2.5, 5.0),
            });
        }
        let disc_below_degen = spec.disc_below.is_some_and(|d| d.degenerated);
        if disc_below_degen && rng.chance(0.45) {
            spec.modic = Some(Modic {
                kind: if rng.chance(0.35) { 1 } else { 2 },
                superior: false,
                depth_mm: rng.uniform(3.0, 8.0),
            });
        }
        if rng.chance(0.1) {
            spec.haemangioma = Some(Sphere {
                centre: V3::new(
                    rng.uniform(-0.4, 0.4) * half_w,
                    rng.uniform(-0.4, 0.4) * half_d,
                    rng.uniform(-0.4, 0.4) * top,
                ),
                radius_mm: rng.uniform(3.5, 9.0),
            });
        }
    }
    let index_f = |l: Level| {
        specs
            .iter()
            .position(|s| s.level == Some(l))
            .map(|i| i as f64)
    };
    let last_idx = specs.len() as f64 - 1.0;
    let l1 = index_f(Level::L(1)).unwrap_or(last_idx + 1.0);
    let l4 = index_f(Level::L(4)).unwrap_or(last_idx + 3.0);
    let t11 = index_f(Level::T(11)).unwrap_or(last_idx);
    let kyphosis_scale = 1.0 + 0.6 * old;
    PatientModel {
        age_years,
        female,
        anchor,
        curve: CurveParams {
            kyphosis: rng.uniform(0.0015, 0.0028) * kyphosis_scale,
            lordosis: rng.uniform(0.0028, 0.0058),
            sacral: rng.uniform(0.008, 0.013),
            tilt_rad: rng.uniform(-0.1, 0.1),
            scoliosis_mm: rng.uniform(0.0, 5.0),
            scoliosis_phase: rng.uniform(0.0, std::f64::consts::TAU),
        },
        habitus: Habitus {
            back_fat_mm: rng.uniform(8.0, 38.0),
            front_fat_mm: rng.uniform(12.0, 45.0),
            paraspinal_mm: rng.uniform(38.0, 60.0),
            abdomen_depth_mm: rng.uniform(140.0, 200.0),
            half_width_mm: rng.uniform(140.0, 185.0),
            muscle_fat: (0.05 + 0.25 * old + rng.uniform(0.0, 0.1)) as f32,
            aorta_radius_mm: rng.uniform(9.0, 13.5),
            noise: Noise::new(rng.next_u64()),
        },
        levels: specs,
        conus_index: l1 + rng.uniform(-0.2, 1.0),
        bifurcation_index: l4 + rng.uniform(-0.4, 0.4),
        diaphragm_index: t11 + rng.uniform(-0.5, 0.8),
    }
}

fn new_edema(rng: &mut Rng, fraction: f64, superior: bool, acute: bool) -> EdemaSpec {
    let pattern = if fraction >= 0.97 {
        EdemaPattern::Whole
    } else if acute {
        rng.weighted(&[
            (EdemaPattern::Band, 0.5),
            (EdemaPattern::Diffuse, 0.35),
            (EdemaPattern::Patchy, 0.15),
        ])
    } else {
        rng.weighted(&[
            (EdemaPattern::Band, 0.45),
            (EdemaPattern::Patchy, 0.35),
            (EdemaPattern::Diffuse, 0.2),
        ])
    };
    let z = if superior { 0.6 } else { -0.6 };
    EdemaSpec {
        pattern,
        fraction,
        superior,
        centre: V3::new(rng.uniform(-0.3, 0.3), rng.uniform(-0.1, 0.5), z),
        seed: rng.next_u64(),
    }
}

fn new_fracture(rng: &mut Rng, max_grade: u8) -> Fracture {
    let shape = rng.weighted(&[
        (GenantShape::Wedge, 0.5),
        (GenantShape::Biconcave, 0.3),
        (GenantShape::Crush, 0.2),
    ]);
    let grade = rng
        .weighted(&[(1u8, 0.3), (2, 0.4), (3, 0.3)])
        .min(max_grade);
    // Planned reductions sit inside the Genant bands, away from their edges, so the grade
    // a reader measures against neighbours matches the intent.
    let reduction = match grade {
        1 => rng.uniform(0.22, 0.245),
        2 => rng.uniform(0.29, 0.37),
        _ => rng.uniform(0.44, 0.58),
    };
    Fracture {
        shape,
        reduction,
        sup_share: rng.uniform(0.45, 0.85),
    }
}

fn new_cement(rng: &mut Rng) -> CementSpec {
    let mut lobes = Vec::new();
    if rng.chance(0.6) {
        // Bipedicular: two lobes that usually meet in the middle.
        for side in [-1.0, 1.0] {
            lobes.push((
                V3::new(
                    side * rng.uniform(0.2, 0.4),
                    rng.uniform(-0.05, 0.3),
                    rng.uniform(-0.2, 0.2),
                ),
                V3::new(
                    rng.uniform(0.35, 0.5),
                    rng.uniform(0.4, 0.6),
                    rng.uniform(0.5, 0.75),
                ),
            ));
        }
    } else {
        lobes.push((
            V3::new(
                rng.uniform(-0.15, 0.15),
                rng.uniform(0.0, 0.3),
                rng.uniform(-0.15, 0.15),
            ),
            V3::new(
                rng.uniform(0.5, 0.7),
                rng.uniform(0.45, 0.65),
                rng.uniform(0.55, 0.8),
            ),
        ));
    }
    for _ in 0..rng.int(0, 2) {
        lobes.push((
            V3::new(
                rng.uniform(-0.6, 0.6),
                rng.uniform(-0.4, 0.6),
                rng.uniform(-0.7, 0.7),
            ),
            V3::new(
                rng.uniform(0.12, 0.25),
                rng.uniform(0.12, 0.25),
                rng.uniform(0.1, 0.3),
            ),
        ));
    }
    CementSpec {
        lobes,
        fraction: rng.uniform(0.1, 0.5),
        seed: rng.next_u64(),
    }
}

/// Baseline pathology.
pub(crate) fn baseline(model: &PatientModel, rng: &mut Rng) -> Vec<LevelState> {
    let mut states = vec![
        LevelState {
            fracture: None,
            extra_loss_mm: [0.0; 3],
            edema: None,
            cement: None,
            rim_mm: 0.0,
            cleft: false,
            event: EdemaEvent::None,
        };
        model.levels.len()
    ];
    let eligible: Vec<usize> = (0..model.levels.len())
        .filter(|&i| model.levels[i].eligible)
        .collect();
    let n_fx = rng.weighted(&[(0usize, 0.12), (1, 0.45), (2, 0.3), (3, 0.13)]);
    let post_pv = rng.chance(0.2);
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < n_fx.min(eligible.len()) {
        let i = eligible[rng.int(0, eligible.len() as i64 - 1) as usize];
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    for &i in &chosen {
        let st = &mut states[i];
        let fx = new_fracture(rng, 3);
        let superior = rng.chance(0.75);
        let activity = rng.weighted(&[(0u8, 0.5), (1, 0.3), (2, 0.2)]);
        let fraction = match activity {
            0 => {
                if rng.chance(0.3) {
                    1.0
                } else {
                    rng.uniform(0.35, 0.95)
                }
            }
            1 => rng.uniform(0.06, 0.45),
            _ => 0.0,
        };
        if fraction > 0.0 {
            st.edema = Some(new_edema(rng, fraction, superior, activity == 0));
            st.cleft = fx.reduction > 0.28 && rng.chance(0.35);
        }
        st.fracture = Some(fx);
        if post_pv && st.edema.is_some() {
            st.cement = Some(new_cement(rng));
            st.rim_mm = if rng.chance(0.4) {
                rng.uniform(1.0, 3.0)
            } else {
                0.0
            };
        }
    }
    if rng.chance(0.15) {
        // An edematous level without measurable height loss (occult or incipient fracture).
        let free: Vec<usize> = eligible
            .iter()
            .copied()
            .filter(|i| !chosen.contains(i))
            .collect();
        if !free.is_empty() {
            let i = free[rng.int(0, free.len() as i64 - 1) as usize];
            let f = rng.uniform(0.05, 0.35);
            let sup = rng.chance(0.7);
            states[i].edema = Some(new_edema(rng, f, sup, false));
        }
    }
    states
}

/// The state of the next exam, `interval_days` after `prev`.
pub(crate) fn follow_up(
    model: &PatientModel,
    prev: &[LevelState],
    interval_days: u32,
    rng: &mut Rng,
) -> Vec<LevelState> {
    let mut next: Vec<LevelState> = prev.to_vec();
    let years = f64::from(interval_days) / 365.0;
    for st in next.iter_mut() {
        st.event = if st.edema.is_some() {
            EdemaEvent::Persistent
        } else {
            EdemaEvent::None
        };
        let Some(edema) = st.edema else { continue };
        if st.fracture.is_some() && st.cement.is_none() && rng.chance(0.75) {
            st.cement = Some(new_cement(rng));
        }
        let event = rng.weighted(&[
            (EdemaEvent::Resolved, 0.12 + 0.6 * years.min(1.0)),
            (EdemaEvent::Decreased, 0.45),
            (EdemaEvent::Persistent, 0.25),
            (EdemaEvent::Increased, 0.06),
        ]);
        let fraction = match event {
            EdemaEvent::Resolved => 0.0,
            EdemaEvent::Decreased => edema.fraction * rng.uniform(0.2, 0.7),
            EdemaEvent::Increased => (edema.fraction * rng.uniform(1.25, 1.8)).min(1.0),
            _ => edema.fraction,
        };
        st.event = event;
        st.edema = (fraction > 0.0).then_some(EdemaSpec {
            fraction,
            pattern: if edema.pattern == EdemaPattern::Whole && fraction < 0.97 {
                EdemaPattern::Diffuse
            } else {
                edema.pattern
            },
            ..edema
        });
        if st.edema.is_none() {
            st.cleft = st.cleft && st.cement.is_none() && rng.chance(0.5);
            if st.cement.is_some() && st.rim_mm == 0.0 && rng.chance(0.7) {
                st.rim_mm = rng.uniform(1.0, 3.0);
            }
        } else if st.cement.is_some() {
            // Cement fills the cleft.
            st.cleft = false;
        }
    }
    for (i, st) in next.iter_mut().enumerate() {
        if st.fracture.is_some() && model.levels[i].eligible && rng.chance(0.4) {
            let mm = rng.uniform(1.0, 3.0);
            let which = rng.int(0, 2) as usize;
            st.extra_loss_mm[which] += mm;
            if which != 2 {
                st.extra_loss_mm[1 - which] += 0.5 * mm;
            }
        }
    }
    if rng.chance(0.35) {
        let treated: Vec<usize> = (0..next.len())
            .filter(|&i| next[i].cement.is_some())
            .collect();
        let mut candidates: Vec<usize> = Vec::new();
        if !treated.is_empty() && rng.chance(0.6) {
            for &t in &treated {
                for j in [t.wrapping_sub(1), t + 1] {
                    if j < next.len() && model.levels[j].eligible && next[j].fracture.is_none() {
                        candidates.push(j);
                    }
                }
            }
        }
        if candidates.is_empty() {
            candidates = (0..next.len())
                .filter(|&j| {
                    model.levels[j].eligible
                        && next[j].fracture.is_none()
                        && next[j].edema.is_none()
                })
                .collect();
        }
        if !candidates.is_empty() {
            let j = candidates[rng.int(0, candidates.len() as i64 - 1) as usize];
            let fraction = rng.uniform(0.3, 0.95);
            let superior = rng.chance(0.75);
            next[j].fracture = Some(new_fracture(rng, 2));
            next[j].edema = Some(new_edema(rng, fraction, superior, true));
            next[j].event = EdemaEvent::New;
        }
    }
    next
}

/// Builds the vertebrae and layout of one exam from the static patient and its state.
pub(crate) fn spine_spec(model: &PatientModel, states: &[LevelState]) -> SpineSpec {
    let mut vertebrae = Vec::new();
    let mut regions = Vec::new();
    let mut canal = Vec::new();
    let mut discs = Vec::new();
    let mut wedges = Vec::new();
    for (spec, st) in model.levels.iter().zip(states) {
        let shape = deformed(&spec.shape, st);
        let scale_mm = spec.shape.half_extent_mm();
        let mut v = Vertebra {
            level: spec.level,
            frame: Frame {
                centre: V3::zeros(),
                lat: V3::x(),
                ant: -V3::y(),
                sup: V3::z(),
            },
            shape,
            marrow: spec.marrow,
            edema: None,
            cement: None,
            cleft: st.cleft.then(|| {
                let up = st.edema.is_none_or(|e| e.superior);
                (
                    V3::new(0.0, 0.2, if up { 0.35 } else { -0.35 }),
                    V3::new(0.5, 0.4, 0.16),
                )
            }),
            schmorl: if st.fracture.is_some() {
                None
            } else {
                spec.schmorl
            },
            modic: if st.fracture.is_some() {
                None
            } else {
                spec.modic
            },
            haemangioma: spec.haemangioma,
            posterior: Vec::new(),
            posterior_bounds: (V3::zeros(), V3::zeros()),
            posterior_cortex_mm: 1.0,
        };
        if let Some(c) = &st.cement {
            v.cement = Some(fit_cement(&v, c, st.rim_mm, scale_mm));
        }
        if let Some(e) = &st.edema {
            v.edema = Some(fit_edema(&v, e, scale_mm));
        }
        vertebrae.push(v);
        regions.push(spec.region);
        canal.push(spec.canal_mm);
        if let Some(d) = spec.disc_below {
            discs.push(d);
        }
        wedges.push(spec.shape.h_ant_mm - spec.shape.h_post_mm);
    }
    discs.truncate(vertebrae.len().saturating_sub(1));
    SpineSpec {
        vertebrae,
        regions,
        canal_mm: canal,
        discs,
        curve: model.curve,
        habitus: model.habitus,
        anchor: model.anchor,
        conus_index: model.conus_index,
        bifurcation_index: model.bifurcation_index,
        diaphragm_index: model.diaphragm_index,
        normal_wedge_mm: wedges,
    }
}

/// The body shape after the fracture and any later height loss.
pub(crate) fn deformed(normal: &BodyShape, st: &LevelState) -> BodyShape {
    let mut s = *normal;
    if let Some(fx) = &st.fracture {
        let [_, hm, _] = normal.heights_mm();
        match fx.shape {
            GenantShape::Wedge | GenantShape::None => s.h_ant_mm *= 1.0 - fx.reduction,
            GenantShape::Biconcave => {
                let depth = fx.reduction * hm;
                s.concave_sup_mm += depth * fx.sup_share;
                s.concave_inf_mm += depth * (1.0 - fx.sup_share);
            }
            GenantShape::Crush => {
                s.h_ant_mm *= 1.0 - 1.04 * fx.reduction;
                s.h_post_mm *= 1.0 - 0.92 * fx.reduction;
            }
        }
    }
    let [a, m, p] = st.extra_loss_mm;
    s.h_ant_mm -= a;
    s.h_post_mm -= p;
    s.concave_sup_mm += m;
    s
}

/// Regular grid of body points (normalised coordinates) for fitting fields, 1.2 mm step.
fn body_grid(v: &Vertebra) -> Vec<V3> {
    let e = v.shape.half_extent_mm();
    let step = 1.2;
    let mut out = Vec::new();
    let n = |h: f64| (h / step).ceil() as i64;
    for i in -n(e.x)..=n(e.x) {
        for j in -n(e.y)..=n(e.y) {
            for k in -n(e.z)..=n(e.z) {
                let l = V3::new(
                    i as f64 * step + 0.3,
                    j as f64 * step + 0.2,
                    k as f64 * step + 0.1,
                );
                if let Some((_, _, bot, top)) = v.shape.inside(&l) {
                    out.push(v.shape.normalised(&l, bot, top));
                }
            }
        }
    }
    out
}

fn fit_cement(v: &Vertebra, c: &CementSpec, rim_mm: f64, scale_mm: V3) -> CementField {
    let grid = body_grid(v);
    let mut field = CementField {
        lobes: c.lobes.clone(),
        scale: 1.0,
        noise: Noise::new(c.seed),
        scale_mm,
        rim_mm,
    };
    let (mut lo, mut hi) = (0.05, 3.0);
    for _ in 0..22 {
        field.scale = 0.5 * (lo + hi);
        let inside = grid.iter().filter(|n| field.distance_mm(n) < 0.0).count();
        if (inside as f64) < c.fraction * grid.len() as f64 {
            lo = field.scale;
        } else {
            hi = field.scale;
        }
    }
    field.scale = 0.5 * (lo + hi);
    field
}

fn fit_edema(v: &Vertebra, e: &EdemaSpec, scale_mm: V3) -> EdemaField {
    let mut field = EdemaField {
        pattern: e.pattern,
        threshold: 0.0,
        noise: Noise::new(e.seed),
        superior: e.superior,
        scale_mm,
        centre: e.centre,
    };
    if e.pattern == EdemaPattern::Whole {
        return field;
    }
    // Threshold = quantile of g over the marrow that can be edematous (not cement/cleft).
    let mut values: Vec<f32> = body_grid(v)
        .iter()
        .filter(|n| {
            v.cement
                .as_ref()
                .is_none_or(|c| c.distance_mm(n) >= c.rim_mm)
        })
        .filter(|n| {
            v.cleft
                .is_none_or(|(c, r)| (*n - c).component_div(&r).norm_squared() >= 1.0)
        })
        .map(|n| field.g(n))
        .collect();
    if values.is_empty() {
        return field;
    }
    values.sort_by(f32::total_cmp);
    let idx = ((1.0 - e.fraction) * values.len() as f64).floor() as usize;
    field.threshold = values[idx.min(values.len() - 1)];
    field
}
