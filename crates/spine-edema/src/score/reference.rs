//! The normal-marrow reference of one exam.
//!
//! Both studies call marrow "edematous" relative to the normal marrow of the same exam.
//! Two things make a single global mean wrong: in a patient with several fractures most
//! bodies may be abnormal, and receive-coil sensitivity makes marrow brighter or darker
//! along the spine. So:
//! 1. each body gets robust statistics of its eroded interior (median, MAD);
//! 2. bodies are ranked by how edema-like their median is. With T1 and a fluid series the
//!    rank uses ln(fluid/T1), in which a shared coil bias cancels; with one series the
//!    median's ln is detrended along the spine by an iterated Theil–Sen line first;
//! 3. the bodies within a tolerance of the least edema-like quartile form the reference set;
//! 4. a Theil–Sen line of ln(median) against the position along the spine, fitted to the
//!    reference set only, is the reference of each series (a multiplicative bias model).
//!
//! Theil–Sen (median of pairwise slopes) tolerates up to ~29 % outliers among the bodies it
//! is given, and the set it is given has already excluded the edematous ones.

use super::types::{LogLinearModel, MarrowReference};

/// Robust statistics of one body's interior, per series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SeriesStats {
    /// Median intensity.
    pub median: f64,
    /// 1.4826 · MAD / median: relative robust SD.
    pub relative_sd: f64,
}

/// One body's input to the reference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BodyStats {
    /// Label.
    pub label: u16,
    /// Centroid, LPS mm.
    pub centroid_mm: [f64; 3],
    /// T1 statistics, when there is a T1 and an interior.
    pub t1: Option<SeriesStats>,
    /// Fluid-series statistics.
    pub fluid: Option<SeriesStats>,
}

/// Consistency constant of the MAD for a normal distribution.
const MAD_TO_SD: f64 = 1.4826;

/// Bodies whose edema index lies within this many ln units (≈ 22 %) of the least
/// edema-like quartile count as normal, whatever the spread: normal marrow of one exam
/// varies by ~10–20 % between bodies, while a body with more than half its marrow
/// edematous moves its fluid/T1 median ratio by a factor of two or more.
const NORMAL_TOLERANCE_LN: f64 = 0.2;

/// Robust statistics of a sample.
pub(crate) fn series_stats(values: &[f32]) -> Option<SeriesStats> {
    let median = median_f32(values)?;
    if median <= 0.0 {
        return None;
    }
    let deviations: Vec<f32> = values.iter().map(|v| (v - median).abs()).collect();
    let mad = median_f32(&deviations)?;
    Some(SeriesStats {
        median: f64::from(median),
        relative_sd: MAD_TO_SD * f64::from(mad) / f64::from(median),
    })
}

/// Median of a sample (the upper median of an even count); `None` when empty.
pub(crate) fn median_f32(values: &[f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    // Selection on the integer key of the IEEE total order: the order of `f32::total_cmp`,
    // compared several times faster (the statistics of every body select thousands).
    let mut keys: Vec<i32> = values.iter().map(|&v| total_order_key(v)).collect();
    let mid = keys.len() / 2;
    let (_, m, _) = keys.select_nth_unstable(mid);
    Some(f32::from_bits(total_order_key_inverse(*m)))
}

/// Integer whose signed order is the IEEE 754 total order of `v` (as in `f32::total_cmp`):
/// negative values have their magnitude bits flipped.
#[inline]
fn total_order_key(v: f32) -> i32 {
    let bits = v.to_bits() as i32;
    bits ^ (((bits >> 31) as u32) >> 1) as i32
}

/// Bits of the float whose key is `key` (the flip is its own inverse: it keeps the sign).
#[inline]
fn total_order_key_inverse(key: i32) -> u32 {
    (key ^ (((key >> 31) as u32) >> 1) as i32) as u32
}

/// Median of f64 values (reorders them).
pub(crate) fn median_f64(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    })
}

/// Quantile `q` (0–1) by linear interpolation of sorted values.
fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let low = pos.floor() as usize;
    let high = pos.ceil() as usize;
    Some(sorted[low] + (sorted[high] - sorted[low]) * (pos - low as f64))
}

/// Theil–Sen line `y = a + b·x`: median pairwise slope (pairs at least 1 mm apart), then
/// median intercept. Zero slope with fewer than two separated points.
pub(crate) fn theil_sen(points: &[(f64, f64)]) -> (f64, f64) {
    let mut slopes = Vec::new();
    for (i, &(x0, y0)) in points.iter().enumerate() {
        for &(x1, y1) in &points[i + 1..] {
            if (x1 - x0).abs() >= 1.0 {
                slopes.push((y1 - y0) / (x1 - x0));
            }
        }
    }
    let slope = median_f64(&mut slopes).unwrap_or(0.0);
    let mut intercepts: Vec<f64> = points.iter().map(|&(x, y)| y - slope * x).collect();
    let intercept = median_f64(&mut intercepts).unwrap_or(0.0);
    (intercept, slope)
}

