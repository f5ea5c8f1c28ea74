//! Rendering: evaluates the implicit patient at sub-sample points of every voxel
//! (partial volume), applies the series' signal equation, coil sensitivity and Rician
//! noise, and votes the truth labels on the same sub-samples. Slices render in parallel;
//! nothing larger than one slice per thread is ever held beyond the output itself.

use crate::acquisition::SeriesPlan;
use crate::anatomy::Anatomy;
use crate::body::{FLAG_CEMENT, FLAG_EDEMA, Sample, V3};
use crate::rng::Rng;
use crate::tissue::{SignalTable, Tissue};
use ndarray::Array3;
use rayon::prelude::*;

/// Truth label maps on a series grid (`[slice, row, column]`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LabelMaps {
    pub bodies: Array3<u8>,
    pub edema: Array3<u8>,
    pub cement: Array3<u8>,
}

/// Body, edema and cement labels of one slice, row-major.
type SliceLabels = [Vec<u8>; 3];

/// Stored pixel values and, if asked, labels.
#[derive(Clone, Debug)]
pub(crate) struct Rendered {
    pub pixels: Array3<u16>,
    pub labels: Option<LabelMaps>,
}

/// In-plane sub-sampling is only needed when pixels are coarser than this.
const FINE_PIXEL_MM: f64 = 0.8;
/// Sub-samples across the slice thickness (partial volume of 3–5 mm slices).
const THROUGH_SLICE_SAMPLES: usize = 3;

/// Signal of one model sample (before coil sensitivity).
fn signal(table: &SignalTable, s: &Sample, fat_boost: f32) -> f32 {
    let water = if s.edema > 0.0 {
        (1.0 - s.edema) * table.water(s.tissue) + s.edema * table.water(Tissue::EdemaWater)
    } else {
        table.water(s.tissue)
    };
    (1.0 - s.fat) * water + s.fat * (table.fat() + fat_boost)
}

/// Largest tissue signal of the series, used to scale stored values.
fn reference_signal(table: &SignalTable) -> f32 {
    [
        table.fat(),
        table.water(Tissue::Csf),
        table.water(Tissue::EdemaWater),
        table.water(Tissue::Muscle),
        table.water(Tissue::Nucleus),
    ]
    .into_iter()
    .fold(0.0, f32::max)
}

/// The in-plane point-spread of a windowed TSE acquisition, approximated by a separable
/// [1 4 1]/6 kernel (FWHM ≈ 1.2 pixels): edges in real images are never one pixel sharp.
fn point_spread(image: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut tmp = vec![0.0f32; image.len()];
    for (src, dst) in image.chunks_exact(cols).zip(tmp.chunks_exact_mut(cols)) {
        for c in 0..cols {
            let l = src[c.saturating_sub(1)];
            let r = src[(c + 1).min(cols - 1)];
            dst[c] = (l + 4.0 * src[c] + r) / 6.0;
        }
    }
    let mut out = vec![0.0f32; image.len()];
    for r in 0..rows {
        let (up, down) = (r.saturating_sub(1), (r + 1).min(rows - 1));
        for c in 0..cols {
            out[r * cols + c] =
                (tmp[up * cols + c] + 4.0 * tmp[r * cols + c] + tmp[down * cols + c]) / 6.0;
        }
    }
    out
}

