//! How the CLI shows results: text for people, JSON for programs.

use std::io::Write;

use serde::Serialize;

use crate::eval::Scores;
use crate::model::{format_time, NormalizedFeed};
use crate::pipeline::SourceOutcome;
use crate::store::queries::{Explanation, StoryDetail, StoryRow};

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
    let id_width = rows
        .iter()
        .map(|r| r.id.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2);
    writeln!(
        out,
        "{:>id_width$}  {:<16}  {:>6}  TITLE",
        "ID", "FIRST SEEN", "COPIES"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:>id_width$}  {:<16}  {:>6}  {}",
            r.id,
            short_time(&r.first_seen),
            r.copies,
            r.title
        )?;
        let origin = r
            .origin
            .as_ref()
            .map(|o| format!(" (origin: {o})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:>id_width$}  {:<16}  {:>6}  via {}{origin}",
            "",
            "",
            "",
            r.feeds.join(", ")
        )?;
    }
    Ok(())
}

/// One story and why each entry joined it.
pub fn story(out: &mut impl Write, d: &StoryDetail) -> std::io::Result<()> {
    let s = &d.story;
    writeln!(out, "story {}: {}", s.id, s.title)?;
    if let Some(o) = &s.origin {
        writeln!(out, "origin: {o}")?;
    }
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
        let mark = if e.representative {
            " (representative)"
        } else {
            ""
        };
        writeln!(
            out,
            "entry {}{}  {}  [{}]",
            e.id,
            mark,
            short_time(&e.published),
            e.feed
        )?;
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
        writeln!(
            out,
            "  date:      {} ({})",
            format_time(e.published),
            e.published_source.as_str()
        )?;
        let text = e.best_text();
        let preview: String = text.chars().take(160).collect();
        let more = if text.chars().count() > 160 {
            "..."
        } else {
            ""
        };
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

/// The `feedfold eval` report.
pub fn eval(out: &mut impl Write, s: &Scores, show: usize) -> std::io::Result<()> {
    writeln!(
        out,
        "entries {}  true stories {}  predicted stories {}  missing {}",
        s.entries, s.true_stories, s.predicted_stories, s.missing
    )?;
    writeln!(
        out,
        "pairs    precision {:.4}  recall {:.4}  F1 {:.4}",
        s.pairs.precision, s.pairs.recall, s.pairs.f1
    )?;
    writeln!(
        out,
        "B-cubed  precision {:.4}  recall {:.4}  F1 {:.4}",
        s.bcubed.precision, s.bcubed.recall, s.bcubed.f1
    )?;
    writeln!(out)?;
    let width = s
        .by_transform
        .iter()
        .map(|t| t.transform.len())
        .max()
        .unwrap_or(9)
        .max(9);
    writeln!(
        out,
        "{:<width$}  {:>7}  {:>7}  {:>7}  {:>6}  {:>6}",
        "TRANSFORM", "ENTRIES", "B3-PREC", "B3-REC", "MISSED", "MERGED"
    )?;
    for t in &s.by_transform {
        writeln!(
            out,
            "{:<width$}  {:>7}  {:>7.4}  {:>7.4}  {:>6}  {:>6}",
            t.transform, t.entries, t.bcubed.precision, t.bcubed.recall, t.missed, t.wrongly_merged
        )?;
    }
    for (label, list) in [
        ("wrong merges", &s.wrong_merges),
        ("missed copies", &s.missed_copies),
    ] {
        writeln!(out)?;
        writeln!(out, "{label}: {}", list.len())?;
        for m in list.iter().take(show) {
            writeln!(
                out,
                "  entry {:>6}  story {:>6}  truth {:<10} {:<32} {}",
                m.entry_id, m.story_id, m.story, m.transform, m.title
            )?;
        }
    }
    Ok(())
}

/// The `feedfold explain` report.
pub fn explanation(out: &mut impl Write, e: &Explanation) -> std::io::Result<()> {
    for (label, x) in [("A", &e.a), ("B", &e.b)] {
        writeln!(
            out,
            "{label}: entry {} [{}] {}  {}  (story {})",
            x.id,
            x.feed,
            short_time(&x.published),
            x.title,
            x.story_id
        )?;
    }
    let s = &e.similarity;
    writeln!(
        out,
        "containment  {:.3}  (rarity-weighted share of the shorter text's word pairs in the other)",
        s.containment
    )?;
    writeln!(
        out,
        "resemblance  {:.3}  (shared word pairs / all word pairs)",
        s.resemblance
    )?;
    writeln!(
        out,
        "title        {:.3}  (rarity-weighted share of the shorter title's words)",
        s.title
    )?;
    writeln!(
        out,
        "lede         {:.3}  (share of each lede found in the other text, the lower)",
        s.lede
    )?;
    writeln!(
        out,
        "figures      {:.3}  (share of the numbers in common)",
        s.numbers
    )?;
    writeln!(
        out,
        "hamming      {}  (SimHash distance, of 64 bits)",
        s.hamming
    )?;
    writeln!(out, "word pairs   {}  (of the shorter text)", s.shorter)?;
    writeln!(out, "time gap     {}", human_gap(s.gap_seconds))?;
    let verdict = match (e.rule, e.different_feeds, e.within_window) {
        (_, false, _) => "not grouped: same feed".to_string(),
        (_, _, false) => "not grouped: outside the grouping window".to_string(),
        (Some(rule), _, _) => format!("copies ({})", rule.as_str()),
        (None, _, _) => "not copies under the current settings".to_string(),
    };
    writeln!(
        out,
        "verdict      {verdict}; {}",
        if e.same_story {
            "now in one story"
        } else {
            "now in different stories"
        }
    )
}
