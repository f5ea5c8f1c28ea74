//! Vertebral-body segmentation (body only, cortical shell included) on the exam's
//! reference grid, and level naming. Method for radiologists: `docs/segmentation.md`.
//!
//! Stages (each its own module):
//! 1. [`orient`]: anatomical axes from the affine; sagittal planes at ~1.5 mm.
//! 2. [`candidates`]: flat regions bounded by edges or dark cortex, per plane.
//! 3. [`chain`]: the column as the best chain of body-like regions (dynamic programming).
//! 4. sacrum search below the chain, then [`label`]: level names.
//! 5. [`extent`]: each body followed laterally; painted at full resolution with a
//!    boundary margin for the cortex.

pub mod candidates;
pub mod chain;
pub mod dice;
pub mod extent;
pub mod kernels;
pub mod label;
pub mod orient;

pub use dice::{LabelDice, dice_per_label};
pub use label::{Anchor, AnchorPosition, AnchorSource, Labelling};

use crate::error::{Error, Result};
use crate::exam::ExamImages;
use crate::geometry::PointMm;
use crate::level::Level;
use crate::volume::Volume;
use candidates::{DetectorParams, PlaneAnalysis, analyse_plane, robust_scale};
use chain::{BlockShape, best_chain};
use extent::{BodySlice, ExtentLimits, extend_body};
use label::{BodyForNaming, name_levels};
use ndarray::Array3;
use orient::{Orientation, WorkGrid, working_plane};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One segmented vertebral body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VertebralBody {
    /// Value of this body in [`Segmentation::labels`] (1-based, cranial to caudal).
    pub label: u16,
    /// Named level, when labelling could name it.
    pub level: Option<Level>,
    /// Confidence in `level`, 0–1.
    pub level_confidence: f64,
    /// Centroid in LPS mm.
    pub centroid_mm: PointMm,
    /// Body volume in mL.
    pub volume_ml: f64,
    /// True when the body touches the edge of the field of view (partly outside it).
    pub partial: bool,
}

/// All bodies of one exam.
#[derive(Clone, Debug)]
pub struct Segmentation {
    /// Label map on the reference grid: 0 background, otherwise a [`VertebralBody::label`].
    pub labels: Volume<u16>,
    /// Bodies, cranial to caudal.
    pub bodies: Vec<VertebralBody>,
    /// How the levels were named and what to double-check.
    pub labelling: Labelling,
}

impl Segmentation {
    /// The label map with level codes (VerSe / SPINEPS, SPEC §4) instead of body indices;
    /// unnamed bodies are left out. This is what `--save-masks` writes.
    pub fn level_map(&self) -> Volume<u16> {
        let mut code = vec![0u16; self.bodies.len() + 1];
        for b in &self.bodies {
            if let Some(level) = b.level {
                code[usize::from(b.label)] = u16::from(level.code());
            }
        }
        self.labels.with_voxels(
            self.labels
                .voxels
                .mapv(|l| code.get(usize::from(l)).copied().unwrap_or(0)),
        )
    }
}

/// Settings of [`segment`]. Every field has a default (`SegmentConfig::default()`), and a
/// partial JSON/TOML object deserialises with the others at their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SegmentConfig {
    /// A user statement "this body is that level" (`--anchor L1=3`); overrides the sacrum.
    pub anchor: Option<Anchor>,
    /// In-plane pixel size (mm) at which bodies are found. Default 1.5 mm: the thinnest
    /// structure the search relies on (a disc, ≥ 4 mm) spans at least 2–3 pixels.
    pub working_pixel_mm: f64,
    /// Distance (mm) either side of the best sagittal plane from which candidates are
    /// pooled, so a body missed on one plane is found on its neighbour. Default 4 mm.
    pub pool_half_width_mm: f64,
    /// Margin (mm) added around each body at full resolution: the detector stops one
    /// smoothing width inside the cortex, which belongs to the body. Default 1.5 mm.
    pub boundary_margin_mm: f64,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            anchor: None,
            working_pixel_mm: 1.5,
            pool_half_width_mm: 4.0,
            boundary_margin_mm: 1.5,
        }
    }
}

/// A chain member: which plane and region it came from.
#[derive(Clone, Copy, Debug)]
struct Found {
    plane: usize,
    region: usize,
    shape: BlockShape,
}

