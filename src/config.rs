//! The configuration file (`config/feedfold.toml`): where the store lives,
//! how grouping decides, which feeds the daemon polls and how politely,
//! and how long entries are kept. Every key has a default; an unknown key
//! or a wrong value is refused with the file, line and what was expected.
//!
//! Each table is owned by the module it configures (`[grouping]` by the
//! detector, `[http]` by the fetcher, `[polling]` by the scheduler,
//! `[retention]` by the store); this module only puts them together.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::detector::{EventsConfig, GroupingConfig, Settings};
use crate::extractor::FullTextConfig;
use crate::fetcher::HttpConfig;
use crate::model::{FeedSpec, FullTextMode, Interval};
use crate::scheduler::policy::PollingConfig;
use crate::server::settings::ServerConfig;
use crate::store::RetentionConfig;
use crate::telemetry::LogFormat;

/// The database path used when neither `--db` nor the config names one.
pub const DEFAULT_DATABASE: &str = "feedfold.db";

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Path of the SQLite store (relative paths are relative to the working directory).
    pub database: PathBuf,
    /// The `[grouping]` table: when entries are copies of one story.
    pub grouping: GroupingConfig,
    /// The `[events]` table: when stories report one event.
    pub events: EventsConfig,
    /// Log format: `auto`, `human`, `plain` or `json` (`--log-format` overrides it).
    pub log_format: LogFormat,
    /// The `[[feeds]]` the daemon polls.
    pub feeds: Vec<FeedConfig>,
    /// The `[polling]` table.
    pub polling: PollingConfig,
    /// The `[http]` table: limits, timeouts, and `deny_private_addresses`
    /// (refuse feeds and redirects to loopback, private and link-local
    /// addresses; off by default, for feed URLs from untrusted users).
    pub http: HttpConfig,
    /// The `[retention]` table.
    pub retention: RetentionConfig,
    /// The `[server]` table: where `run` serves the folded feeds, if anywhere.
    pub server: ServerConfig,
    /// The `[full_text]` table: when the article behind a summary-only
    /// entry is fetched, and how much at once.
    pub full_text: FullTextConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: PathBuf::from(DEFAULT_DATABASE),
            grouping: GroupingConfig::default(),
            events: EventsConfig::default(),
            log_format: LogFormat::default(),
            feeds: Vec::new(),
            polling: PollingConfig::default(),
            http: HttpConfig::default(),
            retention: RetentionConfig::default(),
            server: ServerConfig::default(),
            full_text: FullTextConfig::default(),
        }
    }
}

/// One `[[feeds]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// The feed's http(s) URL.
    pub url: FeedUrl,
    /// A display name (else the feed's own title).
    #[serde(default)]
    pub name: Option<String>,
    /// A fixed interval for this feed instead of the adaptive one.
    #[serde(default)]
    pub interval: Option<Interval>,
    /// When this feed's articles are fetched (else `[full_text] mode`).
    #[serde(default)]
    pub full_text: Option<FullTextMode>,
}

/// An absolute http(s) URL, checked when the config is read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FeedUrl(pub String);

impl FeedUrl {
    /// Accepts an absolute http(s) URL with a host.
    pub fn parse(s: &str) -> Option<FeedUrl> {
        let u = url::Url::parse(s.trim()).ok()?;
        (matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .then(|| FeedUrl(s.trim().to_string()))
    }
}

impl<'de> Deserialize<'de> for FeedUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FeedUrl, D::Error> {
        let s = String::deserialize(d)?;
        FeedUrl::parse(&s).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&s),
                &"an absolute http(s) URL",
            )
        })
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}")]
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
        /// Where (line and column) and what was expected, on one line.
        message: String,
        /// The offending line with a caret under the problem, for people
        /// at a terminal (logs keep one line per message).
        excerpt: Option<String>,
    },
}

