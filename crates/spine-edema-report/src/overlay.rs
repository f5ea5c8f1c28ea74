//! Mid-sagittal overlay images: the source image in grey, each body outlined in the colour
//! of its grade, edema voxels tinted red, cement cyan, and the level name beside each body.
//! Displayed in the radiological sagittal convention: head up, anterior to the left.

use image::{Rgb, RgbImage};
use spine_edema::Volume;
use spine_edema::score::mask_class;

/// One body to draw.
#[derive(Clone, Debug)]
pub struct BodyStyle {
    /// Label value in the label map.
    pub label: u16,
    /// Text beside the body (e.g. `L1`).
    pub name: String,
    /// Outline colour.
    pub colour: [u8; 3],
}

/// What to draw on one image.
pub struct OverlayInput<'a> {
    /// The grey image (T1 or fluid series).
    pub image: &'a Volume<f32>,
    /// Body label map on the same grid.
    pub labels: Option<&'a Volume<u16>>,
    /// Scoring classes on the same grid ([`mask_class`] codes): edema and cement are tinted.
    pub classes: Option<&'a Volume<u8>>,
    /// Bodies to outline and name.
    pub bodies: &'a [BodyStyle],
}

/// How array axes map to the displayed sagittal picture.
struct SagittalView {
    /// Axis most aligned with left–right: the slice axis.
    slice_axis: usize,
    /// Axis shown vertically (head–foot) and whether index grows downward on screen.
    vertical: (usize, bool),
    /// Axis shown horizontally (front–back) and whether index grows to the right.
    horizontal: (usize, bool),
}

fn sagittal_view(volume: &Volume<f32>) -> SagittalView {
    let dirs = volume.affine.directions();
    let slice_axis = (0..3)
        .max_by(|&a, &b| dirs[a].x.abs().total_cmp(&dirs[b].x.abs()))
        .unwrap_or(0);
    let others: Vec<usize> = (0..3).filter(|&a| a != slice_axis).collect();
    let (a, b) = (others[0], others[1]);
    let (v, h) = if dirs[a].z.abs() >= dirs[b].z.abs() {
        (a, b)
    } else {
        (b, a)
    };
    // LPS: z grows superior, so an axis with negative z runs downward on screen.
    // y grows posterior, so an axis with positive y runs to the right (anterior left).
    SagittalView {
        slice_axis,
        vertical: (v, dirs[v].z < 0.0),
        horizontal: (h, dirs[h].y > 0.0),
    }
}

/// The slice through the middle of the labelled bodies (or the middle slice).
fn middle_slice(view: &SagittalView, input: &OverlayInput) -> usize {
    let n = input.image.shape()[view.slice_axis];
    let Some(labels) = input.labels else {
        return n / 2;
    };
    let mut counts = vec![0usize; n];
    for ((i, j, k), &v) in labels.voxels.indexed_iter() {
        if v != 0 {
            counts[[i, j, k][view.slice_axis]] += 1;
        }
    }
    let total: usize = counts.iter().sum();
    if total == 0 {
        return n / 2;
    }
    let mut acc = 0;
    for (s, c) in counts.iter().enumerate() {
        acc += c;
        if acc * 2 >= total {
            return s;
        }
    }
    n / 2
}