/// Unit direction along the spine: principal axis of the centroids, pointing superior
/// (+z in LPS); LPS z when there are too few bodies to tell.
pub(crate) fn spine_axis(centroids: &[[f64; 3]]) -> [f64; 3] {
    let n = centroids.len();
    if n < 2 {
        return [0.0, 0.0, 1.0];
    }
    let mean = (0..3).map(|a| centroids.iter().map(|c| c[a]).sum::<f64>() / n as f64);
    let mean: Vec<f64> = mean.collect();
    let mut cov = nalgebra::Matrix3::<f64>::zeros();
    for c in centroids {
        let d = nalgebra::Vector3::new(c[0] - mean[0], c[1] - mean[1], c[2] - mean[2]);
        cov += d * d.transpose();
    }
    let eigen = cov.symmetric_eigen();
    let (best, _) =
        eigen
            .eigenvalues
            .iter()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            );
    let mut axis = eigen.eigenvectors.column(best).into_owned();
    if axis.z < 0.0 {
        axis = -axis;
    }
    if !axis.iter().all(|v| v.is_finite()) || axis.norm() < 0.5 {
        return [0.0, 0.0, 1.0];
    }
    let axis = axis.normalize();
    [axis.x, axis.y, axis.z]
}

/// Position of `point` along `axis`, mm.
pub(crate) fn spine_coordinate(axis: [f64; 3], point: [f64; 3]) -> f64 {
    axis[0] * point[0] + axis[1] * point[1] + axis[2] * point[2]
}

/// Indices of the bodies whose edema index (`index_of`, larger = more edema-like) lies
/// within tolerance of the least edema-like quartile.
fn select_normal(indices: &[f64]) -> Vec<bool> {
    let Some(q25) = quantile(indices, 0.25) else {
        return Vec::new();
    };
    let lower: Vec<f64> = indices
        .iter()
        .copied()
        .filter(|&v| v <= q25 + 1e-12)
        .collect();
    let mut dev: Vec<f64> = lower.iter().map(|v| (v - q25).abs()).collect();
    let spread = MAD_TO_SD * median_f64(&mut dev).unwrap_or(0.0);
    let tolerance = NORMAL_TOLERANCE_LN.max(3.0 * spread);
    indices.iter().map(|&v| v <= q25 + tolerance).collect()
}

/// Fits one series' model to the reference bodies.
fn fit_series(points: &[(f64, SeriesStats)]) -> Option<LogLinearModel> {
    if points.is_empty() {
        return None;
    }
    let xy: Vec<(f64, f64)> = points.iter().map(|(s, st)| (*s, st.median.ln())).collect();
    let (intercept, slope_per_mm) = theil_sen(&xy);
    let mut residuals: Vec<f64> = xy
        .iter()
        .map(|(x, y)| (y - intercept - slope_per_mm * x).abs())
        .collect();
    let residual_sd = if residuals.len() >= 3 {
        MAD_TO_SD * median_f64(&mut residuals).unwrap_or(0.0)
    } else {
        0.0
    };
    let mut rel: Vec<f64> = points.iter().map(|(_, st)| st.relative_sd).collect();
    Some(LogLinearModel {
        intercept,
        slope_per_mm,
        relative_sd: median_f64(&mut rel).unwrap_or(0.0),
        residual_sd,
    })
}

/// Builds the reference from per-body statistics. Returns the reference (floors and CSF
/// level left empty for the caller) and warnings.
pub(crate) fn build_reference(stats: &[BodyStats]) -> (MarrowReference, Vec<String>) {
    let mut warnings = Vec::new();
    let centroids: Vec<[f64; 3]> = stats.iter().map(|b| b.centroid_mm).collect();
    let axis = spine_axis(&centroids);
    let usable: Vec<&BodyStats> = stats
        .iter()
        .filter(|b| b.t1.is_some() || b.fluid.is_some())
        .collect();
    let both = usable.iter().all(|b| b.t1.is_some() && b.fluid.is_some());
    let s: Vec<f64> = usable
        .iter()
        .map(|b| spine_coordinate(axis, b.centroid_mm))
        .collect();
    // Edema index: larger = more edema-like (brighter fluid, darker T1).
    let raw: Vec<f64> = usable
        .iter()
        .map(|b| match (b.t1, b.fluid) {
            (Some(t1), Some(f)) if both => f.median.ln() - t1.median.ln(),
            (_, Some(f)) => f.median.ln(),
            (Some(t1), None) => -t1.median.ln(),
            (None, None) => 0.0,
        })
        .collect();
    let selected = if both || usable.len() < 3 {
        select_normal(&raw)
    } else {
        // One series: the bias is not cancelled, so detrend, select, refit, repeat.
        let mut chosen = vec![true; raw.len()];
        for _ in 0..3 {
            let xy: Vec<(f64, f64)> = (0..raw.len())
                .filter(|&i| chosen[i])
                .map(|i| (s[i], raw[i]))
                .collect();
            let (a, b) = theil_sen(&xy);
            let residual: Vec<f64> = (0..raw.len()).map(|i| raw[i] - a - b * s[i]).collect();
            chosen = select_normal(&residual);
        }
        chosen
    };
    let mut fallback = false;
    let mut reference: Vec<usize> = (0..usable.len())
        .filter(|&i| selected.get(i) == Some(&true))
        .collect();
    if reference.is_empty() {
        fallback = true;
        reference = (0..usable.len()).collect();
        warnings.push("no body looked like normal marrow; reference taken from all bodies".into());
    }
    if !usable.is_empty() && reference.len() < 2 {
        warnings.push(format!(
            "normal-marrow reference rests on {} body; edema thresholds are uncertain",
            reference.len()
        ));
    }
    let t1_points: Vec<(f64, SeriesStats)> = reference
        .iter()
        .filter_map(|&i| usable[i].t1.map(|st| (s[i], st)))
        .collect();
    let fluid_points: Vec<(f64, SeriesStats)> = reference
        .iter()
        .filter_map(|&i| usable[i].fluid.map(|st| (s[i], st)))
        .collect();
    (
        MarrowReference {
            axis,
            t1: fit_series(&t1_points),
            fluid: fit_series(&fluid_points),
            t1_floor: None,
            fluid_floor: None,
            fluid_csf_level: None,
            reference_labels: reference.iter().map(|&i| usable[i].label).collect(),
            fallback,
        },
        warnings,
    )
}

