//! Stage 3 of the pipeline: the near-duplicate detector.
//!
//! Given a new entry's [`Features`], finds the stored entries of other feeds
//! within the grouping window that are copies of the same story: the
//! [`index`] proposes candidates by shared words, [`similarity`] verifies
//! each one and keeps the figures that decided, and [`placement`] decides
//! where the entry goes (join a story, fold others into it, or start one).
//! The detector does no I/O and holds no SQL; the store's writer owns it,
//! feeds it stored entries and applies its decisions in the same
//! transaction as the insert.

pub mod features;
pub mod index;
pub mod placement;
pub mod similarity;

use serde::{Deserialize, Serialize};

pub use features::Features;
pub use index::{CandidateIndex, Indexed};
pub use placement::Placement;
pub use similarity::{Rule, Similarity};

/// The config's `[grouping]` table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GroupingConfig {
    /// How far apart (in hours) two copies of one story may be dated.
    pub window_hours: u64,
    /// Most candidates verified per new entry.
    pub max_candidates: usize,
    /// Containment of the shorter text's word pairs in the longer one's
    /// that alone makes two entries copies.
    pub containment: f64,
    /// Lower containment that suffices when the titles agree.
    pub containment_with_title: f64,
    /// Title word overlap (of the shorter title) that counts as agreeing.
    pub title: f64,
    /// Fewest word pairs the shorter text needs before containment alone may decide.
    pub min_shingles: usize,
    /// Share of the shorter text's figures the longer one must also carry.
    pub numbers: f64,
    /// Share of each text's lede the other must hold for containment to decide.
    pub lede: f64,
    /// SimHash Hamming distance at or below which texts are near-identical.
    pub hamming: u32,
}

impl Default for GroupingConfig {
    fn default() -> Self {
        GroupingConfig {
            window_hours: 72,
            max_candidates: 24,
            containment: 0.5,
            containment_with_title: 0.25,
            title: 0.6,
            min_shingles: 8,
            numbers: 0.75,
            lede: 0.3,
            hamming: 3,
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

/// The detector: the candidate index plus the decision settings.
#[derive(Debug)]
pub struct Detector {
    config: GroupingConfig,
    /// Entries of the window.
    index: CandidateIndex,
}

impl Detector {
    /// A detector with an empty index.
    pub fn new(config: GroupingConfig) -> Self {
        Detector {
            config,
            index: CandidateIndex::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &GroupingConfig {
        &self.config
    }

    /// The candidate index, read-only (for benchmarks and diagnostics).
    pub fn index(&self) -> &CandidateIndex {
        &self.index
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
        self.index.get(id).is_some()
    }

    /// Adds (or replaces) an entry of the window.
    pub fn insert(&mut self, id: i64, entry: Indexed) {
        self.index.insert(id, entry);
    }

    /// Empties the index.
    pub fn clear(&mut self) {
        self.index = CandidateIndex::new();
    }

    /// Removes every entry dated before `time`; returns how many.
    pub fn evict_before(&mut self, time: i64) -> usize {
        self.index.evict_before(time)
    }

    /// Records that story `from` was folded into story `to`.
    pub fn merge_story(&mut self, from: i64, to: i64) {
        self.index.merge_story(from, to);
    }

    /// The feeds of the indexed entries of a story (one per entry).
    pub fn story_feeds(&self, story: i64) -> impl Iterator<Item = i64> + '_ {
        self.index.story_feeds(story)
    }

    /// The figures for two entries `gap_seconds` apart, words weighted by
    /// their rarity among the indexed entries.
    pub fn compare(&self, a: &Features, b: &Features, gap_seconds: i64) -> Similarity {
        similarity::compare(a, b, gap_seconds, &self.index)
    }

    /// The rule that makes these figures copies, if any.
    pub fn decide(&self, s: &Similarity) -> Option<Rule> {
        similarity::decide(s, &self.config)
    }

    /// Where an entry with these matches goes (see [`placement::place`]).
    pub fn place(&self, matches: &[Match], feed_id: i64) -> Placement {
        placement::place(matches, feed_id, |story| self.index.story_feeds(story))
    }

    /// The verified matches of an entry of `feed_id` dated `time`, strongest
    /// first (ties broken by entry id, so grouping is deterministic).
    pub fn matches(&self, features: &Features, time: i64, feed_id: i64) -> Vec<Match> {
        let window = self.config.window_seconds();
        let query = similarity::Query::lazy(features);
        let mut out: Vec<Match> = self
            .index
            .candidates(features, time, window, feed_id, self.config.max_candidates)
            .into_iter()
            .filter_map(|id| {
                let other = self.index.get(id)?;
                let (s, rule) = similarity::verify(
                    &query,
                    &other.features,
                    time - other.time,
                    &self.index,
                    &self.config,
                )?;
                Some(Match {
                    entry_id: id,
                    story_id: other.story_id,
                    similarity: s,
                    rule,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            similarity::strength(&b.similarity)
                .total_cmp(&similarity::strength(&a.similarity))
                .then(a.entry_id.cmp(&b.entry_id))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::features::extract;
    use super::*;

    /// Texts that share more or less with each other: sentences drawn from
    /// one pool, so pairs range from unrelated to copies.
    fn texts() -> Vec<(String, String)> {
        let pool = [
            "Oil prices rose sharply on Monday after the cartel agreed to cut output by 1.2 million barrels a day.",
            "The central bank left its benchmark rate unchanged at 4.5 percent, citing sticky services inflation.",
            "Dock workers in Rotterdam walked out over pay, halting container traffic at Europe's biggest port.",
            "Wheat futures fell in Chicago as rain eased worries about the crop in the southern plains.",
            "The company said quarterly net profit rose 12 percent to 310 million dollars on higher margins.",
            "Officials said talks would resume next week in Geneva, with both sides sending senior envoys.",
            "Analysts said the move was widely expected and would do little to change the outlook for growth.",
            "Shares of the group jumped 8 percent in early trade before paring gains in the afternoon.",
        ];
        let mut out = Vec::new();
        let mut seed: u64 = 7;
        for i in 0..60 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = 1 + (seed >> 60) as usize % 5;
            let body: Vec<&str> = (0..n)
                .map(|k| pool[((seed >> (8 * k)) as usize + i) % pool.len()])
                .collect();
            out.push((
                format!("Story {} {}", i % 7, pool[i % pool.len()]),
                body.join("\n"),
            ));
        }
        out
    }

    #[test]
    fn verify_gives_the_verdict_of_the_full_figures() {
        let texts = texts();
        let config = GroupingConfig::default();
        let mut index = CandidateIndex::new();
        for (i, (title, text)) in texts.iter().enumerate().take(30) {
            index.insert(
                i as i64,
                Indexed {
                    feed_id: i as i64,
                    story_id: i as i64,
                    time: 0,
                    features: extract(title, text),
                },
            );
        }
        let features: Vec<Features> = texts.iter().map(|(t, x)| extract(t, x)).collect();
        let (mut matched, mut pairs) = (0, 0);
        for a in &features {
            let query = similarity::Query::lazy(a);
            for b in &features {
                let full = similarity::compare(a, b, 0, &index);
                let want = similarity::decide(&full, &config).map(|rule| (full, rule));
                let got = similarity::verify(&query, b, 0, &index, &config);
                assert_eq!(got, want, "{a:?} vs {b:?}");
                pairs += 1;
                matched += usize::from(want.is_some());
            }
        }
        // The pairs cover both verdicts.
        assert!(matched > 60 && matched < pairs / 2, "{matched} of {pairs}");
    }
}