/// Renders one series. `seed` drives the noise; `labels` asks for truth label maps.
pub(crate) fn render(
    anatomy: &Anatomy,
    plan: &SeriesPlan,
    b0_t: f64,
    seed: u64,
    labels: bool,
) -> Rendered {
    let table = SignalTable::new(&plan.sequence, b0_t);
    let unsat_fat = SignalTable::new(
        &crate::tissue::Sequence::SpinEcho {
            tr_ms: plan.tr_ms,
            te_ms: plan.te_ms,
            fat_sat: 0.0,
        },
        b0_t,
    )
    .fat();
    let reference = f64::from(reference_signal(&table)).max(1e-6);
    let sigma = f64::from(match plan.role {
        crate::acquisition::SeriesRole::T1 => {
            0.5 * (table.fat() + table.water(Tissue::MarrowWater))
        }
        _ => table
            .water(Tissue::Csf)
            .max(table.water(Tissue::EdemaWater)),
    }) / plan.snr;
    let (slope, intercept) = plan.rescale.unwrap_or((1.0, 0.0));
    let max_stored = f64::from((1u32 << plan.bits_stored.min(16)) - 1);
    let scale = plan.gain / reference / 1.6;
    let inv = plan.pose.inverse();
    let to_anatomy = |v: V3| inv.rotation * v;
    let inplane: Vec<(f64, f64)> = if plan.pixel_mm[0].max(plan.pixel_mm[1]) > FINE_PIXEL_MM {
        // Two diagonal sub-samples: half the cost of 2×2 and nearly the same edge blur.
        vec![(-0.25, -0.25), (0.25, 0.25)]
    } else {
        vec![(0.0, 0.0)]
    };
    // Outer sub-samples first: when they all agree, the middle ones are skipped.
    let mut offsets = Vec::new();
    for t in [0, THROUGH_SLICE_SAMPLES - 1, 1] {
        let depth = ((t as f64 + 0.5) / THROUGH_SLICE_SAMPLES as f64 - 0.5) * plan.thickness_mm;
        for &(dr, dc) in &inplane {
            let lps = plan.normal * depth
                + plan.col_dir * (dr * plan.pixel_mm[0])
                + plan.row_dir * (dc * plan.pixel_mm[1]);
            offsets.push(to_anatomy(lps));
        }
    }
    let n_sub = offsets.len();
    let n_outer = 2 * inplane.len();
    // Majority vote; an exact tie (even sub-sample counts) goes to the label on a
    // checkerboard of voxels so that ties neither grow nor shrink the labels on average.
    let wins = |count: usize, tie_in: bool| 2 * count > n_sub || (2 * count == n_sub && tie_in);
    let d_row = to_anatomy(plan.col_dir * plan.pixel_mm[0]);
    let d_col = to_anatomy(plan.row_dir * plan.pixel_mm[1]);
    let (rows, cols) = (plan.rows, plan.cols);
    let fat_sat = plan.bias.fat_sat_spread > 0.0;

    let slices: Vec<(Vec<u16>, Option<SliceLabels>)> = (0..plan.n_slices)
        .into_par_iter()
        .map(|k| {
            let mut rng = Rng::new(seed, 10_000 + k as u64);
            let origin_lps = plan.slice_origin(k);
            let origin = inv
                .transform_point(&nalgebra::Point3::from(origin_lps))
                .coords;
            let mut clean = vec![0.0f32; rows * cols];
            let mut lab = labels.then(|| {
                [
                    vec![0u8; rows * cols],
                    vec![0u8; rows * cols],
                    vec![0u8; rows * cols],
                ]
            });
            let mut hint = usize::MAX;
            for r in 0..rows {
                let row_start = origin + d_row * r as f64;
                let lps_row = origin_lps + plan.col_dir * (r as f64 * plan.pixel_mm[0]);
                for c in 0..cols {
                    let q = row_start + d_col * c as f64;
                    let lps = lps_row + plan.row_dir * (c as f64 * plan.pixel_mm[1]);
                    let fat_boost = if fat_sat {
                        (plan.bias.fat_residual(&lps) * f64::from(unsat_fat)) as f32
                    } else {
                        0.0
                    };
                    let mut acc = 0.0f32;
                    let mut votes: [(u8, u8); 3] = [(0, 0); 3];
                    let (mut n_edema, mut n_cement) = (0usize, 0usize);
                    let mut first: Option<(Tissue, u8, u8)> = None;
                    let mut uniform = true;
                    let mut taken = 0usize;
                    for (j, off) in offsets.iter().enumerate() {
                        if j == n_outer && uniform {
                            break;
                        }
                        let s = anatomy.eval_near(&(q + off), &mut hint);
                        let key = (s.tissue, s.body, s.flags);
                        uniform &= *first.get_or_insert(key) == key;
                        taken += 1;
                        acc += signal(&table, &s, fat_boost);
                        if labels && s.body != 0 {
                            if let Some(v) = votes.iter_mut().find(|v| v.0 == s.body || v.1 == 0) {
                                v.0 = s.body;
                                v.1 += 1;
                            }
                            n_edema += usize::from(s.flags & FLAG_EDEMA != 0);
                            n_cement += usize::from(s.flags & FLAG_CEMENT != 0);
                        }
                    }
                    if taken < n_sub {
                        // Skipped middle samples count as the (identical) outer ones.
                        let k = n_sub as f32 / taken as f32;
                        for v in votes.iter_mut() {
                            v.1 = (f32::from(v.1) * k).round() as u8;
                        }
                        n_edema = (n_edema as f32 * k).round() as usize;
                        n_cement = (n_cement as f32 * k).round() as usize;
                    }
                    let idx = r * cols + c;
                    clean[idx] = (f64::from(acc) / taken as f64 * plan.bias.at(&lps)) as f32;
                    if let Some([b, e, cm]) = lab.as_mut() {
                        let tie_in = (k + r + c) % 2 == 0;
                        if let Some(best) = votes
                            .iter()
                            .max_by_key(|v| v.1)
                            .filter(|v| wins(usize::from(v.1), tie_in))
                        {
                            b[idx] = best.0;
                        }
                        e[idx] = u8::from(wins(n_edema, tie_in));
                        cm[idx] = u8::from(wins(n_cement, tie_in));
                    }
                }
            }
            let blurred = point_spread(&clean, rows, cols);
            let pix: Vec<u16> = blurred
                .iter()
                .map(|&v| {
                    let (n1, n2) = rng.normal_pair();
                    let clean = f64::from(v);
                    let magnitude = ((clean + sigma * n1).powi(2) + (sigma * n2).powi(2)).sqrt();
                    // Non-negative after the clamp, so adding ½ and truncating rounds.
                    (((magnitude * scale - intercept) / slope).clamp(0.0, max_stored) + 0.5) as u16
                })
                .collect();
            (pix, lab)
        })
        .collect();

    let mut pixels = Array3::<u16>::zeros((plan.n_slices, rows, cols));
    let mut maps = labels.then(|| LabelMaps {
        bodies: Array3::zeros((plan.n_slices, rows, cols)),
        edema: Array3::zeros((plan.n_slices, rows, cols)),
        cement: Array3::zeros((plan.n_slices, rows, cols)),
    });
    for (k, (pix, lab)) in slices.into_iter().enumerate() {
        for (dst, src) in pixels
            .index_axis_mut(ndarray::Axis(0), k)
            .iter_mut()
            .zip(pix)
        {
            *dst = src;
        }
        if let (Some(m), Some([b, e, c])) = (maps.as_mut(), lab) {
            for (arr, src) in [(&mut m.bodies, b), (&mut m.edema, e), (&mut m.cement, c)] {
                for (dst, v) in arr.index_axis_mut(ndarray::Axis(0), k).iter_mut().zip(src) {
                    *dst = v;
                }
            }
        }
    }
    Rendered {
        pixels,
        labels: maps,
    }
}
