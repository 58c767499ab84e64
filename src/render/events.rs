//! Events, one event and `explain --stories`, as tables, text and CSV.

use std::io::Write;

use super::{csv_record, inert, opt, short_time, table, Inert, Style};
use crate::store::queries::events::{EventDetail, EventRow, StoryExplanation};

const EVENT_CSV_HEADER: [&str; 9] = [
    "id",
    "title",
    "first_seen",
    "last_seen",
    "stories",
    "copies",
    "feed_count",
    "feeds",
    "story_id",
];

fn event_csv_fields(r: &EventRow) -> Vec<String> {
    vec![
        r.id.to_string(),
        r.title.clone(),
        r.first_seen.clone(),
        r.last_seen.clone(),
        r.stories.to_string(),
        r.copies.to_string(),
        r.feeds.len().to_string(),
        r.feeds.join(", "),
        opt(&r.story_id),
    ]
}

/// The events as CSV, one row per event.
pub fn events_csv(out: &mut impl Write, rows: &[EventRow]) -> std::io::Result<()> {
    csv_record(out, &EVENT_CSV_HEADER)?;
    for r in rows {
        csv_record(out, &event_csv_fields(r))?;
    }
    Ok(())
}

/// The events table: id, when first seen, stories, copies, feeds, title.
pub fn events(out: &mut impl Write, style: &Style, rows: &[EventRow]) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(out, "no events");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                style.ago(&r.first_seen),
                r.stories.to_string(),
                r.copies.to_string(),
                r.feeds.len().to_string(),
                r.title.clone(),
            ]
        })
        .collect();
    table(
        out,
        style,
        &["ID", "FIRST SEEN", "STORIES", "COPIES", "FEEDS", "TITLE"],
        &[true, false, true, true, true],
        &cells,
    )
}

/// One event: its stories, their outlets and copies, and why each joined.
pub fn event(out: &mut impl Write, style: &Style, d: &EventDetail) -> std::io::Result<()> {
    let e = &d.event;
    let head = format!("event {}: {}", e.id, inert(&e.title));
    writeln!(out, "{}", style.bold(&head))?;
    writeln!(
        out,
        "{} stories, {} copies in {} feeds, {} .. {} ({} .. {})",
        e.stories,
        e.copies,
        e.feeds.len(),
        short_time(&e.first_seen),
        short_time(&e.last_seen),
        style.ago(&e.first_seen),
        style.ago(&e.last_seen)
    )?;
    for s in &d.stories {
        let st = &s.story;
        writeln!(out)?;
        let head = format!("story {}", st.id);
        writeln!(
            out,
            "{}  {}  {} copies  {}",
            style.bold(&head),
            short_time(&st.first_seen),
            st.copies,
            Inert(&st.title)
        )?;
        writeln!(out, "  feeds: {}", Inert(&st.feeds.join(", ")))?;
        match &s.joined {
            None => writeln!(out, "  why:   {}", style.dim("started the event"))?,
            Some(j) => {
                let closest = match (j.matched_story_id, j.story_similarity) {
                    (Some(id), Some(c)) => format!(", closest story {id} at {c:.2}"),
                    _ => String::new(),
                };
                let why = if j.rule == "merge" {
                    format!(
                        "merge: started an event that was merged into this one (the two \
                         events at {:.2})",
                        j.similarity
                    )
                } else {
                    format!(
                        "{}: similarity {:.2} to the event{closest}, shared text {:.2}",
                        j.rule, j.similarity, j.shared_text
                    )
                };
                writeln!(out, "  why:   {}", style.dim(&why))?;
            }
        }
    }
    Ok(())
}

/// One event's stories as CSV, one row per story with why it joined.
pub fn event_csv(out: &mut impl Write, d: &EventDetail) -> std::io::Result<()> {
    csv_record(
        out,
        &[
            "event_id",
            "story_id",
            "title",
            "first_seen",
            "copies",
            "feeds",
            "rule",
            "matched_story_id",
            "similarity",
            "story_similarity",
            "shared_text",
        ],
    )?;
    for s in &d.stories {
        let j = s.joined.as_ref();
        csv_record(
            out,
            &[
                d.event.id.to_string(),
                s.story.id.to_string(),
                s.story.title.clone(),
                s.story.first_seen.clone(),
                s.story.copies.to_string(),
                s.story.feeds.join(", "),
                j.map(|j| j.rule.clone()).unwrap_or_default(),
                j.and_then(|j| j.matched_story_id)
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                j.map(|j| j.similarity.to_string()).unwrap_or_default(),
                j.and_then(|j| j.story_similarity)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                j.map(|j| j.shared_text.to_string()).unwrap_or_default(),
            ],
        )?;
    }
    Ok(())
}

/// The `feedfold explain --stories` report.
pub fn story_explanation(out: &mut impl Write, e: &StoryExplanation) -> std::io::Result<()> {
    for (label, x) in [("A", &e.a), ("B", &e.b)] {
        writeln!(
            out,
            "{label}: story {}  {}  {}  (event {})",
            x.id,
            short_time(&x.first_seen),
            Inert(&x.title),
            x.event_id
        )?;
    }
    writeln!(
        out,
        "cosine       {:.3}  (headline and lede words, names and figures weighing more, by rarity)",
        e.cosine
    )?;
    writeln!(
        out,
        "shared text  {:.3}  (share of the shorter text found in the other, quotations included)",
        e.shared_text
    )?;
    writeln!(
        out,
        "score        {:.3}  (the cosine plus the shared-text bonus)",
        e.score
    )?;
    let verdict = match (e.within_window, e.would_join) {
        (false, _) => "not one event: too far apart in time",
        (true, true) => "one event under the current settings",
        (true, false) => "not one event under the current settings",
    };
    writeln!(
        out,
        "verdict      {verdict}; {}",
        if e.same_event {
            "now in one event"
        } else {
            "now in different events"
        }
    )
}

/// The `feedfold explain --stories` figures as CSV: a header and one row.
pub fn story_explanation_csv(out: &mut impl Write, e: &StoryExplanation) -> std::io::Result<()> {
    csv_record(
        out,
        &[
            "a",
            "b",
            "a_event",
            "b_event",
            "cosine",
            "shared_text",
            "score",
            "would_join",
            "within_window",
            "same_event",
        ],
    )?;
    csv_record(
        out,
        &[
            e.a.id.to_string(),
            e.b.id.to_string(),
            e.a.event_id.to_string(),
            e.b.event_id.to_string(),
            e.cosine.to_string(),
            e.shared_text.to_string(),
            e.score.to_string(),
            e.would_join.to_string(),
            e.within_window.to_string(),
            e.same_event.to_string(),
        ],
    )
}
