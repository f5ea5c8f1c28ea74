//! The `spine-edema` command-line tool. Parsing lives in `cli`, each subcommand in
//! `commands`; this file only dispatches and maps errors to exit codes.

use clap::Parser;
use spine_edema_report::cli::{Cli, Command};
use spine_edema_report::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPINE_EDEMA_LOG")
                .unwrap_or_else(|_| "warn,dicom_object=error,dicom_parser=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Inspect(args)) => commands::inspect::run(args),
        Some(Command::Score(args)) => commands::score::run(args),
        Some(Command::Compare(args)) => commands::compare::run(args),
        Some(Command::Bench(args)) => commands::bench::run(args),
        Some(Command::Config(args)) => commands::config::run(args),
        _ => {
            eprintln!("spine-edema: this command is not available yet");
            Ok(2)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("spine-edema: {e:#}");
            ExitCode::from(1)
        }
    }
}
