//! Stage 3 of the pipeline: the near-duplicate detector.
//!
//! Given a new entry's [`Features`], finds the stored entries of other feeds
//! within the grouping window that are copies of the same story: the
//! [`index`] proposes candidates by shared words, [`similarity`] verifies
//! each one and keeps the figures that decided, and [`placement`] decides
//! where the entry goes (join a story, fold others into it, or start one);
//! a new story then joins or starts an event ([`events`]). The index keeps
//! in-window entries' features [`packed`] in one allocation each, read
//! through [`FeatureView`] like a new entry's: all of them, or, given a
//! [`FeatureSource`], the uncommitted ones and a bounded cache of the rest
//! ([`resident`]).
//! The detector holds no SQL and does no I/O but through that source; the
//! store's writer owns it, feeds it stored entries and applies its
//! decisions in the same transaction as the insert.

pub mod events;
pub mod features;
pub mod index;
pub mod outlet;
pub mod packed;
pub mod placement;
pub mod resident;
pub mod similarity;
pub mod tokens;

use serde::{Deserialize, Serialize};

pub use events::{unit_top, EventPlacement, Events, EventsConfig, StoryVector};
pub use features::{FeatureView, Features};
pub use index::{outlet_key, CandidateIndex, Indexed};
pub use packed::Packed;
pub use placement::Placement;
pub use resident::{FeatureSource, SourceError, CACHED_FEATURES};
pub use similarity::{Pair, Rule, Similarity};

/// The config's `[grouping]` table: when two entries are copies of one
/// story (see [`similarity`] for what each figure measures and why).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GroupingConfig {
    /// How far apart (in hours) two copies of one story may be dated.
    pub window_hours: u64,
    /// Most candidates verified per new entry.
    pub max_candidates: usize,
    /// Weighted narrative containment that alone makes two entries copies.
    pub containment: f64,
    /// The same for a short text (under 30 narrative shingles).
    pub containment_short: f64,
    /// Moderate containment: a copy only with agreeing names and headline
    /// or sentences.
    pub containment_mid: f64,
    /// Headline agreement (weighted share of the shorter headline's words)
    /// that, with moderate containment and agreeing names, makes a copy.
    pub title: f64,
    /// Share of the shorter text's sentences with a reworded counterpart
    /// that, with moderate containment and agreeing names, makes a copy.
    pub alignment: f64,
    /// Share of each lede's names the other text must carry for moderate
    /// containment to count.
    pub names: f64,
    /// For a short text with moderate containment: headline agreement and
    /// sentence alignment both at least this.
    pub short_agree: f64,
    /// How many window entries' features the store's writer keeps in
    /// memory (besides those of its open transaction); it reads the
    /// others back from the store when it needs them (see [`resident`]).
    /// Memory, not grouping: any value groups the same.
    pub features_in_memory: usize,
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig {
            window_hours: 72,
            max_candidates: 24,
            containment: 0.5,
            containment_short: 0.6,
            containment_mid: 0.3,
            title: 0.6,
            alignment: 0.6,
            names: 0.5,
            short_agree: 0.8,
            features_in_memory: CACHED_FEATURES,
        }
    }
}

/// Both levels' settings: `[grouping]` (stories) and `[events]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// When entries are copies of one story.
    pub stories: GroupingConfig,
    /// When stories report one event.
    pub events: EventsConfig,
}

impl From<GroupingConfig> for Settings {
    fn from(stories: GroupingConfig) -> Settings {
        Settings {
            stories,
            events: EventsConfig::default(),
        }
    }
}

impl GroupingConfig {
    /// The window in seconds.
    pub fn window_seconds(&self) -> i64 {
        i64::try_from(self.window_hours.saturating_mul(3600)).unwrap_or(i64::MAX)
    }
}

/// A verified match of a new entry against an indexed one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Match {
    /// `entries.id` of the matched entry.
    pub entry_id: i64,
    /// Its story.
    pub story_id: i64,
    /// The figures.
    pub similarity: Similarity,
    /// The rule that decided.
    pub rule: Rule,
}

/// What the detector found for a new entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// The verified matches, strongest first (then nearest in time, then
    /// by entry id, so grouping is deterministic).
    pub matches: Vec<Match>,
    /// Per story among the candidates, the most text the entry shares with
    /// one of its entries (see [`similarity::shared_text`]): evidence for
    /// the event level.
    pub shared_text: Vec<(i64, f64)>,
}

