//! The configuration file (`config/feedfold.toml`): where the store lives,
//! how grouping decides and how long entries are kept. Every key has a default; an unknown key or a
//! wrong value is refused with the file, line and what was expected.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::detector::GroupingConfig;

/// The database path used when neither `--db` nor the config names one.
pub const DEFAULT_DATABASE: &str = "feedfold.db";

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Path of the SQLite store (relative paths are relative to the working directory).
    pub database: PathBuf,
    /// The `[grouping]` table.
    pub grouping: GroupingConfig,
    /// The `[retention]` table.
    pub retention: RetentionConfig,
}

/// The `[retention]` table: how long entries are kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Keep entries this many days after their date and after a feed last
    /// carried them; `None` (the default) keeps them forever.
    pub keep_days: Option<u32>,
}

impl RetentionConfig {
    /// The cutoff as of `now`: entries dated and last seen before it go.
    pub fn cutoff(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.keep_days
            .map(|d| now - chrono::Duration::days(i64::from(d)))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: PathBuf::from(DEFAULT_DATABASE),
            grouping: GroupingConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a wrong key or value.
    #[error("invalid config {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Line, column and what was expected (from the TOML parser).
        message: String,
    },
}

impl Config {
    /// Parses a configuration from TOML text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        if config.grouping.window_hours == 0 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message: "grouping.window_hours must be at least 1".into(),
            });
        }
        if config.retention.keep_days == Some(0) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                message:
                    "retention.keep_days must be at least 1 (leave it out to keep entries forever)"
                        .into(),
            });
        }
        Ok(config)
    }

    /// Loads the configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses_to_the_defaults() {
        let text = include_str!("../config/feedfold.toml");
        let config =
            Config::parse(text, Path::new("config/feedfold.toml")).expect("shipped config parses");
        assert_eq!(config, Config::default());
    }

    #[test]
    fn empty_config_is_all_defaults() {
        assert_eq!(
            Config::parse("", Path::new("x.toml")).expect("empty ok"),
            Config::default()
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_the_line() {
        let err = Config::parse(
            "database = \"a.db\"\n[grouping]\nwindow = 3\n",
            Path::new("x.toml"),
        )
        .expect_err("unknown key");
        let msg = err.to_string();
        assert!(
            msg.contains("x.toml") && msg.contains("line 3") && msg.contains("window"),
            "{msg}"
        );
    }

    #[test]
    fn retention_keeps_forever_unless_set() {
        assert_eq!(Config::default().retention.keep_days, None);
        let c = Config::parse("[retention]\nkeep_days = 30\n", Path::new("x.toml"))
            .expect("retention parses");
        assert_eq!(c.retention.keep_days, Some(30));
        let now = chrono::Utc::now();
        assert_eq!(
            c.retention.cutoff(now),
            Some(now - chrono::Duration::days(30))
        );
        assert!(Config::parse("[retention]\nkeep_days = 0\n", Path::new("x.toml")).is_err());
    }

    #[test]
    fn wrong_types_are_refused() {
        let err = Config::parse("[grouping]\nwindow_hours = \"soon\"\n", Path::new("x.toml"))
            .expect_err("type");
        assert!(err.to_string().contains("line 2"), "{err}");
    }
}
