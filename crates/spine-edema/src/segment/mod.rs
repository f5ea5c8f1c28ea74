//! Vertebral-body segmentation (body only, cortical shell included) on the exam's
//! reference grid, and level naming. Method for radiologists: `docs/segmentation.md`.
//!
//! Stages (each its own module):
//! 1. [`planes`]: every sagittal plane at 1.25 mm pixels, intensities scaled per series.
//! 2. [`network`]: a small U-Net gives, per pixel, the probability of a body and of the
//!    S1 body (T1 and fluid-sensitive series each, averaged).
//! 3. [`bodies`]: the stacked probabilities split into separate bodies (grown from
//!    their cores so touching bodies part at the disc).
//! 4. [`label`]: level names, counted up from S1 when it is in view.
//! 5. painting at full resolution: each plane's probability resampled to the source
//!    pixels, each voxel given the body of its working pixel.

pub mod bodies;
pub mod dice;
pub mod label;
pub mod network;
pub mod orient;
pub mod planes;

pub use dice::{BodyAgreement, LabelDice, dice_per_label, truth_agreement};
pub use label::{Anchor, AnchorPosition, AnchorSource, Labelling};
pub use network::BodyNetwork;

use crate::error::{Error, Result};
use crate::exam::ExamImages;
use crate::geometry::PointMm;
use crate::level::Level;
use crate::volume::Volume;
use bodies::{BODY_P, Grid, MIN_REGION_ML, Region, components, regions};
use label::{BodyForNaming, name_levels};
use ndarray::{Array2, Array3, Axis};
use network::Output;
use orient::Orientation;
use planes::{IntensityScale, PlaneGrid};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// In-plane pixel size (mm) at which the body network sees every exam: a disc (≥ 4 mm)
/// spans at least three pixels and a 380 mm field of view fits in ~300.
pub const DEFAULT_PIXEL_MM: f64 = 1.25;

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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SegmentConfig {
    /// A user statement "this body is that level" (`--anchor L1=3`); overrides the sacrum.
    pub anchor: Option<Anchor>,
}

/// The embedded network, parsed once per process.
fn embedded_network() -> Result<&'static BodyNetwork> {
    static NETWORK: OnceLock<std::result::Result<BodyNetwork, String>> = OnceLock::new();
    NETWORK
        .get_or_init(|| BodyNetwork::embedded().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Analysis {
            context: "segmentation".into(),
            reason: e.clone(),
        })
}

/// Segments and names every vertebral body of `images` on its reference grid, with the
/// network shipped in the library.
///
/// Works from T1 alone, from the fluid-sensitive (or T2) series alone (flagged in
/// [`Labelling::warnings`]), or both (the two series' probabilities are averaged).
pub fn segment(images: &ExamImages, cfg: &SegmentConfig) -> Result<Segmentation> {
    segment_with(embedded_network()?, images, cfg)
}

/// [`segment`] with a given network (e.g. one fitted without some exams, for
/// leave-out figures).
pub fn segment_with(
    net: &BodyNetwork,
    images: &ExamImages,
    cfg: &SegmentConfig,
) -> Result<Segmentation> {
    let reference = images.reference().ok_or_else(|| Error::Analysis {
        context: "segmentation".into(),
        reason: "exam has neither a T1 nor a fluid-sensitive series".into(),
    })?;
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
    let grid = PlaneGrid::new(orientation, shape, net.pixel_mm);
    let (body_p, s1_p) = probabilities(net, &grid, &volumes);
    let work = Grid {
        dims: [grid.dims[0], grid.working_shape().0, grid.working_shape().1],
        voxel_mm: [orientation.spacing_mm[0], net.pixel_mm, net.pixel_mm],
    };

    let mut found = regions(&body_p, &work);
    found.sort_by(|a, b| a.centre[1].total_cmp(&b.centre[1]));
    let s1 = find_s1(&s1_p, &work, &found);
    let to_mm = |r: &Region| {
        let index = source_index(&grid, r.centre);
        reference.affine.index_to_mm(index)
    };
    let naming: Vec<BodyForNaming> = found
        .iter()
        .map(|r| BodyForNaming {
            z_mm: to_mm(r).z,
            height_mm: r.extent_mm[1],
        })
        .collect();
    let below_free = s1.is_none() && free_view_below(&found, &work);
    if below_free {
        labelling.warnings.push(
            "S1 not segmented, but the field of view continues below the lowest body: \
             that body is taken as L5; confirm with --anchor"
                .into(),
        );
    }
    let mut names = name_levels(
        &naming,
        s1.is_some() || below_free,
        cfg.anchor.as_ref(),
        &mut labelling,
    );
    if below_free {
        // An inference from where the column ends, not a sacrum seen: a reader checks it.
        labelling.confidence = 0.7;
        labelling.anchor_uncertain = true;
    }
    let s1_label = s1.as_ref().map(|_| (found.len() + 1) as u16);
    if let Some(s1) = s1 {
        let s1_name = match labelling.anchor {
            AnchorSource::User => names
                .last()
                .and_then(|(l, _)| l.and_then(|l| l.offset(1)))
                .map(|l| (Some(l), 0.95))
                .unwrap_or((None, 0.0)),
            _ => (Some(Level::S1), 0.9),
        };
        names.push(s1_name);
        found.push(s1);
    }

    let labels = paint(&grid, &work, &body_p, &s1_p, &found, s1_label, shape);
    let voxel_ml = reference.affine.voxel_volume_mm3() / 1000.0;
    let bodies = summarise(&labels, &found, &work, &names, voxel_ml, reference);
    Ok(Segmentation {
        labels: reference.with_voxels(labels),
        bodies,
        labelling,
    })
}