impl ConfigError {
    /// The offending lines of the file with a caret, if the error has them.
    pub fn excerpt(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { excerpt, .. } => excerpt.as_deref(),
            ConfigError::Read { .. } => None,
        }
    }

    fn invalid(path: &Path, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
            excerpt: None,
        }
    }

    /// A TOML parser's error as one line (`line 3, column 7: unknown field
    /// ...`), with the caret excerpt kept apart.
    fn from_toml(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
        let what = e.message().trim().replace('\n', "; ");
        let Some(span) = e.span() else {
            return ConfigError::invalid(path, what);
        };
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        let source_line = text[line_start..].lines().next().unwrap_or("");
        let width = text[span.start.min(text.len())..span.end.min(text.len())]
            .chars()
            .count()
            .max(1);
        let gutter = line.to_string().len();
        let excerpt = format!(
            "{:gutter$} |\n{line} | {source_line}\n{:gutter$} | {}{}",
            "",
            "",
            " ".repeat(column - 1),
            "^".repeat(width)
        );
        ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!("line {line}, column {column}: {what}"),
            excerpt: Some(excerpt),
        }
    }
}

impl Config {
    /// Parses a configuration from TOML text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
        if config.grouping.window_hours == 0 || config.events.window_hours == 0 {
            return Err(ConfigError::invalid(
                path,
                "grouping.window_hours and events.window_hours must be at least 1",
            ));
        }
        config
            .validate()
            .map_err(|message| ConfigError::invalid(path, message))?;
        if config.retention.keep_days == Some(0) {
            return Err(ConfigError::invalid(
                path,
                "retention.keep_days must be at least 1 (leave it out to keep entries forever)",
            ));
        }
        Ok(config)
    }

    /// Checks values against each other (the parser checked each alone).
    fn validate(&self) -> Result<(), String> {
        self.polling.validate()?;
        self.http.validate()?;
        self.server.validate()?;
        self.full_text.validate()?;
        let mut seen = std::collections::HashSet::new();
        for (i, feed) in self.feeds.iter().enumerate() {
            if !seen.insert(feed.url.0.as_str()) {
                return Err(format!("feeds[{i}]: {} is listed twice", feed.url.0));
            }
            if let Some(interval) = feed.interval {
                if interval < self.polling.min_interval {
                    return Err(format!(
                        "feeds[{i}] ({}): interval {interval} is shorter than polling.min_interval ({})",
                        feed.url.0, self.polling.min_interval
                    ));
                }
            }
        }
        Ok(())
    }

    /// Both grouping levels' settings.
    pub fn settings(&self) -> Settings {
        Settings {
            stories: self.grouping.clone(),
            events: self.events.clone(),
        }
    }

    /// The configured feeds as subscriptions.
    pub fn feed_specs(&self) -> Vec<FeedSpec> {
        self.feeds
            .iter()
            .map(|f| FeedSpec {
                url: f.url.0.clone(),
                name: f.name.clone(),
                interval: f.interval.map(|i| i.0),
                full_text: f.full_text,
            })
            .collect()
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
    fn shipped_config_parses_to_the_defaults_plus_its_feeds() {
        let text = include_str!("../config/feedfold.toml");
        let mut config =
            Config::parse(text, Path::new("config/feedfold.toml")).expect("shipped config parses");
        assert!(
            config.feeds.len() >= 5,
            "the shipped config follows several feeds"
        );
        assert!(config.feeds.iter().all(|f| f.name.is_some()));
        config.feeds.clear();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn the_commented_feed_example_parses_where_it_stands() {
        let text = include_str!("../config/feedfold.toml");
        let mut in_example = false;
        let uncommented: Vec<&str> = text
            .lines()
            .map(|l| {
                in_example = l == "# [[feeds]]" || (in_example && l.starts_with("# "));
                if in_example {
                    &l[2..]
                } else {
                    l
                }
            })
            .collect();
        let config =
            Config::parse(&uncommented.join("\n"), Path::new("example")).expect("example parses");
        let shipped = Config::parse(text, Path::new("shipped")).expect("shipped parses");
        assert_eq!(config.feeds.len(), shipped.feeds.len() + 1);
        assert_eq!(config.feeds[0].interval, Some(Interval::secs(1800)));
        assert_eq!(config.feeds[0].name.as_deref(), Some("Example News"));
        assert_eq!(
            Config {
                feeds: Vec::new(),
                ..config
            },
            Config::default()
        );
    }

    #[test]
    fn full_text_modes_are_checked() {
        let config = Config::parse(
            "[full_text]\nmode = \"never\"\n[[feeds]]\nurl = \"https://a.test/rss\"\nfull_text = \"always\"\n",
            Path::new("x.toml"),
        )
        .expect("valid");
        assert_eq!(config.full_text.mode, FullTextMode::Never);
        assert_eq!(config.feed_specs()[0].full_text, Some(FullTextMode::Always));
        for bad in [
            "[full_text]\nmode = \"sometimes\"\n",
            "[full_text]\nconcurrency = 0\n",
            "[[feeds]]\nurl = \"https://a.test/rss\"\nfull_text = \"yes\"\n",
        ] {
            assert!(Config::parse(bad, Path::new("x.toml")).is_err(), "{bad}");
        }
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
            msg.contains("x.toml") && msg.contains("line 3, column 1") && msg.contains("window"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "one line: {msg}");
        assert_eq!(err.excerpt(), Some("  |\n3 | window = 3\n  | ^^^^^^"));
    }

    #[test]
    fn a_file_with_only_feeds_works() {
        let text = "[[feeds]]\nurl = \"https://a.example/feed\"\n\n[[feeds]]\nurl = \"http://b.example/rss\"\nname = \"B\"\ninterval = \"2h\"\n";
        let config = Config::parse(text, Path::new("x.toml")).expect("parses");
        assert_eq!(config.feeds.len(), 2);
        assert_eq!(
            config.feed_specs()[1].interval,
            Some(std::time::Duration::from_secs(7200))
        );
        assert_eq!(config.polling, PollingConfig::default());
    }

    #[test]
    fn bad_feed_urls_and_durations_name_the_line() {
        let err = Config::parse("[[feeds]]\nurl = \"ftp://x/\"\n", Path::new("x.toml"))
            .expect_err("scheme");
        assert!(
            err.to_string().contains("line 2") && err.to_string().contains("http(s)"),
            "{err}"
        );
        let err = Config::parse("[polling]\nmin_interval = \"often\"\n", Path::new("x.toml"))
            .expect_err("duration");
        assert!(
            err.to_string().contains("line 2") && err.to_string().contains("duration"),
            "{err}"
        );
        let err = Config::parse(
            "[[feeds]]\nurl = \"http://x/\"\nevery = \"1h\"\n",
            Path::new("x.toml"),
        )
        .expect_err("unknown");
        assert!(
            err.to_string().contains("line 3") && err.to_string().contains("every"),
            "{err}"
        );
        let err = Config::parse("log_format = \"xml\"\n", Path::new("x.toml")).expect_err("format");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn inconsistent_values_are_refused_with_the_key() {
        let err = Config::parse(
            "[[feeds]]\nurl = \"http://x/\"\ninterval = \"1m\"\n",
            Path::new("x.toml"),
        )
        .expect_err("too short");
        assert!(err.to_string().contains("min_interval"), "{err}");
        let twice = "[[feeds]]\nurl = \"http://x/\"\n[[feeds]]\nurl = \"http://x/\"\n";
        assert!(Config::parse(twice, Path::new("x.toml"))
            .expect_err("dup")
            .to_string()
            .contains("twice"));
        let err =
            Config::parse("[http]\nconcurrency = 0\n", Path::new("x.toml")).expect_err("zero");
        assert!(err.to_string().contains("http.concurrency"), "{err}");
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
