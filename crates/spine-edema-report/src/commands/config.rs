//! `spine-edema config --default`: the configuration file with every default.

use crate::cli::ConfigArgs;
use anyhow::Result;
use spine_edema::pipeline::Config;

/// Runs `config`; returns the process exit code.
pub fn run(args: &ConfigArgs) -> Result<i32> {
    if !args.default {
        eprintln!("spine-edema config: use --default to print the default configuration");
        return Ok(2);
    }
    println!("# spine-edema configuration (TOML). Every key is optional; missing keys take these");
    println!(
        "# defaults. Pass the file with --config FILE. What each threshold means and where it"
    );
    println!("# comes from: docs/scoring.md (score), docs/comparison.md (compare),");
    println!("# docs/classification.md and docs/ingest.md (load).");
    println!();
    print!("{}", toml::to_string_pretty(&Config::default())?);
    Ok(0)
}
