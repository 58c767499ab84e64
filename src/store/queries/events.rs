//! Read-side queries of the event level: `feedfold events`, `event ID` and
//! `explain --stories A B`. Read-only connections, like the story queries.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{split_feeds, story_row, STORY_COLUMNS};
use crate::detector::features::extract;
use crate::detector::similarity::shared_text;
use crate::detector::{events, Detector, Features, Settings};
use crate::store::StoreError;

/// One line of `feedfold events`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventRow {
    /// `events.id`.
    pub id: i64,
    /// The title of its representative story (the one most outlets carried).
    pub title: String,
    /// Date of its earliest copy (ISO-8601 UTC).
    pub first_seen: String,
    /// Date of its latest copy.
    pub last_seen: String,
    /// How many stories (independent write-ups).
    pub stories: i64,
    /// How many entries (copies) in all.
    pub copies: i64,
    /// Titles (or URLs) of the feeds that carried it, sorted.
    pub feeds: Vec<String>,
    /// Its representative story.
    pub story_id: Option<i64>,
}

/// Filters of `feedfold events`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events with a copy dated at or after this (ISO-8601 UTC).
    pub since: Option<String>,
    /// Only events of at least this many stories.
    pub min_stories: i64,
    /// At most this many events.
    pub limit: Option<i64>,
}

/// The columns of `event_overview` [`event_row`] reads, in its order.
pub(crate) const EVENT_COLUMNS: &str =
    "event_id, title, first_seen, last_seen, stories, copies, feeds, story_id";

/// An [`EventRow`] from a row starting with [`EVENT_COLUMNS`].
pub(crate) fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        id: r.get(0)?,
        title: r.get(1)?,
        first_seen: r.get(2)?,
        last_seen: r.get(3)?,
        stories: r.get(4)?,
        copies: r.get(5)?,
        feeds: split_feeds(r.get(6)?),
        story_id: r.get(7)?,
    })
}

/// Events, newest first.
pub fn events(conn: &Connection, filter: &EventFilter) -> Result<Vec<EventRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {EVENT_COLUMNS} FROM event_overview
          WHERE (?1 IS NULL OR last_seen >= ?1) AND stories >= ?2
          ORDER BY first_seen DESC, event_id DESC
          LIMIT ?3"
    ))?;
    let rows = stmt.query_map(
        params![filter.since, filter.min_stories, filter.limit.unwrap_or(-1)],
        event_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How a story joined its event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventJoinInfo {
    /// `centroid`, or `centroid_and_text` when text it shares with one of
    /// the event's stories added its bonus; `merge` for a story that
    /// started an event later merged into this one (`similarity` is then
    /// the cosine of the two events).
    pub rule: String,
    /// The event's story most like it (`None` if since pruned).
    pub matched_story_id: Option<i64>,
    /// The cosine of its terms with the event's centroid, bonus included.
    pub similarity: f64,
    /// The cosine with the matched story.
    pub story_similarity: Option<f64>,
    /// The most text it shared with one of the event's stories.
    pub shared_text: f64,
}

/// A story of an event, and why it joined.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventStory {
    /// The story.
    #[serde(flatten)]
    pub story: super::StoryRow,
    /// Why it joined; `None` for the story that started the event.
    pub joined: Option<EventJoinInfo>,
}

/// An event with all its stories, oldest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventDetail {
    /// The event.
    #[serde(flatten)]
    pub event: EventRow,
    /// Its stories (`story_list` in JSON: `stories` is their count).
    #[serde(rename = "story_list")]
    pub stories: Vec<EventStory>,
}