/// Body and S1 probabilities on the sagittal planes (`[lateral, row, column]`), the
/// series' outputs averaged; zero where the network was not run.
///
/// Cost is what limits a CNN on a CPU, so the network runs only where bodies can be: it
/// first finds the column on one plane (the middle one, else planes probed outward),
/// then walks laterally from there until two planes in a row hold no body, and on those
/// planes looks only at a front-to-back band around the bodies already seen
/// ([`BAND_MARGIN_MM`] either side), widened when a body reaches the band's edge.
fn probabilities(
    net: &BodyNetwork,
    grid: &PlaneGrid,
    volumes: &[&Volume<f32>],
) -> (Array3<f32>, Array3<f32>) {
    let scales: Vec<IntensityScale> = volumes
        .iter()
        .map(|v| IntensityScale::of(&v.voxels))
        .collect();
    let (h, w) = grid.working_shape();
    let lateral = grid.dims[0];
    let mut out = ndarray::Array4::<f32>::zeros((2, lateral, h, w));
    let run = |lat: usize, band: (usize, usize)| -> Array3<f32> {
        let mut acc = Array3::<f32>::zeros((2, h, band.1 - band.0));
        for (v, s) in volumes.iter().zip(&scales) {
            let plane = grid.working_plane(&v.voxels, s, lat);
            let crop = plane.slice_axis(Axis(1), ndarray::Slice::from(band.0..band.1));
            acc += &net.forward(crop);
        }
        acc / volumes.len().max(1) as f32
    };
    let body_columns = |p: &Array3<f32>| -> Option<(usize, usize, usize)> {
        let body = p.index_axis(Axis(0), Output::Body as usize);
        let mut n = 0;
        let (mut lo, mut hi) = (usize::MAX, 0);
        for ((_, c), &v) in body.indexed_iter() {
            if v >= BODY_P {
                n += 1;
                lo = lo.min(c);
                hi = hi.max(c);
            }
        }
        (n > 0).then_some((n, lo, hi))
    };
    // Planes the network ran on; the ones the walk skips are interpolated at the end.
    let mut computed = vec![false; lateral];
    let store = |out: &mut ndarray::Array4<f32>,
                 computed: &mut [bool],
                 lat: usize,
                 band: (usize, usize),
                 p: &Array3<f32>| {
        computed[lat] = true;
        for o in 0..2 {
            out.index_axis_mut(Axis(0), o)
                .index_axis_mut(Axis(0), lat)
                .slice_axis_mut(Axis(1), ndarray::Slice::from(band.0..band.1))
                .assign(&p.index_axis(Axis(0), o));
        }
    };
    // 1. A plane through the column.
    let full = (0, w);
    let stride = (lateral / 8).max(1);
    let mut probe = vec![lateral / 2];
    for k in 1..=lateral / stride {
        if let Some(l) = (lateral / 2).checked_sub(k * stride) {
            probe.push(l);
        }
        if lateral / 2 + k * stride < lateral {
            probe.push(lateral / 2 + k * stride);
        }
    }
    let mut start = None;
    for &lat in &probe {
        let p = run(lat, full);
        store(&mut out, &mut computed, lat, full, &p);
        if body_columns(&p).is_some_and(|(n, _, _)| n >= MIN_START_PIXELS) {
            start = Some((lat, p));
            break;
        }
    }
    let Some((start, first)) = start else {
        return split_outputs(out);
    };
    let margin = (BAND_MARGIN_MM / grid.pixel_mm).round() as usize;
    let mut seen = body_columns(&first).map_or((0, w - 1), |(_, lo, hi)| (lo, hi));
    let band_of =
        |seen: (usize, usize)| (seen.0.saturating_sub(margin), (seen.1 + margin + 1).min(w));
    // 2. Walk outward, a chunk of planes per step (one per thread), until two planes in
    //    a row are empty. Thin slices (< 2 mm) are sampled every ~2 mm and the planes
    //    between interpolated: a body's lateral profile changes over centimetres.
    let chunk = rayon::current_num_threads().max(1);
    let step = ((MAX_PLANE_GAP_MM / grid.orientation.spacing_mm[0]).floor() as i64).max(1);
    for dir in [-1i64, 1] {
        let mut empty_run = 0;
        let mut next = start as i64 + dir * step;
        while empty_run < 2 && (0..lateral as i64).contains(&next) {
            let lats: Vec<usize> = (0..chunk as i64)
                .map(|k| next + dir * k * step)
                .filter(|l| (0..lateral as i64).contains(l))
                .map(|l| l as usize)
                .collect();
            let band = band_of(seen);
            let results: Vec<(usize, (usize, usize), Array3<f32>)> = lats
                .par_iter()
                .map(|&lat| {
                    let p = run(lat, band);
                    // A body reaching a band edge that is not the image edge: redo wide.
                    let touches = body_columns(&p).is_some_and(|(_, lo, hi)| {
                        (band.0 > 0 && lo <= 2) || (band.1 < w && hi + 3 >= band.1 - band.0)
                    });
                    if touches {
                        (lat, full, run(lat, full))
                    } else {
                        (lat, band, p)
                    }
                })
                .collect();
            for (lat, band, p) in &results {
                store(&mut out, &mut computed, *lat, *band, p);
                match body_columns(p) {
                    Some((n, lo, hi)) if n >= MIN_PLANE_PIXELS => {
                        empty_run = 0;
                        seen = (seen.0.min(band.0 + lo), seen.1.max(band.0 + hi));
                    }
                    _ => empty_run += 1,
                }
                if empty_run >= 2 {
                    break;
                }
            }
            next += dir * step * lats.len() as i64;
        }
    }
    interpolate_skipped(&mut out, &computed, step as usize);
    split_outputs(out)
}

