//! Exam comparison: level matching, change classes, flags, voxel-wise change, and the
//! cohort summaries reproducing study B's published resolution rates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use nalgebra::{Point3, Vector3};
use ndarray::Array3;
use spine_edema::compare::cohort::{CohortSelection, summarize};
use spine_edema::compare::crop::{BodyCrop, RunLengthMask};
use spine_edema::compare::{
    ChangeClass, ChangeFlag, CompareConfig, ExamObservation, IntervalBinA, LevelChange,
    LevelObservation, compare_exams,
};
use spine_edema::score::grade::voormolen_grade;
use spine_edema::{Affine, Level};

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

fn level(l: Level, bme: f64, cement: f64, volume_ml: f64, posterior_mm: f64) -> LevelObservation {
    LevelObservation {
        level: l,
        bme_percent: Some(bme),
        grade: Some(voormolen_grade(bme, 1.0)),
        cement_percent: cement,
        body_volume_ml: volume_ml,
        heights_mm: [
            Some(posterior_mm - 1.0),
            Some(posterior_mm - 2.0),
            Some(posterior_mm),
        ],
        crop: None,
    }
}

fn exam(id: &str, d: Option<NaiveDate>, levels: Vec<LevelObservation>) -> ExamObservation {
    ExamObservation {
        exam_id: id.into(),
        patient_id: "P1".into(),
        date: d,
        levels,
    }
}

fn lumbar(bme: [f64; 5], cement: [f64; 5], heights: [f64; 5]) -> Vec<LevelObservation> {
    (0..5)
        .map(|i| {
            level(
                Level::L(i as u8 + 1),
                bme[i],
                cement[i],
                30.0 + 3.0 * i as f64,
                heights[i],
            )
        })
        .collect()
}

#[test]
fn pairs_levels_classifies_change_and_flags_events() {
    let base = exam(
        "b",
        date(2025, 1, 10),
        lumbar(
            [0.0, 60.0, 0.0, 0.0, 0.0],
            [0.0; 5],
            [26.0, 27.0, 28.0, 28.5, 29.0],
        ),
    );
    // L2 treated (cement), edema down to 10 %; L3 new edema (adjacent fracture); L1 lost 5 mm.
    let follow = exam(
        "f",
        date(2025, 4, 15),
        lumbar(
            [0.0, 10.0, 40.0, 0.0, 0.0],
            [0.0, 30.0, 0.0, 0.0, 0.0],
            [21.0, 27.0, 28.0, 28.5, 29.0],
        ),
    );
    let cfg = CompareConfig::default();
    // Given in either order, the earlier exam is the baseline.
    let rows = compare_exams(&follow, &base, &cfg).unwrap();
    assert_eq!(rows.len(), 5);
    let row = |l: Level| rows.iter().find(|r| r.level == l).unwrap();
    assert_eq!(row(Level::L(2)).change, Some(ChangeClass::Less));
    assert_eq!(row(Level::L(2)).interval_days, Some(95));
    assert_eq!(
        row(Level::L(2)).interval_bin_a,
        Some(IntervalBinA::ThreeTo6Months)
    );
    assert_eq!(row(Level::L(2)).interval_bin_b.as_deref(), Some("3m"));
    assert!(row(Level::L(2)).treated);
    assert_eq!(row(Level::L(3)).change, Some(ChangeClass::More));
    assert_eq!(
        row(Level::L(3)).flags,
        vec![
            ChangeFlag::NewFractureCandidate,
            ChangeFlag::AdjacentToTreated
        ]
    );
    assert_eq!(row(Level::L(4)).change, Some(ChangeClass::Same));
    assert!(row(Level::L(4)).flags.is_empty());
    let l1 = row(Level::L(1));
    assert!(
        l1.flags.contains(&ChangeFlag::NewFractureCandidate),
        "{:?}",
        l1.flags
    );
    assert!((l1.height_loss_max_mm.unwrap() - 5.0).abs() < 1e-9);
    assert!((l1.height_loss_max_percent.unwrap() - 5.0 / 24.0 * 100.0).abs() < 1e-9);
}

#[test]
fn recurrent_edema_at_a_treated_level_is_flagged() {
    let base = exam(
        "b",
        date(2025, 1, 1),
        lumbar(
            [0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 30.0, 0.0, 0.0, 0.0],
            [28.0; 5],
        ),
    );
    let follow = exam(
        "f",
        date(2025, 7, 1),
        lumbar(
            [0.0, 20.0, 0.0, 0.0, 0.0],
            [0.0, 30.0, 0.0, 0.0, 0.0],
            [28.0; 5],
        ),
    );
    let rows = compare_exams(&base, &follow, &CompareConfig::default()).unwrap();
    let l2 = rows.iter().find(|r| r.level == Level::L(2)).unwrap();
    assert!(l2.flags.contains(&ChangeFlag::RecurrentEdemaTreated));
    assert!(!l2.flags.contains(&ChangeFlag::NewFractureCandidate));
}

#[test]
fn a_level_shift_is_refused_not_paired() {
    // The follow-up was labelled one level too high: its "L1" is the baseline's L2 (the
    // cemented, distinctive body), and so on.
    let heights = [26.0, 27.0, 28.0, 28.5, 29.0];
    let base = exam(
        "b",
        date(2025, 1, 1),
        lumbar(
            [0.0, 50.0, 0.0, 0.0, 0.0],
            [0.0, 35.0, 0.0, 0.0, 0.0],
            heights,
        ),
    );
    let mut shifted = lumbar(
        [50.0, 0.0, 0.0, 0.0, 0.0],
        [35.0, 0.0, 0.0, 0.0, 0.0],
        [27.0, 28.0, 28.5, 29.0, 29.5],
    );
    for (i, l) in shifted.iter_mut().enumerate() {
        l.body_volume_ml = 33.0 + 3.0 * i as f64;
    }
    let follow = exam("f", date(2025, 4, 1), shifted);
    let err = compare_exams(&base, &follow, &CompareConfig::default()).unwrap_err();
    assert!(err.to_string().contains("shifted by"), "{err}");
}

