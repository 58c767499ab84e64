//! What the server reads from the store, on a read-only connection inside
//! one read transaction (so a page's stories and their copies agree): the
//! stories of a folded feed with every copy, the events of the event feed
//! with their stories, the store's identity, and the feed states
//! `/metrics` counts.
//!
//! It reads the documented interface of the store (the views
//! `story_overview`, `event_overview` and `feed_health`, and the columns
//! of `stories`, `entries`, `feeds` and `subscriptions` the README
//! describes); the CLI's own queries (`store::queries`) serve
//! `/api/stories/{id}`, `/api/events/{id}` and `/api/search` unchanged.

use rusqlite::{params_from_iter, types::Value, Connection, OptionalExtension};

use crate::model::redact_credentials;
use crate::store::queries::events::{event_row, EventRow, EVENT_COLUMNS};
use crate::store::queries::{fts5_near, story_row, StoryRow, STORY_COLUMNS};
use crate::store::StoreError;

/// The filters of the folded feeds, `/api/stories` and `/api/events` (the
/// CLI's words). A story has what an event has when one of its stories
/// has it: a copy dated since, a copy matching `q`, a copy from `feed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// Only stories (events) with a copy dated at or after this (ISO-8601 UTC).
    pub since: Option<String>,
    /// Only stories with at least this many copies.
    pub min_copies: i64,
    /// Only stories carried by at least this many feeds.
    pub min_feeds: i64,
    /// Only events of at least this many stories.
    pub min_stories: i64,
    /// Only stories (events) with a copy matching this FTS5 query.
    pub q: Option<String>,
    /// Only stories (events) carried by this feed (`feeds.url`, or a
    /// subscription's URL).
    pub feed: Option<String>,
    /// At most this many stories (events).
    pub limit: i64,
}

/// A story of a folded feed.
#[derive(Debug, Clone)]
pub struct Story {
    /// What `feedfold stories` shows of it.
    pub row: StoryRow,
    /// Distinct feeds carrying it.
    pub feed_count: i64,
    /// When feedfold last changed it (a copy joined): `stories.updated_at`.
    pub updated_at: String,
    /// Its copies, oldest first; the representative is among them.
    pub copies: Vec<Copy>,
}

impl Story {
    /// The representative copy (the earliest full text), else the first.
    pub fn representative(&self) -> Option<&Copy> {
        self.copies
            .iter()
            .find(|c| c.representative)
            .or(self.copies.first())
    }
}

/// One copy (entry) of a story.
#[derive(Debug, Clone)]
pub struct Copy {
    /// `entries.id`.
    pub id: i64,
    /// The feed's title, else its URL (passwords hidden).
    pub feed: String,
    /// The feed's URL (passwords hidden).
    pub feed_url: String,
    /// The feed's home page.
    pub site_url: Option<String>,
    /// Title.
    pub title: String,
    /// Link.
    pub url: Option<String>,
    /// Date (ISO-8601 UTC).
    pub published: String,
    /// Author names.
    pub author: Option<String>,
    /// Whether it is the story's representative.
    pub representative: bool,
    /// The representative's sanitized HTML (content, else summary), else its
    /// plain text; `None` for the other copies.
    pub html: Option<String>,
    /// The representative's plain-text summary (its first paragraph).
    pub summary: Option<String>,
}

fn hide(s: String) -> String {
    match redact_credentials(&s) {
        std::borrow::Cow::Owned(r) => r,
        std::borrow::Cow::Borrowed(_) => s,
    }
}

/// The store's error for a full-text query SQLite cannot parse (as
/// `queries::search` reports it).
fn bad_query(query: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::Unknown => {
            StoreError::BadQuery {
                query: query.to_string(),
                message: msg.trim_start_matches("fts5: ").to_string(),
            }
        }
        _ => StoreError::Sqlite(e),
    }
}

/// The `feeds.id` a feed URL names (its identity, or the URL a
/// subscription polls or was added with); `Some(None)` for a subscription
/// not fetched yet, `None` for a URL the store does not know.
pub fn feed_id(conn: &Connection, url: &str) -> Result<Option<Option<i64>>, StoreError> {
    if let Some(id) = conn
        .query_row("SELECT id FROM feeds WHERE url = ?1", [url], |r| r.get(0))
        .optional()?
    {
        return Ok(Some(Some(id)));
    }
    let has_subscriptions: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'subscriptions'",
        [],
        |r| r.get(0),
    )?;
    if !has_subscriptions {
        return Ok(None);
    }
    Ok(conn
        .query_row(
            "SELECT feed_id FROM subscriptions WHERE url = ?1 OR configured_url = ?1 LIMIT 1",
            [url],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?)
}

