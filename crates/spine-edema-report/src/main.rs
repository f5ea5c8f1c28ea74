//! The `spine-edema` command-line tool. Parsing lives in `cli`, each subcommand in
//! `commands`; this file only dispatches and maps errors to exit codes.

use clap::Parser;
use spine_edema_report::cli::{Cli, Command};
use spine_edema_report::commands;
use std::process::ExitCode;

/// With no command: inside the project (a `testdata/` folder is here), score it into
/// `out/`, the README's first command; elsewhere, show the help.
fn default_run() -> anyhow::Result<i32> {
    let testdata = std::path::Path::new("testdata");
    if testdata.is_dir() {
        eprintln!(
            "spine-edema: no command given; scoring testdata/ into out/ (see `spine-edema --help`)"
        );
        let cli = Cli::parse_from(["spine-edema", "score", "testdata", "--out", "out"]);
        if let Some(Command::Score(args)) = &cli.command {
            return commands::score::run(args);
        }
    }
    use clap::CommandFactory;
    Cli::command().print_help()?;
    Ok(2)
}

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
        Some(Command::Dice(args)) => commands::dice::run(args),
        Some(Command::Phantom(args)) => commands::phantom::run(args),
        None => default_run(),
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("spine-edema: {e:#}");
            ExitCode::from(1)
        }
    }
}
