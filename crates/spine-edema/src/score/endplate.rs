//! Modic type-1 endplate signal: T1-dark, fluid-bright marrow along one endplate next to a
//! degenerated disc (Modic et al., Radiology 1988). It meets the voxel definition of edema
//! but is degenerative, not the fracture edema both reference studies score, and readers
//! leave it out. A body's edema is taken as endplate signal when all three hold:
//!
//! 1. the edema lies in a band along one endplate (≥ 90 % of it within the 40 % of the
//!    body's height, and at least 8 mm, next to that endplate; Modic changes reach 3–10 mm
//!    into the body);
//! 2. the disc on that side is narrowed: its central height (between the two bodies'
//!    central endplates) is under 85 % of the mean of the widest disc within two levels
//!    above and the widest within two below (disc height grows down the spine, and
//!    degenerated discs cluster, so the widest neighbour is the normal one). The gap
//!    between the masks includes both endplates' concavity, so a disc at half its
//!    neighbours' height measures about 80 %;
//! 3. the body is not deformed: Genant 0, and no posterior-wall loss of 15 % or more
//!    unless the body is as high as its neighbours (within 15 % of them at every height:
//!    normal thoracic wedging and endplate concavity reach 15 % against the posterior wall),
//!    decided in the cross-body step.
//!
//! An acute fracture without deformity, with edema under the endplate of a narrowed
//! disc, would be missed this way; such a body is flagged `endplate_signal` so that it can
//! be looked at.

use super::body::BodyVoxels;
use super::types::GenantGrade;
use super::types::mask_class::EDEMA;
use nalgebra::Vector3;

/// Share of the body's height, from one endplate, that a band of endplate signal lies in.
const BAND_HEIGHT_FRACTION: f64 = 0.4;
/// … but never less than this depth, mm: Modic changes reach 3–10 mm into the body, so in
/// a 14 mm upper thoracic body 40 % of the height (5.6 mm) would cut off the deeper ones.
const MIN_BAND_MM: f64 = 8.0;
/// Share of the edema that must lie in that band.
const BAND_SHARE: f64 = 0.9;
/// A disc is narrowed below this fraction of its neighbours' median central height.
const NARROW_DISC_FRACTION: f64 = 0.85;
/// Discs on each side a disc is compared with.
const NEIGHBOUR_DISCS: usize = 2;
/// Gaps wider than this are not a disc between neighbours (a body is missing), mm.
const MAX_DISC_MM: f64 = 25.0;
/// Radius around the body's axis within which its height is measured, mm: the disc
/// height that degeneration reduces is the central one (endplates are concave, and on a
/// curved spine the rims of neighbouring bodies overlap along any single direction).
const CENTRAL_RADIUS_MM: f64 = 6.0;

/// Whether a body counts as deformed for the endplate-signal rule (condition 3): Genant
/// grade ≥ 1, or a posterior-wall loss of `wall_limit_percent` or more unless the body is
/// within that limit of its neighbours at every height. A normal thoracic body is wedged
/// and concave by about 15 % against its own posterior wall; only a body lower than its
/// neighbours as well is deformed by that criterion.
pub(crate) fn deformed(
    genant: GenantGrade,
    wall_loss_percent: Option<f64>,
    neighbour_loss_percent: Option<[f64; 3]>,
    wall_limit_percent: f64,
) -> bool {
    let like_neighbours =
        neighbour_loss_percent.is_some_and(|l| l.iter().all(|&v| v < wall_limit_percent));
    genant != GenantGrade::Normal
        || (wall_loss_percent.is_some_and(|w| w >= wall_limit_percent) && !like_neighbours)
}

/// The endplates of a body, along its local spine axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endplate {
    /// The endplate at the low end of the axis.
    Low,
    /// The endplate at the high end.
    High,
}

/// Where a body's central endplates are and where its edema lies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AxialExtent {
    /// Centre of the low and of the high endplate (LPS mm).
    pub ends_mm: [Vector3<f64>; 2],
    /// The endplate the edema is confined to, if it is.
    pub edema_band: Option<Endplate>,
}

