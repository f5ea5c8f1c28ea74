//! The Rust forward pass of the embedded body network against PyTorch on the same
//! synthetic plane (`scripts/fit-segmenter/golden.py` wrote the reference; rerun it
//! whenever the weights change).

use ndarray::Array2;
use spine_edema::segment::BodyNetwork;

#[test]
fn forward_pass_matches_pytorch() {
    let text = include_str!("reference/network_golden.json");
    let golden: serde_json::Value = serde_json::from_str(text).unwrap();
    let h = golden["height"].as_u64().unwrap() as usize;
    let w = golden["width"].as_u64().unwrap() as usize;
    let expected: Vec<f64> = golden["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // The same plane as golden.py.
    let plane = Array2::from_shape_fn((h, w), |(r, c)| {
        let (r, c) = (r as f64, c as f64);
        (0.5 + 0.45 * (0.31 * r + 0.17 * c).sin() * (0.07 * r * c / 10.0).cos()) as f32
    });
    let net = BodyNetwork::embedded().unwrap();
    let p = net.forward(plane.view());
    assert_eq!(p.len(), expected.len());
    let worst = p
        .iter()
        .zip(&expected)
        .map(|(a, b)| (f64::from(*a) - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "largest difference {worst}");
}
