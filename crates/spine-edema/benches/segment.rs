//! Segmentation speed on a synthetic 15 × 512 × 512 sagittal exam (the issue-4 target
//! is ≤ 30 ms on one core), on one and on two threads.

use criterion::{Criterion, criterion_group, criterion_main};
use spine_edema::exam::{ExamImages, FluidImage};
use spine_edema::segment::{SegmentConfig, segment};
use spine_edema::series::Contrast;

#[allow(dead_code)]
#[path = "../tests/common/synthetic.rs"]
mod synthetic;

fn bench_segment(c: &mut Criterion) {
    let (t1, _) = synthetic::exam(15, 512, &synthetic::T1, 1);
    let (stir, _) = synthetic::exam(15, 512, &synthetic::STIR, 1);
    let images = ExamImages {
        t1: Some(t1),
        fluid: Some(FluidImage {
            contrast: Contrast::Stir,
            volume: stir,
        }),
    };
    let cfg = SegmentConfig::default();
    for threads in [1, 2] {
        let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() else {
            continue;
        };
        c.bench_function(
            &format!("segment_15x512x512_t1_stir_{threads}_threads"),
            |b| b.iter(|| pool.install(|| segment(&images, &cfg))),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_segment
}
criterion_main!(benches);
