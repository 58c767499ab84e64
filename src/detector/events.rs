//! The event level: stories that different newsrooms wrote independently
//! about one happening, grouped into one event (pure, no I/O).
//!
//! Each story belongs to exactly one event. A new story is compared with
//! the events of its time (within `events.window_hours` of an event's
//! stories) by the cosine of its *event vector* with the event's centroid:
//! the headline and lede words of its first entry, with names and figures
//! (and headline words) counting more, weighted by their rarity among the
//! indexed entries, the strongest 64 kept. Events keep their entries'
//! *unweighted* terms and are weighted when compared, with the rarities
//! of that moment on both sides: an event's first story does not weigh its
//! words differently from its last because fewer entries had been seen
//! when it arrived, which keeps the grouping close to independent of the
//! order the entries come in. Text shared with one of
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
    /// Cosine of two events' centroids from which they are one event (0
    /// turns merging off): the stories of a happening that arrived before
    /// what links them started events of their own.
    pub merge: f64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            join: 0.25,
            window_hours: 72,
            shared_text: 0.1,
            shared_text_bonus: 0.1,
            terms: 64,
            merge: 0.4,
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

/// The rarity weight of an event term at the moment of a comparison.
pub trait TermWeight {
    /// The weight of `term`.
    fn weight(&self, term: u32) -> f32;
}

impl<F: Fn(u32) -> f32> TermWeight for F {
    fn weight(&self, term: u32) -> f32 {
        self(term)
    }
}

/// `terms` (unweighted) weighted by `weight`, the `cap` strongest kept,
/// at unit length.
pub fn weighted(terms: &[(u32, f32)], weight: &impl TermWeight, cap: usize) -> Vector {
    unit_top(terms.iter().map(|(k, b)| (*k, b * weight.weight(*k))), cap)
}

/// The `cap` strongest of `weights` (ties by term), scaled to unit length
/// and sorted by term.
pub fn unit_top(weights: impl IntoIterator<Item = (u32, f32)>, cap: usize) -> Vector {
    let mut v: Vec<(u32, f32)> = weights.into_iter().filter(|(_, w)| *w > 0.0).collect();
    // The order is total (weight, then term), so selecting the strongest
    // `cap` first keeps exactly the terms a full sort would.
    let stronger = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if v.len() > cap && cap > 0 {
        v.select_nth_unstable_by(cap - 1, stronger);
    }
    v.truncate(cap);
    // In that order, so the norm sums the same numbers in the same order.
    v.sort_unstable_by(stronger);
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in &mut v {
            *w /= norm;
        }
    }
    v.sort_unstable_by_key(|(k, _)| *k);
    v
}

/// The events whose sum carries a term of `vector` (a unit vector) and
/// whose centroid's cosine with `vector` may reach `min`, by id, each with
/// the most that cosine can be: the length of `vector` on the terms they
/// share (Cauchy-Schwarz; the centroid is a unit vector whose terms are
/// among the sum's). The others can be passed over without computing
/// their centroid.
fn cosine_bounds(
    vector: &[(u32, f32)],
    by_term: &HashMap<u32, BTreeSet<i64>>,
    min: f64,
) -> Vec<(i64, f64)> {
    let mut mass: HashMap<i64, f64> = HashMap::new();
    for (k, w) in vector {
        for id in by_term.get(k).into_iter().flatten() {
            *mass.entry(*id).or_default() += f64::from(*w) * f64::from(*w);
        }
    }
    // A margin for rounding: the bound must never fall under the cosine.
    let mut found: Vec<(i64, f64)> = mass
        .into_iter()
        .map(|(id, m)| (id, m.sqrt() + 1e-6))
        .filter(|(_, bound)| *bound >= min)
        .collect();
    found.sort_unstable_by_key(|(id, _)| *id);
    found
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
    /// The event terms of the story's first entry, unweighted, at unit
    /// length, sorted by term.
    pub vector: Vector,
    /// The figures of the story's first entry.
    pub numbers: Vec<u32>,
    /// Whether that entry is a figures report.
    pub report: bool,
}

#[derive(Debug, Clone, Default)]
struct Event {
    /// The sum of the (unweighted) term vectors of its entries.
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

