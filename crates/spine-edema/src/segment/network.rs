//! The body network's forward pass: a small 2-D U-Net (≈ 0.5 M parameters) applied to
//! one sagittal plane at a time, in plain Rust (no runtime, no download).
//!
//! The weights were fitted on CPU by `scripts/fit-segmenter/` (the fitting data and
//! settings are in the file's metadata and in `docs/segmentation.md`) and are embedded
//! in the library as float16. Layers mirror `scripts/fit-segmenter/net.py` with batch
//! norm folded into the convolutions: per level two 3 × 3 convolutions + ReLU, 2 × 2 max
//! pooling down, bilinear × 2 up (`align_corners = False`), concatenation
//! `[upsampled, skip]`, a 1 × 1 output convolution and a sigmoid.

use crate::error::{Error, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, Array3, ArrayView2, Axis, Slice};
use safetensors::{Dtype, SafeTensors};

/// The fitted weights shipped with the library (`scripts/fit-segmenter/export_weights.py`).
pub static EMBEDDED_WEIGHTS: &[u8] = include_bytes!("bodies.safetensors");

/// A convolution with its bias, weights as `cout × (cin·k·k)` (PyTorch's layout).
#[derive(Clone, Debug)]
struct Conv {
    cin: usize,
    k: usize,
    weight: Array2<f32>,
    bias: Vec<f32>,
}

/// What the network outputs, per pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Inside a vertebral body (thoracic or lumbar; cortex included).
    Body = 0,
    /// Inside the first sacral body.
    S1 = 1,
}

/// The fitted network.
#[derive(Clone, Debug)]
pub struct BodyNetwork {
    enc: Vec<[Conv; 2]>,
    mid: [Conv; 2],
    dec: Vec<[Conv; 2]>,
    out: Conv,
    /// Pixel size (mm) the network was fitted at.
    pub pixel_mm: f64,
    /// What it was fitted on (from the weights' metadata).
    pub fitted_on: String,
}

/// Floats of one im2col strip (1 MB): the patch matrix of a strip stays in the
/// last-level cache while the matrix product packs it, whatever the layer's width.
const STRIP_FLOATS: usize = 1 << 18;

impl BodyNetwork {
    /// The network with the weights shipped in the library.
    pub fn embedded() -> Result<Self> {
        Self::from_safetensors(EMBEDDED_WEIGHTS)
    }

