//! Table tests of the grading scales at every boundary, and the CSV spellings of the enums.

use spine_edema::score::grade::{
    cement_quartile, custom_grade, dansie_score, genant_grade, genant_shape, voormolen_grade,
};
use spine_edema::score::{
    CementQuartile, CutPoint, DansieScore, FractureActivity, GenantGrade, GenantShape, ScoreConfig,
    VoormolenGrade,
};

const FLOOR: f64 = 1.0;

#[test]
fn dansie_terciles_at_every_boundary() {
    let third = 100.0 / 3.0;
    let two_thirds = 200.0 / 3.0;
    let table = [
        (0.0, DansieScore::None),
        (0.999, DansieScore::None),
        (1.0, DansieScore::UnderOneThird),
        (third - 1e-9, DansieScore::UnderOneThird),
        (third, DansieScore::OneToTwoThirds),
        (50.0, DansieScore::OneToTwoThirds),
        (two_thirds, DansieScore::OneToTwoThirds),
        (two_thirds + 1e-9, DansieScore::OverTwoThirds),
        (100.0, DansieScore::OverTwoThirds),
    ];
    for (bme, expected) in table {
        assert_eq!(dansie_score(bme, FLOOR), expected, "{bme}");
    }
}

#[test]
fn voormolen_classes_at_every_boundary() {
    let table = [
        (0.0, VoormolenGrade::None),
        (0.99, VoormolenGrade::None),
        (1.0, VoormolenGrade::Minor),
        (24.0, VoormolenGrade::Minor),
        (24.5, VoormolenGrade::Minor),
        (24.999, VoormolenGrade::Minor),
        (25.0, VoormolenGrade::Moderate),
        (74.0, VoormolenGrade::Moderate),
        (74.5, VoormolenGrade::Moderate),
        (75.0, VoormolenGrade::Severe),
        (100.0, VoormolenGrade::Severe),
    ];
    for (bme, expected) in table {
        assert_eq!(voormolen_grade(bme, FLOOR), expected, "{bme}");
    }
    // The floor is configurable.
    assert_eq!(voormolen_grade(2.0, 3.0), VoormolenGrade::None);
    assert_eq!(dansie_score(2.0, 3.0), DansieScore::None);
}

#[test]
fn cement_quartiles_at_every_boundary() {
    let table = [
        (0.1, CementQuartile::First),
        (24.99, CementQuartile::First),
        (25.0, CementQuartile::Second),
        (49.99, CementQuartile::Second),
        (50.0, CementQuartile::Third),
        (74.99, CementQuartile::Third),
        (75.0, CementQuartile::Fourth),
        (100.0, CementQuartile::Fourth),
    ];
    for (percent, expected) in table {
        assert_eq!(cement_quartile(percent), expected, "{percent}");
    }
}

#[test]
fn genant_grades_and_shapes() {
    let table = [
        (0.0, GenantGrade::Normal),
        (19.99, GenantGrade::Normal),
        (20.0, GenantGrade::Mild),
        (24.99, GenantGrade::Mild),
        (25.0, GenantGrade::Moderate),
        (40.0, GenantGrade::Moderate),
        (40.01, GenantGrade::Severe),
    ];
    for (reduction, expected) in table {
        assert_eq!(genant_grade(reduction), expected, "{reduction}");
    }
    let g = GenantGrade::Moderate;
    assert_eq!(
        genant_shape(GenantGrade::Normal, 30.0, 0.0, 0.0),
        GenantShape::None
    );
    assert_eq!(genant_shape(g, 30.0, 15.0, 0.0), GenantShape::Wedge);
    assert_eq!(genant_shape(g, 5.0, 30.0, 2.0), GenantShape::Biconcave);
    assert_eq!(genant_shape(g, 28.0, 30.0, 27.0), GenantShape::Crush);
    assert_eq!(genant_shape(g, 5.0, 5.0, 30.0), GenantShape::Crush);
    // The crush boundary: the posterior reduction reaches 75 % of the front's, and 15 %.
    assert_eq!(genant_shape(g, 40.0, 30.0, 30.0), GenantShape::Crush);
    assert_eq!(genant_shape(g, 40.0, 30.0, 29.99), GenantShape::Wedge);
    assert_eq!(genant_shape(g, 30.0, 40.0, 30.0), GenantShape::Crush);
    assert_eq!(genant_shape(g, 30.0, 40.0, 29.99), GenantShape::Biconcave);
    assert_eq!(genant_shape(g, 18.0, 20.0, 15.0), GenantShape::Crush);
    assert_eq!(genant_shape(g, 18.0, 19.0, 14.99), GenantShape::Biconcave);
}

#[test]
fn custom_cut_points() {
    let cuts = vec![
        CutPoint {
            name: "trace".into(),
            min_percent: 1.0,
        },
        CutPoint {
            name: "half".into(),
            min_percent: 50.0,
        },
    ];
    assert_eq!(custom_grade(0.5, &cuts), None);
    assert_eq!(custom_grade(1.0, &cuts).as_deref(), Some("trace"));
    assert_eq!(custom_grade(49.9, &cuts).as_deref(), Some("trace"));
    assert_eq!(custom_grade(50.0, &cuts).as_deref(), Some("half"));
    assert_eq!(custom_grade(50.0, &[]), None);
    let unordered = ScoreConfig {
        custom_grades: cuts.into_iter().rev().collect(),
        ..ScoreConfig::default()
    };
    assert!(unordered.validate().is_err());
    assert!(ScoreConfig::default().validate().is_ok());
}

#[test]
fn csv_spellings() -> Result<(), serde_json::Error> {
    assert_eq!(
        serde_json::to_string(&VoormolenGrade::Moderate)?,
        "\"moderate\""
    );
    assert_eq!(serde_json::to_string(&VoormolenGrade::None)?, "\"none\"");
    assert_eq!(serde_json::to_string(&DansieScore::OneToTwoThirds)?, "3");
    assert_eq!(serde_json::to_string(&CementQuartile::Fourth)?, "4");
    assert_eq!(serde_json::to_string(&GenantGrade::Normal)?, "0");
    assert_eq!(
        serde_json::to_string(&GenantShape::Biconcave)?,
        "\"biconcave\""
    );
    assert_eq!(
        serde_json::to_string(&FractureActivity::Active)?,
        "\"active\""
    );
    assert_eq!(
        serde_json::from_str::<DansieScore>("4")?,
        DansieScore::OverTwoThirds
    );
    assert!(serde_json::from_str::<DansieScore>("5").is_err());
    let cfg: ScoreConfig = serde_json::from_str(r#"{"detection_floor_percent": 2.0}"#)?;
    assert_eq!(cfg.detection_floor_percent, 2.0);
    assert_eq!(cfg.threshold_sd, ScoreConfig::default().threshold_sd);
    Ok(())
}