/// The central endplates of `body` along its local `axis` (unit, LPS, pointing the way
/// the exam's spine coordinate grows) through `centroid`, and whether its edema
/// (`classes == EDEMA`) is confined to a band at one of them.
pub(crate) fn axial_extent(
    body: &BodyVoxels,
    classes: &[u8],
    affine: &crate::geometry::Affine,
    centroid: Vector3<f64>,
    axis: Vector3<f64>,
) -> AxialExtent {
    let g = &body.grid;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut edema_s = Vec::new();
    // The affine is linear in the index, so along a row the offset d = d₀ + k·e from the
    // centroid has s = d·axis = s₀ + k·(e·axis) and |d|² = |d₀|² + 2k·d₀·e + k²|e|²: the
    // distance from the axis, |d|² − s², is a few scalar operations per voxel.
    let first = affine.index_to_mm([g.lo[0] as f64, g.lo[1] as f64, g.lo[2] as f64]);
    let step = [0, 1, 2].map(|a| affine.step_mm(a));
    let e = step[2];
    let (e_s, e_e) = (e.dot(&axis), e.norm_squared());
    let radius2 = CENTRAL_RADIUS_MM * CENTRAL_RADIUS_MM;
    let rows = body
        .inside
        .chunks(g.dims[2].max(1))
        .zip(classes.chunks(g.dims[2].max(1)));
    for (row, (inside, class)) in rows.enumerate() {
        let (i, j) = (row / g.dims[1], row % g.dims[1]);
        let d0 = first.coords - centroid + step[0] * i as f64 + step[1] * j as f64;
        let (s0, dd0, d0_e) = (d0.dot(&axis), d0.norm_squared(), d0.dot(&e));
        for (k, (&b, &c)) in inside.iter().zip(class).enumerate() {
            if !b {
                continue;
            }
            let k = k as f64;
            let s = s0 + k * e_s;
            let dd = dd0 + k * (2.0 * d0_e + k * e_e);
            if dd - s * s <= radius2 {
                lo = lo.min(s);
                hi = hi.max(s);
            }
            if c == EDEMA {
                edema_s.push(s);
            }
        }
    }
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return AxialExtent {
            ends_mm: [centroid, centroid],
            edema_band: None,
        };
    }
    let band = (BAND_HEIGHT_FRACTION * (hi - lo)).max(MIN_BAND_MM);
    let share = |pred: &dyn Fn(f64) -> bool| {
        edema_s.iter().filter(|&&s| pred(s)).count() as f64 / edema_s.len().max(1) as f64
    };
    let edema_band = if edema_s.is_empty() {
        None
    } else if share(&|s| s <= lo + band) >= BAND_SHARE {
        Some(Endplate::Low)
    } else if share(&|s| s >= hi - band) >= BAND_SHARE {
        Some(Endplate::High)
    } else {
        None
    };
    AxialExtent {
        ends_mm: [centroid + lo * axis, centroid + hi * axis],
        edema_band,
    }
}