    /// Reads weights written by `export_weights.py` (float16 or float32 tensors).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::Analysis {
            context: "body network weights".into(),
            reason,
        };
        let (_, meta) =
            SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let field = |k: &str| {
            meta.get(k)
                .cloned()
                .ok_or_else(|| bad(format!("no {k:?} metadata")))
        };
        let depth: usize = field("depth")?
            .parse()
            .map_err(|_| bad("bad depth".into()))?;
        let pixel_mm: f64 = field("pixel_mm")?
            .parse()
            .map_err(|_| bad("bad pixel_mm".into()))?;
        if !(1..=6).contains(&depth) || !(0.2..=5.0).contains(&pixel_mm) {
            return Err(bad(format!(
                "depth {depth} / pixel {pixel_mm} mm out of range"
            )));
        }
        let tensors =
            SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not safetensors: {e}")))?;
        let conv = |name: &str| -> Result<Conv> {
            let w = tensors
                .tensor(&format!("{name}.weight"))
                .map_err(|e| bad(format!("{name}.weight: {e}")))?;
            let b = tensors
                .tensor(&format!("{name}.bias"))
                .map_err(|e| bad(format!("{name}.bias: {e}")))?;
            let shape = w.shape().to_vec();
            let [cout, cin, k, k2] = shape[..] else {
                return Err(bad(format!("{name}.weight has shape {shape:?}")));
            };
            if k != k2 || !(k == 1 || k == 3) || b.shape() != [cout] {
                return Err(bad(format!("{name}: unsupported shape {shape:?}")));
            }
            let weight = Array2::from_shape_vec((cout, cin * k * k), floats(w.dtype(), w.data())?)
                .map_err(|e| bad(format!("{name}.weight: {e}")))?;
            let bias = floats(b.dtype(), b.data())?;
            if bias.len() != cout {
                return Err(bad(format!("{name}.bias length {}", bias.len())));
            }
            Ok(Conv {
                cin,
                k,
                weight,
                bias,
            })
        };
        let block = |name: &str| -> Result<[Conv; 2]> {
            Ok([
                conv(&format!("{name}.conv1"))?,
                conv(&format!("{name}.conv2"))?,
            ])
        };
        let enc = (0..depth)
            .map(|i| block(&format!("enc{i}")))
            .collect::<Result<Vec<_>>>()?;
        let dec = (0..depth)
            .map(|i| block(&format!("dec{i}")))
            .collect::<Result<Vec<_>>>()?;
        let net = BodyNetwork {
            enc,
            mid: block("mid")?,
            dec,
            out: conv("out")?,
            pixel_mm,
            fitted_on: meta.get("fitted_on").cloned().unwrap_or_default(),
        };
        net.check_channels().map_err(bad)?;
        Ok(net)
    }

    /// Channel counts must chain (so `forward` cannot meet a mismatch at run time).
    fn check_channels(&self) -> std::result::Result<(), String> {
        let mut c = 1;
        let mut skips = Vec::new();
        let step = |conv: &Conv, cin: usize| -> std::result::Result<usize, String> {
            if conv.cin != cin {
                return Err(format!("a layer expects {} channels, gets {cin}", conv.cin));
            }
            Ok(conv.weight.nrows())
        };
        for b in &self.enc {
            c = step(&b[0], c)?;
            c = step(&b[1], c)?;
            skips.push(c);
        }
        c = step(&self.mid[0], c)?;
        c = step(&self.mid[1], c)?;
        for (b, skip) in self.dec.iter().zip(skips).rev() {
            c = step(&b[0], c + skip)?;
            c = step(&b[1], c)?;
        }
        if self.dec.len() != self.enc.len() || self.out.k != 1 || step(&self.out, c)? != 2 {
            return Err("expects an output layer of two 1 × 1 channels".into());
        }
        Ok(())
    }

    /// Probabilities `[Output, row, column]` for one plane (values about 0–1.5 after
    /// [`crate::segment::planes::IntensityScale`]).
    pub fn forward(&self, plane: ArrayView2<f32>) -> Array3<f32> {
        let (h, w) = plane.dim();
        let m = 1usize << self.enc.len();
        let (hp, wp) = (h.div_ceil(m) * m, w.div_ceil(m) * m);
        // Zero padding to a multiple of 2^depth (zero is air after intensity scaling).
        let mut x = Array3::<f32>::zeros((1, hp, wp));
        x.index_axis_mut(Axis(0), 0)
            .slice_each_axis_mut(|ax| Slice::from(0..if ax.axis.index() == 0 { h } else { w }))
            .assign(&plane);
        let mut skips = Vec::with_capacity(self.enc.len());
        for b in &self.enc {
            x = conv(&conv(&x, &b[0], true), &b[1], true);
            let pooled = max_pool2(&x);
            skips.push(x);
            x = pooled;
        }
        x = conv(&conv(&x, &self.mid[0], true), &self.mid[1], true);
        for (b, skip) in self.dec.iter().zip(skips.iter()).rev() {
            let up = upsample2(&x);
            let joined = ndarray::concatenate(Axis(0), &[up.view(), skip.view()])
                .unwrap_or_else(|_| up.clone());
            x = conv(&conv(&joined, &b[0], true), &b[1], true);
        }
        let mut p = conv(&x, &self.out, false);
        p.mapv_inplace(|v| 1.0 / (1.0 + (-v).exp()));
        p.slice_each_axis(|ax| match ax.axis.index() {
            1 => Slice::from(0..h),
            2 => Slice::from(0..w),
            _ => Slice::from(..),
        })
        .to_owned()
    }
}

