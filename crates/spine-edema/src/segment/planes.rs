//! Sagittal planes at the network's pixel size, and back.
//!
//! The body network sees every exam at one in-plane pixel size (1.25 mm) whatever the
//! matrix (256–512) and field of view (260–380 mm), so a vertebral body is always about
//! 20–30 pixels high. Planes are resampled with a separable tent filter whose support
//! widens when shrinking (antialiasing), the same filter taking probabilities back to the
//! full grid (where it is plain linear interpolation). The training script reads planes
//! this module wrote (`export_planes` example), so training and inference see identical
//! pixels.

use crate::segment::orient::Orientation;
use ndarray::{Array2, Array3, ArrayView2, Axis};

/// A 1-D linear resampling operator: output sample `k` is `Σ w·input[i]` over a short
/// run of inputs, stored compactly (CSR).
#[derive(Clone, Debug, PartialEq)]
pub struct Resampler {
    /// Number of input samples.
    pub n_in: usize,
    /// Number of output samples.
    pub n_out: usize,
    starts: Vec<usize>,
    first: Vec<usize>,
    weights: Vec<f32>,
}

impl Resampler {
    /// Maps `n_in` samples spaced `in_mm` onto `n_out` samples spaced `out_mm`, both grids
    /// starting at the same edge (sample centres at `(i + ½)·spacing`). The tent's
    /// half-width is the coarser of the two spacings: linear interpolation when enlarging,
    /// an area-like average when shrinking.
    pub fn new(n_in: usize, in_mm: f64, n_out: usize, out_mm: f64) -> Self {
        let half = in_mm.max(out_mm);
        let mut starts = Vec::with_capacity(n_out + 1);
        let mut first = Vec::with_capacity(n_out);
        let mut weights = Vec::new();
        starts.push(0);
        for k in 0..n_out {
            let centre = (k as f64 + 0.5) * out_mm;
            let lo = ((centre - half) / in_mm - 0.5).ceil().max(0.0) as usize;
            let hi = (((centre + half) / in_mm - 0.5).floor().max(0.0) as usize)
                .min(n_in.saturating_sub(1));
            let mut run: Vec<f32> = (lo..=hi)
                .map(|i| {
                    let x = (i as f64 + 0.5) * in_mm;
                    (1.0 - (x - centre).abs() / half).max(0.0) as f32
                })
                .collect();
            let mut lo = lo.min(hi);
            let total: f32 = run.iter().sum();
            if total <= 0.0 {
                // Beyond the input's last centre: take the nearest input sample.
                lo = ((centre / in_mm - 0.5).round().max(0.0) as usize).min(n_in.saturating_sub(1));
                run = vec![1.0];
            } else {
                run.iter_mut().for_each(|w| *w /= total);
            }
            first.push(lo);
            weights.extend(run);
            starts.push(weights.len());
        }
        Resampler {
            n_in,
            n_out,
            starts,
            first,
            weights,
        }
    }

    /// Output sample `k` as (first input index, weights).
    #[inline]
    fn taps(&self, k: usize) -> (usize, &[f32]) {
        (
            self.first[k],
            &self.weights[self.starts[k]..self.starts[k + 1]],
        )
    }

    /// Resamples a 1-D signal.
    pub fn apply(&self, input: &[f32]) -> Vec<f32> {
        (0..self.n_out)
            .map(|k| {
                let (lo, w) = self.taps(k);
                w.iter()
                    .zip(&input[lo..lo + w.len()])
                    .map(|(w, x)| w * x)
                    .sum()
            })
            .collect()
    }
}

/// Resamples a plane along both axes: `rows` acts on axis 0, `cols` on axis 1.
pub fn resample_plane(plane: ArrayView2<f32>, rows: &Resampler, cols: &Resampler) -> Array2<f32> {
    // Columns first (contiguous rows of the standard-layout input), then rows.
    let mut across = Array2::<f32>::zeros((rows.n_in, cols.n_out));
    for (src, mut dst) in plane.outer_iter().zip(across.outer_iter_mut()) {
        let src: Vec<f32> = src.iter().copied().collect();
        for (d, v) in dst.iter_mut().zip(cols.apply(&src)) {
            *d = v;
        }
    }
    let mut out = Array2::<f32>::zeros((rows.n_out, cols.n_out));
    for k in 0..rows.n_out {
        let (lo, w) = rows.taps(k);
        let mut dst = out.row_mut(k);
        for (j, &wj) in w.iter().enumerate() {
            dst.scaled_add(wj, &across.row(lo + j));
        }
    }
    out
}

