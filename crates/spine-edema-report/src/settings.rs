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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_round_trips_and_partial_files_fill_defaults() {
        let text = toml::to_string_pretty(&Config::default()).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, Config::default());
        let partial: Config = toml::from_str(
            "[score]\ndetection_floor_percent = 2.0\n[load.limits]\nmax_rows = 100\n",
        )
        .unwrap();
        assert_eq!(partial.score.detection_floor_percent, 2.0);
        assert_eq!(partial.load.limits.max_rows, 100);
        assert_eq!(partial.compare, Config::default().compare);
        assert!(
            toml::from_str::<Config>("[score]\nno_such_key = 1\n").is_err()
                || toml::from_str::<Config>("[nonsense]\n").is_err()
        );
    }
}
