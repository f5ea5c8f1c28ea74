//! Scoring on synthetic exams with known truth: edema %, cement, rim, cleft, heights,
//! grades, series modes, external regions, and the normal-exam false-positive rate.

mod score_support;

use score_support::{BodySpec, EdemaSpec, ExamSpec, Series, Synthetic, build};
use spine_edema::exam::ScoringMode;
use spine_edema::score::{
    ExamScores, FractureActivity, GenantGrade, GenantShape, ScoreConfig, ScoreFlag, VoormolenGrade,
    grade, score_exam,
};
use spine_edema::{Affine, Level, Result};

fn score(syn: &Synthetic) -> Result<ExamScores> {
    score_exam(&syn.images, &syn.seg, &ScoreConfig::default())
}

/// Every body's BME % within `tolerance` points of its truth.
fn assert_bme_within(scores: &ExamScores, syn: &Synthetic, tolerance: f64) {
    assert_eq!(scores.vertebrae.len(), syn.truth.len());
    for (v, t) in scores.vertebrae.iter().zip(&syn.truth) {
        let bme = v.bme_percent.unwrap_or(f64::NAN);
        assert!(
            (bme - t.bme_percent).abs() <= tolerance,
            "{:?}: BME {bme:.1} vs {:.1}",
            v.level,
            t.bme_percent
        );
    }
}

fn mean_abs(errors: &[f64]) -> f64 {
    errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64
}

#[test]
fn normal_exams_report_no_edema_on_at_least_95_percent_of_bodies() -> Result<()> {
    let (mut total, mut clean) = (0, 0);
    for seed in 0..6u64 {
        let mut spec = ExamSpec::new(vec![BodySpec::normal(); 7]);
        spec.seed = seed;
        spec.bias_per_mm = 0.003 * if seed % 2 == 0 { 1.0 } else { -1.0 };
        spec.tilt_deg = seed as f64 * 4.0;
        spec.noise_sd = 25.0;
        let syn = build(&spec);
        let scores = score(&syn)?;
        for v in &scores.vertebrae {
            total += 1;
            clean += usize::from(v.bme_percent.is_some_and(|b| b < 1.0));
            assert_eq!(v.cement_ml, 0.0, "seed {seed}: cement in a normal body");
            assert!(!v.rim_present && !v.cleft_fluid);
            assert_eq!(v.genant_grade, Some(GenantGrade::Normal));
            assert_eq!(v.fracture_activity, None);
        }
    }
    eprintln!("normal bodies under 1 %: {clean}/{total}");
    assert!(
        clean as f64 >= 0.95 * total as f64,
        "{clean}/{total} bodies under 1 %"
    );
    Ok(())
}

#[test]
fn bme_matches_truth_when_most_bodies_are_edematous_under_a_bias_ramp() -> Result<()> {
    let mut errors = Vec::new();
    let (mut graded, mut exact_voormolen, mut exact_dansie) = (0, 0, 0);
    for seed in 0..4u64 {
        let bodies = vec![
            BodySpec::normal(),
            BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.12)),
            BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.5)),
            BodySpec::normal(),
            BodySpec::normal().with_edema(EdemaSpec::UpperBand(1.0)),
            BodySpec::normal().with_edema(EdemaSpec::Sphere(10.0)),
            BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.85)),
            BodySpec::normal(),
        ];
        let mut spec = ExamSpec::new(bodies);
        spec.seed = 100 + seed;
        spec.bias_per_mm = 0.004;
        spec.tilt_deg = 10.0;
        let syn = build(&spec);
        let scores = score(&syn)?;
        assert_eq!(scores.mode, ScoringMode::T1Stir);
        for (v, t) in scores.vertebrae.iter().zip(&syn.truth) {
            let bme = v.bme_percent.unwrap_or(f64::NAN);
            errors.push(bme - t.bme_percent);
            graded += 1;
            exact_voormolen +=
                usize::from(v.voormolen_grade == Some(grade::voormolen_grade(t.bme_percent, 1.0)));
            exact_dansie +=
                usize::from(v.dansie_score == Some(grade::dansie_score(t.bme_percent, 1.0)));
        }
    }
    let mae = mean_abs(&errors);
    eprintln!(
        "BME MAE {mae:.2} pp, Voormolen {exact_voormolen}/{graded}, Dansie {exact_dansie}/{graded}"
    );
    assert!(mae <= 3.0, "BME MAE {mae:.2} pp; errors {errors:.1?}");
    assert!(
        exact_voormolen as f64 >= 0.95 * graded as f64,
        "Voormolen {exact_voormolen}/{graded}"
    );
    assert!(
        exact_dansie as f64 >= 0.95 * graded as f64,
        "Dansie {exact_dansie}/{graded}"
    );
    Ok(())
}