/// Renders the overlay. Returns the picture and the slice index drawn.
pub fn render(input: &OverlayInput) -> (RgbImage, usize) {
    let view = sagittal_view(input.image);
    let slice = middle_slice(&view, input);
    let shape = input.image.shape();
    let spacing = input.image.affine.spacing_mm();
    let (va, vdown) = view.vertical;
    let (ha, hright) = view.horizontal;
    let (nv, nh) = (shape[va], shape[ha]);
    // Square display pixels at the finer of the two in-plane spacings.
    let px_mm = spacing[va].min(spacing[ha]).max(0.1);
    let height = ((nv as f64 * spacing[va] / px_mm).round() as u32).clamp(1, 4096);
    let width = ((nh as f64 * spacing[ha] / px_mm).round() as u32).clamp(1, 4096);
    let index = |x: u32, y: u32| -> [usize; 3] {
        let mut iv = ((y as f64 + 0.5) * px_mm / spacing[va]) as usize;
        let mut ih = ((x as f64 + 0.5) * px_mm / spacing[ha]) as usize;
        iv = iv.min(nv - 1);
        ih = ih.min(nh - 1);
        if !vdown {
            iv = nv - 1 - iv;
        }
        if !hright {
            ih = nh - 1 - ih;
        }
        let mut idx = [0usize; 3];
        idx[view.slice_axis] = slice;
        idx[va] = iv;
        idx[ha] = ih;
        idx
    };
    let (lo, hi) = window(input.image, view.slice_axis, slice);
    let mut img = RgbImage::new(width, height);
    let label_at = |x: u32, y: u32| input.labels.map_or(0, |l| l.voxels[index(x, y)]);
    for y in 0..height {
        for x in 0..width {
            let p = index(x, y);
            let v = input.image.voxels[p];
            let g = (((v - lo) / (hi - lo).max(1e-6)).clamp(0.0, 1.0) * 255.0) as u8;
            let mut rgb = [g, g, g];
            match input.classes.map(|c| c.voxels[p]) {
                Some(mask_class::CEMENT) => rgb = blend(rgb, [0, 220, 230], 0.7),
                Some(mask_class::EDEMA) => rgb = blend(rgb, [230, 30, 30], 0.45),
                _ => {}
            }
            img.put_pixel(x, y, Rgb(rgb));
        }
    }
    // Outlines: a pixel whose label differs from a 4-neighbour's.
    let mut extents: std::collections::HashMap<u16, (u32, u32, u32, u32)> = Default::default();
    for y in 0..height {
        for x in 0..width {
            let l = label_at(x, y);
            if l == 0 {
                continue;
            }
            let e = extents.entry(l).or_insert((x, y, x, y));
            *e = (e.0.min(x), e.1.min(y), e.2.max(x), e.3.max(y));
            let edge = x == 0
                || y == 0
                || x + 1 == width
                || y + 1 == height
                || label_at(x - 1, y) != l
                || label_at(x + 1, y) != l
                || label_at(x, y - 1) != l
                || label_at(x, y + 1) != l;
            if edge {
                if let Some(style) = input.bodies.iter().find(|b| b.label == l) {
                    img.put_pixel(x, y, Rgb(style.colour));
                }
            }
        }
    }
    for style in input.bodies {
        if let Some(&(x0, y0, _, y1)) = extents.get(&style.label) {
            let text_w = text_width(&style.name, 2);
            let x = x0.saturating_sub(text_w + 6);
            // Centred on the body, clamped to the picture for a body cut by the top edge.
            let y = ((y0 + y1) / 2).saturating_sub(7);
            draw_text(&mut img, x, y, &style.name, 2, [255, 255, 0]);
        }
    }
    (img, slice)
}

/// Grey window from the 1st to the 99.5th percentile of the drawn slice.
fn window(volume: &Volume<f32>, axis: usize, slice: usize) -> (f32, f32) {
    let mut values: Vec<f32> = volume
        .voxels
        .index_axis(ndarray::Axis(axis), slice)
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if values.is_empty() {
        return (0.0, 1.0);
    }
    values.sort_by(f32::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q) as usize];
    (at(0.01), at(0.995))
}

fn blend(base: [u8; 3], tint: [u8; 3], alpha: f32) -> [u8; 3] {
    [0, 1, 2].map(|c| (f32::from(base[c]) * (1.0 - alpha) + f32::from(tint[c]) * alpha) as u8)
}