/// For each body, whether the disc facing its edema band is narrowed (false without a band
/// or a neighbour on that side). `axis` is the exam's spine direction.
pub(crate) fn band_faces_narrow_disc(extents: &[AxialExtent], axis: Vector3<f64>) -> Vec<bool> {
    let centre = |e: &AxialExtent| (e.ends_mm[0] + e.ends_mm[1]).dot(&axis);
    let mut order: Vec<usize> = (0..extents.len()).collect();
    order.sort_by(|&a, &b| centre(&extents[a]).total_cmp(&centre(&extents[b])));
    // Central disc heights between consecutive bodies (None when too wide to be a disc).
    let gaps: Vec<Option<f64>> = order
        .windows(2)
        .map(|w| {
            let v = extents[w[1]].ends_mm[0] - extents[w[0]].ends_mm[1];
            let gap = if v.dot(&axis) > 0.0 { v.norm() } else { 0.0 };
            (gap <= MAX_DISC_MM).then_some(gap)
        })
        .collect();
    // Disc height grows down the spine, so each disc is compared with its neighbours.
    let narrow = |at: Option<usize>| {
        let Some(at) = at else { return false };
        let Some(Some(gap)) = gaps.get(at).copied() else {
            return false;
        };
        // The widest of the discs within reach on each side: a degenerated neighbour (they
        // cluster: three narrowed discs in a row are common) does not lower the reference.
        let widest = |range: std::ops::Range<usize>| {
            range
                .filter_map(|k| gaps.get(k).copied().flatten())
                .reduce(f64::max)
        };
        let sides = [
            widest(at.saturating_sub(NEIGHBOUR_DISCS)..at),
            widest(at + 1..at + 1 + NEIGHBOUR_DISCS),
        ];
        let reference: Vec<f64> = sides.into_iter().flatten().collect();
        if reference.is_empty() {
            return false;
        }
        let expected = reference.iter().sum::<f64>() / reference.len() as f64;
        gap < NARROW_DISC_FRACTION * expected
    };
    let mut result = vec![false; extents.len()];
    for (rank, &body) in order.iter().enumerate() {
        result[body] = match extents[body].edema_band {
            Some(Endplate::Low) => narrow(rank.checked_sub(1)),
            Some(Endplate::High) => narrow(Some(rank)),
            None => false,
        };
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Affine;

    fn extent(lo: f64, hi: f64, band: Option<Endplate>) -> AxialExtent {
        AxialExtent {
            ends_mm: [Vector3::new(0.0, 0.0, lo), Vector3::new(0.0, 0.0, hi)],
            edema_band: band,
        }
    }

    const Z: Vector3<f64> = Vector3::new(0.0, 0.0, 1.0);

    /// A box-shaped body: 5 slices of 4 mm, 20 × 20 voxels of 1 mm, the spine along the
    /// row axis (LPS y); `edema_rows` (of 0..20, from low y) are edema.
    fn box_body(edema_rows: std::ops::Range<usize>) -> (BodyVoxels, Vec<u8>, Affine) {
        use super::super::morphology::BoxGrid;
        let grid = BoxGrid {
            lo: [0, 0, 0],
            dims: [5, 20, 20],
        };
        let n = grid.len();
        let classes = (0..n)
            .map(|i| {
                if edema_rows.contains(&grid.coords(i)[1]) {
                    EDEMA
                } else {
                    0
                }
            })
            .collect();
        let body = BodyVoxels::whole_box(grid, Vec::new(), Vec::new(), [8.0, 9.5, 9.5]);
        let affine = Affine::axis_aligned(crate::geometry::PointMm::origin(), [4.0, 1.0, 1.0]);
        (body, classes, affine)
    }

    fn band_of(edema_rows: std::ops::Range<usize>) -> Option<Endplate> {
        let (body, classes, affine) = box_body(edema_rows);
        let c = body.stats.centroid_mm;
        axial_extent(
            &body,
            &classes,
            &affine,
            Vector3::new(c[0], c[1], c[2]),
            Vector3::new(0.0, 1.0, 0.0),
        )
        .edema_band
    }

    #[test]
    fn edema_along_one_endplate_is_a_band_and_whole_body_edema_is_not() {
        assert_eq!(band_of(0..5), Some(Endplate::Low));
        assert_eq!(band_of(15..20), Some(Endplate::High));
        assert_eq!(band_of(0..20), None);
        assert_eq!(band_of(5..15), None);
        assert_eq!(band_of(0..0), None);
    }

    #[test]
    fn deformity_for_the_endplate_rule() {
        use GenantGrade::*;
        let same = Some([5.0, 8.0, 0.0]);
        // (grade, posterior-wall loss, neighbour losses) → deformed
        let table = [
            (Normal, Some(10.0), same, false),
            (Normal, Some(17.0), same, false), // a normal thoracic wedge
            (Normal, Some(17.0), Some([5.0, 16.0, 0.0]), true),
            (Normal, Some(17.0), None, true), // no neighbours to tell
            (Normal, Some(14.9), None, false),
            (Normal, None, None, false),
            (Mild, Some(5.0), same, true),
            (Severe, None, None, true),
        ];
        for (grade, wall, neighbours, expected) in table {
            assert_eq!(
                deformed(grade, wall, neighbours, 15.0),
                expected,
                "{grade:?} {wall:?} {neighbours:?}"
            );
        }
    }

    #[test]
    fn a_band_may_reach_8_mm_into_a_short_body() {
        // The test body is 19 mm high: 40 % is 7.6 mm, and rows 0–8 (8 mm deep) would have
        // only 8 of 9 rows (89 %) inside that; the 8 mm minimum takes them all.
        assert_eq!(band_of(0..9), Some(Endplate::Low));
        assert_eq!(band_of(11..20), Some(Endplate::High));
        // Deeper than 8 mm and 40 %: not a band (9 of 11 rows inside).
        assert_eq!(band_of(0..11), None);
    }

    #[test]
    fn central_endplates_lie_on_the_axis() {
        let (body, classes, affine) = box_body(0..0);
        let c = body.stats.centroid_mm;
        let e = axial_extent(
            &body,
            &classes,
            &affine,
            Vector3::new(c[0], c[1], c[2]),
            Vector3::new(0.0, 1.0, 0.0),
        );
        assert!((e.ends_mm[0] - Vector3::new(8.0, 0.0, 9.5)).norm() < 1e-9);
        assert!((e.ends_mm[1] - Vector3::new(8.0, 19.0, 9.5)).norm() < 1e-9);
    }

    /// Bodies 25 mm high with 10 mm discs, except a 4 mm disc between the 2nd and 3rd.
    fn column(bands: [Option<Endplate>; 4]) -> Vec<AxialExtent> {
        let lows = [0.0, 35.0, 64.0, 99.0];
        lows.iter()
            .zip(bands)
            .map(|(&lo, band)| extent(lo, lo + 25.0, band))
            .collect()
    }

    fn band_faces_narrow_disc_z(bodies: &[AxialExtent]) -> Vec<bool> {
        band_faces_narrow_disc(bodies, Z)
    }

    #[test]
    fn a_band_facing_the_narrow_disc_is_endplate_signal() {
        let found = band_faces_narrow_disc_z(&column([
            None,
            Some(Endplate::High),
            Some(Endplate::Low),
            None,
        ]));
        assert_eq!(found, [false, true, true, false]);
    }

    #[test]
    fn a_band_facing_a_normal_disc_is_not() {
        let found = band_faces_narrow_disc_z(&column([
            Some(Endplate::High),
            Some(Endplate::Low),
            Some(Endplate::High),
            Some(Endplate::High),
        ]));
        assert_eq!(found, [false, false, false, false]);
    }

    #[test]
    fn order_of_the_bodies_does_not_matter() {
        let mut bodies = column([None, Some(Endplate::High), None, None]);
        bodies.reverse();
        assert_eq!(
            band_faces_narrow_disc(&bodies, Z),
            [false, false, true, false]
        );
    }

    #[test]
    fn a_narrow_disc_between_narrow_discs_is_still_narrow() {
        // Discs 11, 9, 7, 7, 7.2 mm (the lower three degenerated): the median of the four
        // around the third disc is 8.1 mm (7 is not under 85 % of it); the widest on each
        // side are 11 and 7.2 mm, mean 9.1.
        let gaps = [11.0, 9.0, 7.0, 7.0, 7.2];
        let mut lo = 0.0;
        let mut bodies = vec![extent(lo, lo + 25.0, None)];
        for (n, gap) in gaps.iter().enumerate() {
            lo += 25.0 + gap;
            let band = (n == 2).then_some(Endplate::Low);
            bodies.push(extent(lo, lo + 25.0, band));
        }
        let found = band_faces_narrow_disc_z(&bodies);
        assert_eq!(found, [false, false, false, true, false, false]);
    }
}
