//! The SQL of grouped storage: rows of `feeds`, `entries`, `stories` and
//! `events`, and the full-text index. Statements only; the writer
//! ([`super`]) decides what to run, in which transaction.

use chrono::DateTime;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};

use crate::detector::features::fnv1a;
use crate::detector::Match;
use crate::model::{format_time, NormalizedEntry, NormalizedFeed};
use crate::store::StoreError;

/// The match columns of `entries`, in the order of [`match_values`].
const MATCH_COLUMNS: &str = "matched_entry_id, match_rule, match_hamming, match_containment, \
    match_resemblance, match_title, match_numbers, match_gap_seconds, match_names, match_alignment";

/// The values of [`MATCH_COLUMNS`] for a match (all NULL for none), its
/// rule written as `rule` says.
fn match_values(m: Option<&Match>, rule: impl Fn(&Match) -> String) -> [Value; 10] {
    let Some(m) = m else {
        return std::array::from_fn(|_| Value::Null);
    };
    let s = &m.similarity;
    [
        Value::Integer(m.entry_id),
        Value::Text(rule(m)),
        Value::Integer(i64::from(s.hamming)),
        Value::Real(s.containment),
        Value::Real(s.resemblance),
        Value::Real(s.title),
        Value::Real(s.numbers),
        Value::Integer(s.gap_seconds),
        Value::Real(s.names),
        s.alignment.map_or(Value::Null, Value::Real),
    ]
}

fn rule_name(m: &Match) -> String {
    m.rule.as_str().to_string()
}

/// A hash of what an entry shows, to tell a changed entry from one seen again.
pub(super) fn content_hash(e: &NormalizedEntry) -> i64 {
    let mut buf = String::new();
    for part in [
        Some(e.title.as_str()),
        e.url.as_deref(),
        e.author.as_deref(),
        e.summary_html.as_deref(),
        e.content_html.as_deref(),
    ] {
        buf.push_str(part.unwrap_or(""));
        buf.push('\u{1f}');
    }
    buf.push_str(&format_time(e.published));
    if let Some(u) = e.updated {
        buf.push_str(&format_time(u));
    }
    fnv1a(buf.as_bytes()) as i64
}

/// Sets an existing entry's story and match figures (`regroup`).
pub(super) fn set_story(
    tx: &Connection,
    id: i64,
    story_id: i64,
    matched: Option<&Match>,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE entries SET story_id = ?2, ({MATCH_COLUMNS}) = (?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
          WHERE id = ?1"
    );
    let head = [Value::Integer(id), Value::Integer(story_id)];
    tx.prepare_cached(&sql)?.execute(params_from_iter(
        head.into_iter().chain(match_values(matched, rule_name)),
    ))?;
    Ok(())
}

/// Records on the entries that started story `from` (those that joined by
/// no match) that they joined story `into` by a fold: entry `by` matched
/// `from` with `m` and bridged the two.
pub(super) fn mark_folded(
    tx: &Connection,
    starters: &[i64],
    by: i64,
    m: &Match,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE entries SET ({MATCH_COLUMNS}) = (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
          WHERE id = ?1"
    );
    let values = match_values(Some(m), |m| format!("fold:{}", m.rule.as_str()));
    for id in starters {
        let mut vals = values.clone();
        vals[0] = Value::Integer(by);
        tx.prepare_cached(&sql)?.execute(params_from_iter(
            std::iter::once(Value::Integer(*id)).chain(vals),
        ))?;
    }
    Ok(())
}