/// Fills each plane the walk skipped (at most `step − 1` in a row) with the linear
/// interpolation of the nearest computed planes on either side.
fn interpolate_skipped(out: &mut ndarray::Array4<f32>, computed: &[bool], step: usize) {
    let done: Vec<usize> = (0..computed.len()).filter(|&l| computed[l]).collect();
    for pair in done.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b - a > step {
            continue;
        }
        for l in a + 1..b {
            let t = (l - a) as f32 / (b - a) as f32;
            for o in 0..out.dim().0 {
                let mut v = out.index_axis_mut(Axis(0), o);
                let (lo, hi) = (
                    v.index_axis(Axis(0), a).to_owned(),
                    v.index_axis(Axis(0), b).to_owned(),
                );
                v.index_axis_mut(Axis(0), l)
                    .assign(&(&lo * (1.0 - t) + &hi * t));
            }
        }
    }
}

/// Largest lateral distance (mm) between planes the network runs on.
const MAX_PLANE_GAP_MM: f64 = 2.0;

/// Body pixels (p ≥ 0.5) that show a plane crosses the column: a quarter of one body's
/// sagittal section at 1.25 mm pixels.
const MIN_START_PIXELS: usize = 64;
/// Body pixels below which a plane counts as past the column's lateral edge.
const MIN_PLANE_PIXELS: usize = 16;
/// Front-to-back margin (mm) around the bodies already seen within which the network
/// looks on the next planes: the widest body (≈ 50 mm) plus room for a curving column.
const BAND_MARGIN_MM: f64 = 45.0;