/// Sagittal plane `lat` of `voxels` at full resolution, rows head → feet and columns
/// front → back (a view-and-copy, whatever the array's axis order).
pub fn full_plane(voxels: &Array3<f32>, o: &Orientation, lat: usize) -> Array2<f32> {
    let mut view = voxels.index_axis(Axis(o.lateral_axis), lat);
    // The two remaining axes keep their order: transpose when AP comes before SI.
    if o.ap_axis < o.si_axis {
        view = view.reversed_axes();
    }
    if o.si_flipped {
        view.invert_axis(Axis(0));
    }
    if o.ap_flipped {
        view.invert_axis(Axis(1));
    }
    view.as_standard_layout().into_owned()
}

/// Where the working planes of one grid lie and how to get there and back.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaneGrid {
    /// Anatomical axes of the source grid.
    pub orientation: Orientation,
    /// Source counts along (lateral, SI, AP).
    pub dims: [usize; 3],
    /// Working pixel size (mm), both in-plane axes.
    pub pixel_mm: f64,
    /// Full → working along SI.
    pub down_si: Resampler,
    /// Full → working along AP.
    pub down_ap: Resampler,
    /// Working → full along SI.
    pub up_si: Resampler,
    /// Working → full along AP.
    pub up_ap: Resampler,
}

impl PlaneGrid {
    /// The working grid of a source grid of `shape` at `pixel_mm`.
    pub fn new(orientation: Orientation, shape: [usize; 3], pixel_mm: f64) -> Self {
        let dims = orientation.dims(shape);
        let [_, si_mm, ap_mm] = orientation.spacing_mm;
        let count = |n: usize, mm: f64| ((n as f64 * mm / pixel_mm).round() as usize).max(1);
        let (h, w) = (count(dims[1], si_mm), count(dims[2], ap_mm));
        PlaneGrid {
            orientation,
            dims,
            pixel_mm,
            down_si: Resampler::new(dims[1], si_mm, h, pixel_mm),
            down_ap: Resampler::new(dims[2], ap_mm, w, pixel_mm),
            up_si: Resampler::new(h, pixel_mm, dims[1], si_mm),
            up_ap: Resampler::new(w, pixel_mm, dims[2], ap_mm),
        }
    }

    /// Working plane size (rows, columns).
    pub fn working_shape(&self) -> (usize, usize) {
        (self.down_si.n_out, self.down_ap.n_out)
    }

    /// Sagittal plane `lat` of `voxels` at the working pixel size, intensities mapped
    /// by `scale`.
    pub fn working_plane(
        &self,
        voxels: &Array3<f32>,
        scale: &IntensityScale,
        lat: usize,
    ) -> Array2<f32> {
        let mut plane = full_plane(voxels, &self.orientation, lat);
        plane.mapv_inplace(|v| scale.apply(v));
        resample_plane(plane.view(), &self.down_si, &self.down_ap)
    }

    /// A working-grid map (e.g. a probability) back on the full-resolution plane.
    pub fn to_full(&self, working: ArrayView2<f32>) -> Array2<f32> {
        resample_plane(working, &self.up_si, &self.up_ap)
    }
}

/// Maps raw intensities to about 0–1 per series: the 1st percentile to 0 and the 99.5th
/// to 1, clamped to 0–1.5. MR intensities have no absolute scale (vendor, coil, gain);
/// percentiles of the whole volume are stable because the field of view is mostly
/// tissue and air whatever the contrast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntensityScale {
    /// Raw value mapped to 0.
    pub low: f32,
    /// Raw value mapped to 1.
    pub high: f32,
}

/// Voxels sampled (evenly) for the percentiles: plenty for two quantiles, and bounded
/// for a 2 GB volume.
const SCALE_SAMPLES: usize = 1 << 20;

