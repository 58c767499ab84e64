//! The SQL of grouped storage: rows of `feeds`, `entries` and `stories`,
//! and the full-text index. Statements only; the writer ([`super`])
//! decides what to run, in which transaction.

use chrono::DateTime;
use rusqlite::{params, Connection};

use crate::detector::features::fnv1a;
use crate::detector::Match;
use crate::model::{format_time, NormalizedEntry, NormalizedFeed};
use crate::store::StoreError;

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

/// Sets an existing entry's story and match figures.
pub(super) fn set_story(
    tx: &Connection,
    id: i64,
    story_id: i64,
    matched: Option<&Match>,
) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE entries SET story_id = ?2, matched_entry_id = ?3, match_rule = ?4, match_hamming = ?5,
            match_containment = ?6, match_resemblance = ?7, match_title = ?8, match_numbers = ?9,
            match_gap_seconds = ?10
         WHERE id = ?1",
    )?;
    stmt.execute(params![
        id,
        story_id,
        matched.map(|m| m.entry_id),
        matched.map(|m| m.rule.as_str()),
        matched.map(|m| m.similarity.hamming),
        matched.map(|m| m.similarity.containment),
        matched.map(|m| m.similarity.resemblance),
        matched.map(|m| m.similarity.title),
        matched.map(|m| m.similarity.numbers),
        matched.map(|m| m.similarity.gap_seconds),
    ])?;
    Ok(())
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

pub(super) fn new_story(
    tx: &Connection,
    title: &str,
    time: i64,
    now: &str,
) -> Result<i64, StoreError> {
    let published = DateTime::from_timestamp(time, 0)
        .map(format_time)
        .unwrap_or_default();
    exec(
        tx,
        "INSERT INTO stories (title, first_seen, last_seen, created_at, updated_at)
         VALUES (?1, ?2, ?2, ?3, ?3)",
        params![title, published, now],
    )?;
    Ok(tx.last_insert_rowid())
}

fn text_length(entry: &NormalizedEntry) -> i64 {
    entry.best_text().chars().count() as i64
}

pub(super) fn insert_entry(
    tx: &Connection,
    feed_id: i64,
    story_id: i64,
    e: &NormalizedEntry,
    hash: i64,
    now: &str,
    matched: Option<&Match>,
) -> Result<i64, StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO entries (feed_id, guid, guid_source, url, canonical_url, title, author,
            summary_html, summary_text, content_html, content_text, text_length, credited_wire,
            published, published_source, updated, first_seen, last_seen,
            content_hash, fingerprint, features, story_id,
            matched_entry_id, match_rule, match_hamming, match_containment,
            match_resemblance, match_title, match_numbers, match_gap_seconds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?29, ?13, ?14, ?15, ?16, ?16,
                 ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
    )?;
    stmt.execute(params![
        feed_id,
        e.guid,
        e.guid_source.as_str(),
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
        story_id,
        matched.map(|m| m.entry_id),
        matched.map(|m| m.rule.as_str()),
        matched.map(|m| m.similarity.hamming),
        matched.map(|m| m.similarity.containment),
        matched.map(|m| m.similarity.resemblance),
        matched.map(|m| m.similarity.title),
        matched.map(|m| m.similarity.numbers),
        matched.map(|m| m.similarity.gap_seconds),
        e.credited_wire,
    ])?;
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