/// Tensor bytes as f32 (little-endian float16 or float32).
fn floats(dtype: Dtype, data: &[u8]) -> Result<Vec<f32>> {
    match dtype {
        Dtype::F16 => Ok(data
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect()),
        Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        other => Err(Error::Analysis {
            context: "body network weights".into(),
            reason: format!("unsupported tensor type {other:?}"),
        }),
    }
}

/// Convolution with zero padding ("same" size), as a matrix product over im2col strips
/// (a 1 × 1 convolution multiplies the input directly). The patch buffer is allocated
/// once per layer and every element of it is written per strip, so nothing is zeroed twice.
fn conv(x: &Array3<f32>, layer: &Conv, relu: bool) -> Array3<f32> {
    let x = x.as_standard_layout();
    let (cin, h, w) = x.dim();
    let cout = layer.weight.nrows();
    let mut out = Array2::<f32>::zeros((cout, h * w));
    for (mut row, &b) in out.outer_iter_mut().zip(&layer.bias) {
        row.fill(b);
    }
    let Some(xs) = x.as_slice() else {
        return out
            .into_shape_with_order((cout, h, w))
            .unwrap_or_else(|_| Array3::zeros((cout, h, w)));
    };
    if layer.k == 1 {
        if let Ok(b) = ArrayView2::from_shape((cin, h * w), xs) {
            general_mat_mul(1.0, &layer.weight, &b, 1.0, &mut out);
        }
    } else {
        let taps = cin * layer.k * layer.k;
        let rows_per_strip = (STRIP_FLOATS / (taps * w).max(1)).clamp(1, h.max(1));
        let mut cols = vec![0f32; taps * rows_per_strip * w];
        let mut r0 = 0;
        while r0 < h {
            let r1 = (r0 + rows_per_strip).min(h);
            let n = (r1 - r0) * w;
            im2col_into(xs, (cin, h, w), layer.k, r0, r1, &mut cols[..taps * n]);
            if let Ok(b) = ArrayView2::from_shape((taps, n), &cols[..taps * n]) {
                let mut dst = out.slice_axis_mut(Axis(1), Slice::from(r0 * w..r1 * w));
                general_mat_mul(1.0, &layer.weight, &b, 1.0, &mut dst);
            }
            r0 = r1;
        }
    }
    if relu {
        if let Some(o) = out.as_slice_mut() {
            for v in o {
                *v = v.max(0.0);
            }
        }
    }
    out.into_shape_with_order((cout, h, w))
        .unwrap_or_else(|_| Array3::zeros((cout, h, w)))
}

/// Writes the `(cin·k·k) × ((r1 − r0)·w)` patch matrix of output rows `r0..r1` of the
/// `(cin, h, w)` planes `xs` into `cols` (row-major), zeros where a tap falls outside.
fn im2col_into(
    xs: &[f32],
    (cin, h, w): (usize, usize, usize),
    k: usize,
    r0: usize,
    r1: usize,
    cols: &mut [f32],
) {
    let n = (r1 - r0) * w;
    let half = k / 2;
    for ci in 0..cin {
        let plane = &xs[ci * h * w..(ci + 1) * h * w];
        for ky in 0..k {
            for kx in 0..k {
                let q = (ci * k + ky) * k + kx;
                let dst = &mut cols[q * n..(q + 1) * n];
                for (r, seg) in (r0..r1).zip(dst.chunks_exact_mut(w)) {
                    let Some(sr) = (r + ky).checked_sub(half).filter(|&sr| sr < h) else {
                        seg.fill(0.0);
                        continue;
                    };
                    let src = &plane[sr * w..(sr + 1) * w];
                    // Output column c reads source column c + kx − half.
                    if kx >= half {
                        let shift = kx - half;
                        let keep = w.saturating_sub(shift);
                        seg[..keep].copy_from_slice(&src[shift..shift + keep]);
                        seg[keep..].fill(0.0);
                    } else {
                        let shift = (half - kx).min(w);
                        seg[..shift].fill(0.0);
                        seg[shift..].copy_from_slice(&src[..w - shift]);
                    }
                }
            }
        }
    }
}