/// The entries of a story that started it (joined by no match).
pub(super) fn starters(tx: &Connection, story: i64) -> Result<Vec<i64>, StoreError> {
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM entries WHERE story_id = ?1 AND match_rule IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([story], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn upsert_feed(
    tx: &Connection,
    feed: &NormalizedFeed,
    now: &str,
) -> Result<i64, StoreError> {
    exec(tx,
        "INSERT INTO feeds (url, title, site_url, self_url, description, format, first_seen, last_ingested)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT(url) DO UPDATE SET
            title = coalesce(excluded.title, title),
            site_url = coalesce(excluded.site_url, site_url),
            self_url = coalesce(excluded.self_url, self_url),
            description = coalesce(excluded.description, description),
            format = excluded.format,
            last_ingested = excluded.last_ingested",
        params![
            feed.url,
            feed.title,
            feed.site_url,
            feed.self_url,
            feed.description,
            feed.format.as_str(),
            now
        ],
    )?;
    Ok(cached_row(
        tx,
        "SELECT id FROM feeds WHERE url = ?1",
        [&feed.url],
        |r| r.get(0),
    )?)
}

fn date(time: i64) -> String {
    DateTime::from_timestamp(time, 0)
        .map(format_time)
        .unwrap_or_default()
}

/// A new story of `event`, first dated `time`.
pub(super) fn new_story(
    tx: &Connection,
    title: &str,
    time: i64,
    now: &str,
    event: i64,
) -> Result<i64, StoreError> {
    exec(
        tx,
        "INSERT INTO stories (title, first_seen, last_seen, created_at, updated_at, event_id)
         VALUES (?1, ?2, ?2, ?3, ?3, ?4)",
        params![title, date(time), now, event],
    )?;
    Ok(tx.last_insert_rowid())
}

/// A new event, first dated `time`, titled after its first story.
pub(super) fn new_event(
    tx: &Connection,
    title: &str,
    time: i64,
    now: &str,
) -> Result<i64, StoreError> {
    exec(
        tx,
        "INSERT INTO events (title, first_seen, last_seen, story_count, created_at, updated_at)
         VALUES (?1, ?2, ?2, 1, ?3, ?3)",
        params![title, date(time), now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// How a story joined its event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct EventJoin {
    /// Its story most similar to the joining one.
    pub matched_story: Option<i64>,
    /// `centroid`, or `centroid_and_text` when shared text added its bonus.
    pub rule: &'static str,
    /// The cosine with the event's centroid, the bonus included.
    pub similarity: f64,
    /// The cosine with the matched story.
    pub story_similarity: Option<f64>,
    /// The most text shared with one of the event's stories.
    pub shared_text: f64,
}

/// Records how story `story` joined its event.
pub(super) fn set_event_join(
    tx: &Connection,
    story: i64,
    join: &EventJoin,
) -> Result<(), StoreError> {
    exec(
        tx,
        "UPDATE stories SET event_matched_story_id = ?2, event_rule = ?3, event_similarity = ?4,
                event_story_similarity = ?5, event_shared_text = ?6
          WHERE id = ?1",
        params![
            story,
            join.matched_story,
            join.rule,
            join.similarity,
            join.story_similarity,
            join.shared_text
        ],
    )?;
    Ok(())
}

/// Moves the stories of event `from` into event `into` (the caller
/// refreshes both; `from` is then deleted). The stories that started
/// `from` record the merge as how they joined: rule `merge`, with the
/// cosine of the two events' centroids.
pub(super) fn merge_event(
    tx: &Connection,
    from: i64,
    into: i64,
    cosine: f64,
) -> Result<(), StoreError> {
    exec(
        tx,
        "UPDATE stories SET event_rule = 'merge', event_similarity = ?3,
                event_matched_story_id = NULL, event_story_similarity = NULL,
                event_shared_text = NULL
          WHERE event_id = ?1 AND event_rule IS NULL",
        params![from, into, cosine],
    )?;
    exec(
        tx,
        "UPDATE stories SET event_id = ?2 WHERE event_id = ?1",
        params![from, into],
    )?;
    Ok(())
}

/// Recomputes an event's counts, dates, representative story and title;
/// deletes it if no story is left.
///
/// The representative is the story with the most copies (then the
/// earliest): the coverage most outlets carried.
pub(super) fn refresh_event(tx: &Connection, event: i64, now: &str) -> Result<(), StoreError> {
    let (left, first): (i64, Option<i64>) = cached_row(
        tx,
        "SELECT count(*), min(id) FROM stories WHERE event_id = ?1",
        [event],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if left == 0 {
        exec(tx, "DELETE FROM events WHERE id = ?1", [event])?;
        return Ok(());
    }
    if let (1, Some(only)) = (left, first) {
        // An event of one story (the common case) takes that story's
        // figures: what the subqueries below would find, in one statement.
        exec(
            tx,
            "UPDATE events SET story_count = 1, entry_count = coalesce(s.entry_count, 0),
                    feed_count = s.feed_count, first_seen = s.first_seen, last_seen = s.last_seen,
                    representative_story_id = s.id,
                    title = CASE WHEN s.title <> '' THEN s.title ELSE events.title END,
                    updated_at = ?2
               FROM stories AS s
              WHERE s.id = ?3 AND events.id = ?1",
            params![event, now, only],
        )?;
        return Ok(());
    }
    exec(tx,
        "UPDATE events SET
            story_count = (SELECT count(*) FROM stories WHERE event_id = ?1),
            entry_count = (SELECT coalesce(sum(entry_count), 0) FROM stories WHERE event_id = ?1),
            feed_count = (SELECT count(DISTINCT e.feed_id) FROM stories s JOIN entries e ON e.story_id = s.id
                           WHERE s.event_id = ?1),
            first_seen = (SELECT min(first_seen) FROM stories WHERE event_id = ?1),
            last_seen = (SELECT max(last_seen) FROM stories WHERE event_id = ?1),
            representative_story_id = (SELECT id FROM stories WHERE event_id = ?1
                                        ORDER BY entry_count DESC, first_seen, id LIMIT 1),
            updated_at = ?2
         WHERE id = ?1",
        params![event, now],
    )?;
    exec(
        tx,
        "UPDATE events SET title = coalesce(
            (SELECT title FROM stories WHERE id = events.representative_story_id AND title <> ''), title)
         WHERE id = ?1",
        [event],
    )?;
    Ok(())
}

/// The event of a stored story.
pub(super) fn event_of(tx: &Connection, story: i64) -> Result<i64, StoreError> {
    Ok(cached_row(
        tx,
        "SELECT event_id FROM stories WHERE id = ?1",
        [story],
        |r| r.get(0),
    )?)
}

fn text_length(entry: &NormalizedEntry) -> i64 {
    entry.best_text().chars().count() as i64
}

/// Stores a new entry of `story_id`, with the match that placed it.
#[allow(clippy::too_many_arguments)]
pub(super) fn insert_entry(
    tx: &Connection,
    feed_id: i64,
    story_id: i64,
    e: &NormalizedEntry,
    hash: i64,
    now: &str,
    matched: Option<&Match>,
    outlet: Option<&str>,
) -> Result<i64, StoreError> {
    let sql = format!(
        "INSERT INTO entries (feed_id, guid, guid_source, url, canonical_url, title, author,
            summary_html, summary_text, content_html, content_text, text_length, credited_wire,
            published, published_source, updated, first_seen, last_seen,
            content_hash, fingerprint, features, story_id, outlet, {MATCH_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)"
    );
    let text = |s: &Option<String>| s.clone().map_or(Value::Null, Value::Text);
    let head: [Value; 22] = [
        Value::Integer(feed_id),
        Value::Text(e.guid.clone()),
        Value::Text(e.guid_source.as_str().into()),
        text(&e.url),
        text(&e.canonical_url),
        Value::Text(e.title.clone()),
        text(&e.author),
        text(&e.summary_html),
        text(&e.summary_text),
        text(&e.content_html),
        text(&e.content_text),
        Value::Integer(text_length(e)),
        text(&e.credited_wire),
        Value::Text(format_time(e.published)),
        Value::Text(e.published_source.as_str().into()),
        e.updated
            .map_or(Value::Null, |u| Value::Text(format_time(u))),
        Value::Text(now.into()),
        Value::Integer(hash),
        Value::Integer(e.features.simhash as i64),
        Value::Blob(e.features.encode()),
        Value::Integer(story_id),
        outlet.map_or(Value::Null, |o| Value::Text(o.into())),
    ];
    tx.prepare_cached(&sql)?.execute(params_from_iter(
        head.into_iter().chain(match_values(matched, rule_name)),
    ))?;
    Ok(tx.last_insert_rowid())
}

pub(super) fn update_entry(
    tx: &Connection,
    id: i64,
    e: &NormalizedEntry,
    hash: i64,
    now: &str,
) -> Result<(), StoreError> {
    exec(
        tx,
        "UPDATE entries SET url = ?2, canonical_url = ?3, title = ?4, author = ?5,
            summary_html = ?6, summary_text = ?7, content_html = ?8, content_text = ?9,
            text_length = ?10, published = ?11, published_source = ?12, updated = ?13,
            last_seen = ?14, content_hash = ?15, fingerprint = ?16, features = ?17,
            guid_source = ?18, credited_wire = ?19
         WHERE id = ?1",
        params![
            id,
            e.url,
            e.canonical_url,
            e.title,
            e.author,
            e.summary_html,
            e.summary_text,
            e.content_html,
            e.content_text,
            text_length(e),
            format_time(e.published),
            e.published_source.as_str(),
            e.updated.map(format_time),
            now,
            hash,
            e.features.simhash as i64,
            e.features.encode(),
            e.guid_source.as_str(),
            e.credited_wire,
        ],
    )?;
    Ok(())
}

/// Moves every entry of story `from` into story `into` and deletes `from`.
pub(super) fn fold_story(tx: &Connection, from: i64, into: i64) -> Result<(), StoreError> {
    exec(
        tx,
        "UPDATE entries SET story_id = ?2 WHERE story_id = ?1",
        params![from, into],
    )?;
    exec(tx, "DELETE FROM stories WHERE id = ?1", [from])?;
    Ok(())
}

/// Deletes `story` if no entry is left in it; whether it did.
pub(super) fn delete_story_if_empty(tx: &Connection, story: i64) -> Result<bool, StoreError> {
    let left: i64 = cached_row(
        tx,
        "SELECT count(*) FROM entries WHERE story_id = ?1",
        [story],
        |r| r.get(0),
    )?;
    if left > 0 {
        return Ok(false);
    }
    exec(tx, "DELETE FROM stories WHERE id = ?1", [story])?;
    Ok(true)
}

/// Recomputes a story's counts, dates, representative, origin and title.
///
/// The origin is the wire most of its entries credit (ties: the earliest credited).
///
/// The representative is the earliest entry whose text is at least 80% as
/// long as the story's longest: the earliest full-text copy, not a summary.
pub(super) fn refresh_story(tx: &Connection, story: i64, now: &str) -> Result<(), StoreError> {
    exec(tx,
        "UPDATE stories SET
            entry_count = (SELECT count(*) FROM entries WHERE story_id = ?1),
            feed_count = (SELECT count(DISTINCT feed_id) FROM entries WHERE story_id = ?1),
            first_seen = (SELECT min(published) FROM entries WHERE story_id = ?1),
            last_seen = (SELECT max(published) FROM entries WHERE story_id = ?1),
            representative_id = (
                SELECT id FROM entries WHERE story_id = ?1
                   AND text_length * 5 >= 4 * (SELECT max(text_length) FROM entries WHERE story_id = ?1)
                 ORDER BY published, id LIMIT 1),
            origin = (
                SELECT credited_wire FROM entries WHERE story_id = ?1 AND credited_wire IS NOT NULL
                 GROUP BY credited_wire ORDER BY count(*) DESC, min(published), credited_wire LIMIT 1),
            updated_at = ?2
         WHERE id = ?1",
        params![story, now],
    )?;
    exec(
        tx,
        "UPDATE stories SET title = coalesce(
            (SELECT title FROM entries WHERE id = stories.representative_id AND title <> ''), title)
         WHERE id = ?1",
        [story],
    )?;
    Ok(())
}

/// Adds the entries with ids above `indexed` to the full-text index, in one
/// statement, and moves `indexed` past them. The writer does this once per
/// transaction (and before updating an entry inserted in it): FTS5 writes
/// its pending terms out at every statement that opens a savepoint, so
/// indexing row by row (a trigger) wrote a tiny segment per entry and spent
/// its time merging them.
pub(super) fn index_full_text(conn: &Connection, indexed: &mut i64) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO entries_fts(rowid, title, summary_text, content_text)
         SELECT id, title, summary_text, content_text FROM entries WHERE id > ?1",
        [*indexed],
    )?;
    *indexed = cached_row(conn, "SELECT coalesce(max(id), 0) FROM entries", [], |r| {
        r.get(0)
    })?;
    Ok(())
}

/// Runs a statement through the connection's statement cache (the writer
/// runs the same few statements for every entry).
pub(super) fn exec(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache.
pub(super) fn cached_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// Gives a story whose only entry is `entry` that entry's figures (what
/// [`refresh_story`] would find, in one statement instead of its
/// subqueries): a new story of one entry is the common case.
pub(super) fn seed_story_of_one(
    conn: &Connection,
    story: i64,
    entry: i64,
    credited_wire: Option<&str>,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE stories SET representative_id = ?2, origin = ?3, entry_count = 1, feed_count = 1
          WHERE id = ?1",
        params![story, entry, credited_wire],
    )?;
    Ok(())
}
