//! Benchmarks force the acquisition geometry (`matrix`, `fluid_matrix`, `slices`); the
//! forced values must reach every sagittal series, and forcing must leave the rest of a
//! seed's draws alone (the same anatomy and series, only other sizes).

use spine_edema_phantom::{PhantomOptions, Preset, SeriesRole, generate_patient};

fn options(fluid_matrix: Option<usize>, slices: Option<usize>) -> PhantomOptions {
    PhantomOptions {
        preset: Preset::Lumbar,
        seed: 5,
        followups: 0,
        matrix: Some(96),
        fluid_matrix,
        slices,
        compressed: false,
        extra_series: false,
    }
}

#[test]
fn forced_fluid_matrix_and_slices_reach_the_series() {
    let patient = generate_patient(&options(Some(64), Some(5))).unwrap();
    let exam = &patient.exams[0];
    assert!(exam.series.len() >= 2);
    for series in &exam.series {
        let [slices, rows, cols] = series.volume.shape();
        let expected = match series.role {
            SeriesRole::Stir | SeriesRole::T2FatSat => 64,
            _ => 96,
        };
        assert_eq!(
            (slices, rows, cols),
            (5, expected, expected),
            "{:?}",
            series.role
        );
    }
}

#[test]
fn forcing_sizes_keeps_the_seed_otherwise() {
    let drawn = generate_patient(&options(None, None)).unwrap();
    let forced = generate_patient(&options(Some(64), Some(5))).unwrap();
    let (a, b) = (&drawn.exams[0], &forced.exams[0]);
    assert_eq!(a.truth.fluid_motion, b.truth.fluid_motion);
    assert_eq!(a.truth.fluid_contrast, b.truth.fluid_contrast);
    assert_eq!(a.truth.vendor, b.truth.vendor);
    assert_eq!(a.truth.field_strength_t, b.truth.field_strength_t);
    let roles = |e: &spine_edema_phantom::ExamPhantom| {
        e.series
            .iter()
            .map(|s| (s.role, s.series_instance_uid.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(roles(a), roles(b));
}

#[test]
fn out_of_range_slices_are_refused() {
    assert!(generate_patient(&options(None, Some(2))).is_err());
    assert!(generate_patient(&options(None, Some(65))).is_err());
    assert!(generate_patient(&options(Some(4000), None)).is_err());
}
