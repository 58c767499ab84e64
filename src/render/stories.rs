//! Stories, one story, search results and `explain`, as tables, text and CSV.

use std::borrow::Cow;
use std::io::Write;

use super::{csv_record, inert, opt, short_time, table, truncate, Inert, Style};
use crate::store::queries::{Explanation, SearchHit, StoryDetail, StoryRow};

const STORY_CSV_HEADER: [&str; 10] = [
    "id",
    "title",
    "first_seen",
    "last_seen",
    "copies",
    "feed_count",
    "origin",
    "url",
    "feeds",
    "event_id",
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
        r.event_id.to_string(),
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

/// The stories table: id, when first seen, copies, feeds, origin, event, title.
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
                r.event_id.to_string(),
                r.title.clone(),
            ]
        })
        .collect();
    table(
        out,
        style,
        &[
            "ID",
            "FIRST SEEN",
            "COPIES",
            "FEEDS",
            "ORIGIN",
            "EVENT",
            "TITLE",
        ],
        &[true, false, true, true, false, true],
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
    let event_width = hits
        .iter()
        .map(|h| h.story.event_id.to_string().len())
        .max()
        .unwrap_or(5)
        .max(5);
    let fixed = id_width + 2 + seen_width + 2 + 6 + 2 + event_width + 2;
    let rest = style.width.map(|w| w.saturating_sub(fixed).max(10));
    let header = format!(
        "{:>id_width$}  {:<seen_width$}  {:>6}  {:>event_width$}  TITLE",
        "ID", "LAST SEEN", "COPIES", "EVENT"
    );
    writeln!(out, "{}", style.bold(&header))?;
    for (h, seen) in hits.iter().zip(&seen) {
        let title = inert(&h.story.title);
        let title = match rest {
            Some(w) => truncate(&title, w),
            None => Cow::Borrowed(title.as_ref()),
        };
        writeln!(
            out,
            "{:>id_width$}  {:<seen_width$}  {:>6}  {:>event_width$}  {}",
            h.story.id,
            seen,
            h.story.copies,
            h.story.event_id,
            style.bold(&title)
        )?;
        // The highlight markers (U+0002, U+0003) are the only control
        // characters kept: what the feed wrote between them is made inert.
        let snippet: String = h
            .marked_snippet
            .split_inclusive(['\u{2}', '\u{3}'])
            .map(|part| match part.char_indices().last() {
                Some((i, m @ ('\u{2}' | '\u{3}'))) => format!("{}{m}", inert(&part[..i])),
                _ => inert(part).into_owned(),
            })
            .collect();
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
            "text",
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
                e.text.clone(),
            ],
        )?;
    }
    Ok(())
}

/// One story and why each entry joined it.
pub fn story(out: &mut impl Write, style: &Style, d: &StoryDetail) -> std::io::Result<()> {
    let s = &d.story;
    let head = format!("story {}: {}", s.id, inert(&s.title));
    writeln!(out, "{}", style.bold(&head))?;
    if let Some(o) = &s.origin {
        writeln!(out, "origin: {}", Inert(o))?;
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
    writeln!(
        out,
        "event: {} (`feedfold event {}`)",
        s.event_id, s.event_id
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
            Inert(&e.feed)
        )?;
        writeln!(out, "  title: {}", Inert(&e.title))?;
        if let Some(url) = &e.url {
            writeln!(out, "  link:  {}", Inert(url))?;
        }
        match &e.article_fetched_at {
            Some(at) if e.text == "article" => writeln!(
                out,
                "  text:  the article page (fetched {})",
                short_time(at)
            )?,
            _ => writeln!(out, "  text:  the feed's")?,
        }
        match &e.matched {
            None => writeln!(out, "  why:   {}", style.dim("started the story"))?,
            Some(m) if m.rule.starts_with("fold:") => {
                let why = format!(
                    "folded in: entry {} matched the story it started ({}, containment {:.2}, title {:.2})",
                    m.entry_id.map_or("(since pruned)".to_string(), |i| i.to_string()),
                    &m.rule["fold:".len()..],
                    m.containment,
                    m.title,
                );
                writeln!(out, "  why:   {}", style.dim(&why))?
            }
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

/// The `feedfold explain` report.
pub fn explanation(out: &mut impl Write, e: &Explanation) -> std::io::Result<()> {
    for (label, x) in [("A", &e.a), ("B", &e.b)] {
        writeln!(
            out,
            "{label}: entry {} [{}] {}  {}  (story {}; text from {})",
            x.id,
            Inert(&x.feed),
            short_time(&x.published),
            Inert(&x.title),
            x.story_id,
            if x.text == "article" {
                "the article page"
            } else {
                "the feed"
            }
        )?;
    }
    let s = &e.similarity;
    writeln!(
        out,
        "containment  {:.3}  (rarity-weighted share of the shorter text's own words, in word triples, in the other)",
        s.containment
    )?;
    writeln!(
        out,
        "resemblance  {:.3}  (shared word triples / all word triples)",
        s.resemblance
    )?;
    writeln!(
        out,
        "title        {:.3}  (rarity-weighted share of the shorter headline's words)",
        s.title
    )?;
    writeln!(
        out,
        "names        {:.3}  (share of each lede's names the other text carries, the lower)",
        s.names
    )?;
    writeln!(
        out,
        "figures      {:.3}  (share of the numbers in common)",
        s.numbers
    )?;
    match s.alignment {
        Some(a) => writeln!(
            out,
            "alignment    {a:.3}  (share of the shorter text's sentences with a reworded counterpart)"
        )?,
        None => writeln!(out, "alignment    -  (not needed by the rules)")?,
    }
    writeln!(
        out,
        "hamming      {}  (SimHash distance, of 64 bits)",
        s.hamming
    )?;
    writeln!(out, "word triples {}  (of the shorter text)", s.shorter)?;
    writeln!(out, "time gap     {}", human_gap(s.gap_seconds))?;
    let verdict = match (e.rule, e.within_window) {
        (_, false) => "not grouped: outside the grouping window".to_string(),
        (Some(rule), _) => format!("copies ({})", rule.as_str()),
        (None, _) if e.same_outlet && !e.same_link => {
            "not copies: one outlet publishes a story once".to_string()
        }
        (None, _) => "not copies under the current settings".to_string(),
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
            "names",
            "figures",
            "alignment",
            "hamming",
            "word_triples",
            "gap_seconds",
            "rule",
            "within_window",
            "same_outlet",
            "same_link",
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
            s.names.to_string(),
            s.numbers.to_string(),
            s.alignment.map(|a| a.to_string()).unwrap_or_default(),
            s.hamming.to_string(),
            s.shorter.to_string(),
            s.gap_seconds.to_string(),
            e.rule.map(|r| r.as_str().to_string()).unwrap_or_default(),
            e.within_window.to_string(),
            e.same_outlet.to_string(),
            e.same_link.to_string(),
            e.same_story.to_string(),
        ],
    )
}