    fn centroid(&self, weight: &impl TermWeight, cap: usize) -> Vector {
        unit_top(
            self.sum.iter().map(|(k, w)| (*k, w * weight.weight(*k))),
            cap,
        )
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
    /// terms and figures), dated `time`, sharing `shared_text[story]` of
    /// its text with the stories it was compared with; terms weigh what
    /// `weight` says.
    pub fn place(
        &self,
        story: &StoryVector,
        time: i64,
        shared_text: &[(i64, f64)],
        config: &EventsConfig,
        weight: &impl TermWeight,
    ) -> EventPlacement {
        let window = config.window_seconds();
        let vector = weighted(&story.vector, weight, config.terms);
        let mut best: Option<(i64, f64, f64)> = None;
        for (id, bound) in cosine_bounds(
            &vector,
            &self.by_term,
            config.join - config.shared_text_bonus,
        ) {
            let Some(event) = self.events.get(&id) else {
                continue;
            };
            if !event.near(time, window) {
                continue;
            }
            let text = shared_text
                .iter()
                .filter(|(s, _)| event.stories.contains(s))
                .map(|(_, t)| *t)
                .fold(0.0, f64::max);
            let bonus = if text >= config.shared_text {
                config.shared_text_bonus
            } else {
                0.0
            };
            // An event that cannot reach the threshold cannot be joined,
            // and cannot be the best of those that can.
            if bound + bonus < config.join {
                continue;
            }
            let similarity = cosine(&vector, &event.centroid(weight, config.terms)) + bonus;
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
            .filter_map(|s| {
                let theirs = weighted(&self.stories.get(s)?.vector, weight, config.terms);
                Some((*s, cosine(&vector, &theirs)))
            })
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

    /// A figures report joins an event holding figures reports only if one
    /// of them carries its figures (results of two companies on one
    /// template are two happenings); any story joins an event made only of
    /// figures reports only if it carries the figures of one of them. A
    /// report among write-ups (a tally in a story about a flood) decides
    /// nothing for the write-ups that join later.
    fn figures_agree(&self, event: i64, story: &StoryVector) -> bool {
        let members: Vec<&StoryVector> = self.events[&event]
            .stories
            .iter()
            .filter_map(|s| self.stories.get(s))
            .collect();
        let reports: Vec<&&StoryVector> = members.iter().filter(|m| m.report).collect();
        let applies = if story.report {
            !reports.is_empty()
        } else {
            !members.is_empty() && reports.len() == members.len()
        };
        !applies
            || reports.iter().any(|theirs| {
                let few = story.numbers.len().min(theirs.numbers.len());
                let shared = shared_count(&story.numbers, &theirs.numbers);
                few > 0 && shared as f64 >= FIGURES_SHARE * few as f64
            })
    }

    /// The events near `event` (in time) whose centroid is at least
    /// `config.merge` from its centroid and whose figures agree, with that
    /// cosine, most similar first (ties by id).
    pub fn mergeable(
        &self,
        event: i64,
        config: &EventsConfig,
        weight: &impl TermWeight,
    ) -> Vec<(i64, f64)> {
        if config.merge <= 0.0 {
            return Vec::new();
        }
        let Some(e) = self.events.get(&event) else {
            return Vec::new();
        };
        let window = config.window_seconds();
        let centroid = e.centroid(weight, config.terms);
        let mut found: Vec<(i64, f64)> = cosine_bounds(&centroid, &self.by_term, config.merge)
            .into_iter()
            .filter(|(id, bound)| *id != event && *bound >= config.merge)
            .filter_map(|(id, _)| {
                let other = self.events.get(&id)?;
                let overlaps = other.tmin.saturating_sub(window) <= e.tmax
                    && e.tmin <= other.tmax.saturating_add(window);
                if !overlaps {
                    return None;
                }
                let c = cosine(&centroid, &other.centroid(weight, config.terms));
                (c >= config.merge && self.events_figures_agree(event, id)).then_some((id, c))
            })
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        found
    }

    /// Two events of figures reports are one only if a report of one
    /// carries the figures of a report of the other.
    fn events_figures_agree(&self, a: i64, b: i64) -> bool {
        let reports = |e: i64| -> Vec<&StoryVector> {
            self.events[&e]
                .stories
                .iter()
                .filter_map(|s| self.stories.get(s))
                .filter(|v| v.report)
                .collect()
        };
        let (ra, rb) = (reports(a), reports(b));
        if ra.is_empty() || rb.is_empty() {
            return true;
        }
        ra.iter().any(|x| {
            rb.iter().any(|y| {
                let few = x.numbers.len().min(y.numbers.len());
                few > 0 && shared_count(&x.numbers, &y.numbers) as f64 >= FIGURES_SHARE * few as f64
            })
        })
    }

    /// Moves every story of event `from` into event `into` (`from` is
    /// forgotten).
    pub fn merge(&mut self, from: i64, into: i64) {
        if from == into || !self.events.contains_key(&into) {
            return;
        }
        let Some(e) = self.events.remove(&from) else {
            return;
        };
        for k in e.sum.keys() {
            if let Some(set) = self.by_term.get_mut(k) {
                set.remove(&from);
                set.insert(into);
            }
        }
        for s in &e.stories {
            self.story_event.insert(*s, into);
        }
        if let Some(target) = self.events.get_mut(&into) {
            for (k, w) in e.sum {
                *target.sum.entry(k).or_default() += w;
            }
            target.tmin = target.tmin.min(e.tmin);
            target.tmax = target.tmax.max(e.tmax);
            target.stories.extend(e.stories);
        }
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

    fn uniform(_: u32) -> f32 {
        1.0
    }

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
            events.place(&same, 3_600, &[], &config, &uniform),
            EventPlacement::Join {
                event: 100,
                closest: Some((10, _)),
                ..
            }
        ));
        let other = story(&[(7, 1.0), (8, 1.0)], &[], false);
        assert_eq!(
            events.place(&other, 3_600, &[], &config, &uniform),
            EventPlacement::Start
        );
        // Too late: outside the window of the event's stories.
        assert_eq!(
            events.place(&same, 10 * 86_400, &[], &config, &uniform),
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
        let alone = events.place(&weak, 0, &[], &config, &uniform);
        assert_eq!(alone, EventPlacement::Start);
        let with_text = events.place(&weak, 0, &[(10, 0.3)], &config, &uniform);
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
            events.place(&other_tally, 0, &[], &config, &uniform),
            EventPlacement::Start
        );
        let same_tally = story(&terms, &[11, 12, 24], true);
        assert!(matches!(
            events.place(&same_tally, 0, &[], &config, &uniform),
            EventPlacement::Join { event: 100, .. }
        ));
        // A write-up without those figures does not join an event made
        // only of reports...
        let write_up = story(&terms, &[], false);
        assert_eq!(
            events.place(&write_up, 0, &[], &config, &uniform),
            EventPlacement::Start
        );
        // ... but once the event holds a write-up, a report in it (a
        // tally in a story about a flood) no longer stands in the way.
        events.add_story(100, 11, story(&terms, &[], false), 0);
        assert!(matches!(
            events.place(&write_up, 0, &[], &config, &uniform),
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

    #[test]
    fn events_that_come_to_resemble_each_other_merge_into_the_older() {
        let config = EventsConfig::default();
        let mut events = Events::new();
        events.add_story(1, 10, story(&[(1, 3.0), (2, 2.0)], &[], false), 0);
        events.add_story(2, 20, story(&[(3, 3.0), (4, 2.0)], &[], false), 0);
        events.add_story(3, 30, story(&[(8, 1.0), (9, 1.0)], &[], false), 0);
        assert!(events.mergeable(2, &config, &uniform).is_empty());
        // A story in event 2 that also tells event 1's side of it.
        events.add_story(2, 21, story(&[(1, 3.0), (2, 2.0), (3, 1.0)], &[], false), 0);
        events.add_entry(2, &story(&[(1, 3.0), (2, 2.0)], &[], false).vector, 0);
        let found = events.mergeable(2, &config, &uniform);
        assert_eq!(found.iter().map(|(e, _)| *e).collect::<Vec<_>>(), [1]);
        events.merge(2, 1);
        assert_eq!(events.len(), 2);
        assert_eq!(events.event_of(20), Some(1));
        assert_eq!(events.event_of(21), Some(1));
        assert_eq!(events.event_of(30), Some(3));
        // Too far apart in time: never merged.
        events.add_story(4, 40, story(&[(1, 3.0), (2, 2.0)], &[], false), 30 * 86_400);
        assert!(events.mergeable(4, &config, &uniform).is_empty());
        // Off.
        let off = EventsConfig {
            merge: 0.0,
            ..EventsConfig::default()
        };
        events.add_story(5, 50, story(&[(8, 1.0), (9, 1.0)], &[], false), 0);
        assert!(events.mergeable(5, &off, &uniform).is_empty());
        assert!(!events.mergeable(5, &config, &uniform).is_empty());
    }
}
