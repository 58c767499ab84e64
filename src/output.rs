//! How the CLI shows results: aligned tables for people (sized to the
//! terminal, relative times, colour only when asked for by a [`Style`]),
//! JSON lines and CSV for programs.

use std::borrow::Cow;
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::eval::Scores;
use crate::model::{format_time, parse_time, NormalizedFeed};
use crate::pipeline::SourceOutcome;
use crate::store::queries::{Explanation, SearchHit, StoryDetail, StoryRow};

/// How human output looks: colour, width and the time relative times count from.
#[derive(Debug, Clone)]
pub struct Style {
    /// Whether to use ANSI colour and bold.
    pub color: bool,
    /// Terminal width in columns; `None` never truncates.
    pub width: Option<usize>,
    /// "Now", for relative times.
    pub now: DateTime<Utc>,
}

impl Style {
    /// Plain output: no colour, no truncation.
    pub fn plain(now: DateTime<Utc>) -> Style {
        Style {
            color: false,
            width: None,
            now,
        }
    }

    /// The style for standard output: colour only if it is a terminal and
    /// `NO_COLOR` is not set (to any value); width from `COLUMNS`, else the
    /// terminal's, else unlimited (when piped).
    pub fn for_stdout(is_terminal: bool, terminal_width: Option<usize>) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some();
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0);
        Style {
            color: is_terminal && !no_color,
            width: columns.or(if is_terminal { terminal_width } else { None }),
            now: Utc::now(),
        }
    }

    fn paint<'a>(&self, code: &str, text: &'a str) -> Cow<'a, str> {
        if self.color && !text.is_empty() {
            Cow::Owned(format!("\x1b[{code}m{text}\x1b[0m"))
        } else {
            Cow::Borrowed(text)
        }
    }

    fn bold<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("1", text)
    }

    fn dim<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.paint("2", text)
    }

    /// An ISO-8601 time as "3 h ago" (or the date, for times long past).
    pub fn ago(&self, t: &str) -> String {
        match parse_time(t) {
            Some(t) => relative_time(t, self.now),
            None => t.to_string(),
        }
    }
}

/// "just now", "12 min ago", "3 h ago", "5 days ago", "in 2 h"; the date
/// past two weeks.
pub fn relative_time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (n, future) = (secs.unsigned_abs(), secs < 0);
    let amount = match n {
        0..60 => return "just now".to_string(),
        60..3600 => format!("{} min", n / 60),
        3600..172_800 => format!("{} h", n / 3600),
        172_800..1_209_600 => format!("{} days", n / 86_400),
        _ => return t.format("%Y-%m-%d").to_string(),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// Cuts `s` to at most `width` characters, ending it with "…" if cut.
pub fn truncate(s: &str, width: usize) -> Cow<'_, str> {
    if s.chars().count() <= width {
        return Cow::Borrowed(s);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut t: String = s.chars().take(width - 1).collect();
    t.push('…');
    Cow::Owned(t)
}

/// Writes an aligned table: the last column takes what is left of the
/// width and is truncated with "…"; the header is bold in colour.
fn table(
    out: &mut impl Write,
    style: &Style,
    header: &[&str],
    right_aligned: &[bool],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let fixed: usize = widths[..n - 1].iter().map(|w| w + 2).sum();
    let last = style.width.map(|w| w.saturating_sub(fixed).max(10));
    let line = |cells: &[String], bold: bool| -> String {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate().take(n) {
            if i + 1 == n {
                let cell = match last {
                    Some(w) => truncate(cell, w),
                    None => Cow::Borrowed(cell.as_str()),
                };
                text.push_str(&cell);
            } else if right_aligned.get(i).copied().unwrap_or(false) {
                text.push_str(&format!("{:>w$}  ", cell, w = widths[i]));
            } else {
                text.push_str(&format!("{:<w$}  ", cell, w = widths[i]));
            }
        }
        let text = text.trim_end().to_string();
        if bold {
            style.bold(&text).into_owned()
        } else {
            text
        }
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    writeln!(out, "{}", line(&header, true))?;
    for row in rows {
        writeln!(out, "{}", line(row, false))?;
    }
    Ok(())
}

/// One CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180).
pub fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// Writes one CSV record (fields joined by commas, ended by a newline).
pub fn csv_record<S: AsRef<str>>(out: &mut impl Write, fields: &[S]) -> std::io::Result<()> {
    let line: Vec<Cow<'_, str>> = fields.iter().map(|f| csv_field(f.as_ref())).collect();
    writeln!(out, "{}", line.join(","))
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(T::to_string).unwrap_or_default()
}

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

const STORY_CSV_HEADER: [&str; 9] = [
    "id",
    "title",
    "first_seen",
    "last_seen",
    "copies",
    "feed_count",
    "origin",
    "url",
    "feeds",
];

fn story_csv_fields(r: &StoryRow) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.title.clone(),
        r.first_seen.clone(),
        r.last_seen.clone(),
        r.copies.to_string(),
        r.feeds.len().to_string(),
        opt(&r.origin),
        opt(&r.url),
        r.feeds.join(", "),
    ]
}