/// `[output, lateral, row, column]` → (body, S1) volumes.
fn split_outputs(out: ndarray::Array4<f32>) -> (Array3<f32>, Array3<f32>) {
    let mut it = out.outer_iter().map(|v| v.to_owned());
    let body = it.next().unwrap_or_default();
    let s1 = it.next().unwrap_or_default();
    (body, s1)
}

/// The S1 body: the largest S1 component directly below the lowest body (its centre
/// below the lowest body's lower edge and at most 2 body heights below that body's
/// centre, within a body depth front to back). A component whose centre is still within
/// the lowest body's rows is a misread part of that body (seen on a thoracic field of
/// view ending at L1), not a sacrum.
fn find_s1(s1_p: &Array3<f32>, grid: &Grid, found: &[Region]) -> Option<Region> {
    let lowest = found.last()?;
    let mask: Vec<bool> = s1_p.iter().map(|&v| v >= BODY_P).collect();
    let height = lowest.extent_mm[1].max(10.0);
    components(&mask, grid)
        .into_iter()
        .map(|c| Region::new(c, grid))
        .filter(|r| {
            let below_mm = (r.centre[1] - lowest.centre[1]) * grid.voxel_mm[1];
            let ap_mm = (r.centre[2] - lowest.centre[2]).abs() * grid.voxel_mm[2];
            r.volume_ml >= MIN_REGION_ML
                && r.centre[1] > lowest.bounds[1][1] as f64
                && below_mm <= 2.0 * height
                && ap_mm <= lowest.extent_mm[2].max(25.0)
        })
        .max_by(|a, b| a.volume_ml.total_cmp(&b.volume_ml))
}

/// True when the field of view continues at least one body height (≥ 20 mm) below the
/// lowest body: the column does not end at the image edge, so what follows below is the
/// sacrum (the network marks no body there), even when S1 itself was not segmented.
fn free_view_below(found: &[Region], grid: &Grid) -> bool {
    found.last().is_some_and(|lowest| {
        let rows_below = grid.dims[1].saturating_sub(lowest.bounds[1][1] + 1);
        rows_below as f64 * grid.voxel_mm[1] >= lowest.extent_mm[1].max(20.0)
    })
}

/// Fractional source-grid index of a working-grid position (lateral, row, column).
fn source_index(grid: &PlaneGrid, at: [f64; 3]) -> [f64; 3] {
    let o = &grid.orientation;
    let [_, si_mm, ap_mm] = o.spacing_mm;
    let mut si = (at[1] + 0.5) * grid.pixel_mm / si_mm - 0.5;
    let mut ap = (at[2] + 0.5) * grid.pixel_mm / ap_mm - 0.5;
    if o.si_flipped {
        si = grid.dims[1] as f64 - 1.0 - si;
    }
    if o.ap_flipped {
        ap = grid.dims[2] as f64 - 1.0 - ap;
    }
    let mut idx = [0.0; 3];
    idx[o.lateral_axis] = at[0];
    idx[o.si_axis] = si;
    idx[o.ap_axis] = ap;
    idx
}