#[test]
fn cement_volume_rim_and_rim_is_never_edema() -> Result<()> {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal().with_cement(6.0, 2.0),
        BodySpec::normal().with_cement(9.0, 0.0),
        BodySpec::normal(),
        BodySpec::normal().with_cement(11.0, 2.5),
        BodySpec::normal()
            .with_cement(8.0, 0.0)
            .with_edema(EdemaSpec::UpperBand(1.0)),
        BodySpec::normal(),
    ];
    let mut spec = ExamSpec::new(bodies);
    spec.bias_per_mm = -0.002;
    let syn = build(&spec);
    let scores = score(&syn)?;
    let mut cement_errors = Vec::new();
    for (v, t) in scores.vertebrae.iter().zip(&syn.truth) {
        cement_errors.push(v.cement_percent - t.cement_percent);
        assert_eq!(v.rim_present, t.rim, "{:?}: rim", v.level);
        if t.cement_percent > 0.0 {
            assert_eq!(
                v.cement_quartile,
                Some(grade::cement_quartile(t.cement_percent))
            );
        } else {
            assert_eq!(v.cement_quartile, None);
        }
        if t.bme_percent == 0.0 {
            assert!(
                v.bme_percent.is_some_and(|b| b < 1.0),
                "{:?}: rim or cement counted as edema: {:?}",
                v.level,
                v.bme_percent
            );
        } else {
            assert!((v.bme_percent.unwrap_or(0.0) - t.bme_percent).abs() <= 3.0);
        }
        if t.rim {
            assert!(v.rim_ml > 0.0);
        }
    }
    let mae = mean_abs(&cement_errors);
    eprintln!("cement MAE {mae:.2} pp");
    assert!(mae <= 3.0, "cement MAE {mae:.2} pp: {cement_errors:.2?}");
    let cement = scores.masks.mask_of(spine_edema::score::mask_class::CEMENT);
    let cement_voxels = cement.voxels.iter().filter(|&&v| v == 1).count();
    let coded = scores
        .masks
        .classes
        .voxels
        .iter()
        .filter(|&&v| v == spine_edema::score::mask_class::CEMENT)
        .count();
    assert_eq!(cement_voxels, coded);
    assert!(cement.same_grid(&syn.seg.labels));
    let voxel_ml = cement.affine.voxel_volume_mm3() / 1000.0;
    let cement_ml: f64 = scores.vertebrae.iter().map(|v| v.cement_ml).sum();
    assert!((cement_voxels as f64 * voxel_ml - cement_ml).abs() < 1e-6);
    Ok(())
}

#[test]
fn cleft_fluid_only_in_collapsed_bodies() -> Result<()> {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal()
            .with_profile([15.0, 17.0, 19.0])
            .with_cleft(6.0)
            .with_edema(EdemaSpec::UpperBand(0.7)),
        BodySpec::normal(),
        BodySpec::normal()
            .with_profile([17.0, 20.0, 24.0])
            .with_edema(EdemaSpec::UpperBand(1.0)),
        BodySpec::normal(),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.4)),
        BodySpec::normal(),
    ];
    let syn = build(&ExamSpec::new(bodies));
    let scores = score(&syn)?;
    let found: Vec<bool> = scores.vertebrae.iter().map(|v| v.cleft_fluid).collect();
    let truth: Vec<bool> = syn.truth.iter().map(|t| t.cleft).collect();
    assert_eq!(found, truth);
    Ok(())
}

/// Edema can be as bright as 0.7 of CSF on STIR (phantoms at 1.5 T: 0.6–0.75); only T1
/// tells it from cleft fluid, which is also CSF-dark there. Regression: whole-body edema
/// in a collapsed body was read as a 5.6 mL cleft and scored 3.5 % BME.
#[test]
fn bright_edema_in_a_collapsed_body_is_edema_not_cleft() -> Result<()> {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal()
            .with_profile([15.0, 17.0, 19.0])
            .with_edema(EdemaSpec::UpperBand(1.0)),
        BodySpec::normal(),
        BodySpec::normal()
            .with_profile([15.0, 17.0, 19.0])
            .with_cleft(6.0)
            .with_edema(EdemaSpec::UpperBand(1.0)),
        BodySpec::normal(),
    ];
    let mut spec = ExamSpec::new(bodies);
    spec.edema_signal = (600.0, 1150.0);
    let syn = build(&spec);
    let scores = score(&syn)?;
    let found: Vec<bool> = scores.vertebrae.iter().map(|v| v.cleft_fluid).collect();
    let truth: Vec<bool> = syn.truth.iter().map(|t| t.cleft).collect();
    assert_eq!(found, truth);
    assert_bme_within(&scores, &syn, 5.0);
    Ok(())
}

