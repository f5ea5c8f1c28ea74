//! Smooth deterministic 3D value noise, the source of every irregular shape and texture
//! (marrow heterogeneity, patchy edema, cement surfaces, bowel loops, bias fields).
//!
//! Value noise on an integer lattice with quintic fade: cheap (eight hashes per call), smooth
//! (C², so partial-volume averaging sees no lattice artefacts) and reproducible from a seed
//! on every platform (integer hashing only).

/// A seeded noise field with values in about [-1, 1].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Noise {
    seed: u32,
}

impl Noise {
    /// A noise field; different seeds give independent fields.
    pub(crate) fn new(seed: u64) -> Self {
        Noise {
            seed: (seed ^ (seed >> 32)) as u32 ^ 0x9E37_79B9,
        }
    }

    fn lattice(&self, x: i32, y: i32, z: i32) -> f32 {
        let mut h = self.seed
            ^ (x as u32).wrapping_mul(0x8DA6_B343)
            ^ (y as u32).wrapping_mul(0xD816_3841)
            ^ (z as u32).wrapping_mul(0xCB1A_B31F);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^= h >> 12;
        h = h.wrapping_mul(0x297A_2D39);
        h ^= h >> 15;
        (h as f32) * (2.0 / u32::MAX as f32) - 1.0
    }

    /// Value noise at a point given in lattice units (one lattice cell = one feature size).
    pub(crate) fn at(&self, x: f64, y: f64, z: f64) -> f32 {
        let (ix, iy, iz) = (floor_i32(x), floor_i32(y), floor_i32(z));
        let (fx, fy, fz) = (f64::from(ix), f64::from(iy), f64::from(iz));
        let (tx, ty, tz) = (fade(x - fx), fade(y - fy), fade(z - fz));
        let c = |dx: i32, dy: i32, dz: i32| self.lattice(ix + dx, iy + dy, iz + dz);
        let x00 = lerp(c(0, 0, 0), c(1, 0, 0), tx);
        let x10 = lerp(c(0, 1, 0), c(1, 1, 0), tx);
        let x01 = lerp(c(0, 0, 1), c(1, 0, 1), tx);
        let x11 = lerp(c(0, 1, 1), c(1, 1, 1), tx);
        lerp(lerp(x00, x10, ty), lerp(x01, x11, ty), tz)
    }

    /// Two octaves: a feature of size `scale_mm` plus detail at half that size.
    pub(crate) fn fbm(&self, p: [f64; 3], scale_mm: f64) -> f32 {
        let k = 1.0 / scale_mm;
        let a = self.at(p[0] * k, p[1] * k, p[2] * k);
        let b = self.at(
            p[0] * k * 2.03 + 17.3,
            p[1] * k * 2.03 - 5.1,
            p[2] * k * 2.03 + 9.7,
        );
        0.7 * a + 0.3 * b
    }
}

/// `floor` as an integer without the libm call (the baseline x86-64 target has no
/// SSE4.1 `roundsd`). Inputs are lattice coordinates, far inside the i32 range.
pub(crate) fn floor_i32(x: f64) -> i32 {
    let i = x as i32;
    if x < f64::from(i) { i - 1 } else { i }
}

fn fade(t: f64) -> f32 {
    let t = t as f32;
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_bounded_smooth_and_seeded() {
        let n = Noise::new(7);
        let m = Noise::new(8);
        let mut differs = false;
        for i in 0..2000 {
            let x = i as f64 * 0.173;
            let v = n.at(x, x * 0.5, -x);
            assert!((-1.0..=1.0).contains(&v));
            let dv = (n.at(x + 1e-3, x * 0.5, -x) - v).abs();
            assert!(dv < 0.02, "not smooth at {x}: {dv}");
            differs |= (m.at(x, x * 0.5, -x) - v).abs() > 1e-3;
        }
        assert!(differs);
        assert_eq!(n.at(1.3, 2.2, 3.1), Noise::new(7).at(1.3, 2.2, 3.1));
    }
}
