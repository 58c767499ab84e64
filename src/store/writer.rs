//! The single SQLite writer: the only code that writes to the store.
//!
//! For each feed document it upserts the feed, then, entry by entry in one
//! transaction: updates an entry it already has (same feed and guid), or
//! asks the detector for matches, joins the best match's story (folding in
//! any other story the entry also matched) or starts a new one, inserts the
//! entry with the figures that decided, and refreshes the touched stories'
//! counts, dates, representative and title. It owns the detector's index
//! and keeps it in step with what it commits.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{open_writer_connection, StoreError};
use crate::detector::features::{fnv1a, Features};
use crate::detector::{CandidateIndex, Detector, GroupingConfig, Indexed, Match};
use crate::model::{format_time, parse_time, IngestReport, NormalizedEntry, NormalizedFeed};

/// Above this many indexed entries, entries far behind the newest are evicted.
const EVICT_ABOVE: usize = 200_000;

/// The writer's state: the connection and the detector.
pub struct Writer {
    conn: Connection,
    detector: Detector,
    /// Every stored entry dated at or after this (Unix seconds) is in the index.
    covered_from: i64,
    /// The newest entry date seen.
    high_water: i64,
}

fn content_hash(e: &NormalizedEntry) -> i64 {
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

impl Writer {
    /// Opens the store and loads the index with the entries of the window
    /// before the newest stored entry.
    pub fn open(path: &Path, grouping: GroupingConfig) -> Result<Writer, StoreError> {
        let conn = open_writer_connection(path)?;
        let mut w = Writer {
            conn,
            detector: Detector::new(grouping),
            covered_from: i64::MAX,
            high_water: i64::MIN,
        };
        w.reload()?;
        tracing::debug!(indexed = w.detector.index.len(), "writer ready");
        Ok(w)
    }

    /// The write connection, for the store's other write requests
    /// ([`super::subscriptions`]).
    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Closes the store, letting SQLite update its statistics.
    pub fn close(self) {
        if let Err(e) = self.conn.execute_batch("PRAGMA optimize;") {
            tracing::warn!(error = %e, "PRAGMA optimize failed");
        }
        if let Err((_, e)) = self.conn.close() {
            tracing::error!(error = %e, "closing the database failed");
        }
    }

    fn evict(&mut self) {
        if self.detector.index.len() <= EVICT_ABOVE {
            return;
        }
        let cut = self.high_water.saturating_sub(2 * self.detector.config.window_seconds());
        if cut > self.covered_from {
            let n = self.detector.index.evict_before(cut);
            self.covered_from = cut;
            tracing::debug!(evicted = n, "index evicted old entries");
        }
    }

    /// Groups and stores one feed document in one transaction.
    pub fn ingest(&mut self, feed: &NormalizedFeed, now: DateTime<Utc>) -> Result<IngestReport, StoreError> {
        self.ingest_with(feed, now, |_, _| Ok(()))
    }

    /// Like [`Writer::ingest`], and runs `then` inside the same transaction
    /// before it commits (the daemon records the poll there).
    pub fn ingest_with(
        &mut self,
        feed: &NormalizedFeed,
        now: DateTime<Utc>,
        then: impl FnOnce(&Transaction<'_>, &IngestReport) -> Result<(), StoreError>,
    ) -> Result<IngestReport, StoreError> {
        // On failure the transaction rolls back; the index may then hold
        // entries that were never committed, so it is rebuilt.
        let result = self.ingest_tx(feed, now, then);
        if result.is_err() {
            if let Err(e) = self.reload() {
                tracing::error!(error = %e, "reloading the candidate index failed");
            }
        }
        self.evict();
        result
    }

    fn ingest_tx(
        &mut self,
        feed: &NormalizedFeed,
        now: DateTime<Utc>,
        then: impl FnOnce(&Transaction<'_>, &IngestReport) -> Result<(), StoreError>,
    ) -> Result<IngestReport, StoreError> {
        let now_s = format_time(now);
        let tx = self.conn.transaction()?;
        let feed_id = upsert_feed(&tx, feed, &now_s)?;
        let mut report = IngestReport { feed_id, ..Default::default() };
        let mut dirty: BTreeSet<i64> = BTreeSet::new();
        for entry in &feed.entries {
            let hash = content_hash(entry);
            let existing: Option<(i64, i64, i64)> = tx
                .query_row(
                    "SELECT id, content_hash, story_id FROM entries WHERE feed_id = ?1 AND guid = ?2",
                    params![feed_id, entry.guid],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            match existing {
                Some((id, old_hash, story_id)) if old_hash == hash => {
                    tx.execute("UPDATE entries SET last_seen = ?2 WHERE id = ?1", params![id, now_s])?;
                    report.unchanged += 1;
                    let _ = story_id;
                }
                Some((id, _, story_id)) => {
                    update_entry(&tx, id, entry, hash, &now_s)?;
                    let time = entry.published.timestamp();
                    self.detector.index.insert(
                        id,
                        Indexed { feed_id, story_id, time, features: entry.features.clone() },
                    );
                    dirty.insert(story_id);
                    report.updated += 1;
                }
                None => {
                    let time = entry.published.timestamp();
                    // Loading older days reads committed rows only; this
                    // transaction's own rows are already in the index.
                    cover(&tx, &mut self.detector, &mut self.covered_from, time)?;
                    let matches = self.detector.matches(&entry.features, time, feed_id);
                    for m in &matches {
                        tracing::debug!(
                            guid = %entry.guid, matched = m.entry_id, rule = m.rule.as_str(),
                            containment = m.similarity.containment, title = m.similarity.title,
                            numbers = m.similarity.numbers, shorter = m.similarity.shorter,
                            hamming = m.similarity.hamming, "match"
                        );
                    }
                    let story_id = match matches.first() {
                        Some(best) => {
                            report.joined += 1;
                            best.story_id
                        }
                        None => new_story(&tx, entry, &now_s)?,
                    };
                    let id = insert_entry(&tx, feed_id, story_id, entry, hash, &now_s, matches.first())?;
                    let mut folded = BTreeSet::new();
                    for m in matches.iter().skip(1) {
                        if m.story_id != story_id && folded.insert(m.story_id) {
                            fold_story(&tx, m.story_id, story_id)?;
                            self.detector.index.merge_story(m.story_id, story_id);
                            dirty.remove(&m.story_id);
                            report.merged += 1;
                        }
                    }
                    self.detector.index.insert(
                        id,
                        Indexed { feed_id, story_id, time, features: entry.features.clone() },
                    );
                    self.high_water = self.high_water.max(time);
                    dirty.insert(story_id);
                    report.new += 1;
                }
            }
        }
        for story in &dirty {
            refresh_story(&tx, *story, &now_s)?;
        }
        then(&tx, &report)?;
        tx.commit()?;
        Ok(report)
    }

    /// Empties the index and reloads the window before the newest stored entry.
    fn reload(&mut self) -> Result<(), StoreError> {
        self.detector.index = CandidateIndex::new();
        self.covered_from = i64::MAX;
        let newest: Option<String> =
            self.conn.query_row("SELECT max(published) FROM entries", [], |r| r.get(0))?;
        match newest.as_deref().and_then(parse_time) {
            Some(t) => {
                self.high_water = t.timestamp();
                let from = t.timestamp() - self.detector.config.window_seconds();
                load_range(&self.conn, &mut self.detector.index, from, i64::MAX)?;
                self.covered_from = from;
            }
            None => self.covered_from = i64::MIN,
        }
        Ok(())
    }
}

/// Makes sure the index holds every stored entry that could match an entry
/// dated `time`, reading older days through `conn` (inside a transaction,
/// whose own rows are already indexed).
fn cover(conn: &Connection, detector: &mut Detector, covered_from: &mut i64, time: i64) -> Result<(), StoreError> {
    let need = time.saturating_sub(detector.config.window_seconds());
    if need < *covered_from {
        load_range(conn, &mut detector.index, need, *covered_from)?;
        *covered_from = need;
    }
    Ok(())
}

/// Adds the stored entries dated in `[from, until)` to the index.
fn load_range(conn: &Connection, index: &mut CandidateIndex, from: i64, until: i64) -> Result<(), StoreError> {
    let bound = |t: i64, none: &str| DateTime::from_timestamp(t, 0).map(format_time).unwrap_or_else(|| none.to_string());
    let mut stmt = conn.prepare_cached(
        "SELECT id, feed_id, story_id, published, features FROM entries
          WHERE published >= ?1 AND published < ?2",
    )?;
    let mut rows = stmt.query(params![bound(from, ""), bound(until, "9999")])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if index.get(id).is_some() {
            continue;
        }
        let published: String = r.get(3)?;
        let blob: Vec<u8> = r.get(4)?;
        let (Some(t), Some(features)) = (parse_time(&published), Features::decode(&blob)) else {
            tracing::warn!(entry = id, "stored features unreadable; entry left out of grouping");
            continue;
        };
        index.insert(id, Indexed { feed_id: r.get(1)?, story_id: r.get(2)?, time: t.timestamp(), features });
    }
    Ok(())
}

fn upsert_feed(tx: &Transaction<'_>, feed: &NormalizedFeed, now: &str) -> Result<i64, StoreError> {
    tx.execute(
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
    Ok(tx.query_row("SELECT id FROM feeds WHERE url = ?1", [&feed.url], |r| r.get(0))?)
}

fn new_story(tx: &Transaction<'_>, entry: &NormalizedEntry, now: &str) -> Result<i64, StoreError> {
    let published = format_time(entry.published);
    tx.execute(
        "INSERT INTO stories (title, first_seen, last_seen, created_at, updated_at)
         VALUES (?1, ?2, ?2, ?3, ?3)",
        params![entry.title, published, now],
    )?;
    Ok(tx.last_insert_rowid())
}

fn text_length(entry: &NormalizedEntry) -> i64 {
    entry.best_text().chars().count() as i64
}

fn insert_entry(
    tx: &Transaction<'_>,
    feed_id: i64,
    story_id: i64,
    e: &NormalizedEntry,
    hash: i64,
    now: &str,
    matched: Option<&Match>,
) -> Result<i64, StoreError> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO entries (feed_id, guid, guid_source, url, canonical_url, title, author,
            summary_html, summary_text, content_html, content_text, text_length,
            published, published_source, updated, first_seen, last_seen,
            content_hash, fingerprint, features, story_id,
            matched_entry_id, match_rule, match_hamming, match_containment,
            match_resemblance, match_title, match_numbers, match_gap_seconds)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16,
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
    ])?;
    Ok(tx.last_insert_rowid())
}

fn update_entry(
    tx: &Transaction<'_>,
    id: i64,
    e: &NormalizedEntry,
    hash: i64,
    now: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE entries SET url = ?2, canonical_url = ?3, title = ?4, author = ?5,
            summary_html = ?6, summary_text = ?7, content_html = ?8, content_text = ?9,
            text_length = ?10, published = ?11, published_source = ?12, updated = ?13,
            last_seen = ?14, content_hash = ?15, fingerprint = ?16, features = ?17,
            guid_source = ?18
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
        ],
    )?;
    Ok(())
}

