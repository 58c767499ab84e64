//! Logging setup (tracing-subscriber), shared by every command.
//!
//! Cross-cutting, outside the data pipeline. Messages go to stderr in one
//! of three formats: `human` (colours, timestamps) for a terminal, `plain`
//! (no colours, no timestamps: journald adds its own) for a service, and
//! `json` (one object per line) for log collectors. `auto` picks `human`
//! on a terminal and `plain` otherwise.

use std::io::IsTerminal;

use serde::{Deserialize, Serialize};

/// The log format (`log_format` in the config, `--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `human` on a terminal, `plain` otherwise.
    #[default]
    Auto,
    /// Colours (unless `NO_COLOR`) and timestamps.
    Human,
    /// Plain lines without timestamps, for journald.
    Plain,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. `filter` is an `EnvFilter` directive
/// (`info`, `feedfold=debug`); an invalid one falls back to `default`.
/// Returns whether the format chosen is `human`.
pub fn init(filter: Option<&str>, default: &str, format: LogFormat) -> bool {
    let filter = tracing_subscriber::EnvFilter::try_new(filter.unwrap_or(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let terminal = std::io::stderr().is_terminal();
    let format = match format {
        LogFormat::Auto if terminal => LogFormat::Human,
        LogFormat::Auto => LogFormat::Plain,
        f => f,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Plain => builder.with_ansi(false).without_time().try_init(),
        _ => builder
            .with_ansi(terminal && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
    format == LogFormat::Human
}

/// An error and its causes on one line, outermost first, joined by ": "
/// ("request failed: error sending request for url (...): connection
/// refused"). feedfold's error types print only their own message and
/// leave the cause to `source()`, so each cause appears once; this is the
/// form logs and stored `last_error` messages use (the binary prints the
/// same chain with anyhow's `{:#}`).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_prints_each_cause_once() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(super::chain(&e), "outer: inner");
    }
}
