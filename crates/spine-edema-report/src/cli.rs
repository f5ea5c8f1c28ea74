//! Command-line flags, parsed into raw values. Resolution into library settings happens
//! in [`crate::commands`]; no analysis logic lives here (after ripgrep's design).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Vertebral bone-marrow edema on spine MRI, per vertebra, on the vertebroplasty studies'
/// scales (Dansie score 1–4, Voormolen grade none/minor/moderate/severe).
///
/// Exit codes: 0 the batch ran (some exams may have failed: see failures.csv);
/// 1 nothing could be scored or a command failed; 2 the command line was wrong.
#[derive(Debug, Parser)]
#[command(
    name = "spine-edema",
    version,
    propagate_version = true,
    arg_required_else_help = false
)]
pub struct Cli {
    /// What to do. With no command inside the project folder, scores `testdata/` into `out/`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score every exam found under the given folders: writes vertebrae.csv, one JSON per
    /// exam, changes.csv (when a patient has several exams), failures.csv and report.html.
    Score(ScoreArgs),
    /// Compare a baseline and a follow-up exam of one patient: writes changes.csv.
    Compare(CompareArgs),
    /// List patients, studies and series with the contrast each series was classified as,
    /// and why.
    Inspect(InspectArgs),
    /// Dice overlap per vertebral level between two label maps (ours vs another tool's).
    Dice(DiceArgs),
    /// Write synthetic spine MRI exams (DICOM) with exact ground truth.
    Phantom(PhantomArgs),
    /// Time each stage (index, decode, resample, segment, score, report) on a folder.
    Bench(BenchArgs),
    /// Print the configuration file with every default and what it means.
    Config(ConfigArgs),
}

/// Options shared by commands that analyse exams.
#[derive(Debug, Args, Clone, Default)]
pub struct AnalysisArgs {
    /// TOML configuration (thresholds, grading cut-points, series choice). See `config --default`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Use this series as the T1 (series number or SeriesInstanceUID) instead of the automatic choice.
    #[arg(long, value_name = "NUMBER|UID")]
    pub t1_series: Option<String>,
    /// Use this series as the fluid-sensitive series (STIR / T2 fat-sat) instead of the automatic choice.
    #[arg(long, value_name = "NUMBER|UID")]
    pub fluid_series: Option<String>,
    /// Name one body yourself when the automatic count may be off: `L1=3` (the 3rd body from
    /// the top, counting from 1) or `L1=-120.5mm` (the body nearest that head–foot position).
    #[arg(long, value_name = "LEVEL=POSITION")]
    pub anchor: Option<String>,
    /// Replace patient and study identifiers in every output by keyed hashes (same key, same
    /// pseudonym). Patient names and birth dates are never written in any case.
    #[arg(
        long,
        value_name = "KEY",
        env = "SPINE_EDEMA_PSEUDONYMIZE_KEY",
        hide_env_values = true
    )]
    pub pseudonymize: Option<String>,
}

/// `score` flags.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Folders or files to search for exams (DICOM, or NIfTI with BIDS-style names).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Score this NIfTI T1 volume (instead of searching folders).
    #[arg(long, value_name = "FILE")]
    pub t1: Option<PathBuf>,
    /// NIfTI STIR volume to pair with --t1.
    #[arg(long, value_name = "FILE")]
    pub stir: Option<PathBuf>,
    /// NIfTI fat-suppressed T2 volume to pair with --t1.
    #[arg(long, value_name = "FILE")]
    pub t2fs: Option<PathBuf>,
    /// Use this label map (NIfTI, or DICOM SEG) instead of our segmentation; every non-zero
    /// label is scored as one body.
    #[arg(long, value_name = "FILE")]
    pub masks: Option<PathBuf>,
    /// How the labels of --masks are named: `verse` (SPINEPS / VerSe codes, T1=8 … L5=24),
    /// `totalspineseg`, or `none` (labels are just numbers).
    #[arg(long, value_name = "PRESET", default_value = "verse")]
    pub mask_codes: String,
    /// Also write bodies.nii.gz, edema.nii.gz and cement.nii.gz per exam (open them in
    /// ITK-SNAP or 3D Slicer over the source images).
    #[arg(long)]
    pub save_masks: bool,
    /// Also write the overlay images as PNG files (exams/<exam_id>/*.png).
    #[arg(long)]
    pub png: bool,
    /// Rescore exams even when their input files have not changed since the last run.
    #[arg(long)]
    pub force: bool,
    /// Number of exams scored at once (default: all cores).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Options shared by the analysing commands.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// `compare` flags.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline exam folder.
    #[arg(value_name = "BASELINE")]
    pub baseline: PathBuf,
    /// Follow-up exam folder.
    #[arg(value_name = "FOLLOWUP")]
    pub followup: PathBuf,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Options shared by the analysing commands.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// `inspect` flags.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Folders or files to list.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `dice` flags.
#[derive(Debug, Args)]
pub struct DiceArgs {
    /// First label map (NIfTI).
    pub a: PathBuf,
    /// Second label map (NIfTI), resampled onto the first by geometry.
    pub b: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `phantom` flags.
#[derive(Debug, Args)]
pub struct PhantomArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Field of view: lumbar (T11–S1), thoracolumbar (T6–S1) or thoracic (T3–L1, no sacrum).
    #[arg(long, default_value = "lumbar")]
    pub preset: String,
    /// Number of follow-up exams of the same patient.
    #[arg(long, default_value_t = 0)]
    pub followups: usize,
    /// Instead of one patient, write N varied patients (presets, pathology, scanners).
    #[arg(long, value_name = "N")]
    pub suite: Option<usize>,
    /// Matrix (rows = columns) of every sagittal series instead of a random 256–512.
    #[arg(long, value_name = "N", conflicts_with = "suite")]
    pub matrix: Option<usize>,
    /// Matrix of the STIR / T2 fat-sat series only (e.g. 320 with `--matrix 512`).
    #[arg(long, value_name = "N", conflicts_with = "suite")]
    pub fluid_matrix: Option<usize>,
    /// Number of slices of every sagittal series instead of a random 11–17.
    #[arg(long, value_name = "N", conflicts_with = "suite")]
    pub slices: Option<usize>,
    /// Leave out the distractor series (sagittal T2, axial T2): only T1 and fluid-sensitive.
    #[arg(long, conflicts_with = "suite")]
    pub no_extra_series: bool,
}

/// `bench` flags.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Folder of exams to time.
    pub path: PathBuf,
    /// Repeat every stage N times and report median and 90th percentile.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only index the headers and decode the pixels of every series (no alignment,
    /// segmentation or scoring): the floor the full analysis is compared with.
    #[arg(long)]
    pub decode_only: bool,
}

/// `config` flags.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the default configuration (TOML, commented).
    #[arg(long)]
    pub default: bool,
}
