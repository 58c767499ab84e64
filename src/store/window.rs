//! The grouping window: the detector's candidate index kept in step with
//! the store.
//!
//! Part of the store stage. The index is a cache of the stored features of
//! the entries that new entries may match: loaded from the store when the
//! writer opens (the window before the newest stored entry), extended to
//! older days when an older entry arrives ([`Window::cover`]), trimmed when
//! it grows past [`EVICT_ABOVE`] entries, and reloaded after a failed
//! document. The events of the loaded stories are rebuilt with them (each
//! story's first loaded entry adds the story, later ones their vectors).
//! Reads only; the writer applies the detector's decisions.

use std::collections::BTreeSet;

use chrono::DateTime;
use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::detector::outlet::link_key;
use crate::detector::{outlet_key, Detector, Features, Indexed, Settings};
use crate::model::{format_time, parse_time};

/// Above this many indexed entries, entries far behind the newest are evicted.
pub const EVICT_ABOVE: usize = 200_000;

/// The detector and how much of the store its index covers.
#[derive(Debug)]
pub struct Window {
    detector: Detector,
    /// Every stored entry dated at or after this (Unix seconds) is in the index.
    covered_from: i64,
    /// The newest entry date seen.
    high_water: i64,
    /// Entries left out of loads: those being placed again (their text
    /// changed), until they are.
    excluded: BTreeSet<i64>,
}

impl Window {
    /// An empty window (call [`Window::reload`] to fill it).
    pub fn new(settings: Settings) -> Window {
        Window {
            detector: Detector::new(settings),
            covered_from: i64::MAX,
            high_water: i64::MIN,
            excluded: BTreeSet::new(),
        }
    }