/// What the detector needs to know of a new entry besides its features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Its date (Unix seconds).
    pub time: i64,
    /// Its outlet (see [`index::outlet_key`]).
    pub outlet: i64,
    /// Its canonical link's hash (0: none).
    pub link: u64,
}

/// The detector: the candidate index, the events of the window, and the
/// decision settings.
#[derive(Debug)]
pub struct Detector {
    config: GroupingConfig,
    events_config: EventsConfig,
    /// Entries of the window.
    index: CandidateIndex,
    /// Events of the window.
    events: Events,
}

impl Detector {
    /// A detector with an empty index.
    pub fn new(settings: impl Into<Settings>) -> Self {
        let Settings { stories, events } = settings.into();
        let mut index = CandidateIndex::new();
        index.set_lookup_window(stories.window_seconds());
        Detector {
            config: stories,
            events_config: events,
            index,
            events: Events::new(),
        }
    }

    /// The story-level settings.
    pub fn config(&self) -> &GroupingConfig {
        &self.config
    }

    /// The event-level settings.
    pub fn events_config(&self) -> &EventsConfig {
        &self.events_config
    }

    /// The candidate index, read-only (for benchmarks and diagnostics).
    pub fn index(&self) -> &CandidateIndex {
        &self.index
    }

    /// The events of the window, read-only.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// How many entries the index holds.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the index holds no entry.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether the index holds this entry.
    pub fn contains(&self, id: i64) -> bool {
        self.index.contains(id)
    }

    /// The indexed entry with this id, with its features (see
    /// [`CandidateIndex::get`]).
    pub fn get(&self, id: i64) -> Option<Indexed<std::sync::Arc<Packed>>> {
        self.index.get(id)
    }

    /// Reads indexed entries' features back through `source` instead of
    /// keeping them all in memory (see [`CandidateIndex::set_feature_source`]).
    pub fn set_feature_source(&mut self, source: Box<dyn FeatureSource>, cached: usize) {
        self.index.set_feature_source(source, cached);
    }

    /// Every entry inserted so far is committed to the store (see
    /// [`CandidateIndex::committed`]).
    pub fn committed(&mut self) {
        self.index.committed();
    }

    /// Adds (or replaces) an entry of the window.
    pub fn insert(&mut self, id: i64, entry: Indexed) {
        self.index.insert(id, entry);
    }

    /// Empties the index and the events.
    pub fn clear(&mut self) {
        self.index = self.index.emptied();
        self.events = Events::new();
    }

    /// Removes every entry dated before `time`, and the events whose
    /// stories all are; returns how many entries.
    pub fn evict_before(&mut self, time: i64) -> usize {
        self.events.evict_before(time);
        self.index.evict_before(time)
    }

    /// Forgets the events whose latest story is dated before `time` and
    /// that nothing joined since the previous call (the index keeps their
    /// entries); returns how many.
    pub fn forget_events_before(&mut self, time: i64) -> usize {
        self.events.forget_idle_before(time)
    }

    /// Removes an entry from the index (its words stop counting), if it is
    /// there.
    pub fn remove(&mut self, id: i64) -> Option<Indexed<Option<std::sync::Arc<Packed>>>> {
        self.index.remove(id)
    }

    /// Forgets a story left without entries: its event loses it. Returns
    /// the event if that left it without stories (and forgotten).
    pub fn forget_story(&mut self, story: i64) -> Option<i64> {
        self.events.fold(story, story)
    }

    /// Records that story `from` was folded into story `to`; returns
    /// `from`'s event if that left it without stories.
    pub fn merge_story(&mut self, from: i64, to: i64) -> Option<i64> {
        self.index.merge_story(from, to);
        self.events.fold(from, to)
    }

    /// The figures for two entries `gap_seconds` apart, words weighted by
    /// their rarity among the indexed entries.
    pub fn compare(&self, a: &Features, b: &Features, gap_seconds: i64) -> Similarity {
        similarity::compare(a, b, gap_seconds, &self.index)
    }