#[test]
fn heights_along_a_tilted_spine_and_genant() -> Result<()> {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal(),
        BodySpec::normal().with_profile([12.0, 19.0, 26.0]),
        BodySpec::normal(),
        BodySpec::normal()
            .with_profile([25.0, 18.0, 25.0])
            .with_edema(EdemaSpec::UpperBand(0.3)),
        BodySpec::normal(),
        BodySpec::normal().with_profile([20.0, 20.0, 20.0]),
        BodySpec::normal(),
    ];
    let expected = [
        (GenantGrade::Normal, GenantShape::None),
        (GenantGrade::Normal, GenantShape::None),
        (GenantGrade::Severe, GenantShape::Wedge),
        (GenantGrade::Normal, GenantShape::None),
        (GenantGrade::Moderate, GenantShape::Biconcave),
        (GenantGrade::Normal, GenantShape::None),
        (GenantGrade::Mild, GenantShape::Crush),
        (GenantGrade::Normal, GenantShape::None),
    ];
    for tilt in [0.0, 20.0] {
        let mut spec = ExamSpec::new(bodies.clone());
        spec.tilt_deg = tilt;
        spec.spacing_mm = [4.0, 0.7, 0.7];
        let syn = build(&spec);
        let scores = score(&syn)?;
        let mut errors = Vec::new();
        for ((v, t), (g, s)) in scores.vertebrae.iter().zip(&syn.truth).zip(expected) {
            let got = [
                v.height_anterior_mm,
                v.height_middle_mm,
                v.height_posterior_mm,
            ];
            for (h, truth) in got.iter().zip(t.heights_mm) {
                errors.push(h.unwrap_or(f64::NAN) - truth);
            }
            assert_eq!(
                v.genant_grade,
                Some(g),
                "tilt {tilt}: {:?} {got:?}",
                v.level
            );
            assert_eq!(
                v.genant_shape,
                Some(s),
                "tilt {tilt}: {:?} {got:?}",
                v.level
            );
        }
        let mae = mean_abs(&errors);
        eprintln!("tilt {tilt}: heights MAE {mae:.2} mm");
        assert!(
            mae <= 1.0,
            "tilt {tilt}: heights MAE {mae:.2} mm: {errors:.2?}"
        );
        let wedge = &scores.vertebrae[2];
        assert!(wedge.posterior_wall_loss_percent.is_some_and(|w| w > 30.0));
        assert_eq!(wedge.fracture_activity, Some(FractureActivity::Inactive));
        assert_eq!(
            scores.vertebrae[4].fracture_activity,
            Some(FractureActivity::Active)
        );
        assert_eq!(scores.vertebrae[0].fracture_activity, None);
    }
    Ok(())
}

#[test]
fn missing_series_modes_are_flagged_and_less_confident() -> Result<()> {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.5)),
        BodySpec::normal(),
        BodySpec::normal(),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(1.0)),
        BodySpec::normal(),
    ];
    let mut confidences = Vec::new();
    for (series, mode) in [
        (Series::T1Stir, ScoringMode::T1Stir),
        (Series::T1T2Fs, ScoringMode::T1T2Fs),
        (Series::StirOnly, ScoringMode::StirOnly),
        (Series::T1Only, ScoringMode::T1Only),
    ] {
        let mut spec = ExamSpec::new(bodies.clone());
        spec.series = series;
        let syn = build(&spec);
        let scores = score(&syn)?;
        assert_eq!(scores.mode, mode);
        let single = mode == ScoringMode::StirOnly || mode == ScoringMode::T1Only;
        for (v, t) in scores.vertebrae.iter().zip(&syn.truth) {
            assert_eq!(v.flags.contains(&ScoreFlag::SingleSeries), single);
            let bme = v.bme_percent.unwrap_or(f64::NAN);
            assert!(
                (bme - t.bme_percent).abs() <= 5.0,
                "{mode}: {bme} vs {}",
                t.bme_percent
            );
        }
        assert_eq!(single, !scores.warnings.is_empty());
        confidences.push(scores.vertebrae[1].confidence);
    }
    assert!(
        confidences.windows(2).all(|w| w[0] > w[1]),
        "{confidences:?}"
    );

    let mut spec = ExamSpec::new(bodies);
    spec.series = Series::T2Only;
    let syn = build(&spec);
    let scores = score(&syn)?;
    assert!(
        scores
            .vertebrae
            .iter()
            .all(|v| v.bme_percent.is_none() && v.voormolen_grade.is_none())
    );
    assert!(
        scores
            .vertebrae
            .iter()
            .all(|v| v.height_middle_mm.is_some())
    );
    Ok(())
}