/// One event and its stories.
pub fn event(conn: &Connection, id: i64) -> Result<EventDetail, StoreError> {
    let event = conn
        .query_row(
            &format!("SELECT {EVENT_COLUMNS} FROM event_overview WHERE event_id = ?1"),
            [id],
            event_row,
        )
        .optional()?
        .ok_or(StoreError::NotFound { what: "event", id })?;
    let cols = STORY_COLUMNS.replace(", ", ", o.");
    let mut stmt = conn.prepare(&format!(
        "SELECT o.{cols}, s.event_rule, s.event_matched_story_id, s.event_similarity,
                s.event_story_similarity, s.event_shared_text
           FROM story_overview o JOIN stories s ON s.id = o.story_id
          WHERE o.event_id = ?1
          ORDER BY o.first_seen, o.story_id"
    ))?;
    let stories = stmt
        .query_map([id], |r| {
            let joined = match r.get::<_, Option<String>>(9)? {
                Some(rule) => Some(EventJoinInfo {
                    rule,
                    matched_story_id: r.get(10)?,
                    similarity: r.get::<_, Option<f64>>(11)?.unwrap_or_default(),
                    story_similarity: r.get(12)?,
                    shared_text: r.get::<_, Option<f64>>(13)?.unwrap_or_default(),
                }),
                None => None,
            };
            Ok(EventStory {
                story: story_row(r)?,
                joined,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(EventDetail { event, stories })
}

/// One side of `feedfold explain --stories`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExplainedStory {
    /// `stories.id`.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Date of its first copy (ISO-8601 UTC).
    pub first_seen: String,
    /// `events.id`.
    pub event_id: i64,
}

/// The event-level figures for two stored stories, and what the current
/// settings decide.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoryExplanation {
    /// The first story.
    pub a: ExplainedStory,
    /// The second story.
    pub b: ExplainedStory,
    /// The cosine of their first entries' event terms, weighted by rarity
    /// among the entries of the window around `a`.
    pub cosine: f64,
    /// The most text their first entries share (quotations included).
    pub shared_text: f64,
    /// The cosine with the shared-text bonus: what joining `b` to an event
    /// of `a` alone would score.
    pub score: f64,
    /// Whether that reaches `events.join`.
    pub would_join: bool,
    /// Whether they are within `events.window_hours` of each other.
    pub within_window: bool,
    /// Whether they are in one event now.
    pub same_event: bool,
}

/// A story, and the features and date of its first entry.
fn story_side(conn: &Connection, id: i64) -> Result<(ExplainedStory, Features, i64), StoreError> {
    conn.query_row(
        "SELECT s.id, s.title, s.first_seen, s.event_id, e.features, e.title,
                coalesce(nullif(e.content_text, ''), e.summary_text, ''), e.published
           FROM stories s JOIN entries e ON e.story_id = s.id
          WHERE s.id = ?1 ORDER BY e.published, e.id LIMIT 1",
        [id],
        |r| {
            let blob: Vec<u8> = r.get(4)?;
            let title: String = r.get(5)?;
            let text: String = r.get(6)?;
            let published: String = r.get(7)?;
            Ok((
                ExplainedStory {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    first_seen: r.get(2)?,
                    event_id: r.get(3)?,
                },
                Features::decode(&blob).unwrap_or_else(|| extract(&title, &text)),
                crate::model::parse_time(&published).map_or(0, |t| t.timestamp()),
            ))
        },
    )
    .optional()?
    .ok_or(StoreError::NotFound { what: "story", id })
}

/// Computes the event-level figures for two stored stories.
pub fn explain_stories(
    conn: &Connection,
    a: i64,
    b: i64,
    settings: &Settings,
) -> Result<StoryExplanation, StoreError> {
    let (sa, fa, ta) = story_side(conn, a)?;
    let (sb, fb, tb) = story_side(conn, b)?;
    let window = settings.stories.window_seconds();
    let mut detector = Detector::new(settings.clone());
    crate::store::window::load_range(
        conn,
        &mut detector,
        ta.saturating_sub(window),
        ta.saturating_add(1),
        &Default::default(),
    )?;
    let cosine = events::cosine(&detector.event_vector(&fa), &detector.event_vector(&fb));
    let text = shared_text(&fa, &fb, detector.index());
    let config = &settings.events;
    let score = cosine
        + if text >= config.shared_text {
            config.shared_text_bonus
        } else {
            0.0
        };
    Ok(StoryExplanation {
        same_event: sa.event_id == sb.event_id,
        within_window: (ta - tb).abs() <= config.window_seconds(),
        would_join: score >= config.join,
        a: sa,
        b: sb,
        cosine,
        shared_text: text,
        score,
    })
}