/// How a level of grouping (stories, events) reaches its copies, for the
/// conditions of a [`Filter`] on a row `o` of its overview view.
struct Level {
    /// The row's id.
    column: &'static str,
    /// The id of a copy `e`'s row, given `join`.
    key: &'static str,
    /// What joins a copy `e` to its row.
    join: &'static str,
}

const STORIES: Level = Level {
    column: "o.story_id",
    key: "e.story_id",
    join: "",
};

const EVENTS: Level = Level {
    column: "o.event_id",
    key: "s.event_id",
    join: " JOIN stories s ON s.id = e.story_id",
};

/// Adds the conditions of `filter` that stories and events share (`since`,
/// `feed`, `q`) to `sql` (a `WHERE` over a row `o` of `level`'s overview
/// view), with their arguments. `feed_id` is the resolved `filter.feed`.
fn narrow(
    sql: &mut String,
    args: &mut Vec<Value>,
    filter: &Filter,
    feed_id: Option<i64>,
    level: &Level,
) {
    let Level { column, key, join } = level;
    if let Some(since) = &filter.since {
        args.push(since.clone().into());
        sql.push_str(&format!(" AND o.last_seen >= ?{}", args.len()));
    }
    if filter.feed.is_some() {
        args.push(feed_id.unwrap_or(-1).into());
        sql.push_str(&format!(
            " AND {column} IN (SELECT {key} FROM entries e{join} WHERE e.feed_id = ?{})",
            args.len()
        ));
    }
    if let Some(q) = &filter.q {
        args.push(fts5_near(q).into());
        sql.push_str(&format!(
            " AND {column} IN (SELECT {key} FROM entries_fts m JOIN entries e ON e.id = m.rowid{join}
                                WHERE entries_fts MATCH ?{})",
            args.len()
        ));
    }
}

