//! From the best chain of body-like regions to the vertebral column that gets named:
//! bodies the detector missed between two found ones are filled in, the chain is
//! continued head-wards while a body-sized region sits one spacing above its end, and
//! the caudal end is cut at the first sacral segment (S1), which anchors the names.
//!
//! The chain is built from regions that look like bodies on their own; these rules use
//! what the column as a whole says about its members (spacing, size, the lumbosacral
//! angle), which is how a reader counts levels too.

use crate::segment::candidates::PlaneAnalysis;
use crate::segment::chain::{BlockShape, ChainLink, distance, turn};

/// Where a column member's pixels come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source {
    /// A detected region: (plane, region index on that plane).
    Region {
        /// Lateral plane index.
        plane: usize,
        /// Index into that plane's regions.
        region: usize,
    },
    /// A body the detector missed between two found ones: the shape of column member
    /// `template`, moved by (`d_row`, `d_col`) working pixels.
    Predicted {
        /// Column index of the member whose shape is borrowed.
        template: usize,
        /// Row shift (working pixels).
        d_row: i64,
        /// Column shift (working pixels).
        d_col: i64,
    },
}

/// One body of the column.
#[derive(Clone, Copy, Debug)]
pub struct Member {
    /// Where its pixels come from.
    pub source: Source,
    /// Shape on the working plane.
    pub shape: BlockShape,
}

impl Member {
    /// The lateral plane the member was found on (for a predicted member, its template's).
    pub fn plane(&self, column: &[Member]) -> usize {
        match self.source {
            Source::Region { plane, .. } => plane,
            Source::Predicted { template, .. } => column[template].plane(column),
        }
    }
}

/// The column from the chain's links, with every bridged gap filled by predicted bodies
/// spaced evenly between the two found neighbours (the chain only bridges a gap whose
/// length is a whole number of body spacings).
pub fn fill_gaps(links: &[ChainLink], blocks: &[Member], row_mm: f64, col_mm: f64) -> Vec<Member> {
    let mut column: Vec<Member> = Vec::new();
    for link in links {
        let next = blocks[link.block];
        if let (Some(&prev), true) = (column.last(), link.missing_before > 0) {
            let template = column.len() - 1;
            let parts = link.missing_before + 1;
            for k in 1..parts {
                let f = k as f64 / parts as f64;
                let ds = f * (next.shape.centre_mm[0] - prev.shape.centre_mm[0]);
                let dap = f * (next.shape.centre_mm[1] - prev.shape.centre_mm[1]);
                let mut shape = prev.shape;
                shape.centre_mm = [shape.centre_mm[0] + ds, shape.centre_mm[1] + dap];
                shape.posterior_mm += dap;
                column.push(Member {
                    source: Source::Predicted {
                        template,
                        d_row: (ds / row_mm).round() as i64,
                        d_col: (dap / col_mm).round() as i64,
                    },
                    shape,
                });
            }
        }
        column.push(next);
    }
    column
}

/// Every region of the planes `lo..=hi` large enough to be part of a vertebral body.
pub fn regions_near(
    planes: &[PlaneAnalysis],
    lo: usize,
    hi: usize,
    row_mm: f64,
    col_mm: f64,
) -> Vec<Member> {
    planes
        .iter()
        .enumerate()
        .take(hi + 1)
        .skip(lo)
        .flat_map(|(p, a)| {
            a.regions
                .iter()
                .enumerate()
                .filter(|(_, r)| r.area_mm2 >= 150.0 && r.max_radius_mm >= 4.0)
                .map(move |(k, r)| Member {
                    source: Source::Region {
                        plane: p,
                        region: k,
                    },
                    shape: BlockShape::of(r, row_mm, col_mm, f64::from(a.scale)),
                })
        })
        .collect()
}

