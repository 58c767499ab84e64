//! The read-only commands: `stories`, `story`, `search`, `explain` and
//! `status`. Each opens a read-only connection, so they run beside the
//! daemon without blocking it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};

use feedfold::cli::Format;
use feedfold::config::Config;
use feedfold::render;
use feedfold::store::queries::events::EventFilter;
use feedfold::store::{self, queries, subscriptions};

use super::{since_time, stdout_style};

/// `feedfold stories`.
pub fn stories(
    db: &Path,
    since: Option<String>,
    min_copies: i64,
    limit: Option<i64>,
    format: Format,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let conn = store::open_reader(db)?;
    let filter = queries::StoryFilter {
        since: since_time(since)?,
        min_copies,
        limit,
    };
    let rows = queries::stories(&conn, &filter)?;
    match format {
        Format::Json => render::json_lines(out, &rows)?,
        Format::Csv => render::stories::stories_csv(out, &rows)?,
        Format::Table => render::stories::stories(out, &stdout_style(), &rows)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold story ID`.
pub fn story(db: &Path, id: i64, format: Format, out: &mut impl Write) -> Result<ExitCode> {
    let conn = store::open_reader(db)?;
    let detail = queries::story(&conn, id)?;
    match format {
        Format::Json => render::json(out, &detail)?,
        Format::Csv => render::stories::story_csv(out, &detail)?,
        Format::Table => render::stories::story(out, &stdout_style(), &detail)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold events`.
pub fn events(
    db: &Path,
    since: Option<String>,
    min_stories: i64,
    limit: Option<i64>,
    format: Format,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let conn = store::open_reader(db)?;
    let filter = EventFilter {
        since: since_time(since)?,
        min_stories,
        limit,
    };
    let rows = queries::events::events(&conn, &filter)?;
    match format {
        Format::Json => render::json_lines(out, &rows)?,
        Format::Csv => render::events::events_csv(out, &rows)?,
        Format::Table => render::events::events(out, &stdout_style(), &rows)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold event ID`.
pub fn event(db: &Path, id: i64, format: Format, out: &mut impl Write) -> Result<ExitCode> {
    let conn = store::open_reader(db)?;
    let detail = queries::events::event(&conn, id)?;
    match format {
        Format::Json => render::json(out, &detail)?,
        Format::Csv => render::events::event_csv(out, &detail)?,
        Format::Table => render::events::event(out, &stdout_style(), &detail)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold explain --stories A B`.
pub fn explain_stories(
    db: &Path,
    a: i64,
    b: i64,
    config: &Config,
    format: Format,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let conn = store::open_reader(db)?;
    let e = queries::events::explain_stories(&conn, a, b, &config.settings())?;
    match format {
        Format::Json => render::json(out, &e)?,
        Format::Csv => render::events::story_explanation_csv(out, &e)?,
        Format::Table => render::events::story_explanation(out, &e)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold search QUERY`.
pub fn search(
    db: &Path,
    query: String,
    since: Option<String>,
    limit: i64,
    format: Format,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let conn = store::open_reader(db)?;
    let q = queries::SearchQuery {
        query,
        since: since_time(since)?,
        limit: Some(limit),
    };
    let hits = queries::search(&conn, &q)?;
    match format {
        Format::Json => render::json_lines(out, &hits)?,
        Format::Csv => render::stories::search_csv(out, &hits)?,
        Format::Table => render::stories::search(out, &stdout_style(), &hits)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold explain A B`.
pub fn explain(
    db: &Path,
    a: i64,
    b: i64,
    config: &Config,
    format: Format,
    out: &mut impl Write,
) -> Result<ExitCode> {
    let conn = store::open_reader(db)?;
    let e = queries::explain(&conn, a, b, &config.settings())?;
    match format {
        Format::Json => render::json(out, &e)?,
        Format::Csv => render::stories::explanation_csv(out, &e)?,
        Format::Table => render::stories::explanation(out, &e)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `feedfold status`.
pub fn status(db: &Path, long: bool, format: Format, out: &mut impl Write) -> Result<ExitCode> {
    let rows: Vec<_> = feed_statuses(db)?
        .into_iter()
        .map(subscriptions::FeedStatus::redacted)
        .collect();
    match format {
        Format::Json => render::json_lines(out, &rows)?,
        Format::Csv => render::feeds::status_csv(out, &rows)?,
        Format::Table if long => render::feeds::status_long(out, &rows)?,
        Format::Table => render::feeds::status(out, &stdout_style(), &rows)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the subscriptions on a read-only connection.
pub fn feed_statuses(path: &Path) -> Result<Vec<subscriptions::FeedStatus>> {
    let conn = store::open_reader(path)?;
    if store::schema::version(&conn)? < 2 {
        return Err(anyhow!(
            "{} has no subscriptions yet (schema before version 2); `feedfold feeds add` or `feedfold run` upgrades it",
            path.display()
        ));
    }
    Ok(subscriptions::statuses(&conn)?)
}
