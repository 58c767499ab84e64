//! The grouping window: the detector's candidate index kept in step with
//! the store.
//!
//! Part of the store stage. The index is a cache of the stored features of
//! the entries that new entries may match: loaded from the store when the
//! writer opens (the window before the newest stored entry), extended to
//! older days when an older entry arrives ([`Window::cover`]), trimmed when
//! it grows past [`EVICT_ABOVE`] entries, and reloaded after a failed
//! document. Events are forgotten sooner: two event windows behind the
//! newest entry (see `Window::insert`). The events of the loaded stories
//! are rebuilt with them (each story's first loaded entry adds the story,
//! later ones their vectors).
//! Reads only; the writer applies the detector's decisions.

use std::collections::BTreeSet;

use chrono::DateTime;
use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::detector::outlet::link_key;
use crate::detector::{outlet_key, Detector, Features, Indexed, Settings, StoryVector};
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
    /// Events whose last story is dated before this were forgotten.
    events_cut: i64,
}

/// How far the events' cut moves before events are forgotten again.
const EVENTS_CUT_STEP: i64 = 3600;

impl Window {
    /// An empty window (call [`Window::reload`] to fill it).
    pub fn new(settings: Settings) -> Window {
        Window {
            detector: Detector::new(settings),
            covered_from: i64::MAX,
            high_water: i64::MIN,
            excluded: BTreeSet::new(),
            events_cut: i64::MIN,
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
        self.forget_old_events();
    }

    /// Forgets the events whose last story is dated more than two event
    /// windows before the newest entry and that nothing joined since the
    /// cut last moved: only an entry dated over a window before the newest
    /// could still join one, and a store opened anew loads none of them
    /// either. Every event sharing a word with a new story is looked at,
    /// so events kept long after they can be joined (the index keeps
    /// entries until it holds [`EVICT_ABOVE`]) made placement slower as
    /// the days went by. The cut moves in steps of [`EVENTS_CUT_STEP`], as
    /// the newest entry does, so placement depends only on the entries and
    /// their order; entries older than the newest (a backfill) move
    /// nothing, and the events they start or join outlive the next step.
    fn forget_old_events(&mut self) {
        let cut = self.events_cut_now();
        if cut >= self.events_cut.saturating_add(EVENTS_CUT_STEP) {
            let n = self.detector.forget_events_before(cut);
            self.events_cut = cut;
            if n > 0 {
                tracing::debug!(forgotten = n, "events past the window forgotten");
            }
        }
    }

    /// Two event windows before the newest entry.
    fn events_cut_now(&self) -> i64 {
        let window = self.detector.events_config().window_seconds();
        self.high_water.saturating_sub(window.saturating_mul(2))
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
        self.events_cut = i64::MIN;
        let newest: Option<String> =
            conn.query_row("SELECT max(published) FROM entries", [], |r| r.get(0))?;
        match newest.as_deref().and_then(parse_time) {
            Some(t) => {
                self.high_water = t.timestamp();
                let from = t.timestamp() - self.detector.config().window_seconds();
                load_range(conn, &mut self.detector, from, i64::MAX, &self.excluded)?;
                self.covered_from = from;
                // Nothing older than the window was loaded: the cut is
                // where the newest entry puts it.
                self.events_cut = self.events_cut_now();
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
        self.events_cut = i64::MIN;
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
///
/// Entries go in in id order (the order they were stored in, which the
/// index's counts and posting lists follow), but are read in date order,
/// the `entries_published` index's, and sorted here: an `ORDER BY e.id`
/// made SQLite sort every row with its features (and spill them to
/// temporary files) before the first was returned. The text is read only
/// for an entry whose features must be extracted again.
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
                s.event_id
           FROM entries e JOIN stories s ON s.id = e.story_id
          WHERE e.published >= ?1 AND e.published < ?2",
    )?;
    let mut rows = stmt.query(params![bound(from, ""), bound(until, "9999")])?;
    // (entry id, its event, the entry)
    let mut stored: Vec<(i64, i64, Indexed)> = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if detector.contains(id) || except.contains(&id) {
            continue;
        }
        let published: String = r.get(3)?;
        let Some(t) = parse_time(&published) else {
            tracing::warn!(
                entry = id,
                "stored date unreadable; entry left out of grouping"
            );
            continue;
        };
        // Features of an older version (or unreadable) are extracted again
        // from the stored text (without the document's boilerplate pass).
        let features = match r.get_ref(4)?.as_blob().ok().and_then(Features::decode) {
            Some(f) => f,
            None => {
                let (title, text) = stored_text(conn, id)?;
                crate::detector::features::extract(&title, &text)
            }
        };
        let feed_id: i64 = r.get(1)?;
        let outlet: Option<String> = r.get(5)?;
        let canonical: Option<String> = r.get(6)?;
        let entry = Indexed {
            outlet: outlet_key(feed_id, outlet.as_deref()),
            link: link_key(canonical.as_deref()),
            story_id: r.get(2)?,
            time: t.timestamp(),
            features,
        };
        stored.push((id, r.get(7)?, entry));
    }
    stored.sort_unstable_by_key(|(id, _, _)| *id);
    // What the events need of each entry is taken before it goes in: the
    // index may keep its features out of memory, at once when no
    // transaction is open (every row read is committed).
    let committed = conn.is_autocommit();
    let mut loaded: Vec<(i64, i64, i64, StoryVector)> = Vec::with_capacity(stored.len());
    for (id, event_id, entry) in stored {
        let vector = detector.story_vector(&entry.features);
        loaded.push((entry.story_id, event_id, entry.time, vector));
        detector.insert(id, entry);
        if committed {
            detector.committed();
        }
    }
    // The events of the loaded stories: a story's first loaded entry adds
    // the story, later ones their event terms (the story vector's).
    for (story, event, time, vector) in loaded {
        if detector.event_of(story).is_none() {
            detector.add_story_to_event(event, story, vector, time);
        } else {
            detector.add_entry_to_event(event, &vector.vector, time);
        }
    }
    Ok(())
}

/// A stored entry's title and text, to extract its features from.
pub(super) fn stored_text(conn: &Connection, id: i64) -> Result<(String, String), StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT title, coalesce(nullif(content_text, ''), summary_text, '')
               FROM entries WHERE id = ?1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use rusqlite::Connection;

    use crate::detector::GroupingConfig;
    use crate::model::{NormalizedFeed, RawDocument};
    use crate::normalizer::{normalize, Identity};
    use crate::store::writer::Writer;

    const STRIKE: &str = "Dock workers in Rotterdam walked out on Monday over pay, halting container traffic at Europe's biggest port for the first time since 2002.\nThe union said the strike would last 48 hours unless the port operators improved their offer of a 3 percent rise.\nShipping lines diverted several vessels to Antwerp and Hamburg, a port spokesman said.";
    const WHEAT: &str = "Wheat futures fell sharply in Chicago on Tuesday as heavy rain across the southern plains eased fears for the winter crop.\nTraders said funds sold after the weather service forecast more showers for Kansas and Oklahoma.\nCorn and soybeans followed wheat lower in thin trade.";
    const QUAKE: &str = "A magnitude 6.1 earthquake struck off the coast of northern Chile on Wednesday, shaking buildings in Iquique and Arica.\nThe national emergency office said there were no immediate reports of damage or casualties.\nResidents of Iquique fled to higher ground as sirens sounded across the city.";

    /// A feed document of `name` with (guid, title, text, day of March 2026, hour) items.
    fn feed(name: &str, items: &[(&str, &str, &str, u32, u32)]) -> NormalizedFeed {
        let mut xml = format!(
            "<rss version=\"2.0\"><channel><title>{name}</title><link>https://{name}.test/</link>"
        );
        for (guid, title, text, day, hour) in items {
            let date = Utc
                .with_ymd_and_hms(2026, 3, *day, *hour, 0, 0)
                .single()
                .map(|d| d.to_rfc2822())
                .unwrap_or_default();
            xml.push_str(&format!(
                "<item><guid>{guid}</guid><title>{title}</title><description>{}</description>\
                 <pubDate>{date}</pubDate></item>",
                text.replace('\n', "&lt;br&gt;")
            ));
        }
        xml.push_str("</channel></rss>");
        let url = format!("https://{name}.test/rss");
        let doc = RawDocument {
            name: name.into(),
            fetched_url: Some(url.clone()),
            path: None,
            http_charset: None,
            bytes: xml.into_bytes(),
        };
        let identity = Identity {
            fetched_url: Some(&url),
            ..Default::default()
        };
        normalize(&doc, &identity, Utc::now()).expect("test feed normalizes")
    }

    /// Documents whose entries are stored in another order than their
    /// dates: the second and third carry copies dated before the first's.
    fn documents() -> Vec<NormalizedFeed> {
        vec![
            feed(
                "a",
                &[
                    ("a1", "Rotterdam dock strike", STRIKE, 10, 12),
                    ("a2", "Wheat falls on rain", WHEAT, 10, 13),
                ],
            ),
            feed(
                "b",
                &[
                    ("b1", "Dock strike halts Rotterdam port", STRIKE, 10, 9),
                    ("b2", "Chile quake shakes Iquique", QUAKE, 10, 8),
                ],
            ),
            feed(
                "c",
                &[
                    ("c1", "Strike at Rotterdam port", STRIKE, 10, 7),
                    ("c2", "Quake off northern Chile", QUAKE, 10, 14),
                    ("c3", "Chicago wheat lower", WHEAT, 10, 6),
                ],
            ),
        ]
    }

    /// An entry's guid, story, event, rule and matched entry.
    type Placed = (String, i64, i64, Option<String>, Option<i64>);

    /// Each entry's placement, in id order.
    fn placement(path: &std::path::Path) -> Vec<Placed> {
        let conn = Connection::open(path).expect("open the store");
        let mut stmt = conn
            .prepare(
                "SELECT e.guid, e.story_id, s.event_id, e.match_rule, e.matched_entry_id
                   FROM entries e JOIN stories s ON s.id = e.story_id ORDER BY e.id",
            )
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    /// Stores `docs` one by one; `reopen` closes and opens the store between
    /// documents (the window is then loaded from the store).
    fn store(path: &std::path::Path, docs: &[NormalizedFeed], reopen: bool) {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 11, 0, 0, 0)
            .single()
            .expect("a date");
        let open = || Writer::open(path, GroupingConfig::default()).expect("store opens");
        let mut w = open();
        for doc in docs {
            if reopen {
                w.close();
                w = open();
            }
            let result = w.ingest_batch(&[doc], now).pop();
            assert!(matches!(result, Some(Ok(_))), "{result:?}");
        }
        w.close();
    }

    #[test]
    fn events_two_windows_behind_the_newest_entry_are_forgotten_once_idle() {
        use crate::detector::features::extract;
        use crate::detector::{Indexed, Settings};
        let day = 86_400;
        let mut w = super::Window::new(Settings::default());
        let add = |w: &mut super::Window, id: i64, time: i64, text: &str| {
            let features = extract("title", text);
            let vector = w.detector().story_vector(&features);
            w.detector_mut().add_story_to_event(id, id, vector, time);
            w.insert(
                id,
                Indexed {
                    outlet: id,
                    link: 0,
                    story_id: id,
                    time,
                    features,
                },
            );
        };
        add(&mut w, 1, 0, QUAKE);
        add(&mut w, 2, day, WHEAT);
        // An entry dated long before the newest forgets nothing.
        add(&mut w, 3, -20 * day, STRIKE);
        assert_eq!(w.detector().events().len(), 3);
        // Seven days on, the quake's event (six days behind: two event
        // windows) is forgotten; the wheat's is not yet, nor the old
        // strike's, which an entry started since the last step.
        add(&mut w, 4, 7 * day, STRIKE);
        let events = w.detector();
        assert_eq!(events.event_of(1), None);
        assert_eq!(events.event_of(3), Some(3));
        assert_eq!(events.event_of(2), Some(2));
        assert_eq!(events.event_of(4), Some(4));
        // The index keeps every entry.
        assert_eq!(events.len(), 4);
        // A backfill: an old story starts an event, the newest entry moves
        // on an hour, and the old event outlives that step (its copy,
        // arriving next, can still join it); an idle one does not.
        add(&mut w, 5, -10 * day, QUAKE);
        add(&mut w, 6, 7 * day + 3_600, WHEAT);
        assert_eq!(w.detector().event_of(5), Some(5));
        assert_eq!(w.detector().event_of(3), None);
        add(&mut w, 7, 7 * day + 7_200, WHEAT);
        assert_eq!(w.detector().event_of(5), None);
    }

    #[test]
    fn a_reopened_store_places_entries_as_one_never_closed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (kept, reopened) = (dir.path().join("kept.db"), dir.path().join("reopened.db"));
        let docs = documents();
        store(&kept, &docs, false);
        store(&reopened, &docs, true);
        let want = placement(&kept);
        assert_eq!(placement(&reopened), want);
        // The copies were grouped: three stories of 3, 2 and 2 entries.
        let mut sizes: Vec<usize> = want
            .iter()
            .map(|(_, story, ..)| want.iter().filter(|(_, s, ..)| s == story).count())
            .collect();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![2, 2, 2, 2, 3, 3, 3], "{want:?}");
    }

    #[test]
    fn features_that_do_not_decode_are_extracted_again_from_the_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (kept, damaged) = (dir.path().join("kept.db"), dir.path().join("damaged.db"));
        let docs = documents();
        store(&kept, &docs[..1], false);
        store(&damaged, &docs[..1], false);
        // An older features version, and a value that is no blob at all.
        let conn = Connection::open(&damaged).expect("open");
        conn.execute_batch(
            "UPDATE entries SET features = x'00' WHERE guid = 'a1';
             UPDATE entries SET features = 'garbage' WHERE guid = 'a2';",
        )
        .expect("damage the features");
        drop(conn);
        store(&kept, &docs[1..], true);
        store(&damaged, &docs[1..], true);
        let want = placement(&kept);
        assert_eq!(placement(&damaged), want);
        let joined = want
            .iter()
            .filter(|(.., matched)| matched.is_some())
            .count();
        assert_eq!(
            joined, 4,
            "the later copies joined the stored ones: {want:?}"
        );
    }
}
