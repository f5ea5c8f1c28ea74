//! Scoring time of one exam after segmentation (issue 5 target: ≤ 10 ms on one core for a
//! 15 × 512 × 512 exam), on a synthetic thoracolumbar exam with edema, cement and fractures.

#[path = "../tests/score_support/mod.rs"]
mod score_support;

use criterion::{Criterion, criterion_group, criterion_main};
use score_support::{BodySpec, EdemaSpec, ExamSpec, build};
use spine_edema::score::{ScoreConfig, score_exam};
use std::hint::black_box;

fn exam() -> score_support::Synthetic {
    let bodies = vec![
        BodySpec::normal(),
        BodySpec::normal().with_edema(EdemaSpec::UpperBand(0.3)),
        BodySpec::normal()
            .with_profile([15.0, 20.0, 26.0])
            .with_edema(EdemaSpec::UpperBand(1.0)),
        BodySpec::normal().with_cement(8.0, 2.0),
        BodySpec::normal(),
        BodySpec::normal()
            .with_profile([25.0, 18.0, 25.0])
            .with_edema(EdemaSpec::Sphere(9.0)),
        BodySpec::normal()
            .with_profile([18.0, 18.0, 18.0])
            .with_cleft(6.0),
        BodySpec::normal(),
        BodySpec::normal(),
    ];
    let mut spec = ExamSpec::new(bodies);
    spec.spacing_mm = [4.0, 0.68, 0.68];
    spec.min_dims = [15, 512, 512];
    spec.bias_per_mm = 0.002;
    spec.tilt_deg = 10.0;
    build(&spec)
}

fn bench_score(c: &mut Criterion) {
    let syn = exam();
    let cfg = ScoreConfig::default();
    let one_core = rayon::ThreadPoolBuilder::new().num_threads(1).build();
    let mut group = c.benchmark_group("score_exam");
    if let Ok(pool) = one_core {
        group.bench_function("15x512x512, 9 bodies, 1 thread", |b| {
            b.iter(|| pool.install(|| black_box(score_exam(&syn.images, &syn.seg, &cfg))))
        });
    }
    group.bench_function("15x512x512, 9 bodies, all threads", |b| {
        b.iter(|| black_box(score_exam(&syn.images, &syn.seg, &cfg)))
    });
    group.finish();
}

criterion_group!(benches, bench_score);
criterion_main!(benches);
