//! The candidate index of the near-duplicate detector: finds the stored
//! entries that share words with a new one, without scanning them all.
//!
//! An inverted index from word-pair and title-word hashes to the entries
//! that carry them, plus four 16-bit SimHash bands for near-identical
//! texts. It holds the entries of the grouping window around what is being
//! ingested; the writer loads older days from the store on demand and
//! evicts entries that fall far behind, so its memory follows the window,
//! not the whole history. Lists of words too common to discriminate are
//! skipped at lookup.

use std::collections::HashMap as StdHashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::features::Features;

/// A fast hasher for keys that are already hashes or row ids (Fx-style
/// multiply); the index is not exposed to keys an attacker picks freely
/// (they are hashes of text), and lookups dominate grouping time.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }
}

type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// How many of a query's word pairs are looked up besides its lede: the
/// ones with the smallest hashes, a consistent sample of the text.
const QUERY_SAMPLE: usize = 64;

/// Posting lists longer than this are too common to point anywhere.
const MAX_POSTINGS: usize = 1_000;

/// One indexed entry.
#[derive(Debug, Clone)]
pub struct Indexed {
    /// `feeds.id` of the entry's feed.
    pub feed_id: i64,
    /// `stories.id` the entry belongs to.
    pub story_id: i64,
    /// The entry's date (Unix seconds).
    pub time: i64,
    /// Its features.
    pub features: Features,
}

/// Inverted index over the entries of the grouping window.
#[derive(Debug, Default)]
pub struct CandidateIndex {
    entries: HashMap<i64, Indexed>,
    postings: HashMap<u32, Vec<i64>>,
    titles: HashMap<u32, Vec<i64>>,
    bands: [HashMap<u16, Vec<i64>>; 4],
    members: HashMap<i64, Vec<i64>>,
    /// Per story, the feed of each indexed entry (a multiset).
    feeds: HashMap<i64, Vec<i64>>,
}

fn band(simhash: u64, i: usize) -> u16 {
    (simhash >> (16 * i)) as u16
}

impl CandidateIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The indexed entry with this id.
    pub fn get(&self, id: i64) -> Option<&Indexed> {
        self.entries.get(&id)
    }

    /// Adds (or replaces) an entry.
    pub fn insert(&mut self, id: i64, entry: Indexed) {
        self.remove(id);
        for key in &entry.features.shingles {
            self.postings.entry(*key).or_default().push(id);
        }
        for key in &entry.features.title {
            self.titles.entry(*key).or_default().push(id);
        }
        for (i, table) in self.bands.iter_mut().enumerate() {
            table
                .entry(band(entry.features.simhash, i))
                .or_default()
                .push(id);
        }
        self.members.entry(entry.story_id).or_default().push(id);
        self.feeds
            .entry(entry.story_id)
            .or_default()
            .push(entry.feed_id);
        self.entries.insert(id, entry);
    }

    /// Removes an entry, if present.
    pub fn remove(&mut self, id: i64) -> Option<Indexed> {
        let old = self.entries.remove(&id)?;
        fn drop_from<K: std::hash::Hash + Eq + Copy>(
            map: &mut HashMap<K, Vec<i64>>,
            key: K,
            id: i64,
        ) {
            if let Some(list) = map.get_mut(&key) {
                list.retain(|x| *x != id);
                if list.is_empty() {
                    map.remove(&key);
                }
            }
        }
        for key in &old.features.shingles {
            drop_from(&mut self.postings, *key, id);
        }
        for key in &old.features.title {
            drop_from(&mut self.titles, *key, id);
        }
        for (i, table) in self.bands.iter_mut().enumerate() {
            drop_from(table, band(old.features.simhash, i), id);
        }
        drop_from(&mut self.members, old.story_id, id);
        if let Some(list) = self.feeds.get_mut(&old.story_id) {
            if let Some(pos) = list.iter().position(|f| *f == old.feed_id) {
                list.swap_remove(pos);
            }
            if list.is_empty() {
                self.feeds.remove(&old.story_id);
            }
        }
        Some(old)
    }

    /// The feeds of the indexed entries of a story (one per entry, unordered).
    pub fn story_feeds(&self, story: i64) -> &[i64] {
        self.feeds.get(&story).map_or(&[], Vec::as_slice)
    }

    /// Moves every indexed entry of story `from` into story `to`.
    pub fn merge_story(&mut self, from: i64, to: i64) {
        if from == to {
            return;
        }
        let moved = self.members.remove(&from).unwrap_or_default();
        for id in &moved {
            if let Some(e) = self.entries.get_mut(id) {
                e.story_id = to;
            }
        }
        self.members.entry(to).or_default().extend(moved);
        let feeds = self.feeds.remove(&from).unwrap_or_default();
        self.feeds.entry(to).or_default().extend(feeds);
    }

    /// Removes every entry dated before `time`; returns how many.
    pub fn evict_before(&mut self, time: i64) -> usize {
        let old: Vec<i64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.time < time)
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            self.remove(*id);
        }
        old.len()
    }

    /// Entries of other feeds within `window` seconds of `time` that share
    /// words with `features`, best first, at most `limit`.
    pub fn candidates(
        &self,
        features: &Features,
        time: i64,
        window: i64,
        feed_id: i64,
        limit: usize,
    ) -> Vec<i64> {
        let mut hits: HashMap<i64, u32> = HashMap::default();
        let mut count = |list: &Vec<i64>, weight: u32| {
            if list.len() > MAX_POSTINGS {
                return;
            }
            for id in list {
                *hits.entry(*id).or_default() += weight;
            }
        };
        // The lede and the smallest hashes: a bounded, consistent sample.
        let sample = features.shingles.iter().take(QUERY_SAMPLE);
        let lede = features.lede.iter().filter(|k| {
            features.shingles[..QUERY_SAMPLE.min(features.shingles.len())]
                .binary_search(k)
                .is_err()
        });
        for key in sample.chain(lede) {
            if let Some(list) = self.postings.get(key) {
                count(list, 1);
            }
        }
        for key in &features.title {
            if let Some(list) = self.titles.get(key) {
                count(list, 1);
            }
        }
        for i in 0..4 {
            if let Some(list) = self.bands[i].get(&band(features.simhash, i)) {
                count(list, 2);
            }
        }
        let mut ranked: Vec<(i64, u32)> = hits
            .into_iter()
            .filter(|(id, _)| {
                self.entries
                    .get(id)
                    .is_some_and(|e| e.feed_id != feed_id && (e.time - time).abs() <= window)
            })
            .collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked.into_iter().map(|(id, _)| id).collect()
    }
}

