//! Scores every exam under a folder with the library and prints one line per vertebra.
//!
//! ```sh
//! cargo run --release -p spine-edema --example score_folder -- testdata
//! ```
//!
//! The steps are those of `spine-edema score` without its files and reports: `discover`
//! finds the exams (DICOM studies by their headers, BIDS-named NIfTI sets by name),
//! `load_exam` picks and reads the T1 and fluid-sensitive series onto one grid, and
//! `analyze_exam` segments the vertebral bodies and scores each one.

use spine_edema::load::{discover, load_exam};
use spine_edema::pipeline::{Config, analyze_exam};
use std::io::Write;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let folder = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("testdata"), PathBuf::from);
    let summary = score_folder(&folder, &Config::default(), &mut std::io::stdout().lock())?;
    eprintln!(
        "{} of {} exam(s) scored, {} vertebrae",
        summary.scored, summary.found, summary.vertebrae
    );
    Ok(())
}

/// How a folder went.
#[derive(Debug, Default)]
struct Summary {
    /// Exams found.
    found: usize,
    /// Exams scored.
    scored: usize,
    /// Vertebrae printed.
    vertebrae: usize,
}

/// Prints a per-vertebra table of every exam under `folder` to `out`. An exam that cannot
/// be read or analysed is reported on stderr and skipped, as the batch tool does.
fn score_folder(
    folder: &Path,
    cfg: &Config,
    out: &mut impl Write,
) -> Result<Summary, Box<dyn std::error::Error>> {
    let found = discover(&[folder.to_path_buf()], &cfg.load.limits);
    let mut summary = Summary {
        found: found.exams.len(),
        ..Summary::default()
    };
    writeln!(
        out,
        "{:<12} {:<10} {:<5} {:>6} {:>6} {:<9} {:>8}",
        "patient", "date", "level", "BME %", "Dansie", "Voormolen", "cement %"
    )?;
    for source in &found.exams {
        let analysis =
            match load_exam(source, &cfg.load).and_then(|exam| analyze_exam(&exam, None, cfg)) {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("{}: {e}", source.describe());
                    continue;
                }
            };
        let report = &analysis.report;
        let date = report
            .info
            .study_date
            .map_or_else(|| "unknown".to_string(), |d| d.to_string());
        for v in &report.vertebrae {
            writeln!(
                out,
                "{:<12} {:<10} {:<5} {:>6} {:>6} {:<9} {:>8.1}",
                report.info.patient_id,
                date,
                v.level.map_or_else(|| "?".to_string(), |l| l.to_string()),
                v.bme_percent
                    .map_or_else(|| "–".to_string(), |b| format!("{b:.1}")),
                v.dansie_score
                    .map_or_else(|| "–".to_string(), |d| u8::from(d).to_string()),
                v.voormolen_grade.map_or("–", |g| g.as_str()),
                v.cement_percent,
            )?;
            summary.vertebrae += 1;
        }
        summary.scored += 1;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn scores_every_testdata_exam_and_prints_a_row_per_vertebra() {
        let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
        let mut out = Vec::new();
        let summary = score_folder(&testdata, &Config::default(), &mut out).unwrap();
        assert!(summary.found > 0);
        assert_eq!(summary.scored, summary.found, "every bundled exam scores");
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert!(text.starts_with("patient"));
        assert_eq!(rows.len(), summary.vertebrae);
        for row in rows {
            let level = row.split_whitespace().nth(2).unwrap();
            assert!(
                level == "?" || level.parse::<spine_edema::Level>().is_ok(),
                "{row}"
            );
        }
    }
}