/// Segments and names every vertebral body of `images` on its reference grid.
///
/// Works from T1 alone, from the fluid-sensitive (or T2) series alone (flagged in
/// [`Labelling::warnings`]), or both (a pixel must look like marrow on both).
pub fn segment(images: &ExamImages, cfg: &SegmentConfig) -> Result<Segmentation> {
    let reference = images.reference().ok_or_else(|| Error::Analysis {
        context: "segmentation".into(),
        reason: "exam has neither a T1 nor a fluid-sensitive series".into(),
    })?;
    if !(0.3..=5.0).contains(&cfg.working_pixel_mm) {
        return Err(Error::Config(format!(
            "working_pixel_mm {} outside 0.3–5",
            cfg.working_pixel_mm
        )));
    }
    let mut volumes: Vec<&Volume<f32>> = Vec::new();
    if let Some(t1) = &images.t1 {
        volumes.push(t1);
    }
    if let Some(fluid) = &images.fluid {
        if !fluid.volume.same_grid(reference) {
            return Err(Error::Analysis {
                context: "segmentation".into(),
                reason: "fluid series is not on the T1 grid; resample it first".into(),
            });
        }
        volumes.push(&fluid.volume);
    }
    let mut labelling = Labelling::default();
    if images.t1.is_none() {
        labelling
            .warnings
            .push("segmented from the fluid-sensitive series alone (no T1)".into());
    }

    let shape = reference.shape();
    let orientation = Orientation::from_affine(&reference.affine)?;
    let grid = WorkGrid::new(&orientation, shape, cfg.working_pixel_mm);
    let dims = orientation.dims(shape);
    let lateral_mm = orientation.spacing_mm[0];

    // Stage 1–2: every sagittal plane, analysed independently (rayon over planes).
    let centre = dims[0] / 2;
    let scales: Vec<f32> = volumes
        .iter()
        .map(|v| robust_scale(&working_plane(&v.voxels, &orientation, &grid, centre)))
        .collect();
    let params = DetectorParams::default();
    let planes: Vec<PlaneAnalysis> = (0..dims[0])
        .into_par_iter()
        .map(|lat| {
            let imgs: Vec<_> = volumes
                .iter()
                .map(|v| working_plane(&v.voxels, &orientation, &grid, lat))
                .collect();
            let with_scale: Vec<_> = imgs.iter().zip(&scales).map(|(p, &s)| (p, s)).collect();
            analyse_plane(&with_scale, grid.si_mm as f32, grid.ap_mm as f32, &params)
        })
        .collect();

    // Stage 3: the plane whose own chain is best, then a chain over pooled neighbours.
    let blocks_of = |p: usize| -> Vec<Found> {
        let a = &planes[p];
        a.regions
            .iter()
            .enumerate()
            .filter_map(|(k, r)| {
                let shape = BlockShape::of(r, grid.si_mm, grid.ap_mm, f64::from(a.scale));
                shape.is_body_like(r.cv).then_some(Found {
                    plane: p,
                    region: k,
                    shape,
                })
            })
            .collect()
    };
    let chain_score = |found: &[Found]| {
        let shapes: Vec<BlockShape> = found.iter().map(|f| f.shape).collect();
        best_chain(&shapes)
    };
    let best_plane = (0..dims[0])
        .into_par_iter()
        .map(|p| (p, chain_score(&blocks_of(p)).1))
        .reduce(
            || (centre, f64::NEG_INFINITY),
            |a, b| if b.1 > a.1 { b } else { a },
        )
        .0;
    let pool = (cfg.pool_half_width_mm / lateral_mm).round() as usize;
    let pooled: Vec<Found> = (best_plane.saturating_sub(pool)
        ..=(best_plane + pool).min(dims[0] - 1))
        .flat_map(blocks_of)
        .collect();
    let (links, _) = chain_score(&pooled);
    let mut column: Vec<Found> = links.iter().map(|l| pooled[l.block]).collect();
    let bridged: usize = links.iter().map(|l| l.missing_before).sum();
    if bridged > 0 {
        labelling.warnings.push(format!(
            "{bridged} body/bodies between detected ones could not be delineated (gap in the chain)"
        ));
    }

    // Stage 4: the sacrum below the column, then names.
    let sacrum = find_sacrum(&planes, &grid, &mut column, best_plane, pool);
    let naming: Vec<BodyForNaming> = column
        .iter()
        .map(|f| BodyForNaming {
            z_mm: reference
                .affine
                .index_to_mm(source_index(&orientation, &grid, shape, f))
                .z,
            height_mm: f.shape.height_mm + 2.0,
        })
        .collect();
    let mut names = name_levels(
        &naming,
        sacrum.is_some(),
        cfg.anchor.as_ref(),
        &mut labelling,
    );
    let mut members = column.clone();
    if let Some(s1) = sacrum {
        members.push(s1);
        let s1_name = match labelling.anchor {
            AnchorSource::User => names
                .last()
                .and_then(|(l, _)| l.and_then(|l| l.offset(1)))
                .map(|l| (Some(l), 0.95))
                .unwrap_or((None, 0.0)),
            _ => (Some(Level::S1), 0.9),
        };
        names.push(s1_name);
    }

    // Stage 5: lateral extent and full-resolution painting.
    let limits = ExtentLimits::default();
    let slices: Vec<Vec<BodySlice>> = members
        .par_iter()
        .map(|f| {
            extend_body(
                &planes,
                grid.width,
                grid.si_mm,
                grid.ap_mm,
                lateral_mm,
                f.plane,
                &planes[f.plane].regions[f.region].pixels,
                &limits,
            )
        })
        .collect();
    let labels = paint(&orientation, &grid, shape, &slices, cfg.boundary_margin_mm);
    let voxel_ml = reference.affine.voxel_volume_mm3() / 1000.0;
    let bodies = summarise(&labels, &slices, &names, voxel_ml, dims, reference);
    Ok(Segmentation {
        labels: reference.with_voxels(labels),
        bodies,
        labelling,
    })
}