impl IntensityScale {
    /// Percentile scale of `voxels` (non-finite values ignored).
    pub fn of(voxels: &Array3<f32>) -> Self {
        let n = voxels.len();
        let stride = n.div_ceil(SCALE_SAMPLES).max(1);
        let mut sample: Vec<f32> = voxels
            .iter()
            .step_by(stride)
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        if sample.is_empty() {
            return IntensityScale {
                low: 0.0,
                high: 1.0,
            };
        }
        let mut quantile = |q: f64| {
            let k = ((sample.len() - 1) as f64 * q).round() as usize;
            *sample.select_nth_unstable_by(k, f32::total_cmp).1
        };
        let low = quantile(0.01);
        let high = quantile(0.995);
        IntensityScale {
            low,
            high: if high > low { high } else { low + 1.0 },
        }
    }

    /// The mapped value.
    #[inline]
    pub fn apply(&self, v: f32) -> f32 {
        if v.is_finite() {
            ((v - self.low) / (self.high - self.low)).clamp(0.0, 1.5)
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Affine;
    use nalgebra::{Point3, Vector3};
    use proptest::prelude::*;

    #[test]
    fn resampler_preserves_constants_and_linear_ramps() {
        for (n_in, a, n_out, b) in [(512, 0.7, 287, 1.25), (100, 1.25, 256, 0.49)] {
            let r = Resampler::new(n_in, a, n_out, b);
            let ones = r.apply(&vec![1.0; n_in]);
            assert!(ones.iter().all(|v| (v - 1.0).abs() < 1e-5));
            // A ramp in mm comes out as the same ramp away from the edges, up to the
            // asymmetry of a tent sampled at the input centres (< 0.1 input pixel).
            let ramp: Vec<f32> = (0..n_in).map(|i| ((i as f64 + 0.5) * a) as f32).collect();
            let out = r.apply(&ramp);
            for (k, v) in out.iter().enumerate().skip(3).take(n_out - 6) {
                let x = (k as f64 + 0.5) * b;
                assert!((f64::from(*v) - x).abs() < 0.1 * a, "{k}: {v} vs {x}");
            }
        }
    }

    #[test]
    fn full_plane_runs_head_to_feet_and_front_to_back() {
        // [sup→inf, ant→post, lateral], as the real lumbar set, but with SI stored upward.
        let affine =
            Affine::from_steps(Point3::origin(), [Vector3::z(), Vector3::y(), Vector3::x()]);
        let o = Orientation::from_affine(&affine).unwrap();
        let v = Array3::from_shape_fn((4, 3, 2), |(s, a, l)| (s * 100 + a * 10 + l) as f32);
        let p = full_plane(&v, &o, 1);
        assert_eq!(p.dim(), (4, 3));
        // Row 0 is the most superior (largest index along the upward SI axis).
        assert_eq!(p[[0, 0]], 301.0);
        assert_eq!(p[[3, 2]], 21.0);
    }

    #[test]
    fn scale_maps_percentiles() {
        let v = Array3::from_shape_fn((10, 10, 10), |(i, j, k)| (i * 100 + j * 10 + k) as f32);
        let s = IntensityScale::of(&v);
        assert!((s.low - 10.0).abs() <= 1.0 && (s.high - 994.0).abs() <= 1.0);
        assert_eq!(s.apply(f32::NAN), 0.0);
        assert_eq!(s.apply(1e9), 1.5);
    }

    proptest! {
        #[test]
        fn plane_resampling_is_separable_1d(h in 3usize..40, w in 3usize..40, f in 0.3f64..3.0) {
            let plane = Array2::from_shape_fn((h, w), |(r, c)| ((r * 7 + c * 3) % 11) as f32);
            let rows = Resampler::new(h, 1.0, ((h as f64) * f).round().max(1.0) as usize, 1.0 / f);
            let cols = Resampler::new(w, 1.0, ((w as f64) * f).round().max(1.0) as usize, 1.0 / f);
            let out = resample_plane(plane.view(), &rows, &cols);
            // Reference: the 2-D sum of products of the 1-D weights.
            for k in 0..rows.n_out {
                for m in 0..cols.n_out {
                    let (r0, rw) = rows.taps(k);
                    let (c0, cw) = cols.taps(m);
                    let mut acc = 0f32;
                    for (i, a) in rw.iter().enumerate() {
                        for (j, b) in cw.iter().enumerate() {
                            acc += a * b * plane[[r0 + i, c0 + j]];
                        }
                    }
                    prop_assert!((acc - out[[k, m]]).abs() < 1e-4);
                }
            }
        }
    }
}