    /// Sets `entries` aside to be placed again, as if new (their text
    /// changed): each leaves the index, and loads leave it out, until it
    /// is [`Window::insert`]ed again; a story only they belong to (in the
    /// store, read through `conn`) leaves its event. Cheap, but an event
    /// keeps the words its stories had (its centroid is a sum) until the
    /// next load; [`Window::reload_without`] rebuilds instead.
    pub fn set_aside(
        &mut self,
        conn: &Connection,
        entries: &BTreeSet<i64>,
    ) -> Result<(), StoreError> {
        let mut stories = BTreeSet::new();
        for id in entries {
            self.detector.remove(*id);
            self.excluded.insert(*id);
            let story: Option<i64> = conn
                .prepare_cached("SELECT story_id FROM entries WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            stories.extend(story);
        }
        for story in stories {
            let mut stmt = conn.prepare_cached("SELECT id FROM entries WHERE story_id = ?1")?;
            let members = stmt.query_map([story], |r| r.get::<_, i64>(0))?;
            let mut others = false;
            for m in members {
                others |= !entries.contains(&m?);
            }
            if !others {
                self.detector.forget_story(story);
            }
        }
        Ok(())
    }

    /// The detector, for lookups and decisions.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Adds an entry stored (or changed) through the writer's transaction.
    pub fn insert(&mut self, id: i64, entry: Indexed) {
        self.excluded.remove(&id);
        self.high_water = self.high_water.max(entry.time);
        self.detector.insert(id, entry);
    }

    /// The detector, to record events.
    pub fn detector_mut(&mut self) -> &mut Detector {
        &mut self.detector
    }

    /// Records that story `from` was folded into `to`; returns `from`'s
    /// event if that left it without stories.
    pub fn merge_story(&mut self, from: i64, to: i64) -> Option<i64> {
        self.detector.merge_story(from, to)
    }

    /// Empties the index and reloads, through `conn`, the window before
    /// the newest entry `conn` sees.
    pub fn reload(&mut self, conn: &Connection) -> Result<(), StoreError> {
        self.excluded.clear();
        self.load(conn)
    }

    /// [`Window::reload`] leaving `entries` out (of this load and of later
    /// ones) until each is [`Window::insert`]ed again: they are to be
    /// placed again, as if new. Unlike [`Window::set_aside`], the events
    /// are rebuilt without their words.
    pub fn reload_without(
        &mut self,
        conn: &Connection,
        entries: &BTreeSet<i64>,
    ) -> Result<(), StoreError> {
        self.excluded = entries.clone();
        let loaded = self.load(conn);
        if loaded.is_err() {
            self.excluded.clear();
        }
        loaded
    }

    fn load(&mut self, conn: &Connection) -> Result<(), StoreError> {
        self.detector.clear();
        self.covered_from = i64::MAX;
        let newest: Option<String> =
            conn.query_row("SELECT max(published) FROM entries", [], |r| r.get(0))?;
        match newest.as_deref().and_then(parse_time) {
            Some(t) => {
                self.high_water = t.timestamp();
                let from = t.timestamp() - self.detector.config().window_seconds();
                load_range(conn, &mut self.detector, from, i64::MAX, &self.excluded)?;
                self.covered_from = from;
            }
            None => self.covered_from = i64::MIN,
        }
        Ok(())
    }

    /// Empties the index for entries to be placed again from the start
    /// (`regroup`): nothing is loaded from the store.
    pub fn restart(&mut self) {
        self.excluded.clear();
        self.detector.clear();
        self.covered_from = i64::MIN;
        self.high_water = i64::MIN;
    }

    /// Makes sure the index holds every stored entry that could match an
    /// entry dated `time`, reading older days through `conn` (inside a
    /// transaction, whose own rows are already indexed).
    pub fn cover(&mut self, conn: &Connection, time: i64) -> Result<(), StoreError> {
        let need = time.saturating_sub(self.detector.config().window_seconds());
        if need < self.covered_from {
            load_range(
                conn,
                &mut self.detector,
                need,
                self.covered_from,
                &self.excluded,
            )?;
            self.covered_from = need;
        }
        Ok(())
    }

    /// Past [`EVICT_ABOVE`] indexed entries, drops those far behind the newest.
    pub fn evict(&mut self) {
        if self.detector.len() <= EVICT_ABOVE {
            return;
        }
        let cut = self
            .high_water
            .saturating_sub(2 * self.detector.config().window_seconds());
        if cut > self.covered_from {
            let n = self.detector.evict_before(cut);
            self.covered_from = cut;
            tracing::debug!(evicted = n, "index evicted old entries");
        }
    }
}

/// Adds the stored entries dated in `[from, until)` to the detector's
/// index, and their stories to their events; `except` stays out.
pub fn load_range(
    conn: &Connection,
    detector: &mut Detector,
    from: i64,
    until: i64,
    except: &BTreeSet<i64>,
) -> Result<(), StoreError> {
    let bound = |t: i64, none: &str| {
        DateTime::from_timestamp(t, 0)
            .map(format_time)
            .unwrap_or_else(|| none.to_string())
    };
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.feed_id, e.story_id, e.published, e.features, e.outlet, e.canonical_url,
                s.event_id, e.title, coalesce(nullif(e.content_text, ''), e.summary_text, '')
           FROM entries e JOIN stories s ON s.id = e.story_id
          WHERE e.published >= ?1 AND e.published < ?2
          ORDER BY e.id",
    )?;
    let mut rows = stmt.query(params![bound(from, ""), bound(until, "9999")])?;
    let mut loaded: Vec<(i64, i64, i64)> = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if detector.contains(id) || except.contains(&id) {
            continue;
        }
        let published: String = r.get(3)?;
        let blob: Vec<u8> = r.get(4)?;
        let Some(t) = parse_time(&published) else {
            tracing::warn!(
                entry = id,
                "stored date unreadable; entry left out of grouping"
            );
            continue;
        };
        // Features of an older version are extracted again from the
        // stored text (without the document's boilerplate pass).
        let features = match Features::decode(&blob) {
            Some(f) => f,
            None => {
                let title: String = r.get(8)?;
                let text: String = r.get(9)?;
                crate::detector::features::extract(&title, &text)
            }
        };
        let feed_id: i64 = r.get(1)?;
        let story_id: i64 = r.get(2)?;
        let outlet: Option<String> = r.get(5)?;
        let canonical: Option<String> = r.get(6)?;
        let event_id: i64 = r.get(7)?;
        detector.insert(
            id,
            Indexed {
                feed_id,
                outlet: outlet_key(feed_id, outlet.as_deref()),
                link: link_key(canonical.as_deref()),
                story_id,
                time: t.timestamp(),
                features,
            },
        );
        loaded.push((id, story_id, event_id));
    }
    // The events of the loaded stories, once their words are counted.
    for (id, story, event) in loaded {
        let Some(entry) = detector.get(id) else {
            continue;
        };
        let time = entry.time;
        if detector.event_of(story).is_none() {
            let vector = detector.story_vector(&entry.features);
            detector.add_story_to_event(event, story, vector, time);
        } else {
            let vector = detector.event_terms(&entry.features);
            detector.add_entry_to_event(event, &vector, time);
        }
    }
    Ok(())
}
