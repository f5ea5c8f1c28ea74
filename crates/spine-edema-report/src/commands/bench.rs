//! `spine-edema bench PATH`: wall time of each stage on a folder of exams, repeated, with
//! median and 90th percentile, throughput and peak memory. Benchmarks measure; they never
//! decide pass or fail. `--decode-only` times just the header index and the pixel decode
//! of every series: the floor that the full analysis is compared with
//! (`scripts/compare-tools.sh`).

use crate::cli::BenchArgs;
use anyhow::{Result, bail};
use serde::Serialize;
use spine_edema::ingest::decode_series;
use spine_edema::load::{Discovery, ExamSource, discover, load_exam};
use spine_edema::nifti::read_volume;
use spine_edema::pipeline::{Config, analyze_exam};
use std::time::{Duration, Instant};

/// Stages of the full analysis, in the order they run.
const FULL_STAGES: [&str; 6] = ["index", "decode", "align", "segment", "score", "report"];
/// Stages of `--decode-only`.
const DECODE_STAGES: [&str; 2] = ["index", "decode"];

#[derive(Serialize)]
struct StageStats {
    stage: &'static str,
    median_ms: f64,
    p90_ms: f64,
}

#[derive(Serialize)]
struct BenchResult {
    /// `full` or `decode-only`.
    mode: &'static str,
    exams: usize,
    voxels: usize,
    repeats: usize,
    stages: Vec<StageStats>,
    total_median_ms: f64,
    exams_per_s: f64,
    voxels_per_s: f64,
    peak_memory_mb: Option<f64>,
    threads: usize,
    /// Series that could not be decoded in the last repeat (decode-only; the full mode
    /// stops at the first exam that fails).
    failures: usize,
}

/// What one pass over the folder measured.
struct Round {
    /// Wall time per stage, in the order of the stage names.
    times: Vec<Duration>,
    exams: usize,
    voxels: usize,
    failures: usize,
}

fn quantile(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    let i = ((samples.len().saturating_sub(1)) as f64 * q).round() as usize;
    samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Peak resident memory of this process (Linux `VmHWM`), in MB.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Indexes the folder, failing when it holds no exam.
fn discover_exams(args: &BenchArgs, cfg: &Config) -> Result<(Discovery, Duration)> {
    let started = Instant::now();
    let discovery = discover(std::slice::from_ref(&args.path), &cfg.load.limits);
    let elapsed = started.elapsed();
    if discovery.exams.is_empty() {
        bail!("no exams under {}", args.path.display());
    }
    Ok((discovery, elapsed))
}

/// One pass of the whole analysis over every exam; an exam that fails stops the bench.
fn full_round(args: &BenchArgs, cfg: &Config) -> Result<Round> {
    let mut times = vec![Duration::ZERO; FULL_STAGES.len()];
    let (discovery, index_time) = discover_exams(args, cfg)?;
    times[0] = index_time;
    let mut voxels = 0;
    for source in &discovery.exams {
        let loaded = load_exam(source, &cfg.load)?;
        times[1] += loaded.times.decode;
        times[2] += loaded.times.align;
        voxels += loaded.images.t1.as_ref().map_or(0, |v| v.len())
            + loaded.images.fluid.as_ref().map_or(0, |f| f.volume.len());
        let analysis = analyze_exam(&loaded, None, cfg)?;
        times[3] += analysis.times.segment;
        times[4] += analysis.times.score + analysis.times.crop;
        let started = Instant::now();
        let json = serde_json::to_vec(&analysis.report)?;
        std::hint::black_box(json);
        times[5] += started.elapsed();
    }
    Ok(Round {
        times,
        exams: discovery.exams.len(),
        voxels,
        failures: 0,
    })
}

/// One pass that only decodes: every series of every exam into a volume (the same
/// `decode_series` the analysis uses), without choosing, aligning or analysing. A series
/// that cannot be decoded is counted and skipped, as a converter would.
fn decode_round(args: &BenchArgs, cfg: &Config) -> Result<Round> {
    let (discovery, index_time) = discover_exams(args, cfg)?;
    let started = Instant::now();
    let (mut voxels, mut failures) = (0, 0);
    for source in &discovery.exams {
        let decoded: Vec<spine_edema::Result<usize>> = match source {
            ExamSource::Dicom { study, .. } => study
                .series
                .iter()
                .map(|series| decode_series(series, &cfg.load.limits).map(|d| d.volume.len()))
                .collect(),
            ExamSource::Nifti(_) => source
                .files()
                .iter()
                .map(|path| read_volume(path).map(|v| v.len()))
                .collect(),
        };
        for outcome in decoded {
            match outcome {
                Ok(n) => voxels += n,
                Err(e) => {
                    failures += 1;
                    eprintln!("spine-edema: not decoded: {e}");
                }
            }
        }
    }
    Ok(Round {
        times: vec![index_time, started.elapsed()],
        exams: discovery.exams.len(),
        voxels,
        failures,
    })
}

/// Runs `bench`; returns the process exit code.
pub fn run(args: &BenchArgs) -> Result<i32> {
    let cfg = Config::default();
    let repeats = args.repeat.max(1);
    let (names, mode): (&[&'static str], _) = if args.decode_only {
        (&DECODE_STAGES, "decode-only")
    } else {
        (&FULL_STAGES, "full")
    };
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let mut totals = Vec::new();
    let (mut exams, mut voxels, mut failures) = (0, 0, 0);
    for _ in 0..repeats {
        let round = if args.decode_only {
            decode_round(args, &cfg)?
        } else {
            full_round(args, &cfg)?
        };
        (exams, voxels, failures) = (round.exams, round.voxels, round.failures);
        for (s, &t) in samples.iter_mut().zip(&round.times) {
            s.push(t);
        }
        totals.push(round.times.iter().sum::<Duration>());
    }
    let stages: Vec<StageStats> = names
        .iter()
        .copied()
        .zip(samples.iter_mut())
        .map(|(stage, s)| StageStats {
            stage,
            median_ms: quantile(s, 0.5),
            p90_ms: quantile(s, 0.9),
        })
        .collect();
    let total_median_ms = quantile(&mut totals, 0.5);
    let result = BenchResult {
        mode,
        exams,
        voxels,
        repeats,
        total_median_ms,
        exams_per_s: exams as f64 / (total_median_ms / 1000.0).max(1e-9),
        voxels_per_s: voxels as f64 / (total_median_ms / 1000.0).max(1e-9),
        stages,
        peak_memory_mb: peak_memory_mb(),
        threads: rayon::current_num_threads(),
        failures,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        println!(
            "{}: {} exam(s), {} voxels, {} repeat(s), {} thread(s)",
            result.mode, result.exams, result.voxels, repeats, result.threads
        );
        if result.failures > 0 {
            println!("{} series could not be decoded", result.failures);
        }
        println!("{:<8} {:>10} {:>10}", "stage", "median ms", "p90 ms");
        for s in &result.stages {
            println!("{:<8} {:>10.1} {:>10.1}", s.stage, s.median_ms, s.p90_ms);
        }
        println!("{:<8} {:>10.1}", "total", result.total_median_ms);
        println!(
            "{:.2} exams/s, {:.1} Mvoxels/s, peak memory {}",
            result.exams_per_s,
            result.voxels_per_s / 1e6,
            result
                .peak_memory_mb
                .map_or("unknown".into(), |m| format!("{m:.0} MB"))
        );
    }
    Ok(0)
}