/// Source-grid index (fractional) of a chain member's centroid.
fn source_index(o: &Orientation, grid: &WorkGrid, shape: [usize; 3], f: &Found) -> [f64; 3] {
    let si = f.shape.centre_mm[0] / grid.si_mm * grid.si_factor as f64;
    let ap = f.shape.centre_mm[1] / grid.ap_mm * grid.ap_factor as f64;
    let d = o.dims(shape);
    let si = if o.si_flipped {
        d[1] as f64 - 1.0 - si
    } else {
        si
    };
    let ap = if o.ap_flipped {
        d[2] as f64 - 1.0 - ap
    } else {
        ap
    };
    let mut idx = [0.0; 3];
    idx[o.lateral_axis] = f.plane as f64;
    idx[o.si_axis] = si;
    idx[o.ap_axis] = ap;
    idx
}

/// Mid-sagittal area and depth of sacral segments relative to the lumbar bodies above:
/// S1 is shallower than L5 and S2 smaller again (S1 AP depth ~80 % of L5: Zhou et al.
/// 2000; the sacrum tapers caudally). A chain member this much smaller than the median
/// of the chain at its caudal end is taken as sacral.
const SACRAL_AREA_RATIO: f64 = 0.75;
/// See [`SACRAL_AREA_RATIO`].
const SACRAL_DEPTH_RATIO: f64 = 0.82;