/// The stories a filter selects, newest first (as `feedfold stories`),
/// with their `feed_count` and `updated_at`. `feed_id` is the resolved
/// `filter.feed`.
fn select(
    conn: &Connection,
    filter: &Filter,
    feed_id: Option<i64>,
) -> Result<Vec<(StoryRow, i64, String)>, StoreError> {
    let mut sql = String::from(
        "SELECT o.story_id, o.title, o.first_seen, o.last_seen, o.copies, o.url, o.feeds, o.origin,
                o.feed_count, s.updated_at, o.event_id
           FROM story_overview o JOIN stories s ON s.id = o.story_id
          WHERE o.copies >= ?1 AND o.feed_count >= ?2",
    );
    let mut args: Vec<Value> = vec![filter.min_copies.into(), filter.min_feeds.into()];
    narrow(&mut sql, &mut args, filter, feed_id, &STORIES);
    args.push(filter.limit.into());
    sql.push_str(&format!(
        " ORDER BY o.first_seen DESC, o.story_id DESC LIMIT ?{}",
        args.len()
    ));
    let query = filter.q.as_deref().unwrap_or_default();
    let mut stmt = conn.prepare(&sql).map_err(bad_query(query))?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            let feeds: Option<String> = r.get(6)?;
            Ok((
                StoryRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    first_seen: r.get(2)?,
                    last_seen: r.get(3)?,
                    copies: r.get(4)?,
                    url: r.get(5)?,
                    feeds: feeds
                        .map(|s| s.split(", ").map(|f| hide(f.to_string())).collect())
                        .unwrap_or_default(),
                    origin: r.get(7)?,
                    event_id: r.get(10)?,
                },
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .map_err(bad_query(query))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(bad_query(query))
}

/// The stories a filter selects, as `feedfold stories --json` shows them.
pub fn stories(
    conn: &Connection,
    filter: &Filter,
    feed_id: Option<i64>,
) -> Result<Vec<StoryRow>, StoreError> {
    Ok(select(conn, filter, feed_id)?
        .into_iter()
        .map(|(row, _, _)| row)
        .collect())
}

/// The stories a filter selects, each with all its copies.
pub fn folded(
    conn: &Connection,
    filter: &Filter,
    feed_id: Option<i64>,
) -> Result<Vec<Story>, StoreError> {
    let selected = select(conn, filter, feed_id)?;
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = selected.iter().map(|(r, _, _)| r.id.to_string()).collect();
    let mut stmt = conn.prepare(
        "SELECT e.story_id, e.id, coalesce(f.title, f.url), f.url, f.site_url, e.title, e.url,
                e.published, e.author, e.id = s.representative_id,
                CASE WHEN e.id = s.representative_id
                     THEN coalesce(e.content_html, e.summary_html) END,
                CASE WHEN e.id = s.representative_id
                     THEN coalesce(nullif(e.content_text, ''), e.summary_text) END,
                CASE WHEN e.id = s.representative_id THEN e.summary_text END
           FROM entries e
           JOIN feeds f ON f.id = e.feed_id
           JOIN stories s ON s.id = e.story_id
          WHERE e.story_id IN (SELECT value FROM json_each(?1))
          ORDER BY e.story_id, e.published, e.id",
    )?;
    let mut copies: std::collections::HashMap<i64, Vec<Copy>> = std::collections::HashMap::new();
    let rows = stmt.query_map([format!("[{}]", ids.join(","))], |r| {
        let html: Option<String> = r.get(10)?;
        let text: Option<String> = r.get(11)?;
        Ok((
            r.get::<_, i64>(0)?,
            Copy {
                id: r.get(1)?,
                feed: hide(r.get(2)?),
                feed_url: hide(r.get(3)?),
                site_url: r.get::<_, Option<String>>(4)?.map(hide),
                title: r.get(5)?,
                url: r.get(6)?,
                published: r.get(7)?,
                author: r.get(8)?,
                representative: r.get(9)?,
                html: html.filter(|h| !h.trim().is_empty()).or_else(|| {
                    text.filter(|t| !t.trim().is_empty()).map(|t| {
                        t.lines()
                            .filter(|l| !l.trim().is_empty())
                            .map(|l| format!("<p>{}</p>", html_escape::encode_text(l)))
                            .collect()
                    })
                }),
                summary: r.get(12)?,
            },
        ))
    })?;
    for row in rows {
        let (story, copy) = row?;
        copies.entry(story).or_default().push(copy);
    }
    Ok(selected
        .into_iter()
        .map(|(row, feed_count, updated_at)| Story {
            copies: copies.remove(&row.id).unwrap_or_default(),
            row,
            feed_count,
            updated_at,
        })
        .collect())
}

/// Which events come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOrder {
    /// By the date of the earliest copy, as `feedfold events` lists them.
    Started,
    /// By the latest story (the date of its earliest copy): an event a new
    /// story joined comes back to the top.
    LatestStory,
}

/// An event of the event feed.
#[derive(Debug, Clone)]
pub struct Event {
    /// What `feedfold events` shows of it (passwords in feed names hidden).
    pub row: EventRow,
    /// When feedfold last changed one of its stories (a story or a copy
    /// joined): the newest `stories.updated_at` among them.
    pub updated_at: String,
    /// Its stories: the representative (the one the title is of) first,
    /// then the others, oldest first.
    pub stories: Vec<Member>,
}

/// A story of an event in the event feed.
#[derive(Debug, Clone)]
pub struct Member {
    /// What `feedfold stories` shows of it (passwords in feed names hidden).
    pub row: StoryRow,
    /// Its representative's link, else the first link among its copies
    /// (the link of its entry in the story feed).
    pub link: Option<String>,
}

