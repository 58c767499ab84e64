//! The event level: stories that different newsrooms wrote independently
//! about one happening, grouped into one event (pure, no I/O).
//!
//! Each story belongs to exactly one event. A new story is compared with
//! the events of its time (within `events.window_hours` of an event's
//! stories) by the cosine of its *event vector* with the event's centroid:
//! the headline and lede words of its first entry, weighted by their
//! rarity among the indexed entries, with names and figures (and headline
//! words) counting more, the strongest 64 kept. Text shared with one of
//! the event's stories (a quoted statement, a pasted paragraph) adds a
//! bonus: quoting one statement is evidence of one happening, though not
//! of a copy. A story joins the best event at or above `events.join`, and
//! otherwise starts one. It joins the *event* (its centroid), not one
//! member, so events do not chain without bound.
//!
//! Near-identical happenings stay apart when their figures say so: a
//! figures report (results, tallies) joins an event only if one of its
//! stories carries its figures, and a story joins an event of figures
//! reports only if it carries the figures of one of them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::similarity::FIGURES_SHARE;

/// The config's `[events]` table: when a story joins an event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Cosine of a new story's terms with an event's centroid (plus the
    /// shared-text bonus) from which the story joins the event.
    pub join: f64,
    /// How far (in hours) a story may be dated from an event's stories.
    pub window_hours: u64,
    /// Text shared with one of an event's stories (weighted containment of
    /// the shorter text, quotations included) that counts as evidence.
    pub shared_text: f64,
    /// How much that evidence adds to the cosine.
    pub shared_text_bonus: f64,
    /// Terms kept per story vector and per event centroid.
    pub terms: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            join: 0.25,
            window_hours: 72,
            shared_text: 0.1,
            shared_text_bonus: 0.1,
            terms: 64,
        }
    }
}

impl EventsConfig {
    /// The window in seconds.
    pub fn window_seconds(&self) -> i64 {
        i64::try_from(self.window_hours.saturating_mul(3600)).unwrap_or(i64::MAX)
    }
}

/// A sparse, unit-length vector of event terms, sorted by term.
pub type Vector = Vec<(u32, f32)>;

/// The `cap` strongest of `weights` (ties by term), scaled to unit length
/// and sorted by term.
pub fn unit_top(weights: impl IntoIterator<Item = (u32, f32)>, cap: usize) -> Vector {
    let mut v: Vec<(u32, f32)> = weights.into_iter().filter(|(_, w)| *w > 0.0).collect();
    v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(cap);
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in &mut v {
            *w /= norm;
        }
    }
    v.sort_unstable_by_key(|(k, _)| *k);
    v
}

/// The cosine of two unit vectors sorted by term.
pub fn cosine(a: &[(u32, f32)], b: &[(u32, f32)]) -> f64 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += f64::from(a[i].1) * f64::from(b[j].1);
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// What an event knows of one of its stories.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryVector {
    /// The vector of the story's first entry.
    pub vector: Vector,
    /// The figures of the story's first entry.
    pub numbers: Vec<u32>,
    /// Whether that entry is a figures report.
    pub report: bool,
}

#[derive(Debug, Clone, Default)]
struct Event {
    /// The sum of the vectors of its entries.
    sum: HashMap<u32, f32>,
    tmin: i64,
    tmax: i64,
    stories: BTreeSet<i64>,
}

impl Event {
    fn near(&self, time: i64, window: i64) -> bool {
        self.tmin.saturating_sub(window) <= time && time <= self.tmax.saturating_add(window)
    }

    fn add(&mut self, vector: &[(u32, f32)], time: i64) {
        for (k, w) in vector {
            *self.sum.entry(*k).or_default() += *w;
        }
        self.tmin = self.tmin.min(time);
        self.tmax = self.tmax.max(time);
    }

    fn centroid(&self, cap: usize) -> Vector {
        unit_top(self.sum.iter().map(|(k, w)| (*k, *w)), cap)
    }
}

/// Where a new story goes, and the figures that decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventPlacement {
    /// No event is close enough: a new one.
    Start,
    /// Join an event.
    Join {
        /// The event.
        event: i64,
        /// The cosine with its centroid, the bonus included.
        similarity: f64,
        /// The most text the story's entry shares with one of its stories.
        shared_text: f64,
        /// Its story most similar to the new one, and that cosine.
        closest: Option<(i64, f64)>,
    },
}