/// Looks for the first sacral segment and trims the column to the mobile bodies.
///
/// 1. The chain may have run onto the sacrum: caudal members clearly smaller than the
///    column's median are sacral segments; the highest of them is S1.
/// 2. Otherwise S1 is sought one body spacing below the last body, stepped backwards
///    (the sacrum tilts posteriorly at the lumbosacral junction). A candidate that has a
///    body-sized successor at one regular spacing still has a mobile disc below it: it is
///    a lumbar body the chain missed, and the search moves one level down.
fn find_sacrum(
    planes: &[PlaneAnalysis],
    grid: &WorkGrid,
    column: &mut Vec<Found>,
    best_plane: usize,
    pool: usize,
) -> Option<Found> {
    if column.len() < 3 {
        return None;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut trimmed = None;
    while column.len() > 3 {
        let n = column.len();
        let med_area = median(&mut column[..n - 1].iter().map(|f| f.shape.area_mm2).collect());
        let med_depth = median(&mut column[..n - 1].iter().map(|f| f.shape.depth_mm).collect());
        let last = column[n - 1].shape;
        if last.area_mm2 < SACRAL_AREA_RATIO * med_area
            || last.depth_mm < SACRAL_DEPTH_RATIO * med_depth
        {
            trimmed = column.pop();
        } else {
            break;
        }
    }
    if trimmed.is_some() {
        return trimmed;
    }
    let spacing = {
        let mut d: Vec<f64> = column
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0].shape.centre_mm, w[1].shape.centre_mm);
                (b[0] - a[0]).hypot(b[1] - a[1])
            })
            .collect();
        median(&mut d)
    };
    let med_area = median(&mut column.iter().map(|f| f.shape.area_mm2).collect());
    let looks_like_s1 = |above: &BlockShape, dir: [f64; 2], cand: &BlockShape| -> bool {
        let ds = cand.centre_mm[0] - above.centre_mm[0];
        let dap = cand.centre_mm[1] - above.centre_mm[1];
        let dist = ds.hypot(dap);
        let turn = (dir[0] * dap - dir[1] * ds).atan2(dir[0] * ds + dir[1] * dap);
        (0.6..=1.6).contains(&(dist / spacing))
            && dap > 8.0
            && turn.to_degrees() > 15.0
            && cand.area_mm2 > 0.3 * above.area_mm2
    };
    let unit = |a: &BlockShape, b: &BlockShape| {
        let v = [
            b.centre_mm[0] - a.centre_mm[0],
            b.centre_mm[1] - a.centre_mm[1],
        ];
        let l = v[0].hypot(v[1]).max(1e-9);
        [v[0] / l, v[1] / l]
    };
    let lo = best_plane.saturating_sub(pool);
    let hi = (best_plane + pool).min(planes.len() - 1);
    let regions_near = || {
        planes
            .iter()
            .enumerate()
            .take(hi + 1)
            .skip(lo)
            .flat_map(|(p, a)| {
                a.regions
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.area_mm2 >= 200.0 && r.max_radius_mm >= 5.0)
                    .map(move |(k, r)| Found {
                        plane: p,
                        region: k,
                        shape: BlockShape::of(r, grid.si_mm, grid.ap_mm, f64::from(a.scale)),
                    })
            })
    };
    // At most two lumbar bodies may have been missed at the caudal end.
    for _ in 0..3 {
        let n = column.len();
        let last = column[n - 1].shape;
        let dir = unit(&column[n - 2].shape, &last);
        let candidate = regions_near()
            .filter(|f| looks_like_s1(&last, dir, &f.shape))
            .min_by(|a, b| {
                let d = |f: &Found| {
                    let ds = f.shape.centre_mm[0] - last.centre_mm[0];
                    let dap = f.shape.centre_mm[1] - last.centre_mm[1];
                    (ds.hypot(dap) - spacing).abs()
                };
                d(a).total_cmp(&d(b))
            })?;
        let body_sized = candidate.shape.area_mm2 >= SACRAL_AREA_RATIO * med_area;
        let has_mobile_successor = body_sized
            && regions_near().any(|f| {
                // A mobile neighbour is the candidate's size and depth within a level's
                // variation; sacral segments below S1 shrink faster.
                let area = (f.shape.area_mm2 / candidate.shape.area_mm2).ln().abs();
                let depth = (f.shape.depth_mm / candidate.shape.depth_mm).ln().abs();
                chain::link_cost(&candidate.shape, &f.shape, 0).is_some()
                    && area < 0.4
                    && depth < 0.22
            });
        if has_mobile_successor {
            column.push(candidate);
        } else {
            return Some(candidate);
        }
    }
    None
}

