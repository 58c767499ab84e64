//! The writer's maintenance commands: `regroup` (place every stored entry
//! again, after a change of the grouping settings) and `prune` (drop what
//! is past the retention period and give the space back).

use chrono::{DateTime, Utc};

use rusqlite::params;

use super::rows::{
    cached_row, delete_story_if_empty, exec, mark_folded, refresh_event, refresh_story, set_story,
};
use super::{place_entry, Writer};
use crate::detector::features::extract;
use crate::detector::outlet::link_key;
use crate::detector::{outlet_key, Arrival, Features, Indexed};
use crate::model::{format_time, parse_time};
use crate::store::StoreError;

/// A stored entry as `regroup` places it again.
struct Stored {
    id: i64,
    feed_id: i64,
    published: String,
    blob: Vec<u8>,
    title: String,
    outlet: Option<String>,
    canonical: Option<String>,
    text: String,
}

impl Writer {
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
        exec(&tx, "DELETE FROM events", [])?;
        // Nothing is loaded from the store: entries are re-placed in order.
        self.window.restart();
        let mut report = RegroupReport {
            stories_before: before as usize,
            ..Default::default()
        };
        let mut last_id = 0_i64;
        let total: i64 = tx.query_row("SELECT count(*) FROM entries", [], |r| r.get(0))?;
        progress(0, total as usize);
        loop {
            let batch: Vec<Stored> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id, feed_id, published, features, title, outlet, canonical_url,
                            coalesce(nullif(content_text, ''), summary_text, '')
                       FROM entries WHERE id > ?1 ORDER BY id LIMIT 5000",
                )?;
                let rows = stmt.query_map([last_id], |r| {
                    Ok(Stored {
                        id: r.get(0)?,
                        feed_id: r.get(1)?,
                        published: r.get(2)?,
                        blob: r.get(3)?,
                        title: r.get(4)?,
                        outlet: r.get(5)?,
                        canonical: r.get(6)?,
                        text: r.get(7)?,
                    })
                })?;
                rows.collect::<Result<_, _>>()?
            };
            let Some(last) = batch.last() else { break };
            last_id = last.id;
            for e in batch {
                let time = parse_time(&e.published).map_or(0, |t| t.timestamp());
                // Features of an older version are extracted again, and kept.
                let features = match Features::decode(&e.blob) {
                    Some(f) => f,
                    None => {
                        let f = extract(&e.title, &e.text);
                        exec(
                            &tx,
                            "UPDATE entries SET features = ?2 WHERE id = ?1",
                            params![e.id, f.encode()],
                        )?;
                        f
                    }
                };
                let arrival = Arrival {
                    time,
                    outlet: outlet_key(e.feed_id, e.outlet.as_deref()),
                    link: link_key(e.canonical.as_deref()),
                };
                let placed =
                    place_entry(&tx, &mut self.window, arrival, &features, &e.title, &now_s)?;
                set_story(&tx, e.id, placed.story_id, placed.best.as_ref())?;
                for (m, starters) in &placed.folded {
                    mark_folded(&tx, starters, e.id, m)?;
                }
                self.window.insert(
                    e.id,
                    Indexed {
                        outlet: arrival.outlet,
                        link: arrival.link,
                        story_id: placed.story_id,
                        time,
                        features,
                    },
                );
                report.entries += 1;
                if report.entries % 256 == 0 {
                    progress(report.entries, total as usize);
                }
            }
            self.window.evict();
        }
        progress(report.entries, total as usize);
        let ids = |sql: &str| -> Result<Vec<i64>, StoreError> {
            let mut stmt = tx.prepare(sql)?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let stories = ids("SELECT id FROM stories")?;
        for story in &stories {
            refresh_story(&tx, *story, &now_s)?;
        }
        for event in ids("SELECT id FROM events")? {
            refresh_event(&tx, event, &now_s)?;
        }
        report.stories_after = stories.len();
        report.events_after = ids("SELECT id FROM events")?.len();
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
            // Its temporary copy of the store goes to a file, not memory
            // (see `store::setup_writer`).
            let vacuumed = self.conn.execute_batch("PRAGMA temp_store = FILE; VACUUM;");
            let restored = self.conn.pragma_update(None, "temp_store", "MEMORY");
            vacuumed?;
            restored?;
        } else if report.entries > 0 {
            self.incremental_vacuum()?;
        }
        Ok(report)
    }

    /// Returns every free page to the file system (stores created with
    /// `auto_vacuum = INCREMENTAL`; a no-op for others). The pragma frees
    /// one page per step, so it is stepped to the end: `execute_batch`
    /// steps it once and freed a single page.
    fn incremental_vacuum(&mut self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = stmt.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    }

    fn prune_tx(
        &mut self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PruneReport, StoreError> {
        let cutoff = format_time(before);
        let now_s = format_time(now);
        let tx = self.conn.transaction()?;
        let touched: Vec<(i64, i64)> = {
            let mut stmt = tx.prepare(
                "SELECT DISTINCT e.story_id, s.event_id FROM entries e JOIN stories s ON s.id = e.story_id
                  WHERE e.published < ?1 AND e.last_seen < ?1",
            )?;
            let rows = stmt.query_map([&cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let entries = tx.execute(
            "DELETE FROM entries WHERE published < ?1 AND last_seen < ?1",
            [&cutoff],
        )?;
        // An article no entry waits for or took its text from any more is
        // forgotten, so an entry that links to it later fetches it again
        // (its text went with the entries that held it).
        let articles = tx.execute(
            "DELETE FROM article_fetches
              WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.article_url = article_fetches.url)",
            [],
        )?;
        let mut report = PruneReport {
            before: cutoff,
            entries,
            articles,
            ..Default::default()
        };
        let mut events = std::collections::BTreeSet::new();
        for (story, event) in touched {
            if delete_story_if_empty(&tx, story)? {
                report.stories_removed += 1;
            } else {
                refresh_story(&tx, story, &now_s)?;
                report.stories_updated += 1;
            }
            events.insert(event);
        }
        // Events left without stories go; the others are recomputed.
        for event in events {
            refresh_event(&tx, event, &now_s)?;
        }
        tx.commit()?;
        Ok(report)
    }
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
    /// Events after.
    pub events_after: usize,
}

/// What `prune` did.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct PruneReport {
    /// The cutoff (ISO-8601 UTC): entries dated and last seen before it were removed.
    pub before: String,
    /// Entries removed (with their full-text rows).
    pub entries: usize,
    /// Article fetches forgotten: no entry refers to them any more.
    pub articles: usize,
    /// Stories removed because none of their copies were left.
    pub stories_removed: usize,
    /// Stories that lost copies and were recomputed.
    pub stories_updated: usize,
}