/// Consecutive voxels taken at each sample position of [`floor_and_bright`]: one
/// 64-byte cache line of f32, so the sample reads one line per 16 voxels instead of one
/// per voxel (the volumes are tens of MB; the sample's memory traffic was most of its
/// cost).
const SAMPLE_RUN: usize = 16;

/// A low and a high quantile of a volume's voxels from a regular subsample (runs of
/// [`SAMPLE_RUN`] voxels, one run per `SAMPLE_RUN · stride` voxels, so one voxel in
/// `stride` overall): the background (noise floor) and bright-fluid (CSF) levels.
pub(crate) fn floor_and_bright(
    voxels: &[f32],
    stride: usize,
    low_q: f64,
    high_q: f64,
) -> Option<(f64, f64)> {
    let mut sample: Vec<f32> = voxels
        .chunks(SAMPLE_RUN * stride.max(1))
        .flat_map(|chunk| &chunk[..SAMPLE_RUN.min(chunk.len())])
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if sample.is_empty() {
        return None;
    }
    let n = sample.len();
    let low_at = ((n - 1) as f64 * low_q) as usize;
    let high_at = ((n - 1) as f64 * high_q) as usize;
    let (_, high, _) = sample.select_nth_unstable_by(high_at, |a, b| a.total_cmp(b));
    let high = f64::from(*high);
    let (_, low, _) =
        sample[..=high_at].select_nth_unstable_by(low_at.min(high_at), |a, b| a.total_cmp(b));
    Some((f64::from(*low), high))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(label: u16, z: f64, t1: f64, fluid: f64) -> BodyStats {
        BodyStats {
            label,
            centroid_mm: [0.0, 0.0, z],
            t1: Some(SeriesStats {
                median: t1,
                relative_sd: 0.05,
            }),
            fluid: Some(SeriesStats {
                median: fluid,
                relative_sd: 0.1,
            }),
        }
    }

    #[test]
    fn theil_sen_ignores_an_outlier() {
        let pts: Vec<(f64, f64)> = (0..9)
            .map(|i| (i as f64 * 30.0, 2.0 + 0.01 * i as f64 * 30.0))
            .collect();
        let mut pts = pts;
        pts[4].1 += 5.0;
        let (a, b) = theil_sen(&pts);
        assert!((a - 2.0).abs() < 1e-9 && (b - 0.01).abs() < 1e-9);
    }

    #[test]
    fn reference_survives_a_majority_of_edematous_bodies_and_a_bias_ramp() {
        // Bias: ×(1 + 0.004 per mm) shared by both series; 6 of 10 bodies edematous.
        let bodies: Vec<BodyStats> = (0..10)
            .map(|i| {
                let z = i as f64 * 35.0;
                let bias = (0.004 * z).exp();
                let edema = [1, 2, 3, 5, 7, 8].contains(&i);
                let (t1, f) = if edema {
                    (400.0, 600.0)
                } else {
                    (1000.0, 200.0)
                };
                body(i as u16 + 1, z, t1 * bias, f * bias)
            })
            .collect();
        let (reference, _) = build_reference(&bodies);
        assert_eq!(reference.reference_labels, vec![1, 5, 7, 10]);
        let t1 = reference.t1.unwrap();
        assert!((t1.slope_per_mm - 0.004).abs() < 1e-9);
        assert!((t1.at(100.0) - 1000.0 * (0.4f64).exp()).abs() < 1e-6);
    }
}