/// Paints every body at full resolution: each working pixel fills its source block, then
/// each body grows by `margin_mm` in-plane into unclaimed voxels.
fn paint(
    o: &Orientation,
    grid: &WorkGrid,
    shape: [usize; 3],
    bodies: &[Vec<BodySlice>],
    margin_mm: f64,
) -> Array3<u16> {
    let d = o.dims(shape);
    // Per lateral plane, a full-resolution (SI × AP) label plane.
    let mut per_plane: Vec<Vec<u16>> = vec![Vec::new(); d[0]];
    let mut touched = vec![false; d[0]];
    for (b, slices) in bodies.iter().enumerate() {
        for s in slices {
            touched[s.plane] = true;
            let plane = &mut per_plane[s.plane];
            if plane.is_empty() {
                plane.resize(d[1] * d[2], 0);
            }
            for &i in &s.pixels {
                let (r, c) = (i as usize / grid.width, i as usize % grid.width);
                for si in r * grid.si_factor..((r + 1) * grid.si_factor).min(d[1]) {
                    for ap in c * grid.ap_factor..((c + 1) * grid.ap_factor).min(d[2]) {
                        plane[si * d[2] + ap] = (b + 1) as u16;
                    }
                }
            }
        }
    }
    let steps_si = (margin_mm / o.spacing_mm[1]).round() as usize;
    let steps_ap = (margin_mm / o.spacing_mm[2]).round() as usize;
    per_plane
        .par_iter_mut()
        .zip(&touched)
        .filter(|(_, t)| **t)
        .for_each(|(plane, _)| grow_labels(plane, d[1], d[2], steps_si, steps_ap));
    let mut out = Array3::<u16>::zeros((shape[0], shape[1], shape[2]));
    for (lat, plane) in per_plane.iter().enumerate() {
        if plane.is_empty() {
            continue;
        }
        for si in 0..d[1] {
            for ap in 0..d[2] {
                let v = plane[si * d[2] + ap];
                if v != 0 {
                    out[o.index(shape, lat, si, ap)] = v;
                }
            }
        }
    }
    out
}

/// Grows labels into background by up to `steps_si` rows and `steps_ap` columns (one
/// pixel per pass, 4-connected, first come first served).
fn grow_labels(plane: &mut [u16], rows: usize, cols: usize, steps_si: usize, steps_ap: usize) {
    for pass in 0..steps_si.max(steps_ap) {
        let src = plane.to_vec();
        let vertical = pass < steps_si;
        let horizontal = pass < steps_ap;
        for r in 0..rows {
            for c in 0..cols {
                let i = r * cols + c;
                if src[i] != 0 {
                    continue;
                }
                let mut v = 0;
                if vertical {
                    if r > 0 && src[i - cols] != 0 {
                        v = src[i - cols];
                    } else if r + 1 < rows && src[i + cols] != 0 {
                        v = src[i + cols];
                    }
                }
                if v == 0 && horizontal {
                    if c > 0 && src[i - 1] != 0 {
                        v = src[i - 1];
                    } else if c + 1 < cols && src[i + 1] != 0 {
                        v = src[i + 1];
                    }
                }
                plane[i] = v;
            }
        }
    }
}

/// Per-body summaries from the painted label map.
fn summarise(
    labels: &Array3<u16>,
    slices: &[Vec<BodySlice>],
    names: &[(Option<Level>, f64)],
    voxel_ml: f64,
    dims: [usize; 3],
    reference: &Volume<f32>,
) -> Vec<VertebralBody> {
    let n = slices.len();
    let mut count = vec![0u64; n + 1];
    let mut sum = vec![[0f64; 3]; n + 1];
    let mut edge = vec![false; n + 1];
    let shape = [labels.shape()[0], labels.shape()[1], labels.shape()[2]];
    for ((i, j, k), &l) in labels.indexed_iter() {
        if l == 0 {
            continue;
        }
        let l = usize::from(l);
        count[l] += 1;
        sum[l][0] += i as f64;
        sum[l][1] += j as f64;
        sum[l][2] += k as f64;
        let idx = [i, j, k];
        if (0..3).any(|a| idx[a] == 0 || idx[a] + 1 == shape[a]) {
            edge[l] = true;
        }
    }
    (0..n)
        .map(|b| {
            let l = b + 1;
            let c = count[l].max(1) as f64;
            let centroid =
                reference
                    .affine
                    .index_to_mm([sum[l][0] / c, sum[l][1] / c, sum[l][2] / c]);
            // A body reaching the first or last sagittal plane is cut by the slab.
            let lateral_edge = slices[b]
                .iter()
                .any(|s| s.plane == 0 || s.plane + 1 == dims[0]);
            let (level, conf) = names.get(b).copied().unwrap_or((None, 0.0));
            VertebralBody {
                label: l as u16,
                level,
                level_confidence: conf,
                centroid_mm: centroid,
                volume_ml: count[l] as f64 * voxel_ml,
                partial: edge[l] || lateral_edge,
            }
        })
        .collect()
}
