//! Segmentation speed on a lumbar phantom (T1 512² × 15 + STIR 320² × 15, read back
//! through the loader, so the STIR is on the T1 grid), on one and on two threads, and
//! the network alone on one 256 × 256 plane. Issue 4's target was 30 ms for the whole
//! exam on one core; `docs/segmentation.md` reports the trade-off.

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use spine_edema::load::{LoadConfig, discover, load_exam};
use spine_edema::segment::{BodyNetwork, SegmentConfig, segment};
use spine_edema_phantom::{PhantomOptions, Preset, generate_patient, write_patient};

fn bench_segment(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let opts = PhantomOptions {
        preset: Preset::Lumbar,
        seed: 4242,
        matrix: Some(512),
        fluid_matrix: Some(320),
        slices: Some(15),
        extra_series: false,
        ..PhantomOptions::default()
    };
    let Ok(patient) = generate_patient(&opts) else {
        return;
    };
    let Ok(written) = write_patient(&patient, dir.path()) else {
        return;
    };
    let found = discover(
        &[written.exams[0].dir.join("dicom")],
        &LoadConfig::default().limits,
    );
    let Some(source) = found.exams.first() else {
        return;
    };
    let Ok(loaded) = load_exam(source, &LoadConfig::default()) else {
        return;
    };
    let images = loaded.images;
    let cfg = SegmentConfig::default();
    for threads in [1, 2] {
        let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads).build() else {
            continue;
        };
        c.bench_function(
            &format!("segment_lumbar_512_t1_stir_{threads}_threads"),
            |b| b.iter(|| pool.install(|| segment(&images, &cfg))),
        );
    }
    let Ok(net) = BodyNetwork::embedded() else {
        return;
    };
    let plane = Array2::from_shape_fn((256, 256), |(r, c)| ((r * 7 + c * 3) % 17) as f32 / 17.0);
    c.bench_function("network_plane_256", |b| {
        b.iter(|| net.forward(plane.view()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_segment
}
criterion_main!(benches);
