//! Truth JSON agrees with the label maps (which are rendered on the T1 grid by voting on
//! the same sub-samples as the image), within partial-volume rounding; and truth is
//! internally consistent.

mod common;

use proptest::prelude::*;
use spine_edema_phantom::{ExamPhantom, GenantShape, Preset, generate_patient};

/// Per level code: (body voxels, edema voxels, cement voxels).
fn label_counts(exam: &ExamPhantom, code: u8) -> (usize, usize, usize) {
    let l = &exam.labels;
    let mut c = (0, 0, 0);
    for ((b, e), m) in l
        .bodies
        .voxels
        .iter()
        .zip(&l.edema.voxels)
        .zip(&l.cement.voxels)
    {
        if *b == code {
            c.0 += 1;
            c.1 += usize::from(*e);
            c.2 += usize::from(*m);
        }
    }
    c
}

fn check_exam(exam: &ExamPhantom) -> Result<(), TestCaseError> {
    let voxel_ml = exam.labels.bodies.affine.voxel_volume_mm3() / 1000.0;
    prop_assert!(!exam.truth.levels.is_empty());
    for level in &exam.truth.levels {
        let (body, edema, cement) = label_counts(exam, level.label_code);
        let body_ml = body as f64 * voxel_ml;
        prop_assert!(
            level.body_volume_ml > 2.0 && level.body_volume_ml < 80.0,
            "{level:?}"
        );
        prop_assert!((0.0..=100.0).contains(&level.bme_percent));
        prop_assert!(level.cement_ml <= level.body_volume_ml);
        prop_assert!(level.height_middle_mm > 3.0 && level.height_posterior_mm < 40.0);
        prop_assert_eq!(
            level.genant_grade == 0,
            level.genant_shape == GenantShape::None
        );
        if level.partial_in_fov {
            prop_assert!(body_ml <= level.body_volume_ml * 1.15 + 1.0);
            continue;
        }
        // One voxel layer of 3–5 mm slices around a ~35 mm wide body is ±10–15 % of its
        // volume; the votes are unbiased, so the sum is much closer than that.
        let rel = (body_ml - level.body_volume_ml).abs() / level.body_volume_ml;
        prop_assert!(
            rel < 0.12,
            "{}: labels {body_ml:.1} mL, truth {:.1} mL",
            level.level,
            level.body_volume_ml
        );
        let marrow = (body - cement).max(1) as f64;
        let bme_labels = edema as f64 / marrow * 100.0;
        // The edema label needs a majority of all of a voxel's sub-samples, so a voxel
        // shared three ways by edema, cement and normal marrow is labelled normal marrow:
        // next to cement the label maps under-count edema (seed 416, patchy edema around a
        // cast on 6.5 mm slices: 31.9 % labelled for 42.9 % true).
        let tolerance = if level.cement_ml > 0.0 { 15.0 } else { 10.0 };
        prop_assert!(
            (bme_labels - level.bme_percent).abs() < tolerance,
            "{}: BME labels {bme_labels:.1} %, truth {:.1} %",
            level.level,
            level.bme_percent
        );
        if level.cement_ml > 0.5 {
            let cement_ml = cement as f64 * voxel_ml;
            prop_assert!((cement_ml - level.cement_ml).abs() < 0.25 * level.cement_ml + 0.5);
        }
    }
    Ok(())
}

proptest! {
    // A fixed seed: the tolerances above are statistical, and CI must not pass or fail by
    // the draw. Change the seed here to explore other patients.
    #![proptest_config(ProptestConfig {
        cases: 4,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261204),
        .. ProptestConfig::default()
    })]
    #[test]
    fn truth_matches_label_maps(seed in 0u64..10_000, preset in 0usize..3) {
        let p = generate_patient(&common::small(Preset::ALL[preset], seed, false)).unwrap();
        for exam in &p.exams {
            check_exam(exam)?;
        }
        for interval in &p.changes.intervals {
            for l in &interval.levels {
                prop_assert!((0.0..=100.0).contains(&l.newly_edematous_percent));
                prop_assert!((0.0..=100.0).contains(&l.newly_normal_percent));
                if l.treated_in_interval {
                    // Cement replaced marrow: the two BME % have different denominators.
                    continue;
                }
                // Net change of the edema fraction is bounded by the two one-way fractions.
                let net = l.bme_percent_after - l.bme_percent_before;
                prop_assert!(net <= l.newly_edematous_percent + 3.0, "{l:?}");
                prop_assert!(-net <= l.newly_normal_percent + 3.0, "{l:?}");
            }
        }
    }
}