    /// The rule that makes two entries copies, if any (fills in the
    /// alignment when a rule needs it).
    pub fn decide(
        &self,
        a: &impl FeatureView,
        b: &impl FeatureView,
        s: &mut Similarity,
        pair: Pair,
    ) -> Option<Rule> {
        similarity::decide(a, b, s, pair, &self.index, &self.config)
    }

    /// Where an entry from `arrival.outlet` with these matches goes (see
    /// [`placement::place`]).
    pub fn place(&self, matches: &[Match], arrival: Arrival) -> Placement {
        placement::place(matches, arrival, |story| self.index.story_members(story))
    }

    /// The verified matches of a new entry, and the text it shares with
    /// each candidate story.
    pub fn matches(&self, features: &Features, arrival: Arrival) -> Found {
        let window = self.config.window_seconds();
        let mut found = Found::default();
        let mut ranked: Vec<(f64, i64, Match)> = Vec::new();
        // The new entry's weights, once for all its candidates.
        let weights = similarity::Weights::of(features, &self.index);
        for id in self
            .index
            .candidates(features, arrival.time, window, self.config.max_candidates)
        {
            let Some((other, sums)) = self.index.get_weighted(id) else {
                continue;
            };
            let gap = arrival.time - other.time;
            let mut s = similarity::compare_weighted(
                features,
                &weights,
                &*other.features,
                sums,
                gap,
                &self.index,
            );
            let text = similarity::shared_text_weighted(features, &weights, &*other.features, sums);
            match found
                .shared_text
                .iter_mut()
                .find(|(st, _)| *st == other.story_id)
            {
                Some((_, t)) => *t = t.max(text),
                None => found.shared_text.push((other.story_id, text)),
            }
            let pair = Pair {
                same_outlet: other.outlet == arrival.outlet,
                same_link: arrival.link != 0 && other.link == arrival.link,
            };
            if let Some(rule) = self.decide(features, &*other.features, &mut s, pair) {
                ranked.push((
                    similarity::strength(&s),
                    gap.abs(),
                    Match {
                        entry_id: id,
                        story_id: other.story_id,
                        similarity: s,
                        rule,
                    },
                ));
            }
        }
        // An entry without text is the article its link names.
        if let Some(id) = self.index.by_link(arrival.link, arrival.time, window) {
            if let Some(other) = self.index.get(id) {
                if !ranked.iter().any(|(_, _, m)| m.entry_id == id)
                    && (features.shingles.is_empty() || other.features.shingles().is_empty())
                {
                    ranked.push((
                        2.0,
                        0,
                        Match {
                            entry_id: id,
                            story_id: other.story_id,
                            similarity: Similarity {
                                gap_seconds: (arrival.time - other.time).abs(),
                                ..Similarity::default()
                            },
                            rule: Rule::SameLink,
                        },
                    ));
                }
            }
        }
        ranked.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.1.cmp(&b.1))
                .then(a.2.entry_id.cmp(&b.2.entry_id))
        });
        found.matches = ranked.into_iter().map(|(_, _, m)| m).collect();
        found.shared_text.sort_by_key(|(s, _)| *s);
        found
    }

    /// The event vector of an entry: its event terms weighted by their
    /// rarity, the strongest kept, at unit length.
    pub fn event_vector(&self, features: &impl FeatureView) -> events::Vector {
        use similarity::Rarity;
        unit_top(
            features
                .event_terms()
                .map(|(k, boost)| (k, boost * self.index.term(k) as f32)),
            self.events_config.terms,
        )
    }

    /// An entry's event terms, unweighted, at unit length: what an event
    /// keeps (weighted when compared, see [`events`]).
    pub fn event_terms(&self, features: &impl FeatureView) -> events::Vector {
        unit_top(features.event_terms(), usize::MAX)
    }

    /// The rarity weight of event terms now.
    fn term_weight(&self) -> impl Fn(u32) -> f32 + '_ {
        use similarity::Rarity;
        |k| self.index.term(k) as f32
    }

    /// What the event level keeps of a story's first entry.
    pub fn story_vector(&self, features: &impl FeatureView) -> StoryVector {
        let mut vector = self.event_terms(features);
        // Kept as long as the story is in the window: not the room the
        // terms were gathered in.
        vector.shrink_to_fit();
        StoryVector {
            vector,
            numbers: features.numbers().to_vec(),
            report: similarity::figures_report(features),
        }
    }

    /// Decides the event of a new story (see [`events::Events::place`]).
    pub fn place_event(
        &self,
        story: &StoryVector,
        time: i64,
        shared_text: &[(i64, f64)],
    ) -> EventPlacement {
        self.events.place(
            story,
            time,
            shared_text,
            &self.events_config,
            &self.term_weight(),
        )
    }

    /// Records that a story belongs to an event.
    pub fn add_story_to_event(&mut self, event: i64, story: i64, vector: StoryVector, time: i64) {
        self.events.add_story(event, story, vector, time);
    }

    /// Records that an entry joined a story of an event.
    pub fn add_entry_to_event(&mut self, event: i64, vector: &[(u32, f32)], time: i64) {
        self.events.add_entry(event, vector, time);
    }

    /// Merges into one the events that `event` (just changed) has become
    /// one with (see [`events::Events::mergeable`]); the older event (the
    /// lower id) keeps its id. Returns each merge as (from, into, cosine),
    /// in order.
    pub fn merge_events(&mut self, event: i64) -> Vec<(i64, i64, f64)> {
        let mut merges = Vec::new();
        let mut current = event;
        // Each merge removes an event, so this ends; the bound is a guard.
        for _ in 0..64 {
            let Some((other, cosine)) = self
                .events
                .mergeable(current, &self.events_config, &self.term_weight())
                .into_iter()
                .next()
            else {
                break;
            };
            let (from, into) = (current.max(other), current.min(other));
            self.events.merge(from, into);
            merges.push((from, into, cosine));
            current = into;
        }
        merges
    }

    /// The event of a story, if the window knows it.
    pub fn event_of(&self, story: i64) -> Option<i64> {
        self.events.event_of(story)
    }
}

