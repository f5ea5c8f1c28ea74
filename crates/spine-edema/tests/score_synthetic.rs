//! Scoring on synthetic exams with known truth: edema %, cement, rim, cleft, heights,
//! grades, modes, and the normal-exam false-positive rate.

mod score_support;

use score_support::{BodySpec, EdemaSpec, ExamSpec, Series, build};
use spine_edema::score::{ScoreConfig, score_exam};

fn print_scores(spec: &ExamSpec) {
    let syn = build(spec);
    let scores = score_exam(&syn.images, &syn.seg, &ScoreConfig::default()).unwrap();
    println!("mode {:?} warnings {:?}", scores.mode, scores.warnings);
    println!("reference {:?}", scores.reference);
    for (v, t) in scores.vertebrae.iter().zip(&syn.truth) {
        println!(
            "{:?} bme {:?} (truth {:.1}) range {:?} cement {:.1} (truth {:.1}) rim {} ({}) cleft {} ({}) h {:?} {:?} {:?} (truth {:.1?}) loss {:?} wall {:?} genant {:?} {:?} act {:?} conf {:.2} flags {:?}",
            v.level,
            v.bme_percent.map(|b| (b * 10.0).round() / 10.0),
            t.bme_percent,
            v.bme_percent_range,
            v.cement_percent,
            t.cement_percent,
            v.rim_present,
            t.rim,
            v.cleft_fluid,
            t.cleft,
            v.height_anterior_mm,
            v.height_middle_mm,
            v.height_posterior_mm,
            t.heights_mm,
            v.height_loss_percent,
            v.posterior_wall_loss_percent,
            v.genant_grade,
            v.genant_shape,
            v.fracture_activity,
            v.confidence,
            v.flags
        );
    }
}

#[test]
fn explore() {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.3)),
        BodySpec::normal()
            .with_edema(EdemaSpec::UpperBand(1.0))
            .with_profile([16.0, 21.0, 26.0]),
        BodySpec::normal().with_cement(7.0, 2.0),
        BodySpec::normal()
            .with_edema(EdemaSpec::Sphere(9.0))
            .with_profile([25.0, 17.0, 25.0]),
        BodySpec::normal()
            .with_profile([18.0, 18.0, 18.0])
            .with_cleft(6.0)
            .with_edema(EdemaSpec::UpperBand(0.6)),
        BodySpec::normal(),
    ];
    let mut spec = ExamSpec::new(bodies);
    spec.bias_per_mm = 0.002;
    spec.tilt_deg = 15.0;
    print_scores(&spec);
}