/// The events a filter selects, in `order`, with the newest
/// `stories.updated_at` of each. `feed_id` is the resolved `filter.feed`.
fn select_events(
    conn: &Connection,
    filter: &Filter,
    feed_id: Option<i64>,
    order: EventOrder,
) -> Result<Vec<(EventRow, String)>, StoreError> {
    let order_by = match order {
        EventOrder::Started => "o.first_seen DESC, o.event_id DESC",
        EventOrder::LatestStory => {
            "(SELECT max(s.first_seen) FROM stories s WHERE s.event_id = o.event_id) DESC,
             o.event_id DESC"
        }
    };
    // The ids first (the view's feed names are then read for these only).
    let mut ids = String::from("SELECT o.event_id FROM event_overview o WHERE o.stories >= ?1");
    let mut args: Vec<Value> = vec![filter.min_stories.into()];
    narrow(&mut ids, &mut args, filter, feed_id, &EVENTS);
    args.push(filter.limit.into());
    ids.push_str(&format!(" ORDER BY {order_by} LIMIT ?{}", args.len()));
    let columns = format!("o.{}", EVENT_COLUMNS.replace(", ", ", o."));
    let sql = format!(
        "SELECT {columns},
                coalesce((SELECT max(s.updated_at) FROM stories s WHERE s.event_id = o.event_id),
                         o.last_seen)
           FROM event_overview o
          WHERE o.event_id IN ({ids})
          ORDER BY {order_by}"
    );
    let query = filter.q.as_deref().unwrap_or_default();
    let mut stmt = conn.prepare(&sql).map_err(bad_query(query))?;
    let rows = stmt
        .query_map(params_from_iter(args), |r| {
            let mut row = event_row(r)?;
            row.feeds = row.feeds.into_iter().map(hide).collect();
            Ok((row, r.get(8)?))
        })
        .map_err(bad_query(query))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(bad_query(query))
}

/// The events a filter selects, as `feedfold events --json` shows them
/// (newest first by the date of the earliest copy, as it lists them).
pub fn events(
    conn: &Connection,
    filter: &Filter,
    feed_id: Option<i64>,
) -> Result<Vec<EventRow>, StoreError> {
    Ok(select_events(conn, filter, feed_id, EventOrder::Started)?
        .into_iter()
        .map(|(row, _)| row)
        .collect())
}

/// The events a filter selects, newest first by their latest story, each
/// with its stories.
pub fn folded_events(
    conn: &Connection,
    filter: &Filter,
    feed_id: Option<i64>,
) -> Result<Vec<Event>, StoreError> {
    let selected = select_events(conn, filter, feed_id, EventOrder::LatestStory)?;
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = selected.iter().map(|(r, _)| r.id.to_string()).collect();
    let columns = format!("o.{}", STORY_COLUMNS.replace(", ", ", o."));
    let mut stmt = conn.prepare(&format!(
        "SELECT {columns},
                coalesce(o.url, (SELECT e.url FROM entries e
                                  WHERE e.story_id = o.story_id AND e.url IS NOT NULL
                                  ORDER BY e.published, e.id LIMIT 1))
           FROM story_overview o
          WHERE o.event_id IN (SELECT value FROM json_each(?1))
          ORDER BY o.event_id, o.first_seen, o.story_id"
    ))?;
    let mut members: std::collections::HashMap<i64, Vec<Member>> = std::collections::HashMap::new();
    let rows = stmt.query_map([format!("[{}]", ids.join(","))], |r| {
        let mut row = story_row(r)?;
        row.feeds = row.feeds.into_iter().map(hide).collect();
        Ok(Member {
            row,
            link: r.get(9)?,
        })
    })?;
    for row in rows {
        let member = row?;
        members.entry(member.row.event_id).or_default().push(member);
    }
    Ok(selected
        .into_iter()
        .map(|(row, updated_at)| {
            let mut stories = members.remove(&row.id).unwrap_or_default();
            // Stable: the others stay oldest first.
            stories.sort_by_key(|m| Some(m.row.id) != row.story_id);
            Event {
                row,
                updated_at,
                stories,
            }
        })
        .collect())
}

/// The newest change to any story (`stories.updated_at`), for a feed
/// with no entries.
pub fn last_change(conn: &Connection) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row("SELECT max(updated_at) FROM stories", [], |r| r.get(0))?)
}

/// What the store's identity is derived from: the URL and `first_seen` of
/// its first feed (`feeds` rows are never deleted), or `None` while it has
/// none.
pub fn first_feed(conn: &Connection) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT url, first_seen FROM feeds ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Subscriptions by state (`ok`, `failing`, `new`, `gone`), as the view
/// `feed_health` classes them; every state is listed, with 0 if none.
pub fn feed_states(conn: &Connection) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut states = vec![("ok", 0), ("failing", 0), ("new", 0), ("gone", 0)];
    let has_view: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'feed_health'",
        [],
        |r| r.get(0),
    )?;
    if !has_view {
        return Ok(states);
    }
    let mut stmt = conn.prepare("SELECT state, count(*) FROM feed_health GROUP BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        let (state, n) = row?;
        if let Some(s) = states.iter_mut().find(|(name, _)| *name == state) {
            s.1 = n;
        }
    }
    Ok(states)
}