/// 5×7 glyphs for the characters level names use.
fn glyph(c: char) -> [u8; 7] {
    match c {
        'C' => [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
        'T' => [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
        'S' => [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        '?' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
        _ => [0; 7],
    }
}

fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * 6 * scale
}

/// Draws text with a one-pixel black shadow so it reads on any background.
fn draw_text(img: &mut RgbImage, x: u32, y: u32, text: &str, scale: u32, colour: [u8; 3]) {
    for (shadow, rgb) in [(1u32, [0u8, 0, 0]), (0, colour)] {
        for (n, c) in text.chars().enumerate() {
            let g = glyph(c);
            for (row, bits) in g.iter().enumerate() {
                for col in 0..5u32 {
                    if bits & (0x10 >> col) == 0 {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = x + n as u32 * 6 * scale + col * scale + dx + shadow;
                            let py = y + row as u32 * scale + dy + shadow;
                            if px < img.width() && py < img.height() {
                                img.put_pixel(px, py, Rgb(rgb));
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array3;
    use spine_edema::Affine;

    #[test]
    fn renders_head_up_anterior_left_with_outline_and_tints() {
        // A sagittal DICOM-like grid: axis0 = left→right slices, axis1 = rows head→foot,
        // axis2 = columns front→back.
        let affine = Affine::from_steps(
            nalgebra::Point3::new(-20.0, -50.0, 50.0),
            [
                nalgebra::Vector3::x() * 4.0,
                -nalgebra::Vector3::z(),
                nalgebra::Vector3::y(),
            ],
        );
        let mut image = Array3::<f32>::zeros((9, 100, 80));
        let mut labels = Array3::<u16>::zeros((9, 100, 80));
        let mut edema = Array3::<u8>::zeros((9, 100, 80));
        for s in 2..7 {
            for r in 10..40 {
                for c in 20..60 {
                    image[[s, r, c]] = 100.0;
                    labels[[s, r, c]] = 1;
                    if r < 20 {
                        edema[[s, r, c]] = mask_class::EDEMA;
                    }
                }
            }
        }
        let image = Volume::new(image, affine);
        let labels = image.with_voxels(labels);
        let edema = image.with_voxels(edema);
        let bodies = [BodyStyle {
            label: 1,
            name: "L1".into(),
            colour: [0, 255, 0],
        }];
        let (img, slice) = render(&OverlayInput {
            image: &image,
            labels: Some(&labels),
            classes: Some(&edema),
            bodies: &bodies,
        });
        assert_eq!(slice, 4);
        assert_eq!((img.width(), img.height()), (80, 100));
        // Row 10 (superior) is near the top; the outline is green.
        assert_eq!(img.get_pixel(40, 10).0, [0, 255, 0]);
        // Edema (rows 10–19) is tinted red; the rest of the body is plain grey.
        let e = img.get_pixel(40, 15).0;
        assert!(e[0] > e[1] + 50, "{e:?}");
        let n = img.get_pixel(40, 30).0;
        assert_eq!(n[0], n[1]);
    }

    /// Regression: a body cut by the top edge of a small (64-pixel) image put its level
    /// name above row 0 and the label position underflowed (panic in debug builds).
    #[test]
    fn labels_a_body_touching_the_top_edge() {
        let affine = Affine::from_steps(
            nalgebra::Point3::new(-20.0, -50.0, 50.0),
            [
                nalgebra::Vector3::x() * 4.0,
                -nalgebra::Vector3::z(),
                nalgebra::Vector3::y(),
            ],
        );
        let image = Volume::new(Array3::<f32>::from_elem((3, 64, 64), 50.0), affine);
        let mut labels = Array3::<u16>::zeros((3, 64, 64));
        for r in 0..4 {
            for c in 30..50 {
                labels[[1, r, c]] = 1;
            }
        }
        let labels = image.with_voxels(labels);
        let bodies = [BodyStyle {
            label: 1,
            name: "T3".into(),
            colour: [0, 255, 0],
        }];
        let (img, _) = render(&OverlayInput {
            image: &image,
            labels: Some(&labels),
            classes: None,
            bodies: &bodies,
        });
        // The name is drawn (yellow) in the rows at the top, left of the body.
        let yellow = (0..img.height().min(20))
            .flat_map(|y| (0..30).map(move |x| (x, y)))
            .any(|(x, y)| img.get_pixel(x, y).0 == [255, 255, 0]);
        assert!(yellow, "level name not drawn");
    }
}
