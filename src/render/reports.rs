//! Reports of one-shot commands: `parse`, `extract`, `ingest`, `eval` and `prune`.

use std::io::Write;

use super::{csv_record, Inert};
use crate::eval::Scores;
use crate::model::{format_time, NormalizedFeed};
use crate::pipeline::SourceOutcome;
use crate::store::writer::PruneReport;

/// A normalized feed, for people.
pub fn parsed(out: &mut impl Write, f: &NormalizedFeed) -> std::io::Result<()> {
    writeln!(out, "feed:     {}", Inert(&f.url))?;
    writeln!(out, "format:   {} ({})", f.format.as_str(), f.encoding)?;
    if let Some(t) = &f.title {
        writeln!(out, "title:    {}", Inert(t))?;
    }
    if let Some(u) = &f.site_url {
        writeln!(out, "site:     {}", Inert(u))?;
    }
    for w in &f.warnings {
        writeln!(out, "warning:  {}", Inert(w))?;
    }
    writeln!(out, "entries:  {}", f.entries.len())?;
    for e in &f.entries {
        writeln!(out)?;
        writeln!(out, "- {}", Inert(&e.title))?;
        writeln!(
            out,
            "  guid:      {} ({})",
            Inert(&e.guid),
            e.guid_source.as_str()
        )?;
        if let Some(u) = &e.url {
            writeln!(out, "  link:      {}", Inert(u))?;
        }
        if let Some(u) = &e.canonical_url {
            writeln!(out, "  canonical: {}", Inert(u))?;
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
        writeln!(
            out,
            "  text:      {}{more}",
            Inert(&preview.replace('\n', " / "))
        )?;
    }
    Ok(())
}

/// One summary line for an ingested source (to stdout) or its error (the caller prints to stderr).
pub fn ingest_line(o: &SourceOutcome) -> Option<String> {
    let (feed, r) = o.result.as_ref().ok()?;
    Some(format!(
        "{}: {} new, {} updated, {} unchanged, {} joined an existing story (feed {})",
        Inert(&o.name),
        r.new,
        r.updated,
        r.unchanged,
        r.joined,
        Inert(feed)
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
    if let Some(e) = &s.events {
        writeln!(
            out,
            "events: true {}  predicted {}",
            e.true_events, e.predicted_events
        )?;
        writeln!(
            out,
            "  pairs    precision {:.4}  recall {:.4}  F1 {:.4}",
            e.pairs.precision, e.pairs.recall, e.pairs.f1
        )?;
        writeln!(
            out,
            "  B-cubed  precision {:.4}  recall {:.4}  F1 {:.4}",
            e.bcubed.precision, e.bcubed.recall, e.bcubed.f1
        )?;
    }
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
                m.entry_id,
                m.story_id,
                m.story,
                m.transform,
                Inert(&m.title)
            )?;
        }
    }
    Ok(())
}

/// The `feedfold eval` breakdown as CSV, one row per transform.
pub fn eval_csv(out: &mut impl Write, s: &Scores) -> std::io::Result<()> {
    csv_record(
        out,
        &[
            "transform",
            "entries",
            "bcubed_precision",
            "bcubed_recall",
            "bcubed_f1",
            "missed",
            "wrongly_merged",
        ],
    )?;
    for t in &s.by_transform {
        csv_record(
            out,
            &[
                t.transform.clone(),
                t.entries.to_string(),
                t.bcubed.precision.to_string(),
                t.bcubed.recall.to_string(),
                t.bcubed.f1.to_string(),
                t.missed.to_string(),
                t.wrongly_merged.to_string(),
            ],
        )?;
    }
    Ok(())
}

/// The `feedfold prune` report, for people.
pub fn prune(out: &mut impl Write, r: &PruneReport) -> std::io::Result<()> {
    writeln!(
        out,
        "pruned {} entries dated and last seen before {}: {} stories removed, {} stories kept with fewer copies",
        r.entries, r.before, r.stories_removed, r.stories_updated
    )
}

/// `feedfold extract --json`: the page's URL and what extraction found.
#[derive(Debug, serde::Serialize)]
pub struct ArticleReport<'a> {
    /// The page's URL after redirects (a file: its path).
    pub url: &'a str,
    /// What extraction found.
    #[serde(flatten)]
    pub article: &'a crate::extractor::Article,
}

impl<'a> ArticleReport<'a> {
    /// The report of one read page.
    pub fn new(read: &'a crate::fulltext::ReadArticle) -> Self {
        ArticleReport {
            url: &read.url,
            article: &read.article,
        }
    }
}

/// `feedfold extract`: the fields, then the text.
pub fn article(out: &mut impl Write, read: &crate::fulltext::ReadArticle) -> std::io::Result<()> {
    let a = &read.article;
    writeln!(out, "url:        {}", Inert(&read.url))?;
    writeln!(
        out,
        "title:      {}",
        Inert(a.title.as_deref().unwrap_or("-"))
    )?;
    writeln!(
        out,
        "byline:     {}",
        Inert(a.byline.as_deref().unwrap_or("-"))
    )?;
    let published = match (&a.published, &a.published_raw) {
        (Some(t), _) => format_time(*t),
        (None, Some(raw)) => format!("{raw} (unreadable)"),
        (None, None) => "-".into(),
    };
    writeln!(out, "published:  {}", Inert(&published))?;
    writeln!(out, "words:      {}", a.word_count)?;
    writeln!(
        out,
        "article:    {}",
        if a.looks_like_article {
            "yes"
        } else {
            "no (its text would not be used)"
        }
    )?;
    writeln!(out, "encoding:   {}", a.encoding)?;
    writeln!(out)?;
    for line in a.text.lines() {
        writeln!(out, "{}", Inert(line))?;
    }
    Ok(())
}