#[cfg(test)]
mod tests {
    use super::features::extract;
    use super::*;

    const TEXT: &str = "Dock workers in Rotterdam walked out on Monday over pay, halting container traffic at Europe's biggest port for the first time since 2002.\nThe union said the strike would last 48 hours unless the port operators improved their offer of a 3 percent rise.\nShipping lines diverted several vessels to Antwerp and Hamburg, a port spokesman said.";

    fn entry(outlet: i64, story: i64, link: u64, title: &str, text: &str) -> Indexed {
        Indexed {
            outlet,
            link,
            story_id: story,
            time: 0,
            features: extract(title, text),
        }
    }

    fn arrival(outlet: i64, link: u64) -> Arrival {
        Arrival {
            time: 60,
            outlet,
            link,
        }
    }

    #[test]
    fn copies_from_other_outlets_match_and_one_outlet_does_not_copy_itself() {
        let mut d = Detector::new(GroupingConfig::default());
        d.insert(1, entry(1, 10, 11, "Rotterdam dock strike", TEXT));
        d.insert(
            2,
            entry(
                2,
                20,
                22,
                "Gold",
                "Gold fell in early trade in London on heavy selling by funds.",
            ),
        );
        let copy = extract("Dock strike halts Rotterdam", TEXT);
        let found = d.matches(&copy, arrival(3, 33));
        assert_eq!(found.matches.len(), 1, "{found:?}");
        assert_eq!(found.matches[0].story_id, 10);
        assert!(found.shared_text.iter().any(|(s, t)| *s == 10 && *t > 0.9));
        // The same outlet's new article reusing the text is not a copy...
        assert!(d.matches(&copy, arrival(1, 99)).matches.is_empty());
        // ... unless it is the same article (its link).
        assert_eq!(d.matches(&copy, arrival(1, 11)).matches.len(), 1);
    }

    #[test]
    fn an_entry_without_text_joins_the_article_its_link_names() {
        let mut d = Detector::new(GroupingConfig::default());
        d.insert(1, entry(1, 10, 11, "Rotterdam dock strike", ""));
        let bare = extract("Rotterdam dock strike", "");
        let found = d.matches(&bare, arrival(1, 11));
        assert_eq!(
            found.matches.first().map(|m| (m.story_id, m.rule)),
            Some((10, Rule::SameLink))
        );
        assert!(d.matches(&bare, arrival(2, 12)).matches.is_empty());
    }
}