/// Median centre-to-centre distance of consecutive members (mm).
fn spacing_mm(column: &[Member]) -> f64 {
    let mut d: Vec<f64> = column
        .windows(2)
        .map(|w| distance(&w[0].shape, &w[1].shape))
        .collect();
    median(&mut d)
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Continues the column head-wards: while a region of about the top member's size lies
/// one spacing beyond it (in the direction of the column), it is the next body. The
/// detector's own body test is not repeated: a body near the top of the field of view
/// is often darker (coil sensitivity) or cut, and the column vouches for it.
pub fn extend_cranially(column: &mut Vec<Member>, near: &[Member]) {
    while column.len() >= 2 {
        let spacing = spacing_mm(column);
        let (a, b) = (column[1].shape, column[0].shape);
        let d = distance(&a, &b).max(1e-9);
        let expect = [
            b.centre_mm[0] + (b.centre_mm[0] - a.centre_mm[0]) / d * spacing,
            b.centre_mm[1] + (b.centre_mm[1] - a.centre_mm[1]) / d * spacing,
        ];
        let found = near
            .iter()
            .filter(|m| {
                let s = &m.shape;
                let off = (s.centre_mm[0] - expect[0]).hypot(s.centre_mm[1] - expect[1]);
                off < 0.3 * spacing
                    && (0.4..=1.6).contains(&(s.area_mm2 / b.area_mm2))
                    && (0.65..=1.4).contains(&(s.depth_mm / b.depth_mm))
                    && s.height_mm > 0.45 * b.height_mm
            })
            .min_by(|x, y| {
                let off = |m: &Member| {
                    (m.shape.centre_mm[0] - expect[0]).hypot(m.shape.centre_mm[1] - expect[1])
                };
                off(x).total_cmp(&off(y))
            });
        let Some(&m) = found else { break };
        column.insert(0, m);
        // Predicted members name their template by column index.
        for member in column.iter_mut() {
            if let Source::Predicted { template, .. } = &mut member.source {
                *template += 1;
            }
        }
    }
}

/// Largest anterior turn (degrees) between consecutive links in the caudal half of the
/// column. The lumbar lordosis and the sacrum turn posteriorly when walking head to
/// feet; the thoracic kyphosis turns anteriorly by a few degrees per level (Roussouly et
/// al., Spine 2005). A sharper anterior turn means the chain has left the spine (bowel,
/// bladder, uterus in front of the sacrum).
const MAX_ANTERIOR_TURN_DEG: f64 = 25.0;

/// Smallest posterior turn (degrees) that marks the lumbosacral junction: the
/// lumbosacral angle between the L5 and S1 axes is 10–40° beyond the lordosis of the
/// levels above (Roussouly et al. 2005; Hellems & Keats, AJR 1971).
const LUMBOSACRAL_TURN_DEG: f64 = 17.0;

/// Smallest step (mm) of the posterior wall from L5 to S1: the sacral promontory juts
/// forward, so the top of the S1 body sits behind the line of the lumbar walls.
const LUMBOSACRAL_POSTERIOR_STEP_MM: f64 = 5.0;

/// Mid-sagittal area and depth of sacral segments relative to the lumbar bodies above:
/// S1 is shallower than L5 and S2 smaller again (S1 AP depth ~80 % of L5: Zhou et al.
/// 2000; the sacrum tapers caudally). A chain member this much smaller than the median
/// of the chain at its caudal end in both area and depth is taken as sacral.
const SACRAL_AREA_RATIO: f64 = 0.75;
/// See [`SACRAL_AREA_RATIO`].
const SACRAL_DEPTH_RATIO: f64 = 0.82;

/// Finds the first sacral segment and trims the column to the mobile bodies above it.
///
/// 1. The chain is cut before the first sharp anterior turn in its caudal half.
/// 2. If the chain ran onto the sacrum, S1 is the member after the lumbosacral kink (a
///    sharp posterior turn with a posterior step of the wall), or failing that the
///    highest of the caudal members clearly smaller than the column's median.
/// 3. Otherwise S1 is sought one body spacing below the last body, turned posteriorly.
pub fn find_sacrum(column: &mut Vec<Member>, near: &[Member]) -> Option<Member> {
    if column.len() < 3 {
        return None;
    }
    // 1. Leaving the spine.
    let half = column.len() / 2;
    if let Some(k) = (half.max(2)..column.len()).find(|&k| {
        turn(&column[k - 2].shape, &column[k - 1].shape, &column[k].shape).to_degrees()
            < -MAX_ANTERIOR_TURN_DEG
    }) {
        column.truncate(k);
    }
    if column.len() < 3 {
        return None;
    }
    // 2a. The lumbosacral kink.
    let half = column.len() / 2;
    let kink = (half.max(2)..column.len())
        .map(|k| {
            let t = turn(&column[k - 2].shape, &column[k - 1].shape, &column[k].shape);
            (k, t.to_degrees())
        })
        .filter(|&(k, t)| {
            t >= LUMBOSACRAL_TURN_DEG
                && column[k].shape.posterior_mm - column[k - 1].shape.posterior_mm
                    >= LUMBOSACRAL_POSTERIOR_STEP_MM
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((k, _)) = kink {
        let s1 = column[k];
        column.truncate(k);
        return Some(s1);
    }
    // 2b. Caudal members much smaller than the rest.
    let mut trimmed = None;
    while column.len() > 3 {
        let n = column.len();
        // Medians over detected members only: a predicted body copies its neighbour.
        let detected = || {
            column[..n - 1]
                .iter()
                .filter(|m| matches!(m.source, Source::Region { .. }))
        };
        let med_area = median(&mut detected().map(|f| f.shape.area_mm2).collect::<Vec<_>>());
        let med_depth = median(&mut detected().map(|f| f.shape.depth_mm).collect::<Vec<_>>());
        let last = column[n - 1].shape;
        if last.area_mm2 < SACRAL_AREA_RATIO * med_area
            && last.depth_mm < SACRAL_DEPTH_RATIO * med_depth
        {
            trimmed = column.pop();
        } else {
            break;
        }
    }
    if trimmed.is_some() {
        return trimmed;
    }
    // 3. Below the last body. A candidate followed, a full spacing further and turned
    //    the same way, by a segment of its own size is L5 rather than S1: S2 is smaller
    //    and joined to S1 without a disc, so it lies closer.
    let spacing = spacing_mm(column);
    for _ in 0..2 {
        let n = column.len();
        let (above, last) = (column[n - 2].shape, column[n - 1].shape);
        let x = next_s1_like(&above, &last, spacing, near)?;
        let is_l5 = next_s1_like(&last, &x.shape, spacing, near).is_some_and(|y| {
            distance(&x.shape, &y.shape) >= 0.85 * spacing
                && y.shape.area_mm2 >= 0.7 * x.shape.area_mm2
        });
        if !is_l5 {
            return Some(x);
        }
        column.push(x);
    }
    None
}

/// The region that best continues the column below `last` the way S1 continues L5:
/// about one spacing further, below it, turned posteriorly and stepped back.
fn next_s1_like(
    above: &BlockShape,
    last: &BlockShape,
    spacing: f64,
    near: &[Member],
) -> Option<Member> {
    let looks_like_s1 = |cand: &BlockShape| -> bool {
        let ds = cand.centre_mm[0] - last.centre_mm[0];
        let dist = distance(last, cand);
        let t = turn(above, last, cand).to_degrees();
        (0.6..=1.5).contains(&(dist / spacing))
            && ds > 0.0
            && (LUMBOSACRAL_TURN_DEG - 5.0..=70.0).contains(&t)
            && cand.posterior_mm - last.posterior_mm >= LUMBOSACRAL_POSTERIOR_STEP_MM
            && cand.area_mm2 > 0.3 * last.area_mm2
            && cand.area_mm2 < 1.3 * last.area_mm2
    };
    near.iter()
        .filter(|m| looks_like_s1(&m.shape))
        .min_by(|a, b| {
            let off = |m: &Member| (distance(last, &m.shape) - spacing).abs();
            off(a).total_cmp(&off(b))
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(s: f64, ap: f64, area: f64) -> Member {
        Member {
            source: Source::Region {
                plane: 0,
                region: 0,
            },
            shape: BlockShape {
                centre_mm: [s, ap],
                height_mm: 27.0,
                depth_mm: 35.0,
                area_mm2: area,
                posterior_mm: ap + 17.0,
                mean: 0.5,
            },
        }
    }

    /// The lumbar column of a real exam (case08 of the lumbar T2 set) whose chain ran
    /// through S1 into the pelvis: S1 is the member after the lumbosacral kink.
    #[test]
    fn chain_through_the_sacrum_is_cut_at_s1() {
        let pts = [
            (31.0, 217.0, 554.0),
            (62.0, 209.0, 547.0),
            (95.0, 203.0, 585.0),
            (131.0, 195.0, 633.0),
            (170.0, 190.0, 675.0),
            (209.0, 190.0, 651.0),
            (245.0, 197.0, 580.0),
            (274.0, 215.0, 473.0),
            (306.0, 213.0, 494.0),
            (344.0, 213.0, 402.0),
        ];
        let mut column: Vec<Member> = pts.iter().map(|&(s, ap, a)| member(s, ap, a)).collect();
        let s1 = find_sacrum(&mut column, &[]).unwrap();
        assert_eq!(column.len(), 7);
        assert_eq!(s1.shape.centre_mm, [274.0, 215.0]);
    }

    #[test]
    fn gap_is_filled_halfway() {
        let blocks = vec![member(30.0, 200.0, 600.0), member(100.0, 190.0, 600.0)];
        let links = [
            ChainLink {
                block: 0,
                missing_before: 0,
            },
            ChainLink {
                block: 1,
                missing_before: 1,
            },
        ];
        let column = fill_gaps(&links, &blocks, 1.5, 1.5);
        assert_eq!(column.len(), 3);
        assert_eq!(column[1].shape.centre_mm, [65.0, 195.0]);
        assert!(matches!(
            column[1].source,
            Source::Predicted { template: 0, .. }
        ));
    }
}