#[test]
fn external_regions_and_non_sagittal_grids_leave_heights_empty() -> Result<()> {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.5)),
        BodySpec::normal(),
        BodySpec::normal(),
    ];
    let mut syn = build(&ExamSpec::new(bodies));
    // A sacrum label and an unnamed region from an external mask.
    syn.seg.bodies[2].level = Some(Level::S1);
    syn.seg.bodies[3].level = None;
    let cfg = ScoreConfig {
        unnamed_regions_are_bodies: false,
        ..ScoreConfig::default()
    };
    let scores = score_exam(&syn.images, &syn.seg, &cfg)?;
    assert!(scores.vertebrae[0].height_middle_mm.is_some());
    assert!(
        scores.vertebrae[2].height_middle_mm.is_none()
            && scores.vertebrae[2].genant_grade.is_none()
    );
    assert!(scores.vertebrae[3].height_middle_mm.is_none());
    assert!(scores.vertebrae[3].bme_percent.is_some());

    // The same voxels on a grid whose slices are coronal: edema is still scored, heights are not.
    let a = syn.seg.labels.affine;
    let coronal = Affine::from_steps(
        a.origin_mm(),
        [
            nalgebra::Vector3::y() * a.spacing_mm()[0],
            a.step_mm(1),
            nalgebra::Vector3::x() * a.spacing_mm()[2],
        ],
    );
    syn.seg.labels.affine = coronal;
    if let Some(t1) = syn.images.t1.as_mut() {
        t1.affine = coronal;
    }
    if let Some(f) = syn.images.fluid.as_mut() {
        f.volume.affine = coronal;
    }
    let scores = score(&syn)?;
    assert!(
        scores
            .vertebrae
            .iter()
            .all(|v| v.height_middle_mm.is_none() && v.genant_grade.is_none())
    );
    assert!(
        (scores.vertebrae[1].bme_percent.unwrap_or(0.0) - syn.truth[1].bme_percent).abs() <= 3.0
    );
    assert_eq!(
        scores.vertebrae[1].voormolen_grade,
        Some(VoormolenGrade::Moderate)
    );
    Ok(())
}

#[test]
fn labels_off_the_image_grid_are_an_error() {
    let mut syn = build(&ExamSpec::new(vec![BodySpec::normal(); 3]));
    syn.seg.labels.voxels = ndarray::Array3::zeros((3, 4, 5));
    assert!(score(&syn).is_err());
}

#[test]
fn invalid_configuration_is_an_error() {
    let syn = build(&ExamSpec::new(vec![BodySpec::normal(); 3]));
    let cfg = ScoreConfig {
        threshold_sd: -1.0,
        ..ScoreConfig::default()
    };
    assert!(score_exam(&syn.images, &syn.seg, &cfg).is_err());
}

#[test]
fn voxels_outside_the_fluid_series_are_not_counted() -> Result<()> {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(1.0)),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.5)),
        BodySpec::normal(),
    ];
    let mut syn = build(&ExamSpec::new(bodies));
    // A STIR slab narrower than the T1's: the resampled fluid series has no data (the
    // resampler's fill value, 0) on the first third of the sagittal slices.
    let fluid = &mut syn
        .images
        .fluid
        .as_mut()
        .expect("the synthetic exam has a fluid series")
        .volume
        .voxels;
    let cut = fluid.shape()[0] / 3;
    for mut plane in fluid.axis_iter_mut(ndarray::Axis(0)).take(cut) {
        plane.fill(spine_edema::volume::resample::OUTSIDE_FILL);
    }
    let scores = score(&syn)?;
    assert_bme_within(&scores, &syn, 5.0);
    for v in &scores.vertebrae {
        assert!(v.flags.contains(&ScoreFlag::OutsideFluidSeries));
    }
    Ok(())
}