/// The label map on the source grid: on each plane, the body probability (or, for the
/// S1 region, the S1 probability) resampled to the source pixels and thresholded; each
/// voxel takes the region of its working pixel (or of a neighbouring one, at the rim).
fn paint(
    grid: &PlaneGrid,
    work: &Grid,
    body_p: &Array3<f32>,
    s1_p: &Array3<f32>,
    found: &[Region],
    s1_label: Option<u16>,
    shape: [usize; 3],
) -> Array3<u16> {
    let [_, h, w] = work.dims;
    let mut owner = Array3::<u16>::zeros((work.dims[0], h, w));
    for (k, r) in found.iter().enumerate() {
        for &v in &r.voxels {
            let [l, row, col] = work.coords(v as usize);
            owner[[l, row, col]] = (k + 1) as u16;
        }
    }
    let [_, si_mm, ap_mm] = grid.orientation.spacing_mm;
    let row_of: Vec<usize> = (0..grid.dims[1])
        .map(|i| ((((i as f64 + 0.5) * si_mm) / grid.pixel_mm) as usize).min(h - 1))
        .collect();
    let col_of: Vec<usize> = (0..grid.dims[2])
        .map(|i| ((((i as f64 + 0.5) * ap_mm) / grid.pixel_mm) as usize).min(w - 1))
        .collect();
    let painted: Vec<Option<Array2<u16>>> = (0..grid.dims[0])
        .into_par_iter()
        .map(|lat| {
            let own = owner.index_axis(Axis(0), lat);
            if own.iter().all(|&v| v == 0) {
                return None;
            }
            let body_full = grid.to_full(body_p.index_axis(Axis(0), lat));
            let s1_full = grid.to_full(s1_p.index_axis(Axis(0), lat));
            let label_at = |r: usize, c: usize| -> u16 {
                let here = own[[r, c]];
                if here != 0 {
                    return here;
                }
                // At the rim the nearest labelled working pixel.
                let (r0, c0) = (r.saturating_sub(1), c.saturating_sub(1));
                for rr in r0..=(r + 1).min(h - 1) {
                    for cc in c0..=(c + 1).min(w - 1) {
                        if own[[rr, cc]] != 0 {
                            return own[[rr, cc]];
                        }
                    }
                }
                0
            };
            Some(Array2::from_shape_fn(
                (grid.dims[1], grid.dims[2]),
                |(si, ap)| {
                    let label = label_at(row_of[si], col_of[ap]);
                    let p = if Some(label) == s1_label {
                        s1_full[[si, ap]]
                    } else {
                        body_full[[si, ap]]
                    };
                    if label != 0 && p >= BODY_P { label } else { 0 }
                },
            ))
        })
        .collect();
    let mut out = Array3::<u16>::zeros((shape[0], shape[1], shape[2]));
    for (lat, plane) in painted.iter().enumerate() {
        let Some(plane) = plane else { continue };
        for ((si, ap), &v) in plane.indexed_iter() {
            if v != 0 {
                out[grid.orientation.index(shape, lat, si, ap)] = v;
            }
        }
    }
    out
}

/// Per-body summaries from the painted label map.
fn summarise(
    labels: &Array3<u16>,
    found: &[Region],
    work: &Grid,
    names: &[(Option<Level>, f64)],
    voxel_ml: f64,
    reference: &Volume<f32>,
) -> Vec<VertebralBody> {
    let n = found.len();
    let mut count = vec![0u64; n + 1];
    let mut sum = vec![[0f64; 3]; n + 1];
    for ((i, j, k), &l) in labels.indexed_iter() {
        if let (Some(c), Some(s)) = (count.get_mut(usize::from(l)), sum.get_mut(usize::from(l))) {
            *c += 1;
            s[0] += i as f64;
            s[1] += j as f64;
            s[2] += k as f64;
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
            let (level, conf) = names.get(b).copied().unwrap_or((None, 0.0));
            VertebralBody {
                label: l as u16,
                level,
                level_confidence: conf,
                centroid_mm: centroid,
                volume_ml: count[l] as f64 * voxel_ml,
                partial: found[b].at_edge(work),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 10 × 10 × 10 block of voxels starting at row `top`, as a region.
    fn block(grid: &Grid, top: usize) -> Region {
        let [_, rows, cols] = grid.dims;
        let voxels = (0..10)
            .flat_map(|l| (top..top + 10).flat_map(move |r| (5..15).map(move |c| (l, r, c))))
            .map(|(l, r, c)| ((l * rows + r) * cols + c) as u32)
            .collect();
        Region::new(voxels, grid)
    }

    #[test]
    fn s1_must_lie_below_the_lowest_body() {
        let grid = Grid {
            dims: [10, 60, 20],
            voxel_mm: [1.0; 3],
        };
        let lowest = block(&grid, 20);
        let s1_at = |rows: std::ops::Range<usize>| {
            Array3::from_shape_fn((10, 60, 20), |(_, r, c)| {
                if rows.contains(&r) && (5..15).contains(&c) {
                    0.9f32
                } else {
                    0.0
                }
            })
        };
        // Directly below, across a 4-row disc: the sacrum.
        let found = find_s1(&s1_at(34..44), &grid, std::slice::from_ref(&lowest));
        assert!(found.is_some_and(|r| r.bounds[1] == [34, 43]));
        // The lower part of the lowest body itself: not a sacrum.
        assert!(find_s1(&s1_at(24..30), &grid, std::slice::from_ref(&lowest)).is_none());
        // Far below (over two body heights): not the next segment.
        assert!(find_s1(&s1_at(50..60), &grid, std::slice::from_ref(&lowest)).is_none());
    }
}