#[test]
fn different_patients_are_refused() {
    let a = exam("a", date(2025, 1, 1), lumbar([0.0; 5], [0.0; 5], [28.0; 5]));
    let mut b = exam("b", date(2025, 2, 1), lumbar([0.0; 5], [0.0; 5], [28.0; 5]));
    b.patient_id = "P2".into();
    assert!(compare_exams(&a, &b, &CompareConfig::default()).is_err());
}

/// A 24 × 30 × 36 mm block at 1 mm, whose edema occupies the rows `edema_rows`; the
/// follow-up is the same body moved and slightly rotated in the scanner.
fn body_crop(
    origin: Point3<f64>,
    rotation_deg: f64,
    edema_rows: std::ops::Range<usize>,
) -> BodyCrop {
    let rot = nalgebra::Rotation3::from_euler_angles(rotation_deg.to_radians(), 0.0, 0.0);
    let steps = [Vector3::x(), Vector3::y(), Vector3::z()].map(|v| rot * v);
    let affine = Affine::from_steps(origin, steps);
    let body = Array3::from_shape_fn((30, 36, 44), |(i, j, k)| {
        (3..27).contains(&i) && (3..33).contains(&j) && (4..40).contains(&k)
    });
    let edema = Array3::from_shape_fn((30, 36, 44), |(i, j, k)| {
        body[[i, j, k]] && edema_rows.contains(&j)
    });
    BodyCrop {
        affine,
        shape: [30, 36, 44],
        body: RunLengthMask::encode(body.iter().copied()),
        edema: RunLengthMask::encode(edema.iter().copied()),
        cement: RunLengthMask::default(),
    }
}

#[test]
fn voxelwise_change_after_alignment_matches_the_known_answer() {
    // Baseline: edema in rows 3..18 (15 of 30 rows = 50 %). Follow-up: edema in rows
    // 12..18 only, so 9 rows (30 %) became normal and none became edematous.
    let mut base = lumbar([50.0, 0.0, 0.0, 0.0, 0.0], [0.0; 5], [28.0; 5]);
    let mut follow = lumbar([20.0, 0.0, 0.0, 0.0, 0.0], [0.0; 5], [28.0; 5]);
    base[0].crop = Some(body_crop(Point3::new(0.0, 0.0, 0.0), 0.0, 3..18));
    follow[0].crop = Some(body_crop(Point3::new(6.0, -4.0, 11.0), 4.0, 12..18));
    let rows = compare_exams(
        &exam("b", date(2025, 1, 1), base),
        &exam("f", date(2025, 3, 1), follow),
        &CompareConfig::default(),
    )
    .unwrap();
    let l1 = rows.iter().find(|r| r.level == Level::L(1)).unwrap();
    let normal = l1.newly_normal_percent.unwrap();
    let edematous = l1.newly_edematous_percent.unwrap();
    assert!((normal - 30.0).abs() < 3.0, "newly normal {normal}");
    assert!(edematous < 2.0, "newly edematous {edematous}");
    assert!(l1.alignment_overlap.unwrap() > 0.9);
}

#[test]
fn cohort_reproduces_study_b_resolution_rates() {
    // Study B: BME resolved completely in 35 %, 54 % and 71 % of treated bodies at 3, 6 and
    // 12 months. Build 100 treated bodies with edema at baseline whose follow-up truth gives
    // exactly those rates, and check the summary reads them back.
    let cfg = CompareConfig::default();
    let mut changes = Vec::new();
    for (visit_days, resolved) in [(91, 35), (182, 54), (365, 71)] {
        for i in 0..100 {
            let after = if i < resolved {
                0.0
            } else {
                10.0 + (i % 50) as f64
            };
            changes.push(LevelChange {
                patient_id: format!("P{i}"),
                level: Level::L(1),
                baseline_exam_id: format!("P{i}-0"),
                followup_exam_id: format!("P{i}-{visit_days}"),
                baseline_date: None,
                followup_date: None,
                interval_days: Some(visit_days),
                interval_bin_a: IntervalBinA::of_days(visit_days),
                interval_bin_b: spine_edema::compare::time_point_of_days(
                    visit_days,
                    &cfg.time_points,
                )
                .map(|t| t.name.clone()),
                bme_percent_before: Some(60.0),
                bme_percent_after: Some(after),
                change: Some(if after < 55.0 {
                    ChangeClass::Less
                } else {
                    ChangeClass::Same
                }),
                newly_edematous_percent: None,
                newly_normal_percent: None,
                height_loss_anterior_mm: None,
                height_loss_middle_mm: None,
                height_loss_posterior_mm: None,
                height_loss_max_mm: None,
                height_loss_max_percent: None,
                alignment_overlap: None,
                treated: true,
                flags: vec![],
            });
        }
    }
    let summary = summarize(&changes, CohortSelection::Treated, &cfg);
    let rates: Vec<f64> = summary
        .resolved_by_time_point
        .iter()
        .map(|s| s.fraction().unwrap())
        .collect();
    assert_eq!(rates, vec![0.35, 0.54, 0.71]);
    assert_eq!(summary.grade_distribution[0].time_point, "baseline");
    assert_eq!(summary.grade_distribution[0].counts, [0, 0, 100, 0]);
    assert_eq!(summary.grade_distribution[1].counts[0], 35);
    assert_eq!(
        summary.change_by_time_point[2].less + summary.change_by_time_point[2].same,
        100
    );
}