/// The events of the grouping window.
#[derive(Debug, Default)]
pub struct Events {
    events: BTreeMap<i64, Event>,
    story_event: HashMap<i64, i64>,
    stories: HashMap<i64, StoryVector>,
    /// Per term, the events whose sum carries it.
    by_term: HashMap<u32, BTreeSet<i64>>,
}

impl Events {
    /// No events.
    pub fn new() -> Events {
        Events::default()
    }

    /// The event of a story, if it is known.
    pub fn event_of(&self, story: i64) -> Option<i64> {
        self.story_event.get(&story).copied()
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Decides the event of a new story whose first entry has `story` (its
    /// vector and figures), dated `time`, sharing `shared_text[story]` of
    /// its text with the stories it was compared with.
    pub fn place(
        &self,
        story: &StoryVector,
        time: i64,
        shared_text: &[(i64, f64)],
        config: &EventsConfig,
    ) -> EventPlacement {
        let window = config.window_seconds();
        let candidates: BTreeSet<i64> = story
            .vector
            .iter()
            .filter_map(|(k, _)| self.by_term.get(k))
            .flatten()
            .copied()
            .collect();
        let mut best: Option<(i64, f64, f64)> = None;
        for id in candidates {
            let Some(event) = self.events.get(&id) else {
                continue;
            };
            if !event.near(time, window) {
                continue;
            }
            let mut similarity = cosine(&story.vector, &event.centroid(config.terms));
            let text = shared_text
                .iter()
                .filter(|(s, _)| event.stories.contains(s))
                .map(|(_, t)| *t)
                .fold(0.0, f64::max);
            if text >= config.shared_text {
                similarity += config.shared_text_bonus;
            }
            if best.is_none_or(|(_, b, _)| similarity > b) {
                best = Some((id, similarity, text));
            }
        }
        let Some((event, similarity, shared_text)) = best.filter(|b| b.1 >= config.join) else {
            return EventPlacement::Start;
        };
        if !self.figures_agree(event, story) {
            return EventPlacement::Start;
        }
        let closest = self.events[&event]
            .stories
            .iter()
            .filter_map(|s| Some((*s, cosine(&story.vector, &self.stories.get(s)?.vector))))
            .fold(None, |best: Option<(i64, f64)>, (s, c)| match best {
                Some((_, b)) if b >= c => best,
                _ => Some((s, c)),
            });
        EventPlacement::Join {
            event,
            similarity,
            shared_text,
            closest,
        }
    }

    /// A figures report joins an event only if one of its stories carries
    /// its figures; a story joins an event of figures reports only if it
    /// carries the figures of one of them.
    fn figures_agree(&self, event: i64, story: &StoryVector) -> bool {
        let mut ok = true;
        for s in &self.events[&event].stories {
            let Some(theirs) = self.stories.get(s) else {
                continue;
            };
            if story.report || theirs.report {
                let few = story.numbers.len().min(theirs.numbers.len());
                let shared = shared_count(&story.numbers, &theirs.numbers);
                ok = few > 0 && shared as f64 >= FIGURES_SHARE * few as f64;
                if ok {
                    break;
                }
            }
        }
        ok
    }

    /// Adds a story to an event (a new event if `event` is unknown).
    pub fn add_story(&mut self, event: i64, story: i64, vector: StoryVector, time: i64) {
        let e = self.events.entry(event).or_insert_with(|| Event {
            tmin: time,
            tmax: time,
            ..Event::default()
        });
        e.stories.insert(story);
        e.add(&vector.vector, time);
        for (k, _) in &vector.vector {
            self.by_term.entry(*k).or_default().insert(event);
        }
        self.story_event.insert(story, event);
        self.stories.insert(story, vector);
    }

    /// Adds the vector of an entry that joined a story of `event`.
    pub fn add_entry(&mut self, event: i64, vector: &[(u32, f32)], time: i64) {
        if let Some(e) = self.events.get_mut(&event) {
            e.add(vector, time);
            for (k, _) in vector {
                self.by_term.entry(*k).or_default().insert(event);
            }
        }
    }

    /// Story `from` was folded into story `into`: `into` keeps its event,
    /// `from`'s event loses `from`. Returns `from`'s event if it is left
    /// without stories (and forgotten).
    pub fn fold(&mut self, from: i64, into: i64) -> Option<i64> {
        let _ = into;
        self.stories.remove(&from);
        let event = self.story_event.remove(&from)?;
        let e = self.events.get_mut(&event)?;
        e.stories.remove(&from);
        if !e.stories.is_empty() {
            return None;
        }
        self.forget(event);
        Some(event)
    }

    fn forget(&mut self, event: i64) {
        if let Some(e) = self.events.remove(&event) {
            for k in e.sum.keys() {
                if let Some(set) = self.by_term.get_mut(k) {
                    set.remove(&event);
                    if set.is_empty() {
                        self.by_term.remove(k);
                    }
                }
            }
            for s in e.stories {
                self.story_event.remove(&s);
                self.stories.remove(&s);
            }
        }
    }

    /// Forgets the events whose latest story is dated before `time`.
    pub fn evict_before(&mut self, time: i64) -> usize {
        let old: Vec<i64> = self
            .events
            .iter()
            .filter(|(_, e)| e.tmax < time)
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            self.forget(*id);
        }
        old.len()
    }
}

fn shared_count(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn story(terms: &[(u32, f32)], numbers: &[u32], report: bool) -> StoryVector {
        StoryVector {
            vector: unit_top(terms.iter().copied(), 64),
            numbers: numbers.to_vec(),
            report,
        }
    }

    #[test]
    fn vectors_are_unit_and_cosine_is_one_for_the_same() {
        let v = unit_top([(3, 3.0), (1, 4.0), (9, 0.0)], 64);
        assert_eq!(v.len(), 2, "a zero weight is dropped");
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
        let top = unit_top([(1, 1.0), (2, 3.0), (3, 2.0)], 2);
        assert_eq!(top.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn a_story_joins_the_event_it_matches_and_starts_one_otherwise() {
        let config = EventsConfig::default();
        let mut events = Events::new();
        let quake = story(&[(1, 3.0), (2, 2.0), (3, 1.0)], &[], false);
        events.add_story(100, 10, quake.clone(), 0);
        let same = story(&[(1, 3.0), (2, 1.0), (4, 1.0)], &[], false);
        assert!(matches!(
            events.place(&same, 3_600, &[], &config),
            EventPlacement::Join {
                event: 100,
                closest: Some((10, _)),
                ..
            }
        ));
        let other = story(&[(7, 1.0), (8, 1.0)], &[], false);
        assert_eq!(
            events.place(&other, 3_600, &[], &config),
            EventPlacement::Start
        );
        // Too late: outside the window of the event's stories.
        assert_eq!(
            events.place(&same, 10 * 86_400, &[], &config),
            EventPlacement::Start
        );
    }

    #[test]
    fn shared_text_tips_a_weak_match() {
        let config = EventsConfig::default();
        let mut events = Events::new();
        let five = |a| [(a, 1.0), (2, 1.0), (3, 1.0), (4, 1.0), (5, 1.0)];
        events.add_story(100, 10, story(&five(1), &[], false), 0);
        // One term in five shared: cosine 0.2, below the threshold alone.
        let weak = story(
            &[(1, 1.0), (6, 1.0), (7, 1.0), (8, 1.0), (9, 1.0)],
            &[],
            false,
        );
        let alone = events.place(&weak, 0, &[], &config);
        assert_eq!(alone, EventPlacement::Start);
        let with_text = events.place(&weak, 0, &[(10, 0.3)], &config);
        assert!(
            matches!(with_text, EventPlacement::Join { event: 100, .. }),
            "{with_text:?}"
        );
    }

    #[test]
    fn figures_reports_with_other_figures_are_other_events() {
        let config = EventsConfig::default();
        let mut events = Events::new();
        let terms = [(1, 2.0), (2, 2.0), (3, 1.0)];
        events.add_story(100, 10, story(&terms, &[11, 12, 13], true), 0);
        let other_tally = story(&terms, &[21, 22, 23], true);
        assert_eq!(
            events.place(&other_tally, 0, &[], &config),
            EventPlacement::Start
        );
        let same_tally = story(&terms, &[11, 12, 24], true);
        assert!(matches!(
            events.place(&same_tally, 0, &[], &config),
            EventPlacement::Join { event: 100, .. }
        ));
    }

    #[test]
    fn folding_the_last_story_away_empties_the_event() {
        let mut events = Events::new();
        events.add_story(100, 10, story(&[(1, 1.0)], &[], false), 0);
        events.add_story(200, 20, story(&[(2, 1.0)], &[], false), 0);
        assert_eq!(events.fold(20, 10), Some(200));
        assert_eq!(events.event_of(10), Some(100));
        assert_eq!(events.event_of(20), None);
        assert_eq!(events.len(), 1);
        assert_eq!(events.evict_before(1), 1);
        assert!(events.is_empty());
    }
}