/// Moves every entry of story `from` into story `into` and deletes `from`.
fn fold_story(tx: &Transaction<'_>, from: i64, into: i64) -> Result<(), StoreError> {
    tx.execute("UPDATE entries SET story_id = ?2 WHERE story_id = ?1", params![from, into])?;
    tx.execute("DELETE FROM stories WHERE id = ?1", [from])?;
    Ok(())
}

/// Recomputes a story's counts, dates, representative and title.
///
/// The representative is the earliest entry whose text is at least 80% as
/// long as the story's longest: the earliest full-text copy, not a summary.
fn refresh_story(tx: &Transaction<'_>, story: i64, now: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE stories SET
            entry_count = (SELECT count(*) FROM entries WHERE story_id = ?1),
            feed_count = (SELECT count(DISTINCT feed_id) FROM entries WHERE story_id = ?1),
            first_seen = (SELECT min(published) FROM entries WHERE story_id = ?1),
            last_seen = (SELECT max(published) FROM entries WHERE story_id = ?1),
            representative_id = (
                SELECT id FROM entries WHERE story_id = ?1
                   AND text_length * 5 >= 4 * (SELECT max(text_length) FROM entries WHERE story_id = ?1)
                 ORDER BY published, id LIMIT 1),
            updated_at = ?2
         WHERE id = ?1",
        params![story, now],
    )?;
    tx.execute(
        "UPDATE stories SET title = coalesce(
            (SELECT title FROM entries WHERE id = stories.representative_id AND title <> ''), title)
         WHERE id = ?1",
        [story],
    )?;
    Ok(())
}