/// The stories as CSV, one row per story.
pub fn stories_csv(out: &mut impl Write, rows: &[StoryRow]) -> std::io::Result<()> {
    csv_record(out, &STORY_CSV_HEADER)?;
    for r in rows {
        csv_record(out, &story_csv_fields(r))?;
    }
    Ok(())
}

/// The stories table: id, when first seen, copies, feeds, origin, title.
pub fn stories(out: &mut impl Write, style: &Style, rows: &[StoryRow]) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no stories");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                style.ago(&r.first_seen),
                r.copies.to_string(),
                r.feeds.len().to_string(),
                opt(&r.origin),
                r.title.clone(),
            ]
        })
        .collect();
    table(
        out,
        style,
        &["ID", "FIRST SEEN", "COPIES", "FEEDS", "ORIGIN", "TITLE"],
        &[true, false, true, true, false],
        &cells,
    )
}

/// The search results table, each story with the passage that matched.
pub fn search(out: &mut impl Write, style: &Style, hits: &[SearchHit]) -> std::io::Result<()> {
    if hits.is_empty() {
        return writeln!(out, "no matching stories");
    }
    let id_width = hits
        .iter()
        .map(|h| h.story.id.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2);
    let seen: Vec<String> = hits.iter().map(|h| style.ago(&h.story.last_seen)).collect();
    let seen_width = seen
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(9);
    let fixed = id_width + 2 + seen_width + 2 + 6 + 2;
    let rest = style.width.map(|w| w.saturating_sub(fixed).max(10));
    let header = format!(
        "{:>id_width$}  {:<seen_width$}  {:>6}  TITLE",
        "ID", "LAST SEEN", "COPIES"
    );
    writeln!(out, "{}", style.bold(&header))?;
    for (h, seen) in hits.iter().zip(&seen) {
        let title = match rest {
            Some(w) => truncate(&h.story.title, w),
            None => Cow::Borrowed(h.story.title.as_str()),
        };
        writeln!(
            out,
            "{:>id_width$}  {:<seen_width$}  {:>6}  {}",
            h.story.id,
            seen,
            h.story.copies,
            style.bold(&title)
        )?;
        let snippet = h.marked_snippet.replace('\n', " ");
        let snippet = match rest {
            Some(w) => truncate(&snippet, w + 2),
            None => Cow::Borrowed(snippet.as_str()),
        };
        let snippet = if style.color {
            // Truncation may have cut a highlight's end: close it.
            let open = snippet.matches('\u{2}').count() > snippet.matches('\u{3}').count();
            let mut s = snippet
                .replace('\u{2}', "\x1b[1;33m")
                .replace('\u{3}', "\x1b[0m");
            if open {
                s.push_str("\x1b[0m");
            }
            s
        } else {
            snippet.replace(['\u{2}', '\u{3}'], "")
        };
        writeln!(out, "{:>pad$}{}", "", snippet, pad = fixed - 2)?;
    }
    Ok(())
}

/// The search results as CSV, one row per story.
pub fn search_csv(out: &mut impl Write, hits: &[SearchHit]) -> std::io::Result<()> {
    let mut header: Vec<&str> = STORY_CSV_HEADER.to_vec();
    header.extend(["rank", "matching_copies", "entry_id", "snippet"]);
    csv_record(out, &header)?;
    for h in hits {
        let mut fields = story_csv_fields(&h.story);
        fields.extend([
            h.rank.to_string(),
            h.matching_copies.to_string(),
            h.entry_id.to_string(),
            h.snippet.clone(),
        ]);
        csv_record(out, &fields)?;
    }
    Ok(())
}

/// One story's entries as CSV, one row per entry with why it joined.
pub fn story_csv(out: &mut impl Write, d: &StoryDetail) -> std::io::Result<()> {
    csv_record(
        out,
        &[
            "story_id",
            "entry_id",
            "feed",
            "feed_url",
            "title",
            "url",
            "published",
            "representative",
            "matched_entry_id",
            "rule",
            "containment",
            "resemblance",
            "title_overlap",
            "figures",
            "hamming",
            "gap_seconds",
        ],
    )?;
    for e in &d.entries {
        let m = e.matched.as_ref();
        csv_record(
            out,
            &[
                d.story.id.to_string(),
                e.id.to_string(),
                e.feed.clone(),
                e.feed_url.clone(),
                e.title.clone(),
                opt(&e.url),
                e.published.clone(),
                e.representative.to_string(),
                m.and_then(|m| m.entry_id)
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                m.map(|m| m.rule.clone()).unwrap_or_default(),
                m.map(|m| m.containment.to_string()).unwrap_or_default(),
                m.map(|m| m.resemblance.to_string()).unwrap_or_default(),
                m.map(|m| m.title.to_string()).unwrap_or_default(),
                m.map(|m| m.numbers.to_string()).unwrap_or_default(),
                m.map(|m| m.hamming.to_string()).unwrap_or_default(),
                m.map(|m| m.gap_seconds.to_string()).unwrap_or_default(),
            ],
        )?;
    }
    Ok(())
}

