//! The single SQLite writer: the only code that writes to the store.
//!
//! It takes the feed documents waiting in its queue together, in one
//! transaction, each document in a savepoint of its own (one that fails is
//! rolled back alone). For each document it upserts the feed, then, entry
//! by entry: updates an entry it already has (same feed and guid), or asks
//! the detector for matches, joins the best match's story (folding in any
//! other story the entry also matched) or starts a new one, and inserts the
//! entry with the figures that decided. Before committing it refreshes the
//! touched stories' counts, dates, representative and title, and adds the
//! new entries to the full-text index in one statement. It owns the
//! detector's index and keeps it in step with what it commits.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

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

    /// Groups and stores several feed documents in one transaction (the
    /// writer takes the documents waiting in its queue together): each
    /// document in a savepoint of its own, so one that fails is rolled back
    /// alone and the others are stored. One result per document, in order.
    pub fn ingest_batch(
        &mut self,
        feeds: &[&NormalizedFeed],
        now: DateTime<Utc>,
    ) -> Vec<Result<IngestReport, StoreError>> {
        self.ingest_batch_with(feeds, now, |_, _, _| Ok(()))
    }

    /// [`Writer::ingest_batch`], running `then(conn, i, report)` for the
    /// `i`th document inside its savepoint (the daemon records each poll
    /// there).
    pub(crate) fn ingest_batch_with(
        &mut self,
        feeds: &[&NormalizedFeed],
        now: DateTime<Utc>,
        then: impl FnMut(&Connection, usize, &IngestReport) -> Result<(), StoreError>,
    ) -> Vec<Result<IngestReport, StoreError>> {
        let mut batch_failed = false;
        let results = match self.batch_tx(feeds, now, then) {
            Ok(results) => results,
            Err(e) => {
                batch_failed = true;
                // Nothing of the batch was committed: every document failed.
                let others: Vec<_> = (1..feeds.len()).map(|_| Err(e.duplicate())).collect();
                let mut results = vec![Err(e)];
                results.extend(others);
                results.truncate(feeds.len());
                results
            }
        };
        // A batch that failed as a whole leaves entries in the index that
        // were never committed, so it is rebuilt.
        if batch_failed {
            if let Err(e) = self.reload() {
                tracing::error!(error = %e, "reloading the candidate index failed");
            }
        } else {
            self.truncate_wal_if_large();
        }
        evict(&mut self.detector, &mut self.covered_from, self.high_water);
        results
    }

    /// Checkpoints and truncates the WAL once it passes
    /// [`super::WAL_SIZE_LIMIT`], without waiting: a reader holding an old
    /// snapshot makes the attempt give up at once (the next commit tries
    /// again), so a long read never stalls ingestion, and once it ends the
    /// WAL shrinks at the next document instead of keeping its peak size.
    fn truncate_wal_if_large(&mut self) {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()) else {
            return;
        };
        let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
        if wal <= super::WAL_SIZE_LIMIT as u64 {
            return;
        }
        let attempt = self
            .conn
            .busy_timeout(std::time::Duration::ZERO)
            .and_then(|()| {
                self.conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                    })
            });
        if let Err(e) = self.conn.busy_timeout(super::BUSY_TIMEOUT) {
            tracing::warn!(error = %e, "restoring the busy timeout failed");
        }
        match attempt {
            Ok((0, _)) => tracing::debug!(wal, "WAL checkpointed and truncated"),
            Ok((_, frames)) => {
                tracing::debug!(
                    wal,
                    frames,
                    "WAL not truncated: a reader holds an old snapshot"
                )
            }
            Err(e) => tracing::debug!(error = %e, "WAL checkpoint failed"),
        }
    }

    fn batch_tx(
        &mut self,
        feeds: &[&NormalizedFeed],
        now: DateTime<Utc>,
        mut then: impl FnMut(&Connection, usize, &IngestReport) -> Result<(), StoreError>,
    ) -> Result<Vec<Result<IngestReport, StoreError>>, StoreError> {
        let now_s = format_time(now);
        let Writer {
            conn,
            detector,
            covered_from,
            high_water,
        } = self;
        let mut window = Window {
            detector,
            covered_from,
            high_water,
        };
        let mut tx = conn.transaction()?;
        // Entries with ids above this are not in the full-text index yet.
        let mut indexed: i64 =
            cached_row(&tx, "SELECT coalesce(max(id), 0) FROM entries", [], |r| {
                r.get(0)
            })?;
        let mut dirty: BTreeSet<i64> = BTreeSet::new();
        let mut results = Vec::with_capacity(feeds.len());
        for (i, feed) in feeds.iter().enumerate() {
            let sp = tx.savepoint()?;
            let mut touched = BTreeSet::new();
            let indexed_before = indexed;
            let result =
                Writer::ingest_doc(&sp, &mut window, feed, &now_s, &mut touched, &mut indexed)
                    .and_then(|report| then(&sp, i, &report).map(|()| report));
            match result {
                Ok(report) => {
                    sp.commit()?;
                    // (A story a later document folds away is deleted;
                    // refreshing its id then changes nothing.)
                    dirty.extend(touched);
                    results.push(Ok(report));
                }
                Err(e) => {
                    drop(sp);
                    // What the savepoint indexed is rolled back with it
                    // (and its row ids may be given out again).
                    indexed = indexed_before;
                    // The index holds what the savepoint rolled back: reload
                    // it from this transaction's view before the next document.
                    window.reload(&tx)?;
                    results.push(Err(e));
                }
            }
        }
        for story in &dirty {
            refresh_story(&tx, *story, &now_s)?;
        }
        index_full_text(&tx, &mut indexed)?;
        tx.commit()?;
        Ok(results)
    }

    /// Groups and stores one document's entries through `conn` (a
    /// savepoint of the batch), adding the stories it touched to `dirty`.
    fn ingest_doc(
        conn: &Connection,
        window: &mut Window<'_>,
        feed: &NormalizedFeed,
        now_s: &str,
        dirty: &mut BTreeSet<i64>,
        indexed: &mut i64,
    ) -> Result<IngestReport, StoreError> {
        let feed_id = upsert_feed(conn, feed, now_s)?;
        let mut report = IngestReport {
            feed_id,
            ..Default::default()
        };
        for entry in &feed.entries {
            let hash = content_hash(entry);
            let existing: Option<(i64, i64, i64)> = conn
                .prepare_cached(
                    "SELECT id, content_hash, story_id FROM entries WHERE feed_id = ?1 AND guid = ?2",
                )?
                .query_row(params![feed_id, entry.guid], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            match existing {
                Some((id, old_hash, _)) if old_hash == hash => {
                    exec(
                        conn,
                        "UPDATE entries SET last_seen = ?2 WHERE id = ?1",
                        params![id, now_s],
                    )?;
                    report.unchanged += 1;
                }
                Some((id, _, story_id)) => {
                    if id > *indexed {
                        // The update trigger takes the old text out of the
                        // full-text index: it has to be there.
                        index_full_text(conn, indexed)?;
                    }
                    update_entry(conn, id, entry, hash, now_s)?;
                    let time = entry.published.timestamp();
                    window.detector.index.insert(
                        id,
                        Indexed {
                            feed_id,
                            story_id,
                            time,
                            features: entry.features.clone(),
                        },
                    );
                    dirty.insert(story_id);
                    report.updated += 1;
                }
                None => {
                    let time = entry.published.timestamp();
                    // Loading older days reads committed rows only; this
                    // transaction's own rows are already in the index.
                    cover(conn, window.detector, window.covered_from, time)?;
                    let placed = place(
                        conn,
                        window.detector,
                        feed_id,
                        time,
                        &entry.features,
                        &entry.title,
                        now_s,
                    )?;
                    let id = insert_entry(
                        conn,
                        feed_id,
                        placed.story_id,
                        entry,
                        hash,
                        now_s,
                        placed.best.as_ref(),
                    )?;
                    window.detector.index.insert(
                        id,
                        Indexed {
                            feed_id,
                            story_id: placed.story_id,
                            time,
                            features: entry.features.clone(),
                        },
                    );
                    *window.high_water = (*window.high_water).max(time);
                    for gone in &placed.folded {
                        dirty.remove(gone);
                    }
                    if placed.best.is_none() {
                        // A story of one entry: its figures are that
                        // entry's (what `refresh_story` would find), unless
                        // a later entry joins it and marks it dirty.
                        exec(
                            conn,
                            "UPDATE stories SET representative_id = ?2, origin = ?3,
                                    entry_count = 1, feed_count = 1
                              WHERE id = ?1",
                            params![placed.story_id, id, entry.credited_wire],
                        )?;
                    } else {
                        dirty.insert(placed.story_id);
                    }
                    report.joined += usize::from(placed.best.is_some());
                    report.merged += placed.folded.len();
                    report.new += 1;
                }
            }
        }
        Ok(report)
    }

    /// Recomputes every story from the stored entries (after a change of the
    /// grouping settings), in one transaction, visiting entries in the order
    /// they were first stored, exactly as ingest did. Story ids change.
    pub fn regroup(&mut self, now: DateTime<Utc>) -> Result<RegroupReport, StoreError> {
        self.regroup_with_progress(now, &mut |_, _| {})
    }

    /// [`Writer::regroup`], calling `progress(done, total)` after each batch of entries.
    pub fn regroup_with_progress(
        &mut self,
        now: DateTime<Utc>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<RegroupReport, StoreError> {
        let result = self.regroup_tx(now, progress);
        if let Err(e) = self.reload() {
            tracing::error!(error = %e, "reloading the candidate index failed");
        }
        result
    }

    fn regroup_tx(
        &mut self,
        now: DateTime<Utc>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<RegroupReport, StoreError> {
        let now_s = format_time(now);
        let tx = self.conn.transaction()?;
        tx.pragma_update(None, "defer_foreign_keys", "ON")?;
        let before: i64 = cached_row(&tx, "SELECT count(*) FROM stories", [], |r| r.get(0))?;
        exec(&tx, "DELETE FROM stories", [])?;
        self.detector.index = CandidateIndex::new();
        // Nothing is loaded from the store: entries are re-placed in order.
        self.covered_from = i64::MIN;
        self.high_water = i64::MIN;
        let mut report = RegroupReport {
            stories_before: before as usize,
            ..Default::default()
        };
        let mut last_id = 0_i64;
        let total: i64 = tx.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?;
        progress(0, total as usize);
        loop {
            let batch: Vec<(i64, i64, String, Vec<u8>, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id, feed_id, published, features, title FROM entries
                      WHERE id > ?1 ORDER BY id LIMIT 5000",
                )?;
                let rows = stmt.query_map([last_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                rows.collect::<Result<_, _>>()?
            };
            let Some(last) = batch.last() else { break };
            last_id = last.0;
            for (id, feed_id, published, blob, title) in batch {
                let time = parse_time(&published).map_or(0, |t| t.timestamp());
                let features = Features::decode(&blob).unwrap_or_default();
                let placed = place(
                    &tx,
                    &mut self.detector,
                    feed_id,
                    time,
                    &features,
                    &title,
                    &now_s,
                )?;
                set_story(&tx, id, placed.story_id, placed.best.as_ref())?;
                self.detector.index.insert(
                    id,
                    Indexed {
                        feed_id,
                        story_id: placed.story_id,
                        time,
                        features,
                    },
                );
                self.high_water = self.high_water.max(time);
                report.entries += 1;
                if report.entries % 256 == 0 {
                    progress(report.entries, total as usize);
                }
            }
            evict(&mut self.detector, &mut self.covered_from, self.high_water);
        }
        progress(report.entries, total as usize);
        let stories: Vec<i64> = {
            let mut stmt = tx.prepare("SELECT id FROM stories")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for story in &stories {
            refresh_story(&tx, *story, &now_s)?;
        }
        report.stories_after = stories.len();
        tx.commit()?;
        Ok(report)
    }

    /// Removes, in one transaction, the entries dated before `before` that
    /// no feed has carried since (`published` and `last_seen` both before
    /// it), their full-text rows (by trigger) and the stories left empty,
    /// and recomputes the stories that kept some copies. Then returns freed
    /// pages to the file system if the store uses incremental auto-vacuum,
    /// or rewrites the whole file if `vacuum` is set.
    pub fn prune(
        &mut self,
        before: DateTime<Utc>,
        vacuum: bool,
        now: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError> {
        let result = self.prune_tx(before, now);
        if let Err(e) = self.reload() {
            tracing::error!(error = %e, "reloading the candidate index failed");
        }
        let report = result?;
        if vacuum {
            self.conn.execute_batch("VACUUM")?;
        } else if report.entries > 0 {
            self.conn.execute_batch("PRAGMA incremental_vacuum")?;
        }
        Ok(report)
    }

    fn prune_tx(
        &mut self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError> {
        let cutoff = format_time(before);
        let now_s = format_time(now);
        let tx = self.conn.transaction()?;
        let touched: Vec<i64> = {
            let mut stmt = tx.prepare(
                "SELECT DISTINCT story_id FROM entries WHERE published < ?1 AND last_seen < ?1",
            )?;
            let rows = stmt.query_map([&cutoff], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let entries = tx.execute(
            "DELETE FROM entries WHERE published < ?1 AND last_seen < ?1",
            [&cutoff],
        )?;
        let mut report = PruneReport {
            before: cutoff,
            entries,
            ..Default::default()
        };
        for story in touched {
            let left: i64 = tx.query_row(
                "SELECT count(*) FROM entries WHERE story_id = ?1",
                [story],
                |r| r.get(0),
            )?;
            if left == 0 {
                tx.execute("DELETE FROM stories WHERE id = ?1", [story])?;
                report.stories_removed += 1;
            } else {
                refresh_story(&tx, story, &now_s)?;
                report.stories_updated += 1;
            }
        }
        tx.commit()?;
        Ok(report)
    }

    /// Empties the index and reloads the window before the newest stored entry.
    fn reload(&mut self) -> Result<(), StoreError> {
        let mut window = Window {
            detector: &mut self.detector,
            covered_from: &mut self.covered_from,
            high_water: &mut self.high_water,
        };
        window.reload(&self.conn)
    }
}

/// The writer's grouping state, borrowed apart from its connection while a
/// transaction holds that.
struct Window<'a> {
    detector: &'a mut Detector,
    /// Every stored entry dated at or after this (Unix seconds) is in the index.
    covered_from: &'a mut i64,
    /// The newest entry date seen.
    high_water: &'a mut i64,
}

impl Window<'_> {
    /// Empties the index and reloads, through `conn`, the window before
    /// the newest entry `conn` sees.
    fn reload(&mut self, conn: &Connection) -> Result<(), StoreError> {
        self.detector.index = CandidateIndex::new();
        *self.covered_from = i64::MAX;
        let newest: Option<String> =
            conn.query_row("SELECT max(published) FROM entries", [], |r| r.get(0))?;
        match newest.as_deref().and_then(parse_time) {
            Some(t) => {
                *self.high_water = t.timestamp();
                let from = t.timestamp() - self.detector.config.window_seconds();
                load_range(conn, &mut self.detector.index, from, i64::MAX)?;
                *self.covered_from = from;
            }
            None => *self.covered_from = i64::MIN,
        }
        Ok(())
    }
}

/// Makes sure the index holds every stored entry that could match an entry
/// dated `time`, reading older days through `conn` (inside a transaction,
/// whose own rows are already indexed).
fn cover(
    conn: &Connection,
    detector: &mut Detector,
    covered_from: &mut i64,
    time: i64,
) -> Result<(), StoreError> {
    let need = time.saturating_sub(detector.config.window_seconds());
    if need < *covered_from {
        load_range(conn, &mut detector.index, need, *covered_from)?;
        *covered_from = need;
    }
    Ok(())
}

/// Adds the stored entries dated in `[from, until)` to the index.
pub(crate) fn load_range(
    conn: &Connection,
    index: &mut CandidateIndex,
    from: i64,
    until: i64,
) -> Result<(), StoreError> {
    let bound = |t: i64, none: &str| {
        DateTime::from_timestamp(t, 0)
            .map(format_time)
            .unwrap_or_else(|| none.to_string())
    };
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
            tracing::warn!(
                entry = id,
                "stored features unreadable; entry left out of grouping"
            );
            continue;
        };
        index.insert(
            id,
            Indexed {
                feed_id: r.get(1)?,
                story_id: r.get(2)?,
                time: t.timestamp(),
                features,
            },
        );
    }
    Ok(())
}

/// Adds the entries with ids above `indexed` to the full-text index, in one
/// statement, and moves `indexed` past them. The writer does this once per
/// transaction (and before updating an entry inserted in it): FTS5 writes
/// its pending terms out at every statement that opens a savepoint, so
/// indexing row by row (a trigger) wrote a tiny segment per entry and spent
/// its time merging them.
fn index_full_text(conn: &Connection, indexed: &mut i64) -> Result<(), StoreError> {
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
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the statement cache.
fn cached_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

/// Past [`EVICT_ABOVE`] indexed entries, drops those far behind the newest.
fn evict(detector: &mut Detector, covered_from: &mut i64, high_water: i64) {
    if detector.index.len() <= EVICT_ABOVE {
        return;
    }
    let cut = high_water.saturating_sub(2 * detector.config.window_seconds());
    if cut > *covered_from {
        let n = detector.index.evict_before(cut);
        *covered_from = cut;
        tracing::debug!(evicted = n, "index evicted old entries");
    }
}

/// Where a new entry goes: the story it joins (or a new one) and why.
struct Placement {
    story_id: i64,
    best: Option<Match>,
    folded: Vec<i64>,
}

/// Finds an entry's story: the best verified match's, with every other
/// story it also matched folded in; a new story if nothing matched.
fn place(
    tx: &Connection,
    detector: &mut Detector,
    feed_id: i64,
    time: i64,
    features: &Features,
    title: &str,
    now: &str,
) -> Result<Placement, StoreError> {
    let matches = detector.matches(features, time, feed_id);
    for m in &matches {
        tracing::debug!(
            matched = m.entry_id,
            rule = m.rule.as_str(),
            containment = m.similarity.containment,
            title = m.similarity.title,
            numbers = m.similarity.numbers,
            lede = m.similarity.lede,
            shorter = m.similarity.shorter,
            hamming = m.similarity.hamming,
            "match"
        );
    }
    // A feed does not carry one story twice: prefer a match whose story has
    // no entry of this feed yet.
    let best = matches
        .iter()
        .find(|m| !detector.index.story_feeds(m.story_id).any(|f| f == feed_id))
        .or(matches.first())
        .copied();
    let Some(best) = best else {
        return Ok(Placement {
            story_id: new_story(tx, title, time, now)?,
            best: None,
            folded: Vec::new(),
        });
    };
    // Fold in the other stories this entry also matched (copies that came
    // before their original), unless that would put two entries of one feed
    // in one story: then they are different stories that share text.
    let mut feeds: Vec<i64> = detector.index.story_feeds(best.story_id).collect();
    feeds.push(feed_id);
    let mut folded = Vec::new();
    for m in &matches {
        if m.story_id == best.story_id || folded.contains(&m.story_id) {
            continue;
        }
        let other: Vec<i64> = detector.index.story_feeds(m.story_id).collect();
        if other.iter().any(|f| feeds.contains(f)) {
            tracing::debug!(
                story = m.story_id,
                into = best.story_id,
                "not folded: both carry an entry of one feed"
            );
            continue;
        }
        fold_story(tx, m.story_id, best.story_id)?;
        detector.index.merge_story(m.story_id, best.story_id);
        folded.push(m.story_id);
        feeds.extend(other);
    }
    Ok(Placement {
        story_id: best.story_id,
        best: Some(best),
        folded,
    })
}

/// What `regroup` did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct RegroupReport {
    /// Entries re-placed.
    pub entries: usize,
    /// Stories before.
    pub stories_before: usize,
    /// Stories after.
    pub stories_after: usize,
}

/// What `prune` did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct PruneReport {
    /// The cutoff (ISO-8601 UTC): entries dated and last seen before it were removed.
    pub before: String,
    /// Entries removed (with their full-text rows).
    pub entries: usize,
    /// Stories removed because none of their copies were left.
    pub stories_removed: usize,
    /// Stories that lost copies and were recomputed.
    pub stories_updated: usize,
}

/// Sets an existing entry's story and match figures.
fn set_story(
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

fn upsert_feed(tx: &Connection, feed: &NormalizedFeed, now: &str) -> Result<i64, StoreError> {
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

fn new_story(tx: &Connection, title: &str, time: i64, now: &str) -> Result<i64, StoreError> {
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

fn insert_entry(
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

fn update_entry(
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
fn fold_story(tx: &Connection, from: i64, into: i64) -> Result<(), StoreError> {
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
fn refresh_story(tx: &Connection, story: i64, now: &str) -> Result<(), StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RawDocument;
    use crate::normalizer::{normalize, Identity};

    fn feed(name: &str, items: &[(&str, &str)]) -> NormalizedFeed {
        let mut xml = format!(
            "<rss version=\"2.0\"><channel><title>{name}</title><link>https://{name}.test/</link>"
        );
        for (guid, text) in items {
            xml.push_str(&format!(
                "<item><guid>{guid}</guid><title>{text}</title><description>{text}</description>\
                 <pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>"
            ));
        }
        xml.push_str("</channel></rss>");
        let doc = RawDocument {
            name: name.into(),
            fetched_url: Some(format!("https://{name}.test/rss")),
            path: None,
            http_charset: None,
            bytes: xml.into_bytes(),
        };
        let url = format!("https://{name}.test/rss");
        let identity = Identity {
            fetched_url: Some(&url),
            ..Default::default()
        };
        normalize(&doc, &identity, Utc::now()).expect("test feed normalizes")
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn a_failing_document_of_a_batch_is_rolled_back_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w =
            Writer::open(&dir.path().join("t.db"), GroupingConfig::default()).expect("store opens");
        let text = "Dock workers in Rotterdam walked out on Monday over pay, halting container traffic at Europe's biggest port for the first time since 2002.";
        let a = feed("a", &[("a1", text)]);
        let b = feed(
            "b",
            &[("b1", "Wheat prices fell in Chicago on rain in the plains.")],
        );
        let c = feed("c", &[("c1", text)]);
        let results = w.ingest_batch_with(&[&a, &b, &c], Utc::now(), |_, i, _| {
            if i == 1 {
                Err(StoreError::BatchFailed("refused by the test".into()))
            } else {
                Ok(())
            }
        });
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(matches!(results[1], Err(StoreError::BatchFailed(_))));
        // b left nothing behind; c still joined a's story.
        assert_eq!(count(&w.conn, "SELECT count(*) FROM entries"), 2);
        assert_eq!(count(&w.conn, "SELECT count(*) FROM feeds"), 2);
        assert_eq!(
            count(&w.conn, "SELECT count(DISTINCT story_id) FROM entries"),
            1
        );
        assert_eq!(
            count(&w.conn, "SELECT entry_count FROM stories"),
            2,
            "story counts refreshed"
        );
        assert_eq!(w.detector.index.len(), 2, "the index lost b's entry");
        // Both stored entries, and only they, are searchable.
        assert_eq!(
            count(
                &w.conn,
                "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'rotterdam'"
            ),
            2
        );
        assert_eq!(
            count(
                &w.conn,
                "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'wheat'"
            ),
            0
        );
        // An entry stored and then changed in one batch (a document that
        // carries one guid twice) leaves the full-text index sound.
        let twice = feed(
            "d",
            &[
                ("d1", "Cocoa futures rose in London."),
                ("d1", "Copper futures fell in Shanghai."),
            ],
        );
        let results = w.ingest_batch(&[&twice], Utc::now());
        assert_eq!(
            results[0].as_ref().map(|r| (r.new, r.updated)).ok(),
            Some((1, 1))
        );
        w.conn
            .execute(
                "INSERT INTO entries_fts(entries_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .expect("the full-text index is sound");
        assert_eq!(
            count(
                &w.conn,
                "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'copper'"
            ),
            1
        );
        assert_eq!(
            count(
                &w.conn,
                "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'cocoa'"
            ),
            0
        );
        // A batch stores what single documents store.
        let again = w.ingest_batch(&[&b], Utc::now());
        assert_eq!(again[0].as_ref().map(|r| r.new).ok(), Some(1));
        // A story of one entry has that entry's figures.
        assert_eq!(
            count(
                &w.conn,
                "SELECT count(*) FROM stories s JOIN entries e ON e.story_id = s.id
                  WHERE e.guid = 'b1' AND s.representative_id = e.id AND s.entry_count = 1
                    AND s.feed_count = 1 AND s.first_seen = e.published AND s.last_seen = e.published"
            ),
            1
        );
        assert_eq!(
            count(
                &w.conn,
                "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'wheat'"
            ),
            1
        );
    }
}
