//! Series selection: roles, preference order, overrides, and the reasons given.

use spine_edema::series::{
    Candidate, Classification, Contrast, Plane, SeriesOverride, choose_series,
};

fn candidate(
    number: i64,
    plane: Plane,
    contrast: Contrast,
    confidence: f64,
    slices: usize,
    frame: &str,
) -> Candidate {
    Candidate {
        series_uid: format!("1.2.826.0.1.{number}"),
        series_number: Some(number),
        classification: Classification {
            plane,
            contrast,
            confidence,
            reason: "test".to_owned(),
        },
        slice_count: slices,
        frame_of_reference_uid: Some(frame.to_owned()),
    }
}

use Contrast::*;
use Plane::*;

/// A typical lumbar exam: localiser, sagittal T1, T2, STIR, axial T2.
fn exam() -> Vec<Candidate> {
    vec![
        candidate(1, Sagittal, Other, 0.95, 3, "F1"),
        candidate(2, Sagittal, T1, 0.95, 15, "F1"),
        candidate(3, Sagittal, T2, 0.95, 15, "F1"),
        candidate(4, Sagittal, Stir, 0.95, 15, "F1"),
        candidate(5, Axial, T2, 0.95, 30, "F1"),
    ]
}

#[test]
fn picks_sagittal_t1_and_stir() {
    let c = choose_series(&exam(), None, None);
    assert_eq!((c.t1, c.fluid), (Some(1), Some(3)));
    assert!(c.reason.contains("series 2"), "{}", c.reason);
    assert!(c.reason.contains("STIR preferred over T2"), "{}", c.reason);
    assert!(
        c.reason.contains("share a frame of reference"),
        "{}",
        c.reason
    );
}

#[test]
fn fluid_preference_order() {
    let order = [Stir, T2FatSat, DixonWater, T2];
    for (k, want) in order.iter().enumerate() {
        let mut cands = vec![candidate(1, Sagittal, T1, 0.95, 15, "F")];
        // Lower-preference series get more slices and later numbers, and still lose.
        for (j, c) in order.iter().enumerate().skip(k) {
            cands.push(candidate(
                10 - j as i64,
                Sagittal,
                *c,
                0.95,
                15 + 5 * j,
                "F",
            ));
        }
        let choice = choose_series(&cands, None, None);
        let got = choice.fluid.map(|i| cands[i].classification.contrast);
        assert_eq!(got, Some(*want), "{}", choice.reason);
    }
}

#[test]
fn more_slices_then_later_repeat() {
    let cands = vec![
        candidate(2, Sagittal, T1, 0.95, 13, "F"),
        candidate(3, Sagittal, T1, 0.95, 17, "F"),
        candidate(4, Sagittal, T1, 0.95, 15, "F"),
    ];
    let c = choose_series(&cands, None, None);
    assert_eq!(c.t1, Some(1));
    assert!(c.reason.contains("more slices"), "{}", c.reason);

    let repeats = vec![
        candidate(2, Sagittal, T1, 0.95, 15, "F"),
        candidate(6, Sagittal, T1, 0.95, 15, "F"),
    ];
    let c = choose_series(&repeats, None, None);
    assert_eq!(c.t1, Some(1));
    assert!(c.reason.contains("repeat"), "{}", c.reason);
}

#[test]
fn weak_classification_ranks_last() {
    let cands = vec![
        candidate(2, Sagittal, T1, 0.95, 15, "F"),
        candidate(3, Sagittal, Stir, 0.3, 19, "F"),
        candidate(4, Sagittal, T2, 0.9, 15, "F"),
    ];
    let c = choose_series(&cands, None, None);
    assert_eq!(c.fluid, Some(2), "{}", c.reason);
    assert!(c.reason.contains("weakly classified"), "{}", c.reason);
}

#[test]
fn fluid_shares_t1_frame_when_possible() {
    let cands = vec![
        candidate(2, Sagittal, T1, 0.95, 15, "A"),
        candidate(3, Sagittal, Stir, 0.95, 19, "B"),
        candidate(4, Sagittal, Stir, 0.95, 15, "A"),
    ];
    let c = choose_series(&cands, None, None);
    assert_eq!(c.fluid, Some(2), "{}", c.reason);
    assert!(
        c.reason.contains("another frame of reference"),
        "{}",
        c.reason
    );

    // Only a different-frame fluid series: used, and the reason warns.
    let cands = vec![
        candidate(2, Sagittal, T1, 0.95, 15, "A"),
        candidate(3, Sagittal, Stir, 0.95, 19, "B"),
    ];
    let c = choose_series(&cands, None, None);
    assert_eq!(c.fluid, Some(1));
    assert!(
        c.reason.contains("different frames of reference"),
        "{}",
        c.reason
    );
}

#[test]
fn non_sagittal_and_too_thin_are_not_used() {
    let cands = vec![
        candidate(2, Axial, T1, 0.95, 30, "F"),
        candidate(3, Sagittal, T1, 0.95, 2, "F"),
        candidate(4, Coronal, Stir, 0.95, 20, "F"),
    ];
    let c = choose_series(&cands, None, None);
    assert_eq!((c.t1, c.fluid), (None, None));
    assert!(c.reason.contains("no usable sagittal T1"), "{}", c.reason);
    assert!(c.reason.contains("series 2 (axial T1"), "{}", c.reason);
    assert!(c.reason.contains("series 4 (coronal STIR"), "{}", c.reason);
}

#[test]
fn empty_study() {
    let c = choose_series(&[], None, None);
    assert_eq!((c.t1, c.fluid), (None, None));
    assert!(
        c.reason.contains("no sagittal T1 series among 0 series"),
        "{}",
        c.reason
    );
}

#[test]
fn overrides_by_number_and_uid() {
    let cands = exam();
    let t1: SeriesOverride = "5".parse().unwrap();
    let fluid: SeriesOverride = "1.2.826.0.1.3".parse().unwrap();
    assert_eq!(t1, SeriesOverride::Number(5));
    assert_eq!(fluid, SeriesOverride::Uid("1.2.826.0.1.3".to_owned()));
    let c = choose_series(&cands, Some(&t1), Some(&fluid));
    assert_eq!((c.t1, c.fluid), (Some(4), Some(2)));
    assert!(
        c.reason.contains("chosen by override (series number 5)"),
        "{}",
        c.reason
    );
    assert!(
        c.reason.contains("classified as axial T2, used as T1"),
        "{}",
        c.reason
    );
    assert!(
        !c.reason
            .contains("classified as sagittal T2, used as fluid"),
        "{}",
        c.reason
    );
}

#[test]
fn override_naming_a_missing_series_leaves_the_role_empty() {
    let cands = exam();
    let missing = SeriesOverride::Number(42);
    let c = choose_series(&cands, None, Some(&missing));
    assert_eq!(c.t1, Some(1));
    assert_eq!(c.fluid, None);
    assert!(
        c.reason
            .contains("override series number 42 names no series of this study"),
        "{}",
        c.reason
    );
}

#[test]
fn override_parsing() {
    assert_eq!(
        " 12 ".parse::<SeriesOverride>().unwrap(),
        SeriesOverride::Number(12)
    );
    assert_eq!(
        "-3".parse::<SeriesOverride>().unwrap(),
        SeriesOverride::Number(-3)
    );
    assert!("".parse::<SeriesOverride>().is_err());
    assert!("  ".parse::<SeriesOverride>().is_err());
}