/// 2 × 2 max pooling (even sizes).
fn max_pool2(x: &Array3<f32>) -> Array3<f32> {
    let (c, h, w) = x.dim();
    let (ho, wo) = (h / 2, w / 2);
    let mut out = Array3::<f32>::zeros((c, ho, wo));
    if ho == 0 || wo == 0 {
        return out;
    }
    let x = x.as_standard_layout();
    let (Some(xs), Some(os)) = (x.as_slice(), out.as_slice_mut()) else {
        return out;
    };
    for (plane, dst) in xs.chunks_exact(h * w).zip(os.chunks_exact_mut(ho * wo)) {
        for (r, drow) in dst.chunks_exact_mut(wo).enumerate() {
            let top = &plane[2 * r * w..(2 * r + 1) * w];
            let bottom = &plane[(2 * r + 1) * w..(2 * r + 2) * w];
            for (col, d) in drow.iter_mut().enumerate() {
                *d = top[2 * col]
                    .max(top[2 * col + 1])
                    .max(bottom[2 * col])
                    .max(bottom[2 * col + 1]);
            }
        }
    }
    out
}

/// Taps of bilinear × 2 upsampling along one axis of `n` samples (PyTorch,
/// `align_corners = False`): output `o` reads `(i0, i1, λ)`.
fn upsample_taps(n: usize) -> Vec<(usize, usize, f32)> {
    (0..2 * n)
        .map(|o| {
            let src = ((o as f32 + 0.5) / 2.0 - 0.5).max(0.0);
            let i0 = (src.floor() as usize).min(n - 1);
            let i1 = (i0 + 1).min(n - 1);
            (i0, i1, src - i0 as f32)
        })
        .collect()
}

