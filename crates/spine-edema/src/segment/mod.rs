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
pub mod column;
pub mod contour;
pub mod dice;
pub mod extent;
pub mod kernels;
pub mod label;
pub mod orient;

pub use dice::{BodyAgreement, LabelDice, dice_per_label, truth_agreement};
pub use label::{Anchor, AnchorPosition, AnchorSource, Labelling};

use crate::error::{Error, Result};
use crate::exam::ExamImages;
use crate::geometry::PointMm;
use crate::level::Level;
use crate::volume::Volume;
use candidates::{DetectorParams, PlaneAnalysis, analyse_plane, robust_scale};
use chain::{BlockShape, best_chain};
use column::{Member, Source, extend_cranially, fill_gaps, find_sacrum, regions_near};
use contour::{ContourParams, PlaneGeometry, refine_section};
use extent::{BodySlice, ExtentLimits, extend_body};
use kernels::{Plane, gaussian_blur};
use label::{BodyForNaming, name_levels};
use ndarray::Array3;
use orient::{Orientation, WorkGrid, full_plane, working_plane};
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
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            anchor: None,
            working_pixel_mm: 1.5,
            pool_half_width_mm: 4.0,
        }
    }
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
    let back = posterior_skin(
        &working_plane(&volumes[0].voxels, &orientation, &grid, centre),
        scales[0],
        grid.ap_mm,
    );
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
    let blocks_of = |p: usize| -> Vec<Member> {
        let a = &planes[p];
        a.regions
            .iter()
            .enumerate()
            .filter_map(|(k, r)| {
                let shape = BlockShape::of(r, grid.si_mm, grid.ap_mm, f64::from(a.scale));
                let row = (r.centroid[0].round() as usize).min(back.len().saturating_sub(1));
                let deep_enough = back
                    .get(row)
                    .is_none_or(|&skin| skin - shape.posterior_mm >= MIN_BODY_DEPTH_FROM_SKIN_MM);
                (deep_enough && shape.is_body_like(r.cv)).then_some(Member {
                    source: Source::Region {
                        plane: p,
                        region: k,
                    },
                    shape,
                })
            })
            .collect()
    };
    let chain_score = |found: &[Member]| {
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
    let pooled: Vec<Member> = (best_plane.saturating_sub(pool)
        ..=(best_plane + pool).min(dims[0] - 1))
        .flat_map(blocks_of)
        .collect();
    let (links, _) = chain_score(&pooled);
    let bridged: usize = links.iter().map(|l| l.missing_before).sum();
    let mut column = fill_gaps(&links, &pooled, grid.si_mm, grid.ap_mm);
    if bridged > 0 {
        labelling.warnings.push(format!(
            "{bridged} body/bodies between detected ones were not detected on their own; \
             their outline is predicted from the neighbours"
        ));
    }
    let near = regions_near(
        &planes,
        best_plane.saturating_sub(pool),
        (best_plane + pool).min(dims[0] - 1),
        grid.si_mm,
        grid.ap_mm,
    );
    extend_cranially(&mut column, &near);

    // Stage 4: the sacrum below the column, then names.
    let sacrum = find_sacrum(&mut column, &near);
    let naming: Vec<BodyForNaming> = column
        .iter()
        .map(|f| BodyForNaming {
            z_mm: reference
                .affine
                .index_to_mm(source_index(&orientation, &grid, shape, f, &column))
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
    let mut slices: Vec<Vec<BodySlice>> = members
        .par_iter()
        .map(|f| match f.source {
            Source::Region { plane, region } => extend_body(
                &planes,
                grid.width,
                grid.si_mm,
                grid.ap_mm,
                lateral_mm,
                plane,
                &planes[plane].regions[region].pixels,
                &limits,
            ),
            Source::Predicted { .. } => Vec::new(),
        })
        .collect();
    for (k, f) in members.iter().enumerate() {
        if let Source::Predicted {
            template,
            d_row,
            d_col,
        } = f.source
        {
            slices[k] = shifted(&slices[template], &grid, d_row, d_col);
        }
    }
    let labels = paint(&orientation, &grid, &volumes, &scales, &slices);
    let voxel_ml = reference.affine.voxel_volume_mm3() / 1000.0;
    let bodies = summarise(&labels, &slices, &names, voxel_ml, dims, reference);
    Ok(Segmentation {
        labels: reference.with_voxels(labels),
        bodies,
        labelling,
    })
}

/// Smallest distance (mm) from the posterior wall of a vertebral body to the skin of
/// the back: the spinal canal, the posterior elements and the paraspinal muscles lie in
/// between (the skin-to-lamina depth alone is 30–80 mm at the lumbar levels in adults).
/// Flat fat lobules under the skin of the back can otherwise pass for a column.
const MIN_BODY_DEPTH_FROM_SKIN_MM: f64 = 40.0;

/// Per working row, the AP position (mm) of the skin of the back: the last tissue pixel
/// before air that reaches the posterior edge of the image. Rows where the back is cut
/// by the field of view get infinity (no constraint).
fn posterior_skin(plane: &Plane<f32>, scale: f32, ap_mm: f64) -> Vec<f64> {
    // Air is below a tenth of the tissue scale on every sequence (a tenth, not the
    // detector's void level, so that noise in the air does not count as skin).
    let air = 0.1 * scale;
    // At least 3 mm of air behind the skin before the image edge.
    let min_air = (3.0 / ap_mm).ceil() as usize;
    (0..plane.height)
        .map(|r| {
            let row = &plane.data[r * plane.width..(r + 1) * plane.width];
            let air_run = row.iter().rev().take_while(|&&v| v < air).count();
            if air_run < min_air || air_run == row.len() {
                f64::INFINITY
            } else {
                (row.len() - air_run) as f64 * ap_mm
            }
        })
        .collect()
}

/// Source-grid index (fractional) of a chain member's centroid.
fn source_index(
    o: &Orientation,
    grid: &WorkGrid,
    shape: [usize; 3],
    f: &Member,
    column: &[Member],
) -> [f64; 3] {
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
    idx[o.lateral_axis] = f.plane(column) as f64;
    idx[o.si_axis] = si;
    idx[o.ap_axis] = ap;
    idx
}

/// A body's sections moved by (`d_row`, `d_col`) working pixels; pixels pushed off the
/// plane are dropped.
fn shifted(slices: &[BodySlice], grid: &WorkGrid, d_row: i64, d_col: i64) -> Vec<BodySlice> {
    slices
        .iter()
        .map(|s| BodySlice {
            plane: s.plane,
            pixels: s
                .pixels
                .iter()
                .filter_map(|&i| {
                    let r = (i as usize / grid.width) as i64 + d_row;
                    let c = (i as usize % grid.width) as i64 + d_col;
                    ((0..grid.height as i64).contains(&r) && (0..grid.width as i64).contains(&c))
                        .then(|| (r as usize * grid.width + c as usize) as u32)
                })
                .collect(),
        })
        .collect()
}

/// Paints every body at full resolution: each body's working-grid section on a plane is
/// upsampled to a coarse full-resolution section, whose outline [`contour`] then moves
/// onto the outer edge of the cortex. Where two bodies claim a voxel the first keeps it.
fn paint(
    o: &Orientation,
    grid: &WorkGrid,
    volumes: &[&Volume<f32>],
    scales: &[f32],
    bodies: &[Vec<BodySlice>],
) -> Array3<u16> {
    let shape = volumes[0].shape();
    let d = o.dims(shape);
    let geom = PlaneGeometry {
        width: d[2],
        height: d[1],
        row_mm: o.spacing_mm[1],
        col_mm: o.spacing_mm[2],
    };
    // Smoothed, scale-normalised full-resolution planes, only where a body lies.
    let mut touched = vec![false; d[0]];
    for s in bodies.iter().flatten() {
        touched[s.plane] = true;
    }
    let sigma_px = (CONTOUR_SMOOTHING_MM / geom.row_mm.min(geom.col_mm)) as f32;
    let planes: Vec<Vec<Plane<f32>>> = (0..d[0])
        .into_par_iter()
        .map(|lat| {
            if !touched[lat] {
                return Vec::new();
            }
            volumes
                .iter()
                .zip(scales)
                .map(|(v, &s)| {
                    let mut p = gaussian_blur(&full_plane(&v.voxels, o, lat), sigma_px);
                    p.data.iter_mut().for_each(|x| *x /= s);
                    p
                })
                .collect()
        })
        .collect();
    let params = ContourParams::default();
    let sections: Vec<Vec<(usize, Vec<u32>)>> = bodies
        .par_iter()
        .map(|slices| {
            slices
                .iter()
                .map(|s| {
                    let coarse = upsample_section(&s.pixels, grid, d);
                    let imgs: Vec<&Plane<f32>> = planes[s.plane].iter().collect();
                    (s.plane, refine_section(&imgs, geom, &coarse, &params))
                })
                .collect()
        })
        .collect();
    let mut out = Array3::<u16>::zeros((shape[0], shape[1], shape[2]));
    for (b, secs) in sections.iter().enumerate() {
        for (lat, pixels) in secs {
            for &i in pixels {
                let (si, ap) = (i as usize / d[2], i as usize % d[2]);
                let v = &mut out[o.index(shape, *lat, si, ap)];
                if *v == 0 {
                    *v = (b + 1) as u16;
                }
            }
        }
    }
    out
}

/// Smoothing (mm) of the planes the contour search reads: enough to quiet Rician noise
/// over a 1 mm cortex without merging the cortex into its neighbours.
const CONTOUR_SMOOTHING_MM: f64 = 0.7;

/// Full-resolution pixel indices (`si * d[2] + ap`) of a working-grid section.
fn upsample_section(pixels: &[u32], grid: &WorkGrid, d: [usize; 3]) -> Vec<u32> {
    let mut out = Vec::with_capacity(pixels.len() * grid.si_factor * grid.ap_factor);
    for &i in pixels {
        let (r, c) = (i as usize / grid.width, i as usize % grid.width);
        for si in r * grid.si_factor..((r + 1) * grid.si_factor).min(d[1]) {
            for ap in c * grid.ap_factor..((c + 1) * grid.ap_factor).min(d[2]) {
                out.push((si * d[2] + ap) as u32);
            }
        }
    }
    out
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
