//! Resolution of raw flags into library settings (after ripgrep: flags → settings →
//! library calls). Reads the `--config` TOML and applies command-line overrides.

use crate::cli::AnalysisArgs;
use crate::privacy::Pseudonymizer;
use anyhow::{Context, Result};
use spine_edema::pipeline::Config;

/// Settings shared by the analysing commands.
#[derive(Clone, Debug)]
pub struct AnalysisSettings {
    /// The library configuration.
    pub config: Config,
    /// Identifier replacement.
    pub pseudonymizer: Pseudonymizer,
}

/// Reads the configuration file (if any) and applies the command-line overrides.
pub fn resolve(args: &AnalysisArgs) -> Result<AnalysisSettings> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<Config>(&text)
                .with_context(|| format!("{}: not a valid configuration", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(t1) = &args.t1_series {
        config.load.t1_series = Some(t1.clone());
    }
    if let Some(fluid) = &args.fluid_series {
        config.load.fluid_series = Some(fluid.clone());
    }
    let pseudonymizer = match &args.pseudonymize {
        Some(key) if key.is_empty() => anyhow::bail!("--pseudonymize needs a non-empty key"),
        Some(key) => Pseudonymizer::keyed(key),
        None => Pseudonymizer::identity(),
    };
    Ok(AnalysisSettings {
        config,
        pseudonymizer,
    })
}

/// A canonical text of the settings that change results, for fingerprints.
pub fn settings_text(config: &Config) -> String {
    toml::to_string(config).unwrap_or_default()
}
