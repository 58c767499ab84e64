//! The single SQLite writer: the only code that writes to the store.
//!
//! It runs on the writer thread (`store::actor`) and owns the write
//! connection and the grouping [`Window`]. It takes the feed documents
//! waiting in the queue together, in one transaction, each document in a
//! savepoint of its own (one that fails is rolled back alone). For each
//! document it upserts the feed, then, entry by entry: updates an entry it
//! already has (same feed and guid), or asks the detector for matches and
//! for a [`Placement`], applies it (join the best match's story, folding in
//! the other stories the entry matched, or start a new one) and inserts the
//! entry with the figures that decided. A document a poll fetched gets its
//! subscription's new state in the same savepoint ([`polls`]). Before
//! committing it refreshes the touched stories' counts, dates,
//! representative and title, and adds the new entries to the full-text
//! index in one statement.
//!
//! - [`rows`]: the SQL statements of grouped storage.
//! - [`polls`]: subscription writes and poll records.
//! - [`maintenance`]: `regroup` and `prune`.
//! - [`articles`]: the article fetch queue, and entries placed again when
//!   their article's text arrives.

pub mod articles;
pub mod maintenance;
pub mod polls;
pub mod rows;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use self::polls::FetchedPoll;
use self::rows::{
    cached_row, content_hash, event_of, exec, fold_story, index_full_text, insert_entry,
    mark_folded, merge_event, new_event, new_story, refresh_event, refresh_story,
    seed_story_of_one, set_event_join, starters, update_entry, upsert_feed, EventJoin,
};
use super::checkpointer::{wal_checkpoint, Checkpointer, WAL_TRUNCATE_SIZE};
use super::window::Window;
use super::{open_writer_connection, StoreError};
use crate::detector::outlet::{host as outlet_host, is_aggregator, link_key};
use crate::detector::{
    outlet_key, Arrival, EventPlacement, Features, Indexed, Match, Placement, Settings,
};
use crate::model::{format_time, IngestReport, NormalizedEntry, NormalizedFeed};

use crate::model::FullTextMode;
use articles::{mark_wanted, stored_article, with_article, DocArticles};
pub use articles::{
    ArticleFailure, ArticleJob, ArticleOutcome, ArticlesReport, FetchedArticle, FullTextSettings,
};
pub use maintenance::{PruneReport, RegroupReport};

/// The writer's state: the connection and the grouping window.
pub struct Writer {
    conn: Connection,
    window: Window,
    full_text: FullTextSettings,
    /// Whether the window holds what the store does (see
    /// [`Writer::open_unloaded`]).
    loaded: bool,
    /// The thread that checkpoints the WAL, if it started (else SQLite's
    /// automatic checkpoint runs on this connection).
    checkpointer: Option<Checkpointer>,
    /// The connection's count of changed rows when the checkpointer was
    /// last signalled.
    signalled_changes: u64,
    /// The index's count of features read back, as last reported.
    reported_loads: u64,
}

/// One document of a batch, with the poll that fetched it (the daemon)
/// or none (`feedfold ingest`).
pub(crate) struct Document<'a> {
    /// The normalized document.
    pub feed: &'a NormalizedFeed,
    /// The poll to record with it, in its savepoint.
    pub poll: Option<&'a FetchedPoll>,
}

impl Writer {
    /// Opens the store and loads the index with the entries of the window
    /// before the newest stored entry.
    pub fn open(path: &Path, grouping: impl Into<Settings>) -> Result<Writer, StoreError> {
        let mut w = Writer::open_unloaded(path, grouping)?;
        w.ensure_loaded()?;
        Ok(w)
    }