/// One story and why each entry joined it.
pub fn story(out: &mut impl Write, style: &Style, d: &StoryDetail) -> std::io::Result<()> {
    let s = &d.story;
    let head = format!("story {}: {}", s.id, s.title);
    writeln!(out, "{}", style.bold(&head))?;
    if let Some(o) = &s.origin {
        writeln!(out, "origin: {o}")?;
    }
    writeln!(
        out,
        "{} copies in {} feeds, {} .. {} ({} .. {})",
        s.copies,
        s.feeds.len(),
        short_time(&s.first_seen),
        short_time(&s.last_seen),
        style.ago(&s.first_seen),
        style.ago(&s.last_seen)
    )?;
    for e in &d.entries {
        writeln!(out)?;
        let mark = if e.representative {
            " (representative)"
        } else {
            ""
        };
        let head = format!("entry {}{}", e.id, mark);
        writeln!(
            out,
            "{}  {}  [{}]",
            style.bold(&head),
            short_time(&e.published),
            e.feed
        )?;
        writeln!(out, "  title: {}", e.title)?;
        if let Some(url) = &e.url {
            writeln!(out, "  link:  {url}")?;
        }
        match &e.matched {
            None => writeln!(out, "  why:   {}", style.dim("started the story"))?,
            Some(m) => {
                let why = format!(
                    "{} with entry {}: containment {:.2}, resemblance {:.2}, title {:.2}, figures {:.2}, hamming {}, {} apart",
                    m.rule,
                    m.entry_id.map_or("(since pruned)".to_string(), |i| i.to_string()),
                    m.containment,
                    m.resemblance,
                    m.title,
                    m.numbers,
                    m.hamming,
                    human_gap(m.gap_seconds)
                );
                writeln!(out, "  why:   {}", style.dim(&why))?
            }
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

/// The `feedfold explain` figures as CSV: a header and one row.
pub fn explanation_csv(out: &mut impl Write, e: &Explanation) -> std::io::Result<()> {
    csv_record(
        out,
        &[
            "a",
            "b",
            "a_story",
            "b_story",
            "containment",
            "resemblance",
            "title",
            "lede",
            "figures",
            "hamming",
            "word_pairs",
            "gap_seconds",
            "rule",
            "within_window",
            "different_feeds",
            "same_story",
        ],
    )?;
    let s = &e.similarity;
    csv_record(
        out,
        &[
            e.a.id.to_string(),
            e.b.id.to_string(),
            e.a.story_id.to_string(),
            e.b.story_id.to_string(),
            s.containment.to_string(),
            s.resemblance.to_string(),
            s.title.to_string(),
            s.lede.to_string(),
            s.numbers.to_string(),
            s.hamming.to_string(),
            s.shorter.to_string(),
            s.gap_seconds.to_string(),
            e.rule.map(|r| r.as_str().to_string()).unwrap_or_default(),
            e.within_window.to_string(),
            e.different_feeds.to_string(),
            e.same_story.to_string(),
        ],
    )
}

/// The `feedfold prune` report, for people.
pub fn prune(out: &mut impl Write, r: &crate::store::writer::PruneReport) -> std::io::Result<()> {
    writeln!(
        out,
        "pruned {} entries dated and last seen before {}: {} stories removed, {} stories kept with fewer copies",
        r.entries, r.before, r.stories_removed, r.stories_updated
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let mut buf = Vec::new();
        csv_record(&mut buf, &["1", "x,y", ""]).expect("write");
        assert_eq!(String::from_utf8(buf).expect("utf-8"), "1,\"x,y\",\n");
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("a longer title", 8), "a longe…");
        assert_eq!(truncate("Ελλάδα σήμερα", 4), "Ελλ…");
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = parse_time("2026-03-11T12:00:00Z").expect("time");
        let at = |s: &str| relative_time(parse_time(s).expect("time"), now);
        assert_eq!(at("2026-03-11T11:59:30Z"), "just now");
        assert_eq!(at("2026-03-11T11:15:00Z"), "45 min ago");
        assert_eq!(at("2026-03-11T09:00:00Z"), "3 h ago");
        assert_eq!(at("2026-03-08T12:00:00Z"), "3 days ago");
        assert_eq!(at("2026-03-11T14:00:00Z"), "in 2 h");
        assert_eq!(at("2025-12-01T00:00:00Z"), "2025-12-01");
    }
}
