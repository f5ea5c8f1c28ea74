//! Seeded random choices. Every random decision of the generator draws from a [`Rng`]
//! derived from the user's seed, so a seed reproduces the same exams byte for byte.

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A deterministic random source with the few draws the generator needs.
#[derive(Clone, Debug)]
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    /// A stream for `seed`; different `stream` values give independent sequences.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        Rng(r)
    }

    /// An independent child stream, so adding draws in one part of the generator does not
    /// change the choices of another.
    pub(crate) fn fork(&mut self, tag: u64) -> Rng {
        Rng::new(self.0.next_u64(), tag)
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.0.random::<f64>()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.0.random::<f64>() < p
    }

    /// Uniform integer in `lo..=hi`.
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.0.random_range(lo..=hi)
    }

    /// A raw 64-bit draw (seeds for noise fields, UIDs).
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Two independent standard normals (both outputs of one Box–Muller transform).
    pub(crate) fn normal_pair(&mut self) -> (f64, f64) {
        let u1 = self.0.random::<f64>().max(1e-300);
        let u2 = self.0.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        (r * c, r * s)
    }

    /// One element of a non-empty slice, weighted by `weights` (same length).
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.uniform(0.0, total);
        for &(item, w) in items {
            if x < w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}