    /// Opens (and migrates) the store without loading the grouping window
    /// yet: the first call that groups loads it (see
    /// [`Writer::ensure_loaded`]). The store's writer thread opens it so:
    /// a restart answers at once however many entries the window holds.
    ///
    /// It starts the WAL checkpointer beside it (see `store::checkpointer`)
    /// and turns SQLite's automatic checkpoint off; if the checkpointer
    /// cannot start, the automatic checkpoint stays on.
    pub fn open_unloaded(path: &Path, grouping: impl Into<Settings>) -> Result<Writer, StoreError> {
        let conn = open_writer_connection(path)?;
        // Its statements, all cached: a document runs a few dozen.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let checkpointer = match Checkpointer::start(path) {
            Ok(c) => match conn.pragma_update(None, "wal_autocheckpoint", 0) {
                Ok(()) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot turn the automatic WAL checkpoint off; the writer checkpoints");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::chain(&e), "cannot start the WAL checkpointer; the writer checkpoints");
                None
            }
        };
        let settings: Settings = grouping.into();
        let cached = settings.stories.features_in_memory;
        let mut window = Window::new(settings);
        // The index reads the features of committed entries back from the
        // store instead of keeping them all in memory.
        match super::stored_features::StoredFeatures::open(path) {
            Ok(source) => window
                .detector_mut()
                .set_feature_source(Box::new(source), cached),
            Err(e) => {
                tracing::warn!(error = %crate::telemetry::chain(&e), "cannot open a second connection to read features back; the grouping window keeps them all in memory");
            }
        }
        Ok(Writer {
            signalled_changes: conn.total_changes(),
            reported_loads: 0,
            conn,
            window,
            full_text: FullTextSettings::default(),
            loaded: false,
            checkpointer,
        })
    }

    /// Signals the checkpointer if something was written since the last
    /// signal: the writer thread calls it after each command (or batch).
    /// Never waits. Outside a transaction, it also tells the index that
    /// the entries it holds are committed (their features may leave
    /// memory), and updates the window's metrics.
    pub(crate) fn committed(&mut self) {
        if self.conn.is_autocommit() {
            // Whatever the index holds is committed (a failed transaction
            // reloads the window).
            self.window.detector_mut().committed();
        }
        let (in_memory, loads) = self.window.detector().index().features_in_memory();
        let m = &crate::metrics::METRICS;
        m.window_features_read
            .add(loads.saturating_sub(self.reported_loads));
        m.window_features_in_memory.set(in_memory as u64);
        self.reported_loads = loads;
        let changes = self.conn.total_changes();
        if changes == self.signalled_changes {
            return;
        }
        self.signalled_changes = changes;
        if let Some(c) = &self.checkpointer {
            c.notify();
        }
    }

    /// Loads the grouping window (the entries dated within the window
    /// before the newest stored entry, and their events) unless it holds
    /// what the store does.
    pub fn ensure_loaded(&mut self) -> Result<(), StoreError> {
        if self.loaded {
            return Ok(());
        }
        let started = std::time::Instant::now();
        self.reload()?;
        tracing::info!(
            entries = self.window.detector().len(),
            events = self.window.detector().events().len(),
            seconds = started.elapsed().as_secs_f64(),
            "grouping window loaded"
        );
        Ok(())
    }

    /// Closes the store, letting SQLite update its statistics; the
    /// checkpointer stops after a last checkpoint that truncates the WAL.
    pub fn close(self) {
        let Writer {
            conn, checkpointer, ..
        } = self;
        if let Err(e) = conn.execute_batch("PRAGMA optimize;") {
            tracing::warn!(error = %e, "PRAGMA optimize failed");
        }
        if let Err(e) = super::forget_value_samples(&conn) {
            tracing::warn!(error = %e, "emptying sqlite_stat4 failed");
        }
        if let Some(c) = checkpointer {
            c.stop();
        }
        if let Err((_, e)) = conn.close() {
            tracing::error!(error = %e, "closing the database failed");
        }
    }

    /// Groups and stores feed documents (from `feedfold ingest`) in one
    /// transaction, each in a savepoint of its own. One result per
    /// document, in order.
    pub fn ingest_batch(
        &mut self,
        feeds: &[&NormalizedFeed],
        now: DateTime<Utc>,
    ) -> Vec<Result<IngestReport, StoreError>> {
        let docs: Vec<Document<'_>> = feeds
            .iter()
            .map(|feed| Document { feed, poll: None })
            .collect();
        self.store_documents(&docs, now)
    }

    /// Groups and stores several documents in one transaction (the writer
    /// takes the documents waiting in its queue together): each document,
    /// and the poll that fetched it, in a savepoint of its own, so one that
    /// fails is rolled back alone and the others are stored. One result
    /// per document, in order.
    pub(crate) fn store_documents(
        &mut self,
        docs: &[Document<'_>],
        now: DateTime<Utc>,
    ) -> Vec<Result<IngestReport, StoreError>> {
        if let Err(e) = self.ensure_loaded() {
            // Nothing is stored without the window: the documents fail
            // (a poll is retried), and the next batch tries again.
            return every_one_failed(e, docs.len());
        }
        let results = match self.batch_tx(docs, now) {
            Ok(results) => {
                self.truncate_wal_if_large();
                results
            }
            Err(e) => {
                // Nothing of the batch was committed: every document
                // failed, and the index holds entries that were never
                // committed, so it is rebuilt.
                if let Err(e) = self.reload() {
                    tracing::error!(error = %e, "reloading the candidate index failed");
                }
                every_one_failed(e, docs.len())
            }
        };
        self.window.evict();
        results
    }

    /// Checkpoints and truncates the WAL once it passes
    /// [`super::WAL_SIZE_LIMIT`] (with a checkpointer beside the writer,
    /// `WAL_TRUNCATE_SIZE`: see `store::checkpointer`), without waiting: a
    /// reader holding an old snapshot, or the checkpointer at work, makes
    /// the attempt give up at once (the next commit tries again), so a long
    /// read never stalls ingestion, and once it ends the WAL shrinks at the
    /// next document instead of keeping its peak size.
    fn truncate_wal_if_large(&mut self) {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()) else {
            return;
        };
        let limit = match self.checkpointer {
            Some(_) => WAL_TRUNCATE_SIZE,
            None => super::WAL_SIZE_LIMIT,
        };
        let wal = std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len());
        if wal <= limit as u64 {
            return;
        }
        let attempt = self
            .conn
            .busy_timeout(std::time::Duration::ZERO)
            .and_then(|()| wal_checkpoint(&self.conn, "TRUNCATE"));
        if let Err(e) = self.conn.busy_timeout(super::BUSY_TIMEOUT) {
            tracing::warn!(error = %e, "restoring the busy timeout failed");
        }
        match attempt {
            Ok((0, _, _)) => tracing::debug!(wal, "WAL checkpointed and truncated"),
            Ok((_, frames, _)) => {
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
        docs: &[Document<'_>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<IngestReport, StoreError>>, StoreError> {
        let now_s = format_time(now);
        let Writer {
            conn,
            window,
            full_text,
            ..
        } = self;
        let mut tx = conn.transaction()?;
        // Entries with ids above this are not in the full-text index yet.
        let mut indexed: i64 =
            cached_row(&tx, "SELECT coalesce(max(id), 0) FROM entries", [], |r| {
                r.get(0)
            })?;
        let mut dirty = Touched::default();
        let mut results = Vec::with_capacity(docs.len());
        for doc in docs {
            let sp = tx.savepoint()?;
            let mut touched = Touched::default();
            let indexed_before = indexed;
            let mut articles = doc_articles(&sp, full_text, doc)?;
            let result = ingest_doc(
                &sp,
                window,
                doc.feed,
                &now_s,
                &mut touched,
                &mut indexed,
                &mut articles,
            )
            .and_then(|report| match doc.poll {
                Some(poll) => polls::record_fetched(&sp, poll, &report).map(|()| report),
                None => Ok(report),
            });
            match result {
                Ok(report) => {
                    sp.commit()?;
                    // (A story a later document folds away is deleted;
                    // refreshing its id then changes nothing.)
                    dirty.stories.extend(touched.stories);
                    dirty.events.extend(touched.events);
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
        for story in &dirty.stories {
            refresh_story(&tx, *story, &now_s)?;
        }
        for event in &dirty.events {
            refresh_event(&tx, *event, &now_s)?;
        }
        index_full_text(&tx, &mut indexed)?;
        tx.commit()?;
        Ok(results)
    }

    /// Empties the index and reloads the window before the newest stored
    /// entry (on failure, the next call that groups tries again).
    fn reload(&mut self) -> Result<(), StoreError> {
        let loaded = self.window.reload(&self.conn);
        self.loaded = loaded.is_ok();
        loaded
    }
}

/// How many prepared statements the writer's connection keeps: more than
/// the statements it runs for a batch of documents, so none is prepared
/// again (rusqlite keeps 16 by default).
const STATEMENT_CACHE: usize = 64;

/// `n` documents' results when all of them failed with `e`.
fn every_one_failed(e: StoreError, n: usize) -> Vec<Result<IngestReport, StoreError>> {
    let mut results: Vec<_> = (1..n).map(|_| Err(e.duplicate())).collect();
    results.insert(0, Err(e));
    results.truncate(n);
    results
}

/// The stories and events a document changed, to refresh before commit.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    stories: BTreeSet<i64>,
    events: BTreeSet<i64>,
}

/// A stored entry of the document: id, content hash, story, and its
/// article's HTML and text if it holds them.
type Existing = (i64, i64, i64, Option<(String, String)>);

/// How a document's new entries queue articles: an ingested one by
/// `--full-text`, a polled one (in the daemon) by its feed's mode, else
/// `[full_text] mode`, at most `full_text.per_poll` of them.
fn doc_articles(
    conn: &Connection,
    settings: &FullTextSettings,
    doc: &Document<'_>,
) -> Result<DocArticles, StoreError> {
    let config = &settings.config;
    Ok(match doc.poll {
        None => match settings.ingest {
            Some(mode) => DocArticles::new(doc.feed, mode, config, usize::MAX),
            None => DocArticles::none(),
        },
        Some(_) if !settings.polls => DocArticles::none(),
        Some(poll) => {
            let own: Option<String> = conn
                .prepare_cached("SELECT full_text FROM subscriptions WHERE id = ?1")?
                .query_row([poll.id], |r| r.get(0))
                .optional()?
                .flatten();
            let mode = own
                .and_then(|m| m.parse::<FullTextMode>().ok())
                .unwrap_or(config.mode);
            DocArticles::new(doc.feed, mode, config, config.per_poll)
        }
    })
}

/// Groups and stores one document's entries through `conn` (a savepoint
/// of the batch), adding the stories and events it changed to `touched`.
fn ingest_doc(
    conn: &Connection,
    window: &mut Window,
    feed: &NormalizedFeed,
    now_s: &str,
    touched: &mut Touched,
    indexed: &mut i64,
    articles: &mut DocArticles,
) -> Result<IngestReport, StoreError> {
    let feed_id = upsert_feed(conn, feed, now_s)?;
    let mut report = IngestReport {
        feed_id,
        ..Default::default()
    };
    // An aggregator feed carries several outlets: each entry's is its host.
    let aggregator = is_aggregator(feed.entries.iter().map(|e| e.url.as_deref()));
    for entry in &feed.entries {
        let hash = content_hash(entry);
        let existing: Option<Existing> = conn
            .prepare_cached(
                "SELECT id, content_hash, story_id,
                        CASE WHEN content_source = 'article' THEN content_html END,
                        CASE WHEN content_source = 'article' THEN content_text END
                   FROM entries WHERE feed_id = ?1 AND guid = ?2",
            )?
            .query_row(params![feed_id, entry.guid], |r| {
                let article = match (r.get(3)?, r.get(4)?) {
                    (Some(h), Some(t)) => Some((h, t)),
                    _ => None,
                };
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, article))
            })
            .optional()?;
        let outlet = aggregator
            .then(|| entry.url.as_deref().and_then(outlet_host))
            .flatten();
        let arrival = Arrival {
            time: entry.published.timestamp(),
            outlet: outlet_key(feed_id, outlet.as_deref()),
            link: link_key(entry.canonical_url.as_deref()),
        };
        match existing {
            Some((id, old_hash, _, _)) if old_hash == hash => {
                exec(
                    conn,
                    "UPDATE entries SET last_seen = ?2 WHERE id = ?1",
                    params![id, now_s],
                )?;
                report.unchanged += 1;
            }
            Some((id, _, story_id, article)) => {
                if id > *indexed {
                    // The update trigger takes the old text out of the
                    // full-text index: it has to be there.
                    index_full_text(conn, indexed)?;
                }
                // An entry holding its article's text keeps it.
                let kept;
                let entry = match article {
                    Some((html, text)) => {
                        kept = with_article(entry, html, text);
                        &kept
                    }
                    None => entry,
                };
                update_entry(conn, id, entry, hash, now_s)?;
                window.insert(id, indexed_entry(arrival, story_id, entry));
                touched.stories.insert(story_id);
                report.updated += 1;
            }
            None => {
                // An entry that wants its article takes it at once if it
                // was fetched already; else it waits for it.
                let wanted = articles.wanted(entry);
                let known = match &wanted {
                    Some(url) => stored_article(conn, url)?,
                    None => None,
                };
                let with_text;
                let (entry, fetched_at) = match known {
                    Some((html, text, at)) => {
                        with_text = with_article(entry, html, text);
                        (&with_text, Some(at))
                    }
                    None => (entry, None),
                };
                // Loading older days reads committed rows only; this
                // transaction's own rows are already in the index.
                window.cover(conn, arrival.time)?;
                let placed =
                    place_entry(conn, window, arrival, &entry.features, &entry.title, now_s)?;
                let id = insert_entry(
                    conn,
                    feed_id,
                    placed.story_id,
                    entry,
                    hash,
                    now_s,
                    placed.best.as_ref(),
                    outlet.as_deref(),
                )?;
                if let Some(url) = &wanted {
                    mark_wanted(conn, id, url, fetched_at.as_deref(), now_s)?;
                }
                for (m, starters) in &placed.folded {
                    mark_folded(conn, starters, id, m)?;
                    touched.stories.remove(&m.story_id);
                }
                touched.events.extend(&placed.events);
                window.insert(id, indexed_entry(arrival, placed.story_id, entry));
                if placed.best.is_none() {
                    // Unless a later entry joins it and marks it dirty.
                    seed_story_of_one(conn, placed.story_id, id, entry.credited_wire.as_deref())?;
                } else {
                    touched.stories.insert(placed.story_id);
                }
                report.joined += usize::from(placed.best.is_some());
                report.merged += placed.folded.len();
                report.new_events += usize::from(placed.new_event);
                report.new += 1;
            }
        }
    }
    Ok(report)
}

fn indexed_entry(arrival: Arrival, story_id: i64, entry: &NormalizedEntry) -> Indexed {
    Indexed {
        outlet: arrival.outlet,
        link: arrival.link,
        story_id,
        time: arrival.time,
        features: entry.features.clone(),
    }
}

/// Where a new entry went.
struct Placed {
    story_id: i64,
    best: Option<Match>,
    /// The matches whose stories were folded in, each with the entries that
    /// had started that story.
    folded: Vec<(Match, Vec<i64>)>,
    /// The events it changed.
    events: Vec<i64>,
    /// Whether its story started an event.
    new_event: bool,
}

/// Finds a new entry's story with the detector and applies the decision:
/// folds the stories it bridges into the one it joins, or starts a story
/// (and places it in an event: one it matches, or a new one).
fn place_entry(
    conn: &Connection,
    window: &mut Window,
    arrival: Arrival,
    features: &Features,
    title: &str,
    now: &str,
) -> Result<Placed, StoreError> {
    let detector = window.detector();
    let found = detector.matches(features, arrival);
    for m in &found.matches {
        tracing::debug!(
            matched = m.entry_id,
            rule = m.rule.as_str(),
            containment = m.similarity.containment,
            title = m.similarity.title,
            numbers = m.similarity.numbers,
            names = m.similarity.names,
            alignment = m.similarity.alignment,
            shorter = m.similarity.shorter,
            "match"
        );
    }
    match detector.place(&found.matches, arrival) {
        Placement::Start => {
            let vector = detector.story_vector(features);
            let placement = detector.place_event(&vector, arrival.time, &found.shared_text);
            // A new event no event came close to has none to merge with.
            let may_merge = placement != EventPlacement::Start
                || detector.events_config().merge < detector.events_config().join;
            let (event, join) = match placement {
                EventPlacement::Start | EventPlacement::StartApart { .. } => {
                    (new_event(conn, title, arrival.time, now)?, None)
                }
                EventPlacement::Join {
                    event,
                    similarity,
                    shared_text,
                    closest,
                } => (
                    event,
                    Some(EventJoin {
                        matched_story: closest.map(|(s, _)| s),
                        rule: if shared_text >= detector.events_config().shared_text {
                            "centroid_and_text"
                        } else {
                            "centroid"
                        },
                        similarity,
                        story_similarity: closest.map(|(_, c)| c),
                        shared_text,
                    }),
                ),
            };
            let started_event = join.is_none();
            let story_id = new_story(conn, title, arrival.time, now, event)?;
            if let Some(join) = &join {
                set_event_join(conn, story_id, join)?;
            }
            window
                .detector_mut()
                .add_story_to_event(event, story_id, vector, arrival.time);
            let mut events = vec![event];
            if may_merge {
                merge_events(conn, window, event, &mut events)?;
            }
            Ok(Placed {
                story_id,
                best: None,
                folded: Vec::new(),
                // A new event is the youngest: a merge always folds it away.
                new_event: started_event && events.len() == 1,
                events,
            })
        }
        Placement::Join { best, fold } => {
            let mut events = Vec::new();
            let mut folded = Vec::with_capacity(fold.len());
            for m in fold {
                let starters = starters(conn, m.story_id)?;
                let from_event = event_of(conn, m.story_id)?;
                fold_story(conn, m.story_id, best.story_id)?;
                window.merge_story(m.story_id, best.story_id);
                events.push(from_event);
                folded.push((m, starters));
            }
            // The entry joins its story's event.
            let event = match window.detector().event_of(best.story_id) {
                Some(e) => e,
                None => event_of(conn, best.story_id)?,
            };
            let vector = window.detector().event_terms(features);
            window
                .detector_mut()
                .add_entry_to_event(event, &vector, arrival.time);
            events.push(event);
            merge_events(conn, window, event, &mut events)?;
            Ok(Placed {
                story_id: best.story_id,
                best: Some(best),
                folded,
                events,
                new_event: false,
            })
        }
    }
}

/// Merges the events that `event` (just changed) has become one with,
/// adding the events it changed to `events`.
fn merge_events(
    conn: &Connection,
    window: &mut Window,
    event: i64,
    events: &mut Vec<i64>,
) -> Result<(), StoreError> {
    for (from, into, cosine) in window.detector_mut().merge_events(event) {
        merge_event(conn, from, into, cosine)?;
        events.extend([from, into]);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
