//! `feedfold status` and `feedfold feeds list`: the daemon's
//! subscriptions and their polling state, as tables and CSV.

use std::io::{self, Write};

use super::{table, Inert, Style};
use crate::model::Interval;
use crate::store::subscriptions::FeedStatus;

fn state(f: &FeedStatus) -> &'static str {
    if f.gone_at.is_some() {
        "gone"
    } else if f.error_count > 0 {
        "failing"
    } else if f.last_success_at.is_some() {
        "ok"
    } else {
        "new"
    }
}

fn interval(secs: Option<i64>) -> String {
    secs.and_then(|s| u64::try_from(s).ok())
        .map(|s| Interval::secs(s).to_string())
        .unwrap_or_else(|| "-".into())
}

/// `feedfold feeds list`: one line per subscription.
pub fn feeds_list(out: &mut impl Write, feeds: &[FeedStatus]) -> io::Result<()> {
    if feeds.is_empty() {
        return writeln!(
            out,
            "no feeds: add some with `feedfold feeds add URL` or [[feeds]] in the config"
        );
    }
    for f in feeds {
        write!(
            out,
            "{:>4}  {:<7}  {:<6}  {}",
            f.id,
            state(f),
            f.origin.as_str(),
            Inert(&f.url)
        )?;
        if let Some(name) = &f.name {
            write!(out, "  ({})", Inert(name))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// `feedfold status`: one line per subscription (name, state, last
/// success, consecutive errors, next check), sized like the other tables.
pub fn status(out: &mut impl Write, style: &Style, feeds: &[FeedStatus]) -> io::Result<()> {
    if feeds.is_empty() {
        return writeln!(
            out,
            "no feeds: add some with `feedfold feeds add URL` or [[feeds]] in the config"
        );
    }
    let when = |t: &Option<String>, none: &str| match t {
        Some(t) => style.ago(t),
        None => none.to_string(),
    };
    let cells: Vec<Vec<String>> = feeds
        .iter()
        .map(|f| {
            let next = if f.gone_at.is_some() {
                "never (gone)".to_string()
            } else {
                when(&f.next_check_at, "when the daemon runs")
            };
            vec![
                f.id.to_string(),
                state(f).to_string(),
                when(&f.last_success_at, "never"),
                f.error_count.to_string(),
                next,
                f.name.clone().unwrap_or_else(|| f.url.clone()),
            ]
        })
        .collect();
    table(
        out,
        style,
        &[
            "ID",
            "STATE",
            "LAST SUCCESS",
            "ERRORS",
            "NEXT CHECK",
            "FEED",
        ],
        &[true, false, false, true, false],
        &cells,
    )
}

/// `feedfold status --long`: a block per subscription.
pub fn status_long(out: &mut impl Write, feeds: &[FeedStatus]) -> io::Result<()> {
    if feeds.is_empty() {
        return writeln!(
            out,
            "no feeds: add some with `feedfold feeds add URL` or [[feeds]] in the config"
        );
    }
    let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    for f in feeds {
        match &f.name {
            Some(name) => writeln!(
                out,
                "#{} {} [{}] {}",
                f.id,
                Inert(name),
                state(f),
                Inert(&f.url)
            )?,
            None => writeln!(out, "#{} [{}] {}", f.id, state(f), Inert(&f.url))?,
        }
        if let Some(c) = &f.configured_url {
            writeln!(out, "    moved from    {}", Inert(c))?;
        }
        writeln!(out, "    last success  {}", dash(&f.last_success_at))?;
        match &f.last_error {
            Some(e) => writeln!(
                out,
                "    last error    {} ({})",
                Inert(e),
                dash(&f.last_error_at)
            )?,
            None => writeln!(out, "    last error    -")?,
        }
        writeln!(out, "    error count   {}", f.error_count)?;
        match &f.gone_at {
            Some(g) => writeln!(
                out,
                "    next check    never: gone since {g} (`feedfold feeds add` resumes it)"
            )?,
            None => writeln!(
                out,
                "    next check    {}",
                f.next_check_at
                    .as_deref()
                    .unwrap_or("as soon as the daemon runs")
            )?,
        }
        writeln!(
            out,
            "    interval      {}{}",
            interval(f.current_interval_seconds),
            if f.interval_seconds.is_some() {
                " (fixed)"
            } else {
                ""
            }
        )?;
        writeln!(
            out,
            "    validators    {}",
            if f.has_validators { "yes" } else { "no" }
        )?;
        writeln!(out, "    entries       {}", f.entries)?;
    }
    Ok(())
}

/// Subscriptions as CSV, one row per feed (the columns of `--json`).
pub fn status_csv(out: &mut impl Write, rows: &[FeedStatus]) -> io::Result<()> {
    super::csv_record(
        out,
        &[
            "id",
            "url",
            "configured_url",
            "name",
            "site_url",
            "origin",
            "interval_seconds",
            "current_interval_seconds",
            "next_check_at",
            "last_check_at",
            "last_success_at",
            "last_status",
            "last_error",
            "last_error_at",
            "error_count",
            "gone_at",
            "has_validators",
            "entries",
        ],
    )?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for r in rows {
        super::csv_record(
            out,
            &[
                r.id.to_string(),
                r.url.clone(),
                opt(&r.configured_url),
                opt(&r.name),
                opt(&r.site_url),
                serde_json::to_value(r.origin)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                num(r.interval_seconds),
                num(r.current_interval_seconds),
                opt(&r.next_check_at),
                opt(&r.last_check_at),
                opt(&r.last_success_at),
                num(r.last_status),
                opt(&r.last_error),
                opt(&r.last_error_at),
                r.error_count.to_string(),
                opt(&r.gone_at),
                u8::from(r.has_validators).to_string(),
                r.entries.to_string(),
            ],
        )?;
    }
    Ok(())
}
