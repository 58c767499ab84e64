//! How the CLI shows results: text for people, JSON for programs.

use std::io::Write;

use serde::Serialize;

use crate::model::{format_time, NormalizedFeed};
use crate::pipeline::SourceOutcome;
use crate::store::queries::{StoryDetail, StoryRow};

/// Writes one JSON value per line.
pub fn json_lines<T: Serialize>(out: &mut impl Write, items: &[T]) -> std::io::Result<()> {
    for item in items {
        serde_json::to_writer(&mut *out, item)?;
        writeln!(out)?;
    }
    Ok(())
}

/// Writes one pretty-printed JSON value.
pub fn json<T: Serialize>(out: &mut impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// "2026-03-11T10:41:04Z" → "2026-03-11 10:41".
fn short_time(t: &str) -> String {
    let t = t.replacen('T', " ", 1);
    t.get(..16).map(str::to_string).unwrap_or(t)
}

/// The stories table.
pub fn stories(out: &mut impl Write, rows: &[StoryRow]) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no stories");
    }
    let id_width = rows.iter().map(|r| r.id.to_string().len()).max().unwrap_or(2).max(2);
    writeln!(out, "{:>id_width$}  {:<16}  {:>6}  TITLE", "ID", "FIRST SEEN", "COPIES")?;
    for r in rows {
        writeln!(out, "{:>id_width$}  {:<16}  {:>6}  {}", r.id, short_time(&r.first_seen), r.copies, r.title)?;
        writeln!(out, "{:>id_width$}  {:<16}  {:>6}  via {}", "", "", "", r.feeds.join(", "))?;
    }
    Ok(())
}

/// One story and why each entry joined it.
pub fn story(out: &mut impl Write, d: &StoryDetail) -> std::io::Result<()> {
    let s = &d.story;
    writeln!(out, "story {}: {}", s.id, s.title)?;
    writeln!(
        out,
        "{} copies in {} feeds, {} .. {}",
        s.copies,
        s.feeds.len(),
        short_time(&s.first_seen),
        short_time(&s.last_seen)
    )?;
    for e in &d.entries {
        writeln!(out)?;
        let mark = if e.representative { " (representative)" } else { "" };
        writeln!(out, "entry {}{}  {}  [{}]", e.id, mark, short_time(&e.published), e.feed)?;
        writeln!(out, "  title: {}", e.title)?;
        if let Some(url) = &e.url {
            writeln!(out, "  link:  {url}")?;
        }
        match &e.matched {
            None => writeln!(out, "  why:   started the story")?,
            Some(m) => writeln!(
                out,
                "  why:   {} with entry {}: containment {:.2}, resemblance {:.2}, title {:.2}, figures {:.2}, hamming {}, {} apart",
                m.rule,
                m.entry_id,
                m.containment,
                m.resemblance,
                m.title,
                m.numbers,
                m.hamming,
                human_gap(m.gap_seconds)
            )?,
        }
    }
    Ok(())
}

fn human_gap(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{:.1} h", s as f64 / 3600.0),
        s => format!("{:.1} days", s as f64 / 86_400.0),
    }
}

/// A normalized feed, for people.
pub fn parsed(out: &mut impl Write, f: &NormalizedFeed) -> std::io::Result<()> {
    writeln!(out, "feed:     {}", f.url)?;
    writeln!(out, "format:   {} ({})", f.format.as_str(), f.encoding)?;
    if let Some(t) = &f.title {
        writeln!(out, "title:    {t}")?;
    }
    if let Some(u) = &f.site_url {
        writeln!(out, "site:     {u}")?;
    }
    for w in &f.warnings {
        writeln!(out, "warning:  {w}")?;
    }
    writeln!(out, "entries:  {}", f.entries.len())?;
    for e in &f.entries {
        writeln!(out)?;
        writeln!(out, "- {}", e.title)?;
        writeln!(out, "  guid:      {} ({})", e.guid, e.guid_source.as_str())?;
        if let Some(u) = &e.url {
            writeln!(out, "  link:      {u}")?;
        }
        if let Some(u) = &e.canonical_url {
            writeln!(out, "  canonical: {u}")?;
        }
        writeln!(out, "  date:      {} ({})", format_time(e.published), e.published_source.as_str())?;
        let text = e.best_text();
        let preview: String = text.chars().take(160).collect();
        let more = if text.chars().count() > 160 { "..." } else { "" };
        writeln!(out, "  text:      {}{more}", preview.replace('\n', " / "))?;
    }
    Ok(())
}

/// One summary line for an ingested source (to stdout) or its error (the caller prints to stderr).
pub fn ingest_line(o: &SourceOutcome) -> Option<String> {
    let (feed, r) = o.result.as_ref().ok()?;
    Some(format!(
        "{}: {} new, {} updated, {} unchanged, {} joined an existing story (feed {})",
        o.name, r.new, r.updated, r.unchanged, r.joined, feed
    ))
}