/// Bilinear × 2 upsampling: each output row blends two source rows, then each output
/// column two columns of that blend.
fn upsample2(x: &Array3<f32>) -> Array3<f32> {
    let (c, h, w) = x.dim();
    let mut out = Array3::<f32>::zeros((c, 2 * h, 2 * w));
    if h == 0 || w == 0 {
        return out;
    }
    let ty = upsample_taps(h);
    let tx = upsample_taps(w);
    let x = x.as_standard_layout();
    let (Some(xs), Some(os)) = (x.as_slice(), out.as_slice_mut()) else {
        return out;
    };
    let mut blend = vec![0f32; w];
    for (plane, dst) in xs.chunks_exact(h * w).zip(os.chunks_exact_mut(4 * h * w)) {
        for (&(y0, y1, ly), drow) in ty.iter().zip(dst.chunks_exact_mut(2 * w)) {
            let (a, b) = (&plane[y0 * w..(y0 + 1) * w], &plane[y1 * w..(y1 + 1) * w]);
            for ((m, &a), &b) in blend.iter_mut().zip(a).zip(b) {
                *m = a * (1.0 - ly) + b * ly;
            }
            for (d, &(x0, x1, lx)) in drow.iter_mut().zip(&tx) {
                *d = blend[x0] * (1.0 - lx) + blend[x1] * lx;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Direct (scalar reference) convolution.
    fn conv_direct(x: &Array3<f32>, layer: &Conv) -> Array3<f32> {
        let (cin, h, w) = x.dim();
        let k = layer.k as isize;
        let half = k / 2;
        Array3::from_shape_fn((layer.weight.nrows(), h, w), |(co, r, c)| {
            let mut acc = layer.bias[co];
            for ci in 0..cin {
                for ky in 0..k {
                    for kx in 0..k {
                        let (sr, sc) = (r as isize + ky - half, c as isize + kx - half);
                        if sr >= 0 && sc >= 0 && (sr as usize) < h && (sc as usize) < w {
                            let wi = (ci * layer.k + ky as usize) * layer.k + kx as usize;
                            acc += layer.weight[[co, wi]] * x[[ci, sr as usize, sc as usize]];
                        }
                    }
                }
            }
            acc
        })
    }

    /// Scalar reference of [`max_pool2`].
    fn max_pool_direct(x: &Array3<f32>) -> Array3<f32> {
        let (c, h, w) = x.dim();
        Array3::from_shape_fn((c, h / 2, w / 2), |(ch, r, col)| {
            let (r, col) = (2 * r, 2 * col);
            x[[ch, r, col]]
                .max(x[[ch, r, col + 1]])
                .max(x[[ch, r + 1, col]])
                .max(x[[ch, r + 1, col + 1]])
        })
    }

    /// Scalar reference of [`upsample2`] (columns blended first, then rows).
    fn upsample_direct(x: &Array3<f32>) -> Array3<f32> {
        let (c, h, w) = x.dim();
        let (ty, tx) = (upsample_taps(h), upsample_taps(w));
        Array3::from_shape_fn((c, 2 * h, 2 * w), |(ch, r, col)| {
            let (y0, y1, ly) = ty[r];
            let (x0, x1, lx) = tx[col];
            let top = x[[ch, y0, x0]] * (1.0 - lx) + x[[ch, y0, x1]] * lx;
            let bottom = x[[ch, y1, x0]] * (1.0 - lx) + x[[ch, y1, x1]] * lx;
            top * (1.0 - ly) + bottom * ly
        })
    }

    proptest! {
        #[test]
        fn pooling_and_upsampling_match_direct(
            c in 1usize..4, h in 1usize..40, w in 1usize..40, seed in 0u32..1000,
        ) {
            let f = |i: usize| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0;
            let x = Array3::from_shape_fn((c, h, w), |(a, b, d)| f(a * 7919 + b * 104729 + d));
            prop_assert_eq!(max_pool2(&x), max_pool_direct(&x));
            for (a, b) in upsample2(&x).iter().zip(upsample_direct(&x).iter()) {
                prop_assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }

    proptest! {
        #[test]
        fn strip_convolution_matches_direct(
            cin in 1usize..4, cout in 1usize..4, h in 1usize..70, w in 1usize..90,
            k in prop::sample::select(vec![1usize, 3]), seed in 0u32..1000,
        ) {
            let f = |i: usize| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0;
            let x = Array3::from_shape_fn((cin, h, w), |(a, b, c)| f(a * 7919 + b * 104729 + c));
            let layer = Conv {
                cin,
                k,
                weight: Array2::from_shape_fn((cout, cin * k * k), |(a, b)| f(a * 31 + b + 17)),
                bias: (0..cout).map(|i| f(i + 5)).collect(),
            };
            let fast = conv(&x, &layer, false);
            let slow = conv_direct(&x, &layer);
            for (a, b) in fast.iter().zip(slow.iter()) {
                prop_assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn upsampling_matches_pytorch() {
        // torch.nn.functional.interpolate([[0, 1, 3]], scale_factor=2, mode="linear",
        // align_corners=False) = [0, 0.25, 0.75, 1.5, 2.5, 3].
        let x = Array3::from_shape_vec((1, 1, 3), vec![0.0, 1.0, 3.0]).unwrap_or_default();
        let up = upsample2(&x);
        let row: Vec<f32> = up.index_axis(Axis(1), 0).iter().copied().collect();
        assert_eq!(row, vec![0.0, 0.25, 0.75, 1.5, 2.5, 3.0]);
    }

    #[test]
    fn embedded_weights_load() {
        let net = BodyNetwork::embedded().unwrap();
        assert!((net.pixel_mm - crate::segment::DEFAULT_PIXEL_MM).abs() < 1e-9);
        assert!(!net.fitted_on.is_empty());
        let p = net.forward(Array2::<f32>::zeros((37, 45)).view());
        assert_eq!(p.dim(), (2, 37, 45));
    }

    #[test]
    fn malformed_weights_are_an_error() {
        assert!(BodyNetwork::from_safetensors(b"").is_err());
        assert!(BodyNetwork::from_safetensors(&[8, 0, 0, 0, 0, 0, 0, 0, b'{', b'}']).is_err());
        // Truncated real weights.
        let cut = &EMBEDDED_WEIGHTS[..EMBEDDED_WEIGHTS.len() / 2];
        assert!(BodyNetwork::from_safetensors(cut).is_err());
    }
}
