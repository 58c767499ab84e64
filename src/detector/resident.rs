//! Where the candidate index keeps the features of its entries.
//!
//! Part of the near-duplicate detector. The index verifies each candidate
//! against the candidate's features, and needs an entry's keys again when
//! the entry leaves (its words stop counting). Kept in memory for every
//! entry of the window, the [`Packed`] features were most of the daemon's
//! memory (~1.3 KB per entry, 200,000 entries in a busy window).
//!
//! Without a [`FeatureSource`] (tests, benches, anything that builds a
//! detector of its own) every entry's features stay in memory, as they
//! always did. With one (the store's
//! writer gives the index a read-only connection), an entry's features
//! stay *pinned* only until the transaction that wrote them commits, since
//! before that the source cannot read them; after that they sit in a
//! bounded cache of the entries used most recently, and are read back from
//! the store when a candidate or a leaving entry needs them. What is read
//! back was encoded from the same [`Features`](super::Features) the index
//! was given, so a verification gives the same figures wherever the
//! features came from.
//!
//! The cache has two generations of at most half its entries each: an
//! entry found in the older one moves to the newer, and when the newer is
//! full the older is dropped and the newer takes its place. Which entries
//! are cached changes how fast grouping is, never what it decides.

use std::collections::HashMap as StdHashMap;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use super::index::KeyHasher;
use super::packed::Packed;

type HashMap<K, V> = StdHashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// An error of a [`FeatureSource`].
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Reads the features of indexed entries back from where they are stored.
pub trait FeatureSource: Send {
    /// The stored features of entry `id`, packed, `None` if no such entry
    /// is stored (any more). Sees every transaction committed before the
    /// call.
    fn load(&mut self, id: i64) -> Result<Option<Packed>, SourceError>;
}

/// How many entries' features the cache holds by default (the
/// `grouping.features_in_memory` setting), in two generations of half as
/// many: ~11 MB of features at the ~1.3 KB an entry takes (see the module
/// doc). A lookup's candidates are mostly entries of other stories that
/// share a few words, different from one lookup to the next, so a larger
/// cache serves verification little: with 200,000 new entries in the
/// window (`poll_cycle`'s cycle A) a cache of 32,768 took ~29 MB more and
/// saved no measurable CPU; with all of a 17,500-entry window in memory,
/// `ingest` ran ~4% faster.
pub const CACHED_FEATURES: usize = 8_192;

/// The features of the index's entries (see the module doc).
pub(crate) struct Resident {
    source: Option<Box<dyn FeatureSource>>,
    /// The features the source cannot read (yet), or, without a source,
    /// all of them.
    pinned: HashMap<i64, Arc<Packed>>,
    /// The cache's newer generation.
    recent: HashMap<i64, Arc<Packed>>,
    /// The cache's older generation.
    older: HashMap<i64, Arc<Packed>>,
    /// The most entries a generation holds.
    generation: usize,
    /// Features read through the source so far.
    loads: u64,
}

impl fmt::Debug for Resident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resident")
            .field("source", &self.source.is_some())
            .field("pinned", &self.pinned.len())
            .field("recent", &self.recent.len())
            .field("older", &self.older.len())
            .field("loads", &self.loads)
            .finish()
    }
}

impl Default for Resident {
    fn default() -> Self {
        Resident {
            source: None,
            pinned: HashMap::default(),
            recent: HashMap::default(),
            older: HashMap::default(),
            generation: CACHED_FEATURES / 2,
            loads: 0,
        }
    }
}

impl Resident {
    /// Reads features back through `source` from now on, caching at most
    /// `cached` entries' worth besides the pinned ones.
    pub(crate) fn set_source(&mut self, source: Box<dyn FeatureSource>, cached: usize) {
        self.source = Some(source);
        self.generation = (cached / 2).max(1);
    }

    /// Keeps the features of a new entry, pinned until
    /// [`Resident::committed`]: its row may not be readable yet.
    pub(crate) fn insert(&mut self, id: i64, features: Arc<Packed>) {
        self.recent.remove(&id);
        self.older.remove(&id);
        self.pinned.insert(id, features);
    }

    /// Stores before this call are readable by the source: the pinned
    /// features move to the cache. Does nothing without a source.
    pub(crate) fn committed(&mut self) {
        if self.source.is_none() || self.pinned.is_empty() {
            return;
        }
        let mut pinned = std::mem::take(&mut self.pinned);
        for (id, f) in pinned.drain() {
            self.cache(id, f);
        }
        // Keep the (empty) table's room for the next transaction.
        self.pinned = pinned;
    }

    /// Adds `id`'s features to the cache's newer generation.
    fn cache(&mut self, id: i64, f: Arc<Packed>) {
        if self.recent.len() >= self.generation {
            self.older = std::mem::take(&mut self.recent);
        }
        self.recent.insert(id, f);
    }