/// Inverse document frequency over the indexed entries: a key no other
/// entry carries weighs most, one every entry carries weighs little.
impl super::similarity::Rarity for CandidateIndex {
    fn shingle(&self, key: u32) -> f64 {
        idf(
            self.entries.len(),
            self.postings.get(&key).map_or(0, Vec::len),
        )
    }
    fn title(&self, key: u32) -> f64 {
        idf(
            self.entries.len(),
            self.titles.get(&key).map_or(0, Vec::len),
        )
    }
}

/// Pseudo-entries that carry no key: they keep weights near-uniform while
/// the index holds few entries, so early decisions do not hinge on a
/// handful of documents.
const PRIOR_ENTRIES: f64 = 200.0;

fn idf(n: usize, df: usize) -> f64 {
    ((n as f64 + PRIOR_ENTRIES) / (df as f64 + 1.0)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::features::extract;

    fn entry(feed_id: i64, story_id: i64, time: i64, title: &str, text: &str) -> Indexed {
        Indexed {
            feed_id,
            story_id,
            time,
            features: extract(title, text),
        }
    }

    #[test]
    fn finds_entries_sharing_words_in_other_feeds_within_the_window() {
        let mut idx = CandidateIndex::new();
        idx.insert(
            1,
            entry(
                1,
                1,
                0,
                "Oil rises",
                "Oil prices rose sharply on Monday after the cartel met.",
            ),
        );
        idx.insert(
            2,
            entry(
                2,
                2,
                100,
                "Gold falls",
                "Gold fell in early trade in London on heavy selling.",
            ),
        );
        idx.insert(
            3,
            entry(
                3,
                3,
                10_000_000,
                "Oil rises",
                "Oil prices rose sharply on Monday after the cartel met.",
            ),
        );
        let q = extract("Oil up", "Oil prices rose sharply on Monday.");
        assert_eq!(idx.candidates(&q, 50, 86_400, 9, 10), vec![1]);
        // Same feed is never a candidate.
        assert!(idx.candidates(&q, 50, 86_400, 1, 10).is_empty());
    }

    #[test]
    fn remove_merge_and_evict_keep_lists_consistent() {
        let mut idx = CandidateIndex::new();
        idx.insert(1, entry(1, 10, 0, "Oil rises", "Oil prices rose sharply."));
        idx.insert(2, entry(2, 20, 5, "Oil rises", "Oil prices rose sharply."));
        idx.merge_story(20, 10);
        assert_eq!(idx.get(2).map(|e| e.story_id), Some(10));
        assert_eq!(idx.evict_before(3), 1);
        assert_eq!(idx.len(), 1);
        let q = extract("Oil rises", "Oil prices rose sharply.");
        assert_eq!(idx.candidates(&q, 0, 100, 9, 10), vec![2]);
        idx.remove(2);
        assert!(idx.is_empty());
        assert!(idx.postings.is_empty() && idx.titles.is_empty() && idx.members.is_empty());
        assert!(idx.feeds.is_empty());
    }
}