    /// The features of indexed entry `id`: in memory, or read back (and
    /// cached); `None` when the source has none (the entry's row is gone)
    /// or fails, which is logged.
    pub(crate) fn get(&mut self, id: i64) -> Option<Arc<Packed>> {
        if let Some(f) = self.pinned.get(&id).or_else(|| self.recent.get(&id)) {
            return Some(Arc::clone(f));
        }
        let f = match self.older.remove(&id) {
            Some(f) => f,
            None => self.load(id)?,
        };
        self.cache(id, Arc::clone(&f));
        Some(f)
    }

    /// Reads entry `id`'s features through the source (none without one);
    /// `None`, logged, when the source has none or fails.
    fn load(&mut self, id: i64) -> Option<Arc<Packed>> {
        let source = self.source.as_mut()?;
        self.loads += 1;
        match source.load(id) {
            Ok(Some(features)) => Some(Arc::new(features)),
            Ok(None) => {
                tracing::warn!(
                    entry = id,
                    "an indexed entry is no longer stored; left out of grouping"
                );
                None
            }
            Err(e) => {
                tracing::warn!(
                    entry = id,
                    error = %e,
                    "cannot read an indexed entry's features back; left out of grouping"
                );
                None
            }
        }
    }

    /// The features of an entry leaving the index (see [`Resident::get`]),
    /// no longer kept: read back if they must be, without passing through
    /// the cache.
    pub(crate) fn take(&mut self, id: i64) -> Option<Arc<Packed>> {
        self.pinned
            .remove(&id)
            .or_else(|| self.recent.remove(&id))
            .or_else(|| self.older.remove(&id))
            .or_else(|| self.load(id))
    }

    /// Forgets every entry's features (the source stays).
    pub(crate) fn clear(&mut self) {
        self.pinned = HashMap::default();
        self.recent = HashMap::default();
        self.older = HashMap::default();
    }

    /// How many entries' features are in memory (pinned or cached).
    pub(crate) fn in_memory(&self) -> usize {
        self.pinned.len() + self.recent.len() + self.older.len()
    }

    /// How many features were read through the source so far.
    pub(crate) fn loads(&self) -> u64 {
        self.loads
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::features::{extract, Features};
    use std::sync::Mutex;

    /// A source over a shared table, as a store would be: `committed`
    /// entries only.
    struct Table(Arc<Mutex<StdHashMap<i64, Features>>>);

    impl FeatureSource for Table {
        fn load(&mut self, id: i64) -> Result<Option<Packed>, SourceError> {
            if id < 0 {
                return Err("broken".into());
            }
            Ok(self.0.lock().expect("table").get(&id).map(Packed::new))
        }
    }

    fn features(n: i64) -> Features {
        extract(
            &format!("Headline {n}"),
            &format!("The ministry said on day {n} that the bridge would close for repairs."),
        )
    }

    #[test]
    fn without_a_source_every_entry_stays_in_memory() {
        let mut r = Resident {
            generation: 8,
            ..Resident::default()
        };
        for id in 0..100 {
            r.insert(id, Arc::new(Packed::new(&features(id))));
        }
        r.committed();
        assert_eq!(r.in_memory(), 100);
        assert_eq!(r.get(3).as_deref(), Some(&Packed::new(&features(3))));
        assert_eq!(r.loads(), 0);
    }

    #[test]
    fn committed_features_are_cached_within_the_bound_and_read_back() {
        let table = Arc::new(Mutex::new(StdHashMap::new()));
        let mut r = Resident::default();
        r.set_source(Box::new(Table(Arc::clone(&table))), 8);
        for id in 0..20 {
            r.insert(id, Arc::new(Packed::new(&features(id))));
        }
        // Not committed: all pinned, whatever the bound.
        assert_eq!(r.in_memory(), 20);
        table
            .lock()
            .expect("table")
            .extend((0..20).map(|id| (id, features(id))));
        r.committed();
        assert!(r.in_memory() <= 8, "{r:?}");
        for id in 0..20 {
            assert_eq!(
                r.get(id).as_deref(),
                Some(&Packed::new(&features(id))),
                "entry {id}"
            );
        }
        assert!(r.loads() >= 12, "{r:?}");
        assert!(r.in_memory() <= 8, "{r:?}");
        // A recently used entry is not read again.
        let loads = r.loads();
        r.get(19);
        assert_eq!(r.loads(), loads);
        // Leaving, an entry is read back once more if it must be, then gone.
        assert_eq!(r.take(0).as_deref(), Some(&Packed::new(&features(0))));
        assert_eq!(r.take(19).as_deref(), Some(&Packed::new(&features(19))));
        assert!(!r.recent.contains_key(&19) && !r.older.contains_key(&19));
        assert!(!r.recent.contains_key(&0) && !r.older.contains_key(&0));
        // A row gone, or a failing source: no features, no panic.
        assert_eq!(r.get(99), None);
        assert_eq!(r.get(-1), None);
    }
}
