//! The candidate index of the near-duplicate detector: finds the stored
//! entries that share words with a new one, without scanning them all.
//!
//! An inverted index from shingle and headline-word hashes to the entries
//! that carry them, plus four 16-bit SimHash bands for near-identical
//! texts and the entries of each canonical link (for entries without
//! text). It holds the entries of the grouping window around what is being
//! ingested; the writer loads older days from the store on demand and
//! evicts entries that fall far behind, so its memory follows the window,
//! not the whole history. Lists of words too common to discriminate are
//! skipped at lookup. It also counts how many entries carry each key (the
//! rarity weights of [`super::similarity::Rarity`]): a story's shingles
//! once per story (a copy adds only the text its story lacked, so a
//! widely syndicated story does not make its own words common), headline,
//! sentence and event words once per entry.
//!
//! Each key (sampled word pair, headline word, SimHash band) is posted at
//! most twice per story and stretch: for the story's earliest and latest
//! entries in the stretch carrying it. A copy dated between them posts
//! none of the keys they carry (most of a wire copy's, often all); when an
//! entry holding a posting leaves, the key passes to the story's next
//! earliest (or latest) entry carrying it.
//! A lookup reaches the story through whichever entry holds the posting:
//! a lookup's window (twice `window_hours`, six days at the default) that
//! is at least a stretch long reaches the earliest or the latest of them
//! whenever it reaches any entry of the story in the stretch.

use std::collections::HashMap as StdHashMap;
use std::hash::{BuildHasherDefault, Hasher};

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use super::features::{FeatureView, Features};
use super::packed::Packed;
use super::resident::{FeatureSource, Resident};
use super::similarity::TextWeights;

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

/// How many of an entry's word pairs are indexed, and looked up, besides
/// its lede: the ones with the smallest hashes, a consistent sample of the
/// text (two copies of a text sample the same pairs).
pub const SAMPLE: usize = 32;

/// How many of the lede's word pairs are indexed and looked up (the ones
/// with the smallest hashes): a summary and the full text share the lede,
/// so they share these.
const LEDE_SAMPLE: usize = 8;

/// Posting lists longer than this are too common to point anywhere: they
/// are dropped and the key is remembered as common.
const MAX_POSTINGS: usize = 100;

/// Of a posting list, how many entries (the last added) a lookup counts.
const COUNTED_POSTINGS: usize = 32;

/// Cells of the word-pair frequency table (a power of two).
const DF_CELLS: usize = 1 << 22;

/// Cells of the frequency tables of words (headline, sentence and event
/// words): they draw on a vocabulary, not on combinations of it.
const WORD_DF_CELLS: usize = 1 << 18;

/// One indexed entry: with its [`Features`] as extracted when it goes in,
/// and as [`Packed`] (the same keys in one allocation) as the index gives
/// it back; the slots hold it without (`Indexed<()>`), the features kept
/// apart (see [`super::resident`]).
#[derive(Debug, Clone)]
pub struct Indexed<F = Features> {
    /// The outlet that published it: its feed, or, in an aggregator feed
    /// (one that carries several sites' articles), its feed and its link's
    /// host (see [`outlet_key`]).
    pub outlet: i64,
    /// A hash of its canonical link (0: none).
    pub link: u64,
    /// `stories.id` the entry belongs to.
    pub story_id: i64,
    /// The entry's date (Unix seconds).
    pub time: i64,
    /// Its features.
    pub features: F,
}

impl<F> Indexed<F> {
    /// The same entry with other features.
    fn with<G>(&self, features: G) -> Indexed<G> {
        Indexed {
            outlet: self.outlet,
            link: self.link,
            story_id: self.story_id,
            time: self.time,
            features,
        }
    }
}

/// The outlet key of an entry of feed `feed_id`: the feed itself, or, for
/// an entry of an aggregator feed, the feed and the host of its link.
pub fn outlet_key(feed_id: i64, aggregated_host: Option<&str>) -> i64 {
    match aggregated_host {
        None => feed_id,
        Some(host) => {
            let h = super::features::fnv1a(format!("{feed_id}|{host}").as_bytes());
            // Negative, so it never equals a feed id.
            -((h >> 1) as i64) - 1
        }
    }
}

/// An indexed entry of a story: its id, outlet and canonical link hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// `entries.id`.
    pub id: i64,
    /// Its outlet (see [`outlet_key`]).
    pub outlet: i64,
    /// Its canonical link's hash (0: none).
    pub link: u64,
}

/// A slot of the index: an entry, its row id, its cached sums, which of
/// its shingles it counted in the frequencies, and the next entry of its
/// story. 64 bytes (the word of [`Chain`] gives `Option<Slot>` its tag
/// for free): a busy window holds 200,000 and more.
#[derive(Debug)]
struct Slot {
    id: i64,
    entry: Indexed<()>,
    /// The sums of its shingles' `ln(df + 1)` (see
    /// [`CandidateIndex::get_weighted`]): over the narrative ones, and
    /// over all, as `f64` bits.
    narrative: AtomicU64,
    shingles: AtomicU64,
    /// The index version those sums were computed at, in 32 bits (0:
    /// never; see [`sums_version`]).
    sums_at: AtomicU32,
    chain: Chain,
}

/// A slot's next slot in its story's list, and which of its shingles it
/// counted, in one word that is never zero: the slot in the low 30 bits
/// (all set: [`NO_SLOT`]; slots stay below that, as under
/// [`SLOT_LIMIT`]), the [`Shares`] in the top two.
#[derive(Debug, Clone, Copy)]
struct Chain(NonZeroU32);

/// The slot bits of a [`Chain`].
const CHAIN_SLOT: u32 = (1 << 30) - 1;

impl Chain {
    fn new(next: u32, shares: Shares) -> Chain {
        debug_assert!(next == NO_SLOT || next < CHAIN_SLOT);
        let tag = match shares {
            Shares::All => 1u32,
            Shares::None => 2,
            Shares::Some => 3,
        };
        // The tag is never 0, so neither is the word.
        Chain(NonZeroU32::new(tag << 30 | (next & CHAIN_SLOT)).unwrap_or(NonZeroU32::MAX))
    }

    /// The slot of the next indexed entry of the same story ([`NO_SLOT`]:
    /// none), in the order they joined the index: a story's entries are a
    /// list through their slots (see [`CandidateIndex::stories`]).
    fn next(self) -> u32 {
        match self.0.get() & CHAIN_SLOT {
            CHAIN_SLOT => NO_SLOT,
            slot => slot,
        }
    }

    /// Which shingles it counted; the bits of [`Shares::Some`] are kept
    /// apart, in [`CandidateIndex::counted`].
    fn shares(self) -> Shares {
        match self.0.get() >> 30 {
            1 => Shares::All,
            2 => Shares::None,
            _ => Shares::Some,
        }
    }

    fn set_next(&mut self, next: u32) {
        *self = Chain::new(next, self.shares());
    }
}

/// A slot's next slot at the end of its story's list.
const NO_SLOT: u32 = u32::MAX;

/// A slot is 64 bytes, with or without an entry.
const _: () = assert!(size_of::<Option<Slot>>() == 64);

/// Which of an entry's shingles it counted, without the bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shares {
    /// Every shingle.
    All,
    /// None.
    None,
    /// Some: the bits are in [`CandidateIndex::counted`].
    Some,
}

/// The index version `version` as a slot's [`Slot::sums_at`] keeps it:
/// its low 32 bits, never 0 (0 is "never"). The sums count as fresh while
/// the version has moved at most [`SUMS_LAG`] past it, compared modulo
/// 2^32: the same answer as in 64 bits until four billion changes go by
/// between two uses of one entry's sums, which a window does not live to
/// see.
fn sums_version(version: u64) -> u32 {
    (version as u32).max(1)
}

/// Which of an entry's shingles it counted in the frequencies. A story's
/// first entry counts them all and a verbatim copy none, so neither needs
/// a bit set of its own on the heap (most entries of a window are one or
/// the other).
#[derive(Debug)]
enum Counted {
    /// Every shingle.
    All,
    /// One bit per shingle, in order (none: an empty set, no allocation).
    Bits(Box<[u64]>),
}

impl Counted {
    /// From one bit per shingle of `len` shingles.
    fn from_bits(bits: Vec<u64>, len: usize) -> Counted {
        let full = |i: usize, w: u64| {
            let n = (len - i * 64).min(64);
            w == if n == 64 { u64::MAX } else { (1 << n) - 1 }
        };
        if len > 0 && bits.iter().enumerate().all(|(i, w)| full(i, *w)) {
            Counted::All
        } else if bits.iter().all(|w| *w == 0) {
            Counted::Bits(Box::default())
        } else {
            Counted::Bits(bits.into_boxed_slice())
        }
    }

    /// What a slot keeps of it, and the bits to keep apart, if any.
    fn split(self) -> (Shares, Option<Box<[u64]>>) {
        match self {
            Counted::All => (Shares::All, None),
            Counted::Bits(bits) if bits.is_empty() => (Shares::None, None),
            Counted::Bits(bits) => (Shares::Some, Some(bits)),
        }
    }

    /// Whether shingle `i` was counted.
    fn has(&self, i: usize) -> bool {
        match self {
            Counted::All => true,
            Counted::Bits(bits) => bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0),
        }
    }
}

/// How many changes to the index (entries added or removed) an entry's
/// cached [`TextWeights`] may lag behind before they are computed again.
/// The sums move only as other stories carrying the same word pairs come
/// and go, slowly: recomputing them for every comparison was most of the
/// cost of verifying a candidate.
pub const SUMS_LAG: u64 = 1024;

impl Default for CandidateIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// One posting: an entry's slot, and its date as seconds into its part
/// (see [`offset_in_part`]), so that a lookup filters by date without
/// reading anything of the slot. Six bytes (the arena of postings is the
/// largest part of the index): the date in the low [`AT_BITS`] bits of
/// `low` (a lookup tests every posting's date, and reads the slot only of
/// those within its window), the slot in the bits above it and in `high`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, packed(2))]
struct Posting {
    low: u32,
    high: u16,
}

/// The bits of a posting's date: every date in a part fits them.
const AT_BITS: u32 = 18;

/// The date bits of [`Posting::low`].
const AT_MASK: u32 = (1 << AT_BITS) - 1;

/// A posting's slot has the other 30 of its 48 bits: the index holds
/// fewer than 2^30 entries (a slot and its hit counter alone take 72
/// bytes, so 2^30 of them would not fit in memory).
const SLOT_LIMIT: u32 = 1 << (48 - AT_BITS);

const _: () = assert!(PART_SECONDS <= 1 << AT_BITS);

/// A posting is 6 bytes.
const _: () = assert!(size_of::<Posting>() == 6);

impl Posting {
    /// The posting of slot `slot` (below [`SLOT_LIMIT`]) dated `at`
    /// seconds into its part.
    fn new(slot: u32, at: u32) -> Posting {
        debug_assert!(slot < SLOT_LIMIT && i64::from(at) < PART_SECONDS);
        Posting {
            low: (at & AT_MASK) | slot << AT_BITS,
            high: (slot >> (32 - AT_BITS)) as u16,
        }
    }

    /// The entry's slot.
    fn slot(self) -> u32 {
        u32::from(self.high) << (32 - AT_BITS) | self.low >> AT_BITS
    }

    /// The entry's date, as seconds into its part.
    fn at(self) -> u32 {
        self.low & AT_MASK
    }
}

/// The tag bits of a cell's [`Cell::word`].
const TAG: u32 = 3 << 30;
/// A cell's word: no key.
const EMPTY: u32 = 0;
/// A cell's tag: one posting in place, [`Cell::slot`] and the date in
/// the word's low bits ([`AT`]).
const ONE: u32 = 1 << 30;
/// A cell's tag: two or more postings in the arena, from [`Cell::slot`];
/// the block's class in bits 16.. of the word, the length in its low 16.
const LONG: u32 = 2 << 30;
/// A cell's word once more entries carry its key than a list may hold.
const COMMON: u32 = u32::MAX;
/// The date bits of a [`ONE`] word.
const AT: u32 = !TAG;
/// The length bits of a [`LONG`] word.
const LEN: u32 = 0xffff;

/// Every date fits the word of a [`ONE`] cell, every list length a
/// [`LONG`] one.
const _: () = assert!(PART_SECONDS <= AT as i64 + 1 && MAX_POSTINGS <= LEN as usize);

/// The capacities, in postings, of the arena's blocks, one per class: a
/// list outgrowing its block moves to the next class. Each is about 1.5
/// times the one before, and the last holds [`MAX_POSTINGS`], the longest
/// list: with blocks of `2 << class` up to 128, a quarter of the arena's
/// blocks in use stood empty in `poll_cycle`'s cycle A.
const BLOCK_LENS: [u16; 11] = [2, 3, 4, 6, 9, 13, 19, 28, 42, 63, 100];

/// How many block sizes there are.
const CLASSES: usize = BLOCK_LENS.len();

/// The longest list fits the last class exactly.
const _: () = assert!(BLOCK_LENS[CLASSES - 1] as usize == MAX_POSTINGS);

/// The capacity, in postings, of an arena block of class `class`.
fn block_len(class: usize) -> usize {
    usize::from(BLOCK_LENS[class])
}

/// The class of a [`LONG`] word's block.
fn class_of(word: u32) -> usize {
    ((word & AT) >> 16) as usize
}

/// A cell of a posting table, 12 bytes: a key and, for a key one entry
/// of the part carries (most keys: word pairs a copy changed, headline
/// words of one story), its posting in place; a lookup of such a key
/// reads the cell and nothing else.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct Cell {
    key: u32,
    /// The slot of the one posting, or where a [`LONG`] list starts in the
    /// arena.
    slot: u32,
    /// [`EMPTY`], [`ONE`] | date, [`LONG`] | class << 16 | length, or
    /// [`COMMON`].
    word: u32,
}

/// A cell is 12 bytes.
const _: () = assert!(size_of::<Cell>() == 12);

impl Cell {
    /// The cell of `key` holding `posting` in place ([`ONE`]).
    fn one(key: u32, posting: Posting) -> Cell {
        Cell {
            key,
            slot: posting.slot(),
            word: ONE | posting.at(),
        }
    }

    /// The posting a [`ONE`] cell holds.
    fn posting(&self) -> Posting {
        Posting::new(self.slot, self.word & AT)
    }
}

/// The postings of a cell: one, or a stretch of the arena.
enum List<'a> {
    /// The cell's own posting.
    One([Posting; 1]),
    /// A list in the arena.
    Many(&'a [Posting]),
}

impl List<'_> {
    /// The postings, in list order.
    fn as_slice(&self) -> &[Posting] {
        match self {
            List::One(p) => p,
            List::Many(l) => l,
        }
    }
}

/// The earliest and the latest posting (by [`Posting::at`]) of `ends` and
/// `p`; of equal dates, the one seen first.
fn widen(ends: Option<(Posting, Posting)>, p: Posting) -> (Posting, Posting) {
    match ends {
        None => (p, p),
        Some((lo, hi)) => (
            if p.at() < lo.at() { p } else { lo },
            if p.at() > hi.at() { p } else { hi },
        ),
    }
}

/// The postings a story holds in a list (see [`Postings::span_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    /// The key is too common to list.
    Common,
    /// None.
    None,
    /// `n` postings, the earliest `lo` and the latest `hi`.
    Some { lo: Posting, hi: Posting, n: usize },
}

/// Posting lists, compactly: an open-addressing table (linear probing,
/// Fibonacci hashing of the key, which is itself a hash) from a key to its
/// list. A list of one posting sits in the key's cell; a longer one in a
/// block of `arena`. A list behaves as a vector (entries
/// appended, removed by swapping the last in), so which entries are "the
/// last added" does not depend on where it is stored. Once more entries
/// carry a key than [`MAX_POSTINGS`], the key is [`COMMON`] and its list
/// dropped.
#[derive(Debug, Default)]
struct Postings {
    /// A power of two cells, or none.
    cells: Vec<Cell>,
    /// Occupied cells.
    len: usize,
    arena: Vec<Posting>,
    /// Free blocks of the arena, per class.
    free: [Vec<u32>; CLASSES],
}

/// The multiplier of Fibonacci hashing (2^64 / golden ratio).
const FIB: u64 = 0x9e37_79b9_7f4a_7c15;

impl Postings {
    /// The cell a key's probe starts at, given its Fibonacci hash
    /// (`key * FIB`); the table must have cells.
    fn home_of(&self, hash: u64) -> usize {
        (hash >> (64 - self.cells.len().trailing_zeros())) as usize
    }

    fn home(&self, key: u32) -> usize {
        self.home_of(u64::from(key).wrapping_mul(FIB))
    }

    /// The cell holding `key`, probing from `home`.
    fn find_from(&self, key: u32, home: usize) -> Option<usize> {
        let mask = self.cells.len() - 1;
        let mut i = home;
        loop {
            let cell = &self.cells[i];
            if cell.word == EMPTY {
                return None;
            }
            if cell.key == key {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
    }

    fn find(&self, key: u32) -> Option<usize> {
        if self.cells.is_empty() {
            return None;
        }
        self.find_from(key, self.home(key))
    }

    /// The postings of an occupied cell; `None` if its key is too common
    /// to tell.
    fn list(&self, cell: &Cell) -> Option<List<'_>> {
        match cell.word & TAG {
            ONE => Some(List::One([cell.posting()])),
            LONG => {
                let from = cell.slot as usize;
                Some(List::Many(
                    self.arena
                        .get(from..from + (cell.word & LEN) as usize)
                        .unwrap_or_default(),
                ))
            }
            _ => None,
        }
    }

    /// The postings of `key` (none if no entry carries it); `None` if it
    /// is too common to tell.
    #[cfg(test)]
    fn get(&self, key: u32) -> Option<Vec<Posting>> {
        match self.find(key) {
            None => Some(Vec::new()),
            Some(i) => self.list(&self.cells[i]).map(|l| l.as_slice().to_vec()),
        }
    }

    /// A free block of [`block_len`]`(class)` postings; returns its start.
    fn alloc(&mut self, class: usize) -> u32 {
        if let Some(at) = self.free[class].pop() {
            return at;
        }
        let at = self.arena.len() as u32;
        self.arena
            .resize(self.arena.len() + block_len(class), Posting::default());
        at
    }

    /// Doubles the cells (at least 16) and places every key again.
    fn grow(&mut self) {
        let cells = (self.cells.len() * 2).max(16);
        let old = std::mem::replace(&mut self.cells, vec![Cell::default(); cells]);
        let mask = self.cells.len() - 1;
        for cell in old.into_iter().filter(|c| c.word != EMPTY) {
            let mut i = self.home(cell.key);
            while self.cells[i].word != EMPTY {
                i = (i + 1) & mask;
            }
            self.cells[i] = cell;
        }
    }

    /// Adds `posting` to the list of `key`.
    fn add(&mut self, key: u32, posting: Posting) {
        let Some(i) = self.find(key) else {
            // At most three quarters full, so probes stay short.
            if (self.len + 1) * 4 > self.cells.len() * 3 {
                self.grow();
            }
            let mask = self.cells.len() - 1;
            let mut i = self.home(key);
            while self.cells[i].word != EMPTY {
                i = (i + 1) & mask;
            }
            self.cells[i] = Cell::one(key, posting);
            self.len += 1;
            return;
        };
        let cell = self.cells[i];
        let len = match cell.word & TAG {
            ONE => 1,
            LONG => (cell.word & LEN) as usize,
            _ => return,
        };
        if len + 1 > MAX_POSTINGS {
            if cell.word & TAG == LONG {
                self.free[class_of(cell.word)].push(cell.slot);
            }
            self.cells[i].word = COMMON;
            return;
        }
        // Into the arena: a first block, or a bigger one once full.
        let (from, class) = if cell.word & TAG == ONE {
            let at = self.alloc(0);
            self.arena[at as usize] = cell.posting();
            (at, 0)
        } else {
            let (at, class) = (cell.slot, class_of(cell.word));
            if len < block_len(class) {
                (at, class)
            } else {
                let bigger = self.alloc(class + 1);
                let (from, to) = (at as usize, bigger as usize);
                self.arena.copy_within(from..from + len, to);
                self.free[class].push(at);
                (bigger, class + 1)
            }
        };
        self.arena[from as usize + len] = posting;
        let c = &mut self.cells[i];
        c.slot = from;
        c.word = LONG | (class as u32) << 16 | (len + 1) as u32;
    }

    /// Whether the list of `key` holds a posting of one of `slots`, or
    /// the key is too common to list.
    fn carried_by(&self, key: u32, slots: &[u32]) -> bool {
        self.span_of(key, slots) != Span::None
    }

    /// The postings of `slots` in the list of `key`: the earliest and the
    /// latest (by [`Posting::at`], then by place in the list), and how
    /// many.
    fn span_of(&self, key: u32, slots: &[u32]) -> Span {
        let Some(i) = self.find(key) else {
            return Span::None;
        };
        let Some(list) = self.list(&self.cells[i]) else {
            return Span::Common;
        };
        let mut ends: Option<(Posting, Posting)> = None;
        let mut n = 0;
        for p in list.as_slice().iter().filter(|p| slots.contains(&p.slot())) {
            ends = Some(widen(ends, *p));
            n += 1;
        }
        ends.map_or(Span::None, |(lo, hi)| Span::Some { lo, hi, n })
    }

    /// Removes `slot` from the list of `key` (the last posting takes its
    /// place).
    /// Returns whether the list held it.
    fn remove(&mut self, key: u32, slot: u32) -> bool {
        let Some(i) = self.find(key) else {
            return false;
        };
        let cell = self.cells[i];
        match cell.word & TAG {
            ONE if cell.slot == slot => {
                self.delete(i);
                true
            }
            LONG => {
                let len = (cell.word & LEN) as usize;
                let (at, class) = (cell.slot, class_of(cell.word));
                let from = at as usize;
                let list = &mut self.arena[from..from + len];
                let Some(pos) = list.iter().position(|p| p.slot() == slot) else {
                    return false;
                };
                list.swap(pos, len - 1);
                let len = len - 1;
                let c = &mut self.cells[i];
                if len > 1 {
                    c.word = LONG | (class as u32) << 16 | len as u32;
                    return true;
                }
                // Back in place.
                *c = Cell::one(c.key, self.arena[from]);
                self.free[class].push(at);
                true
            }
            _ => false,
        }
    }

    /// Empties cell `i`, shifting back the cells after it that probing
    /// would no longer reach (no tombstones).
    fn delete(&mut self, mut i: usize) {
        let mask = self.cells.len() - 1;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            if self.cells[j].word == EMPTY {
                break;
            }
            let home = self.home(self.cells[j].key);
            // Cell j stays if its home lies cyclically in (i, j].
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                self.cells[i] = self.cells[j];
                i = j;
            }
        }
        self.cells[i] = Cell::default();
        self.len -= 1;
    }

    /// How many entries carry `key` (capped lists count as longer than the cap).
    #[cfg(test)]
    fn count(&self, key: u32) -> usize {
        self.get(key).map_or(MAX_POSTINGS + 1, |l| l.len())
    }

    /// The slots carrying `key`, in list order; `None` if too common.
    #[cfg(test)]
    fn slots(&self, key: u32) -> Option<Vec<u32>> {
        self.get(key).map(|l| l.iter().map(|p| p.slot()).collect())
    }
}

/// How many indexed entries carry each word pair (or title word),
/// approximately: a table of saturating counters indexed by the hash. Keys that share a cell
/// add up, so a rare pair may count a few entries too many; the weights
/// derived from these counts are logarithmic, so that shifts rare pairs'
/// weights a little and common ones' not at all. Of a fixed size (8 MiB for
/// word pairs), touched only as it fills.
#[derive(Debug)]
struct DocFreq {
    cells: Vec<u16>,
}

impl DocFreq {
    fn new(cells: usize) -> DocFreq {
        debug_assert!(cells.is_power_of_two());
        DocFreq {
            cells: vec![0; cells],
        }
    }
    fn cell(&self, key: u32) -> usize {
        (key.wrapping_mul(0x9e37_79b1) >> (32 - self.cells.len().trailing_zeros())) as usize
    }
    fn add(&mut self, key: u32) {
        let at = self.cell(key);
        let c = &mut self.cells[at];
        // A saturated counter stays saturated: it can no longer tell how
        // many of its entries leave.
        *c = c.saturating_add(1);
    }
    fn remove(&mut self, key: u32) {
        let at = self.cell(key);
        let c = &mut self.cells[at];
        if *c > 0 && *c < u16::MAX {
            *c -= 1;
        }
    }
    fn get(&self, key: u32) -> usize {
        usize::from(self.cells[self.cell(key)])
    }
}

/// Per-slot hit counters reused across lookups: a counter belongs to the
/// current lookup when its epoch is the lookup's (every 65,535 lookups the
/// 16-bit epoch wraps and all counters are cleared). Each holds its slot's
/// row id when it fits 32 bits (see [`Counter`]), so that a counted slot
/// costs one cache line, not one for its counter and one for its id.
#[derive(Debug, Default)]
struct Hits {
    epoch: u16,
    counts: Vec<Counter>,
    touched: Vec<u32>,
    /// The query's keys and their Fibonacci hashes, per table (word
    /// pairs, headline words, bands).
    hashes: [Vec<(u32, u64)>; 3],
    /// The query's postings within the window, with their weights.
    counted: Vec<(u32, u32)>,
    /// The counted entries' ids and hits, to rank.
    ranked: Vec<(i64, u32)>,
}

/// A slot's hit counter, and the row id of its entry if it fits 32 bits
/// ([`LARGE_ID`]: read it from the slot). 8 bytes: the counters take one
/// for every slot of the index.
#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    id: u32,
    epoch: u16,
    count: u16,
}

/// A [`Counter::id`] whose entry's row id does not fit 32 bits (row ids
/// count up from 1, so in practice none).
const LARGE_ID: u32 = u32::MAX;

/// A counter is 8 bytes.
const _: () = assert!(size_of::<Counter>() == 8);

/// The posting lists of the entries dated in one stretch of
/// [`PART_SECONDS`]: a lookup reads only the stretches its window overlaps,
/// so its cost follows the window, not how much the index holds, and a
/// key is too common when too many entries of one stretch carry it.
#[derive(Debug, Default)]
struct Part {
    postings: Postings,
    titles: Postings,
    /// The four SimHash bands, keyed by [`band_key`].
    bands: Postings,
    len: usize,
}

/// The posting tables of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// [`Part::postings`]: sampled word pairs.
    Pairs,
    /// [`Part::titles`]: headline words.
    Titles,
    /// [`Part::bands`]: SimHash bands.
    Bands,
}

/// Every posting table, in the order lookups read them, which is their
/// order of declaration: a table's place in a per-table array is `table as
/// usize`.
const TABLES: [Table; 3] = [Table::Pairs, Table::Titles, Table::Bands];

const _: () =
    assert!(TABLES[0] as usize == 0 && TABLES[1] as usize == 1 && TABLES[2] as usize == 2);

impl Table {
    /// Calls `key` with each key an entry posts in this table, and a lookup
    /// reads in it (unique).
    fn each_key(self, f: &impl FeatureView, mut key: impl FnMut(u32)) {
        match self {
            Table::Pairs => sampled(f).for_each(|k| key(*k)),
            Table::Titles => f.title().iter().for_each(|k| key(*k)),
            Table::Bands => (0..4).for_each(|i| key(band_key(f.simhash(), i))),
        }
    }

    /// The keys an entry posts in this table (see [`Table::each_key`]),
    /// gathered: for the tests.
    #[cfg(test)]
    fn keys(self, f: &impl FeatureView) -> Vec<u32> {
        let mut keys = Vec::new();
        self.each_key(f, |k| keys.push(k));
        keys
    }

    /// How many hits a lookup counts for an entry posted under one of its
    /// keys in this table: a SimHash band, a 16-bit stretch of a
    /// near-identical text, counts twice.
    fn weight(self) -> u32 {
        match self {
            Table::Pairs | Table::Titles => 1,
            Table::Bands => 2,
        }
    }
}

impl Part {
    /// The posting table `table`.
    fn table_mut(&mut self, table: Table) -> &mut Postings {
        match table {
            Table::Pairs => &mut self.postings,
            Table::Titles => &mut self.titles,
            Table::Bands => &mut self.bands,
        }
    }

    /// The posting table `table`.
    fn table(&self, table: Table) -> &Postings {
        match table {
            Table::Pairs => &self.postings,
            Table::Titles => &self.titles,
            Table::Bands => &self.bands,
        }
    }
}

/// The length of a stretch of the index, in seconds.
pub const PART_SECONDS: i64 = 3 * 86_400;

fn part_of(time: i64) -> i64 {
    time.div_euclid(PART_SECONDS)
}

/// A date as seconds into its part (the postings' [`Posting::at`]).
fn offset_in_part(time: i64) -> u32 {
    time.rem_euclid(PART_SECONDS) as u32
}

/// The entries of each canonical link, by 32 bits of the link's hash (8
/// bytes a bucket instead of 16, for a map with a bucket per entry of the
/// window): links whose hashes share those bits share a list, and the
/// slots a lookup gets back are those of every such link (the caller
/// keeps the entries whose link is the one it asked for). Most links are
/// one entry's: the first slot of a link sits in `first`, with no list of
/// its own, and only the slots after it in `more`.
#[derive(Debug, Default)]
struct Links {
    first: HashMap<u32, u32>,
    more: HashMap<u32, Vec<u32>>,
}

/// The key of a link's hash in [`Links`].
fn link_key(link: u64) -> u32 {
    (link ^ (link >> 32)) as u32
}

impl Links {
    /// Adds the entry in `slot` to the entries of `link`.
    fn insert(&mut self, link: u64, slot: u32) {
        let link = link_key(link);
        match self.first.entry(link) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(slot);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.more.entry(link).or_default().push(slot);
            }
        }
    }

    /// Takes the entry in `slot` out of the entries of `link` (one of the
    /// others, if any, becomes its first).
    fn remove(&mut self, link: u64, slot: u32) {
        let link = link_key(link);
        let Some(first) = self.first.get_mut(&link) else {
            return;
        };
        let std::collections::hash_map::Entry::Occupied(mut more) = self.more.entry(link) else {
            if *first == slot {
                self.first.remove(&link);
            }
            return;
        };
        // A list is never left empty, so it has a next first.
        let list = more.get_mut();
        if *first == slot {
            if let Some(next) = list.pop() {
                *first = next;
            }
        } else {
            list.retain(|s| *s != slot);
        }
        if list.is_empty() {
            more.remove();
        }
    }

    /// The slots of `link`, and of the links sharing its key, in no order.
    fn slots(&self, link: u64) -> impl Iterator<Item = u32> + '_ {
        let link = link_key(link);
        let more = self.more.get(&link).map_or(&[][..], Vec::as_slice);
        self.first
            .get(&link)
            .copied()
            .into_iter()
            .chain(more.iter().copied())
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.first.is_empty() && self.more.is_empty()
    }
}

/// The slot of each indexed entry, by row id. Row ids count up from 1, so
/// all of them fit 32 bits in practice: those sit in a map of 8-byte
/// buckets (one per entry of the window), any other in a second map.
#[derive(Debug, Default)]
struct SlotsById {
    small: HashMap<u32, u32>,
    large: HashMap<i64, u32>,
}

impl SlotsById {
    fn get(&self, id: i64) -> Option<u32> {
        match u32::try_from(id) {
            Ok(small) => self.small.get(&small).copied(),
            Err(_) => self.large.get(&id).copied(),
        }
    }

    fn insert(&mut self, id: i64, slot: u32) {
        match u32::try_from(id) {
            Ok(small) => self.small.insert(small, slot),
            Err(_) => self.large.insert(id, slot),
        };
    }

    fn remove(&mut self, id: i64) -> Option<u32> {
        match u32::try_from(id) {
            Ok(small) => self.small.remove(&small),
            Err(_) => self.large.remove(&id),
        }
    }

    fn len(&self) -> usize {
        self.small.len() + self.large.len()
    }
}

/// The keys an entry is indexed and looked up by: its sampled word pairs
/// (the [`SAMPLE`] smallest hashes) and the [`LEDE_SAMPLE`] smallest of
/// its lede.
fn sampled(features: &impl FeatureView) -> impl Iterator<Item = &u32> {
    let shingles = features.shingles();
    let sample = &shingles[..SAMPLE.min(shingles.len())];
    let lede = features
        .lede()
        .iter()
        .take(LEDE_SAMPLE)
        .filter(move |k| sample.binary_search(k).is_err());
    sample.iter().chain(lede)
}

/// Inverted index over the entries of the grouping window.
#[derive(Debug)]
pub struct CandidateIndex {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_id: SlotsById,
    parts: std::collections::BTreeMap<i64, Part>,
    df: DocFreq,
    title_df: DocFreq,
    word_df: DocFreq,
    term_df: DocFreq,
    /// Per canonical link, the entries that have it.
    links: Links,
    /// Per story, the first and the last slot of the list of its indexed
    /// entries (linked by [`Slot::next`]).
    stories: HashMap<i64, (u32, u32)>,
    /// Per slot of an entry that counted some of its shingles but not all,
    /// which (see [`Counted`]).
    counted: HashMap<u32, Box<[u64]>>,
    /// Scratch space of lookups (only the writer looks up; the lock is
    /// never contended).
    hits: std::sync::Mutex<Hits>,
    /// The entries' features (the lock, too, is never contended).
    resident: std::sync::Mutex<Resident>,
    /// Changes so far (entries added or removed): the clock of the cached
    /// sums.
    version: u64,
    /// `ln(len + PRIOR_ENTRIES)`, the numerator of every weight.
    ln_prior: f64,
    /// Whether every entry posts all its keys (word pairs, headline
    /// words, bands): when lookups span less than a stretch, the earliest
    /// and latest entries of a story (see the module doc) are not enough.
    every_entry_posts: bool,
}

/// The key of the `i`th 16-bit band of a SimHash in [`Part::bands`]: the
/// band's index above its bits, so the four share one table.
fn band_key(simhash: u64, i: usize) -> u32 {
    ((i as u32) << 16) | u32::from((simhash >> (16 * i)) as u16)
}

impl CandidateIndex {
    /// An empty index.
    pub fn new() -> Self {
        CandidateIndex {
            slots: Vec::new(),
            free: Vec::new(),
            by_id: SlotsById::default(),
            parts: Default::default(),
            df: DocFreq::new(DF_CELLS),
            title_df: DocFreq::new(WORD_DF_CELLS),
            word_df: DocFreq::new(WORD_DF_CELLS),
            term_df: DocFreq::new(WORD_DF_CELLS),
            links: Links::default(),
            stories: HashMap::default(),
            counted: HashMap::default(),
            hits: Default::default(),
            resident: Default::default(),
            version: 0,
            ln_prior: PRIOR_ENTRIES.ln(),
            every_entry_posts: false,
        }
    }

    /// Counts a change of the entries held.
    fn changed(&mut self) {
        self.version += 1;
        self.ln_prior = (self.len() as f64 + PRIOR_ENTRIES).ln();
    }

    /// An indexed entry and the summed rarity weights of its shingles
    /// (see [`TextWeights`]). The sums of `ln(df + 1)` they derive from are
    /// cached and computed again once [`SUMS_LAG`] changes old, so they may
    /// lag a little behind the frequencies; deterministically: the same
    /// changes and lookups in the same order give the same figures.
    pub fn get_weighted(&self, id: i64) -> Option<(Indexed<Arc<Packed>>, TextWeights)> {
        let slot = self.slot(self.by_id.get(id)?)?;
        let features = self.features(id)?;
        let f = &*features;
        // The sums are cached with atomics, so lookups stay `&self` and
        // the index `Sync`.
        let at = slot.sums_at.load(Ordering::Relaxed);
        let fresh = at != 0 && u64::from(sums_version(self.version).wrapping_sub(at)) <= SUMS_LAG;
        let (narrative, shingles) = if fresh {
            (
                f64::from_bits(slot.narrative.load(Ordering::Relaxed)),
                f64::from_bits(slot.shingles.load(Ordering::Relaxed)),
            )
        } else {
            let sum =
                |keys: &[u32]| -> f64 { keys.iter().map(|k| ln_count(self.df.get(*k))).sum() };
            let (n, s) = (sum(f.narrative()), sum(f.shingles()));
            slot.narrative.store(n.to_bits(), Ordering::Relaxed);
            slot.shingles.store(s.to_bits(), Ordering::Relaxed);
            slot.sums_at
                .store(sums_version(self.version), Ordering::Relaxed);
            (n, s)
        };
        let weights = TextWeights {
            narrative: (f.narrative().len() as f64 * self.ln_prior - narrative).max(0.0),
            shingles: (f.shingles().len() as f64 * self.ln_prior - shingles).max(0.0),
        };
        Some((slot.entry.with(features), weights))
    }

    /// The features of indexed entry `id` (see [`super::resident`]).
    fn features(&self, id: i64) -> Option<Arc<Packed>> {
        self.resident
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
    }

    /// Reads the features of entries back through `source` once the
    /// transaction that stored them has committed (see
    /// [`CandidateIndex::committed`]), keeping at most `cached` of them in
    /// memory besides those not committed yet; without a source, every
    /// entry's features stay in memory.
    pub fn set_feature_source(&mut self, source: Box<dyn FeatureSource>, cached: usize) {
        self.resident
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .set_source(source, cached);
    }

    /// Every entry inserted so far is stored and committed: the source can
    /// read its features (see [`CandidateIndex::set_feature_source`]).
    pub fn committed(&mut self) {
        self.resident
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .committed();
    }

    /// How many entries' features are in memory, and how many were read
    /// back through the source so far.
    pub fn features_in_memory(&self) -> (usize, u64) {
        let r = self.resident.lock().unwrap_or_else(|e| e.into_inner());
        (r.in_memory(), r.loads())
    }

    /// An empty index that reads features through the same source as this
    /// one did (this one loses it), and goes on counting what it reads.
    pub fn emptied(&mut self) -> CandidateIndex {
        let mut resident =
            std::mem::take(self.resident.get_mut().unwrap_or_else(|e| e.into_inner()));
        resident.clear();
        CandidateIndex {
            resident: std::sync::Mutex::new(resident),
            every_entry_posts: self.every_entry_posts,
            ..CandidateIndex::new()
        }
    }

    /// Tells the index how far lookups reach each side of their date
    /// (`window` seconds, as given to [`CandidateIndex::candidates`]):
    /// under half a stretch, every entry posts all its keys. Call it
    /// before the first insert.
    pub fn set_lookup_window(&mut self, window: i64) {
        self.every_entry_posts = window < PART_SECONDS / 2;
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.by_id.len() == 0
    }

    /// Whether an entry with this id is indexed.
    pub fn contains(&self, id: i64) -> bool {
        self.by_id.get(id).is_some()
    }

    /// The indexed entry with this id, with its features (read back from
    /// the store if they are not in memory; `None` if that fails).
    pub fn get(&self, id: i64) -> Option<Indexed<Arc<Packed>>> {
        let slot = self.slot(self.by_id.get(id)?)?;
        Some(slot.entry.with(self.features(id)?))
    }

    fn slot(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Adds (or replaces) an entry.
    pub fn insert(&mut self, id: i64, entry: Indexed) {
        self.remove(id);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        let counts = &mut self
            .hits
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .counts;
        if counts.len() <= slot as usize {
            counts.resize(slot as usize + 1, Counter::default());
        }
        counts[slot as usize].id = u32::try_from(id)
            .ok()
            .filter(|id| *id != LARGE_ID)
            .unwrap_or(LARGE_ID);
        let f = &entry.features;
        // The other entries of the story in this part: a word pair they
        // post is posted again only if this entry is dated before or after
        // all of them (see the module doc).
        let at = part_of(entry.time);
        let siblings: Vec<u32> = if self.every_entry_posts {
            Vec::new()
        } else {
            self.siblings_in_part(entry.story_id, at, i64::MIN)
                .map(|(slot, _)| slot)
                .collect()
        };
        let part = self.parts.entry(at).or_default();
        part.len += 1;
        let posting = Posting::new(slot, offset_in_part(entry.time));
        for table in TABLES {
            let postings = part.table_mut(table);
            table.each_key(f, |key| {
                if siblings.is_empty() {
                    postings.add(key, posting);
                    return;
                }
                // The story keeps the postings of its earliest and its
                // latest entry carrying the key (see the module doc).
                match postings.span_of(key, &siblings) {
                    Span::Common => {}
                    Span::None => postings.add(key, posting),
                    Span::Some { lo, hi, n } => {
                        let (earlier, later) = (posting.at() < lo.at(), posting.at() > hi.at());
                        if earlier || later {
                            postings.add(key, posting);
                            // What was the earliest (or latest) is now
                            // between two postings of the story.
                            if n >= 2 {
                                let inner = if earlier { lo } else { hi };
                                postings.remove(key, inner.slot());
                            }
                        }
                    }
                }
            });
        }
        for key in &f.title {
            self.title_df.add(*key);
        }
        // A copy counts only the shingles its story's other entries lack.
        let counted = self.uncarried(entry.story_id, &f.shingles);
        for (i, key) in f.shingles.iter().enumerate() {
            if counted[i / 64] & (1 << (i % 64)) != 0 {
                self.df.add(*key);
            }
        }
        for sentence in &f.sentences {
            for key in sentence {
                self.word_df.add(*key);
            }
        }
        for (key, _) in &f.event_terms {
            self.term_df.add(*key);
        }
        if entry.link != 0 {
            self.links.insert(entry.link, slot);
        }
        self.by_id.insert(id, slot);
        self.resident
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Arc::new(Packed::new(&entry.features)));
        let (shares, bits) = Counted::from_bits(counted, f.shingles.len()).split();
        if let Some(bits) = bits {
            self.counted.insert(slot, bits);
        }
        self.slots[slot as usize] = Some(Slot {
            id,
            entry: entry.with(()),
            narrative: AtomicU64::new(0),
            shingles: AtomicU64::new(0),
            sums_at: AtomicU32::new(0),
            chain: Chain::new(NO_SLOT, shares),
        });
        self.append(entry.story_id, slot, slot);
        self.changed();
    }

    /// Adds the chain of slots from `first` to `last` (linked by
    /// [`Slot::next`], entries of `story`) at the end of the story's list.
    fn append(&mut self, story: i64, first: u32, last: u32) {
        match self.stories.get_mut(&story) {
            None => {
                self.stories.insert(story, (first, last));
            }
            Some((_, end)) => {
                let tail = std::mem::replace(end, last);
                if let Some(Some(t)) = self.slots.get_mut(tail as usize) {
                    t.chain.set_next(first);
                }
            }
        }
    }

    /// Takes `slot` (whose next was `next`) out of `story`'s list.
    fn unlink(&mut self, story: i64, slot: u32, next: u32) {
        let Some(&(first, last)) = self.stories.get(&story) else {
            return;
        };
        if first == slot {
            if next == NO_SLOT {
                self.stories.remove(&story);
            } else {
                self.stories.insert(story, (next, last));
            }
            return;
        }
        let mut at = first;
        while let Some(s) = self.slot(at) {
            if s.chain.next() == slot {
                if let Some(Some(s)) = self.slots.get_mut(at as usize) {
                    s.chain.set_next(next);
                }
                if last == slot {
                    self.stories.insert(story, (first, at));
                }
                return;
            }
            at = s.chain.next();
        }
    }

    /// The slots of a story's indexed entries, in the order they joined.
    fn story_slots(&self, story: i64) -> impl Iterator<Item = (u32, &Slot)> + '_ {
        let first = self
            .stories
            .get(&story)
            .map_or(NO_SLOT, |(first, _)| *first);
        std::iter::successors(self.slot(first).map(|s| (first, s)), |(_, s)| {
            let next = s.chain.next();
            self.slot(next).map(|n| (next, n))
        })
    }

    /// Which of `shingles` (sorted, unique) no indexed entry of `story`
    /// carries, one bit per shingle in order. Reads the story's entries in
    /// the order they joined, and stops once every shingle is found: a
    /// verbatim copy's are all in the first entry read, usually (reading
    /// every entry's features, for every entry that joins, was most of the
    /// features read back from the store in a busy window).
    fn uncarried(&self, story: i64, shingles: &[u32]) -> Vec<u64> {
        let mut bits = vec![0u64; shingles.len().div_ceil(64)];
        for i in 0..shingles.len() {
            bits[i / 64] |= 1 << (i % 64);
        }
        let mut left = shingles.len();
        for (_, m) in self.story_slots(story) {
            if left == 0 {
                break;
            }
            let Some(f) = self.features(m.id) else {
                continue;
            };
            let theirs = f.shingles();
            let (mut i, mut j) = (0, 0);
            while i < shingles.len() && j < theirs.len() {
                match shingles[i].cmp(&theirs[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        let bit = 1 << (i % 64);
                        if bits[i / 64] & bit != 0 {
                            bits[i / 64] &= !bit;
                            left -= 1;
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
        }
        bits
    }

    /// The indexed entries of `story` dated in part `part` and not before
    /// `from`: their slots and row ids, in the story's member order.
    fn siblings_in_part(
        &self,
        story: i64,
        part: i64,
        from: i64,
    ) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.story_slots(story).filter_map(move |(slot, s)| {
            (part_of(s.entry.time) == part && s.entry.time >= from).then_some((slot, s.id))
        })
    }

    /// Removes an entry, if present, and returns it with its features
    /// (`None` for them if they could not be read back: then its keys
    /// stay counted, and its slot is not given out again, since posting
    /// lists may still name it).
    ///
    /// A word pair is posted for the earliest and the latest entry of a
    /// story in a part carrying it (see the module doc). When an entry
    /// holding such a posting leaves, the pair is posted for the earliest
    /// and latest of the story's other entries in the part carrying it, so
    /// the story stays findable by every word pair its indexed entries
    /// carry.
    pub fn remove(&mut self, id: i64) -> Option<Indexed<Option<Arc<Packed>>>> {
        self.remove_leaving(id, i64::MIN)
    }

    /// [`CandidateIndex::remove`], when every entry dated before `leaving`
    /// leaves too: their word pairs are not passed to them.
    fn remove_leaving(&mut self, id: i64, leaving: i64) -> Option<Indexed<Option<Arc<Packed>>>> {
        let slot = self.by_id.remove(id)?;
        let Slot {
            entry: old, chain, ..
        } = self.slots.get_mut(slot as usize)?.take()?;
        let next = chain.next();
        let counted = match chain.shares() {
            Shares::All => Counted::All,
            Shares::None => Counted::Bits(Box::default()),
            Shares::Some => Counted::Bits(self.counted.remove(&slot).unwrap_or_default()),
        };
        self.unlink(old.story_id, slot, next);
        self.changed();
        let features = self
            .resident
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take(id);
        if old.link != 0 {
            self.links.remove(old.link, slot);
        }
        let at = part_of(old.time);
        let Some(features) = features else {
            if let Some(part) = self.parts.get_mut(&at) {
                part.len -= 1;
                if part.len == 0 {
                    self.parts.remove(&at);
                }
            }
            return Some(old.with(None));
        };
        self.free.push(slot);
        let f = &*features;
        for (i, key) in f.shingles().iter().enumerate() {
            if counted.has(i) {
                self.df.remove(*key);
            }
        }
        for key in f.title() {
            self.title_df.remove(*key);
        }
        for sentence in f.sentences() {
            for key in sentence {
                self.word_df.remove(*key);
            }
        }
        for (key, _) in f.event_terms() {
            self.term_df.remove(key);
        }
        let mut orphaned: [Vec<u32>; 3] = Default::default();
        if let Some(part) = self.parts.get_mut(&at) {
            part.len -= 1;
            if part.len == 0 {
                self.parts.remove(&at);
            } else {
                for (table, orphaned) in TABLES.into_iter().zip(&mut orphaned) {
                    let postings = part.table_mut(table);
                    table.each_key(f, |key| {
                        if postings.remove(key, slot) {
                            orphaned.push(key);
                        }
                    });
                }
            }
        }
        if orphaned.iter().any(|o| !o.is_empty()) && !self.every_entry_posts {
            self.pass_postings(old.story_id, at, leaving, orphaned);
        }
        Some(old.with(Some(features)))
    }

    /// Posts again, for each of `keys` (per table, keys an entry of
    /// `story` dated in part `part` posted, and no longer does), the
    /// earliest and the latest other entry of the story in that part, dated
    /// from `leaving` on, that carries it (those not posted already).
    fn pass_postings(&mut self, story: i64, part: i64, leaving: i64, mut keys: [Vec<u32>; 3]) {
        for k in &mut keys {
            k.sort_unstable();
            k.dedup();
        }
        let siblings: Vec<(u32, i64)> = self.siblings_in_part(story, part, leaving).collect();
        // Per table and key, the earliest and the latest carrier (the first
        // in member order among equal dates).
        let mut ends: [Vec<Option<(Posting, Posting)>>; 3] =
            std::array::from_fn(|t| vec![None; keys[t].len()]);
        for &(slot, id) in &siblings {
            let Some(f) = self.features(id) else {
                continue;
            };
            let Some(time) = self.slot(slot).map(|s| s.entry.time) else {
                continue;
            };
            let posting = Posting::new(slot, offset_in_part(time));
            for (t, table) in TABLES.into_iter().enumerate() {
                if keys[t].is_empty() {
                    continue;
                }
                let (keys, ends) = (&keys[t], &mut ends[t]);
                table.each_key(&*f, |key| {
                    if let Ok(i) = keys.binary_search(&key) {
                        ends[i] = Some(widen(ends[i], posting));
                    }
                });
            }
        }
        let Some(p) = self.parts.get_mut(&part) else {
            return;
        };
        for ((table, keys), ends) in TABLES.into_iter().zip(keys).zip(ends) {
            let postings = p.table_mut(table);
            for (key, ends) in keys.into_iter().zip(ends) {
                let Some((lo, hi)) = ends else {
                    continue;
                };
                for posting in [lo, hi] {
                    if !postings.carried_by(key, &[posting.slot()]) {
                        postings.add(key, posting);
                    }
                }
            }
        }
    }

    /// The first indexed entry with this canonical link (0: none), within
    /// `window` seconds of `time`.
    pub fn by_link(&self, link: u64, time: i64, window: i64) -> Option<i64> {
        if link == 0 {
            return None;
        }
        self.links
            .slots(link)
            .filter_map(|slot| self.slot(slot))
            .filter(|s| s.entry.link == link && (s.entry.time - time).abs() <= window)
            .map(|s| s.id)
            .min()
    }

    /// The indexed entries of a story (in the order they joined).
    pub fn story_members(&self, story: i64) -> impl Iterator<Item = Member> + '_ {
        self.story_slots(story).map(|(_, s)| Member {
            id: s.id,
            outlet: s.entry.outlet,
            link: s.entry.link,
        })
    }

    /// Moves every indexed entry of story `from` into story `to` (after
    /// those `to` has).
    pub fn merge_story(&mut self, from: i64, to: i64) {
        if from == to {
            return;
        }
        let Some((first, last)) = self.stories.remove(&from) else {
            return;
        };
        let mut at = first;
        while let Some(Some(s)) = self.slots.get_mut(at as usize) {
            s.entry.story_id = to;
            at = s.chain.next();
        }
        self.append(to, first, last);
    }

    /// Removes every entry dated before `time`; returns how many.
    pub fn evict_before(&mut self, time: i64) -> usize {
        let old: Vec<i64> = self
            .slots
            .iter()
            .flatten()
            .filter(|s| s.entry.time < time)
            .map(|s| s.id)
            .collect();
        for id in &old {
            self.remove_leaving(*id, time);
        }
        old.len()
    }

    /// Entries within `window` seconds of `time` that share words with
    /// `features`, best first, at most `limit`.
    ///
    /// Of each part the window overlaps, the last 32 (`COUNTED_POSTINGS`)
    /// postings of each of the query's keys count (word pairs and headline
    /// words once, SimHash bands twice) when dated within the window; the
    /// postings carry their dates, so one outside the window costs nothing
    /// more. Loads that do not depend on each other (the first cell of
    /// every key in every part, the counted tail of every list, the counter
    /// of every counted slot) are issued together before the work that
    /// needs them, so their cache misses overlap.
    pub fn candidates(
        &self,
        features: &Features,
        time: i64,
        window: i64,
        limit: usize,
    ) -> Vec<i64> {
        let (from, until) = (time.saturating_sub(window), time.saturating_add(window));
        if from > until {
            return Vec::new();
        }
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        let Hits {
            epoch,
            counts,
            touched,
            hashes,
            counted,
            ranked,
        } = &mut *hits;
        *epoch = epoch.wrapping_add(1);
        if *epoch == 0 {
            counts.iter_mut().for_each(|c| c.epoch = 0);
            *epoch = 1;
        }
        let epoch = *epoch;
        touched.clear();
        counted.clear();
        let hashed = |k: u32| (k, u64::from(k).wrapping_mul(FIB));
        for (table, keys) in TABLES.into_iter().zip(hashes.iter_mut()) {
            keys.clear();
            table.each_key(features, |k| keys.push(hashed(k)));
        }
        // The window exactly (no entry is dated i64::MIN, the date of a
        // vacant slot).
        let lo_time = (i128::from(time) - i128::from(window)).max(i128::from(i64::MIN) + 1);
        let hi_time = i128::from(time) + i128::from(window);
        // The parts the window overlaps, with the window as dates in each.
        let mut parts: Vec<(&Part, std::ops::RangeInclusive<u32>)> = Vec::with_capacity(4);
        for (&p, part) in self.parts.range(part_of(from)..=part_of(until)) {
            let start = i128::from(p) * i128::from(PART_SECONDS);
            let lo = (lo_time - start).max(0);
            let hi = (hi_time - start).min(i128::from(PART_SECONDS) - 1);
            if lo <= hi {
                parts.push((part, (lo as u32)..=(hi as u32)));
            }
        }
        type Keys = [(u32, u64)];
        /// Each table of `part`, with the query's keys in it and its weight.
        fn tables<'a>(
            part: &'a Part,
            keys: &'a [Vec<(u32, u64)>; 3],
        ) -> [(&'a Postings, &'a Keys, u32); 3] {
            TABLES.map(|t| (part.table(t), keys[t as usize].as_slice(), t.weight()))
        }
        let keys: &[Vec<(u32, u64)>; 3] = hashes;
        // Every key's first cell in every part, before any is probed.
        for (part, _) in &parts {
            for (table, keys, _) in tables(part, keys) {
                if table.cells.is_empty() {
                    continue;
                }
                for (_, hash) in keys {
                    prefetch(&table.cells[table.home_of(*hash)]);
                }
            }
        }
        // Then every list's counted tail (a list of one sits in its cell),
        // before any is read.
        let mut lists: Vec<(&[Posting], &std::ops::RangeInclusive<u32>, u32)> = Vec::new();
        for (part, within) in &parts {
            for (table, keys, weight) in tables(part, keys) {
                if table.cells.is_empty() {
                    continue;
                }
                for (key, hash) in keys {
                    let Some(i) = table.find_from(*key, table.home_of(*hash)) else {
                        continue;
                    };
                    match table.list(&table.cells[i]) {
                        Some(List::One([p])) if within.contains(&p.at()) => {
                            counted.push((p.slot(), weight));
                        }
                        Some(List::Many(list)) => {
                            // Of a long list, the entries added last:
                            // enough to reach a story many feeds carry,
                            // without counting a phrase many stories
                            // share entry by entry.
                            let tail = &list[list.len().saturating_sub(COUNTED_POSTINGS)..];
                            prefetch_all(tail);
                            lists.push((tail, within, weight));
                        }
                        Some(List::One(_)) | None => {}
                    }
                }
            }
        }
        for (tail, within, weight) in lists {
            for p in tail {
                if within.contains(&p.at()) {
                    counted.push((p.slot(), weight));
                }
            }
        }
        for (slot, _) in counted.iter() {
            prefetch(&counts[*slot as usize]);
        }
        for &(slot, weight) in counted.iter() {
            let c = &mut counts[slot as usize];
            if c.epoch != epoch {
                *c = Counter {
                    id: c.id,
                    epoch,
                    count: 0,
                };
                touched.push(slot);
            }
            // A weight is at most 2, and an entry is counted at most once
            // per key of the lookup (a few dozen): the count never nears
            // the bound.
            c.count = c.count.saturating_add(weight as u16);
        }
        ranked.clear();
        ranked.extend(touched.iter().map(|slot| {
            let c = counts[*slot as usize];
            let id = match c.id {
                LARGE_ID => self.slot(*slot).map_or(i64::MAX, |s| s.id),
                small => i64::from(small),
            };
            (id, u32::from(c.count))
        }));
        // Most hits first, then the lowest id (ids are unique, so the
        // order is total): only the first `limit` are sorted.
        let order = |a: &(i64, u32), b: &(i64, u32)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
        if limit == 0 {
            return Vec::new();
        }
        if ranked.len() > limit {
            ranked.select_nth_unstable_by(limit - 1, order);
            ranked.truncate(limit);
        }
        ranked.sort_unstable_by(order);
        ranked.iter().map(|(id, _)| *id).collect()
    }
}

/// Starts loading the cache line that holds `value` without waiting for it:
/// a lookup first names the lines it is about to read, so that their cache
/// misses overlap instead of following one another. (Elsewhere than on
/// x86-64 it reads the value, and the CPU overlaps those reads as far as
/// it can.)
#[inline(always)]
fn prefetch<T: Copy>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    prefetch_line(std::ptr::from_ref(value).cast());
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(*value);
}

/// [`prefetch`] of every cache line `values` spans: one value per line
/// (those a line apart, and the last).
#[inline(always)]
fn prefetch_all<T: Copy>(values: &[T]) {
    let step = (CACHE_LINE / size_of::<T>().max(1)).max(1);
    values.iter().step_by(step).for_each(prefetch);
    if let Some(last) = values.last() {
        prefetch(last);
    }
}

/// The size of a cache line on the CPUs feedfold runs on (or less).
const CACHE_LINE: usize = 64;

/// Starts loading the cache line holding `address`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_line(address: *const u8) {
    // SAFETY: a prefetch is a hint: it reads nothing the program sees and
    // never faults, whatever the address; SSE, which it needs, is part of
    // every x86-64 CPU.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
}

/// Inverse document frequency over the indexed entries: a key no other
/// entry carries weighs most, one every entry carries weighs little.
impl super::similarity::Rarity for CandidateIndex {
    fn shingle(&self, key: u32) -> f64 {
        idf(self.ln_prior, self.df.get(key))
    }
    fn title(&self, key: u32) -> f64 {
        idf(self.ln_prior, self.title_df.get(key))
    }
    fn word(&self, key: u32) -> f64 {
        idf(self.ln_prior, self.word_df.get(key))
    }
    fn term(&self, key: u32) -> f64 {
        idf(self.ln_prior, self.term_df.get(key))
    }
}

/// Pseudo-entries that carry no key: they keep weights near-uniform while
/// the index holds few entries, so early decisions do not hinge on a
/// handful of documents.
const PRIOR_ENTRIES: f64 = 200.0;

/// `ln((n + PRIOR_ENTRIES) / (df + 1))` given `ln_prior`, the logarithm
/// of the numerator.
fn idf(ln_prior: f64, df: usize) -> f64 {
    // (Never negative, even where the approximate counts exceed `n`.)
    (ln_prior - ln_count(df)).max(0.0)
}

/// Counts up to this have their `ln(df + 1)` in a table.
const LN_TABLE: usize = 4096;

/// `ln(df + 1)`, from a table for the counts most keys have.
fn ln_count(df: usize) -> f64 {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| (0..LN_TABLE).map(|d| (d as f64 + 1.0).ln()).collect());
    match table.get(df) {
        Some(ln) => *ln,
        None => (df as f64 + 1.0).ln(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::features::extract;

    #[test]
    fn a_chain_keeps_its_next_slot_and_its_shares_apart() {
        for shares in [Shares::All, Shares::None, Shares::Some] {
            for next in [0, 1, 12_345, CHAIN_SLOT - 1, NO_SLOT] {
                let mut chain = Chain::new(next, shares);
                assert_eq!((chain.next(), chain.shares()), (next, shares));
                chain.set_next(7);
                assert_eq!((chain.next(), chain.shares()), (7, shares));
                chain.set_next(NO_SLOT);
                assert_eq!((chain.next(), chain.shares()), (NO_SLOT, shares));
            }
        }
    }

    #[test]
    fn sums_count_as_fresh_across_the_32_bit_wrap() {
        let at = sums_version(u64::from(u32::MAX) - 10);
        let now = sums_version(u64::from(u32::MAX) + 100);
        assert!(u64::from(now.wrapping_sub(at)) <= SUMS_LAG);
        assert_eq!(sums_version(1 << 32), 1, "never 0, the mark of no sums");
    }

    #[test]
    fn counted_shingles_keep_a_bit_set_only_when_some_are_counted_and_some_not() {
        // 70 shingles: two words, the second with 6 bits.
        let all = Counted::from_bits(vec![u64::MAX, 0b11_1111], 70);
        assert!(matches!(all, Counted::All));
        assert!((0..70).all(|i| all.has(i)));
        let none = Counted::from_bits(vec![0, 0], 70);
        assert!(matches!(&none, Counted::Bits(b) if b.is_empty()));
        assert!((0..70).all(|i| !none.has(i)));
        let some = Counted::from_bits(vec![u64::MAX, 0b01_1111], 70);
        assert!(matches!(&some, Counted::Bits(b) if b.len() == 2));
        assert!((0..69).all(|i| some.has(i)) && !some.has(69));
        let one = Counted::from_bits(vec![1 << 3], 5);
        assert!(matches!(one, Counted::Bits(_)));
        assert_eq!((0..5).filter(|i| one.has(*i)).collect::<Vec<_>>(), [3]);
        assert!(matches!(
            Counted::from_bits(vec![0b1_1111], 5),
            Counted::All
        ));
        assert!(matches!(Counted::from_bits(Vec::new(), 0), Counted::Bits(b) if b.is_empty()));
    }

    /// An entry of feed 1, without a link, with the given features.
    fn indexed(story_id: i64, time: i64, features: Features) -> Indexed {
        Indexed {
            outlet: 1,
            link: 0,
            story_id,
            time,
            features,
        }
    }

    fn entry(feed_id: i64, story_id: i64, time: i64, title: &str, text: &str) -> Indexed {
        Indexed {
            outlet: feed_id,
            link: 0,
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
        assert_eq!(idx.candidates(&q, 50, 86_400, 10), vec![1]);
    }

    #[test]
    fn a_lookup_reaches_every_stretch_its_window_overlaps_and_no_further() {
        let text = "Oil prices rose sharply on Monday after the cartel met in Vienna.";
        let mut idx = CandidateIndex::new();
        // One copy every 20 hours, across several stretches.
        for i in 0..12 {
            idx.insert(i, entry(i + 100, i, i * 72_000, "Oil rises", text));
        }
        let q = extract("Oil rises", text);
        let (time, window) = (5 * 72_000 + 3_600, 72 * 3_600);
        let mut got = idx.candidates(&q, time, window, 100);
        got.sort_unstable();
        let want: Vec<i64> = (0..12)
            .filter(|i| (i * 72_000 - time).abs() <= window)
            .collect();
        assert_eq!(got, want);
        assert!(want.len() >= 6, "the window spans stretches: {want:?}");
    }

    fn at(slot: u32) -> Posting {
        Posting::new(slot, 0)
    }

    #[test]
    fn a_posting_keeps_its_slot_and_date_to_the_bit() {
        let max_slot = SLOT_LIMIT - 1;
        let max_at = PART_SECONDS as u32 - 1;
        for (slot, at) in [
            (0, 0),
            (1, max_at),
            (max_slot, 0),
            (max_slot, max_at),
            (0x2aaa_5555, 0x2_a5a5),
        ] {
            let p = Posting::new(slot, at);
            assert_eq!((p.slot(), p.at()), (slot, at), "{slot:#x} at {at}");
        }
        assert_ne!(Posting::new(1, 2), Posting::new(2, 1));
    }

    #[test]
    fn posting_lists_grow_shrink_and_give_up_on_common_keys() {
        let mut p = Postings::default();
        p.add(7, at(1));
        assert_eq!(p.slots(7), Some(vec![1]));
        p.add(7, at(2));
        p.add(7, at(3));
        assert_eq!(p.count(7), 3);
        p.remove(7, 1);
        p.remove(7, 3);
        assert_eq!(p.slots(7), Some(vec![2]));
        p.remove(7, 2);
        assert_eq!(p.len, 0);
        assert!(p.cells.iter().all(|c| c.word == EMPTY));
        for slot in 0..=MAX_POSTINGS as u32 {
            p.add(9, at(slot));
        }
        assert_eq!(p.get(9), None, "too common to point anywhere");
        p.remove(9, 0);
        assert_eq!(p.get(9), None);
    }

    /// A small deterministic generator (SplitMix64).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn a_list_moves_up_the_block_sizes_and_a_full_one_fills_its_block() {
        let mut p = Postings::default();
        for slot in 0..MAX_POSTINGS as u32 {
            p.add(7, at(slot));
        }
        // One block of each size was taken in turn; all but the last are
        // free for other lists.
        let all: usize = (0..CLASSES).map(block_len).sum();
        assert_eq!(p.arena.len(), all);
        for class in 0..CLASSES - 1 {
            assert_eq!(p.free[class].len(), 1, "class {class}");
        }
        assert!(p.free[CLASSES - 1].is_empty());
        let i = p.find(7).expect("the key");
        assert_eq!(class_of(p.cells[i].word), CLASSES - 1);
        assert_eq!(p.slots(7), Some((0..MAX_POSTINGS as u32).collect()));
        // A block freed by a list is the next of its size another takes.
        let (free, len) = (p.free[3][0], p.arena.len());
        for slot in 0..=block_len(2) as u32 {
            p.add(8, at(slot));
        }
        assert_eq!(p.arena.len(), len);
        assert_eq!(p.cells[p.find(8).expect("the key")].slot, free);
    }

    #[test]
    fn posting_tables_behave_as_vectors_under_random_changes() {
        // The reference: a vector per key, appended to and removed from by
        // swapping the last in, dropped for good past the cap.
        let mut reference: StdHashMap<u32, Option<Vec<u32>>> = StdHashMap::new();
        let mut p = Postings::default();
        let mut rng = Rng(42);
        for step in 0..60_000 {
            // Few keys, so lists grow long, move between cells and blocks
            // and turn common; keys near each other collide in the table.
            let key = if rng.below(4) == 0 {
                rng.below(8) as u32
            } else {
                (rng.below(3_000) as u32).wrapping_mul(0x0101_0101)
            };
            let slot = rng.below(160) as u32;
            if rng.below(5) < 3 {
                p.add(key, at(slot));
                if let Some(list) = reference.entry(key).or_insert_with(|| Some(Vec::new())) {
                    list.push(slot);
                    if list.len() > MAX_POSTINGS {
                        reference.insert(key, None);
                    }
                }
            } else {
                p.remove(key, slot);
                if let Some(Some(list)) = reference.get_mut(&key) {
                    if let Some(pos) = list.iter().position(|s| *s == slot) {
                        list.swap_remove(pos);
                    }
                    if list.is_empty() {
                        reference.remove(&key);
                    }
                }
            }
            if step % 997 == 0 || step > 59_000 {
                for (key, want) in &reference {
                    assert_eq!(
                        p.slots(*key).as_ref(),
                        want.as_ref(),
                        "key {key} at step {step}"
                    );
                }
                assert_eq!(p.len, reference.len());
            }
        }
        assert!(
            reference.values().any(Option::is_none),
            "some key turned common"
        );
        assert!(
            reference.values().flatten().any(|l| l.len() > 2),
            "some list lives in the arena"
        );
    }

    #[test]
    fn lookups_count_what_a_straightforward_scan_counts() {
        let mut rng = Rng(7);
        let mut idx = CandidateIndex::new();
        let features = |rng: &mut Rng| {
            // Keys from a small vocabulary, so lists grow long and common.
            let mut shingles: Vec<u32> = (0..40).map(|_| rng.below(2_000) as u32).collect();
            shingles.sort_unstable();
            shingles.dedup();
            let mut title: Vec<u32> = (0..6).map(|_| rng.below(300) as u32).collect();
            title.sort_unstable();
            title.dedup();
            let lede = shingles.iter().rev().take(6).rev().copied().collect();
            Features {
                simhash: rng.next() & 0x000f_000f_000f_000f,
                shingles,
                lede,
                title,
                ..Features::default()
            }
        };
        let day = 86_400;
        for round in 0..6 {
            for _ in 0..1_500 {
                let id = rng.below(4_000) as i64 + 1;
                if rng.below(4) == 0 {
                    idx.remove(id);
                    continue;
                }
                // On the hour, as are the queries and windows, so that
                // entries fall on the window's bounds.
                let time = rng.below(30 * 24) as i64 * 3_600 - 10 * day;
                let f = features(&mut rng);
                idx.insert(id, indexed(id, time, f));
            }
            for _ in 0..200 {
                let q = features(&mut rng);
                let time = rng.below(34 * 24) as i64 * 3_600 - 12 * day;
                let window = [3_600, day, 3 * day, 20 * day][rng.below(4) as usize];
                let limit = [5, 24, usize::MAX][rng.below(3) as usize];
                assert_eq!(
                    idx.candidates(&q, time, window, limit),
                    scan(&idx, &q, time, window, limit),
                    "round {round}"
                );
            }
        }
    }

    /// What [`CandidateIndex::candidates`] finds, computed plainly: every
    /// part the window overlaps, the last postings of every key counted
    /// into a map, then filtered by the slot's date.
    fn scan(idx: &CandidateIndex, q: &Features, time: i64, window: i64, limit: usize) -> Vec<i64> {
        let mut counts: StdHashMap<u32, u32> = StdHashMap::new();
        let parts = idx
            .parts
            .range(part_of(time - window)..=part_of(time + window));
        for (_, part) in parts {
            let mut count = |list: Option<Vec<u32>>, weight: u32| {
                let list = list.unwrap_or_default();
                for slot in &list[list.len().saturating_sub(COUNTED_POSTINGS)..] {
                    *counts.entry(*slot).or_default() += weight;
                }
            };
            for key in sampled(q) {
                count(part.postings.slots(*key), 1);
            }
            for key in &q.title {
                count(part.titles.slots(*key), 1);
            }
            for i in 0..4 {
                count(part.bands.slots(band_key(q.simhash, i)), 2);
            }
        }
        let mut ranked: Vec<(i64, u32)> = counts
            .into_iter()
            .filter_map(|(slot, n)| {
                let s = idx.slot(slot)?;
                ((s.entry.time - time).abs() <= window).then_some((s.id, n))
            })
            .collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(limit);
        ranked.into_iter().map(|(id, _)| id).collect()
    }

    /// Checks, for each posting table, that every key an indexed entry
    /// posts in it (sampled word pairs, headline words, bands) is posted,
    /// in the entry's part, for the story's earliest and latest entries
    /// carrying it (unless too common to list), that no slot is posted
    /// twice for a key, and that every posting names an entry carrying the
    /// key.
    fn assert_story_postings(idx: &CandidateIndex) {
        for table in TABLES {
            assert_table_postings(idx, table);
        }
    }

    fn assert_table_postings(idx: &CandidateIndex, table: Table) {
        for (at, part) in &idx.parts {
            let postings = part.table(table);
            for cell in postings.cells.iter().filter(|c| c.word != EMPTY) {
                let Some(list) = postings.list(cell) else {
                    continue;
                };
                let mut slots: Vec<u32> = list.as_slice().iter().map(|p| p.slot()).collect();
                slots.sort_unstable();
                let n = slots.len();
                slots.dedup();
                assert_eq!(
                    slots.len(),
                    n,
                    "{table:?}: a slot posted twice for key {}",
                    cell.key
                );
                for slot in slots {
                    let s = idx.slot(slot).expect("a posting names an indexed entry");
                    assert_eq!(part_of(s.entry.time), *at);
                    let f = idx.features(s.id).expect("features");
                    assert!(table.keys(&*f).contains(&cell.key), "{table:?}");
                }
            }
        }
        for s in idx.slots.iter().flatten() {
            let postings = idx.parts[&part_of(s.entry.time)].table(table);
            let f = idx.features(s.id).expect("features");
            let story: Vec<u32> = idx
                .siblings_in_part(s.entry.story_id, part_of(s.entry.time), i64::MIN)
                .map(|(slot, _)| slot)
                .collect();
            for key in table.keys(&*f) {
                // The dates of the story's entries in the part carrying the key.
                let carriers: Vec<u32> = story
                    .iter()
                    .filter_map(|slot| idx.slot(*slot))
                    .filter(|c| {
                        let f = idx.features(c.id).expect("features");
                        table.keys(&*f).contains(&key)
                    })
                    .map(|c| offset_in_part(c.entry.time))
                    .collect();
                let (first, last) = (carriers.iter().min(), carriers.iter().max());
                match postings.span_of(key, &story) {
                    Span::Common => {}
                    Span::None => panic!(
                        "{table:?}: entry {} of story {}: key {key} posted by no entry of the story",
                        s.id, s.entry.story_id
                    ),
                    Span::Some { lo, hi, .. } => {
                        assert_eq!(Some(&lo.at()), first, "{table:?} {key}: the earliest carrier");
                        assert_eq!(Some(&hi.at()), last, "{table:?} {key}: the latest carrier");
                    }
                }
            }
        }
    }

    #[test]
    fn a_story_stays_findable_by_every_word_pair_its_entries_carry() {
        let mut rng = Rng(11);
        let mut idx = CandidateIndex::new();
        let day = 86_400;
        // Each story's entries take their word pairs from the story's own
        // small vocabulary (copies share most of them), plus a few common
        // ones, so lists are shared within and across stories.
        // A key drawn one time in `shared` from the `common` keys every
        // story draws from, else from the story's own `own` keys starting
        // at `story * stride + base`.
        let draw = |rng: &mut Rng, story: i64, (shared, common), (base, stride, own)| {
            if rng.below(shared) == 0 {
                rng.below(common)
            } else {
                base + story as u64 * stride + rng.below(own)
            }
        };
        let draw_sorted = |rng: &mut Rng, story: i64, n: usize, shared, own| {
            let mut keys: Vec<u32> = (0..n)
                .map(|_| draw(rng, story, shared, own) as u32)
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        };
        let features = |rng: &mut Rng, story: i64| {
            let shingles = draw_sorted(rng, story, 45, (8, 50), (1_000, 64, 60));
            let lede = shingles.iter().rev().take(10).rev().copied().collect();
            // Headline words and SimHash bands, too, mostly the story's,
            // a few of each shared with other stories.
            let title = draw_sorted(rng, story, 6, (6, 10), (100, 16, 8));
            let simhash = (0..4).fold(0u64, |h, i| {
                h | draw(rng, story, (8, 3), (10, 4, 3)) << (16 * i)
            });
            Features {
                simhash,
                shingles,
                lede,
                title,
                ..Features::default()
            }
        };
        // What the story lists must hold: each story's entries in the
        // order they joined (as a `Vec` per story kept them), and each
        // entry's date.
        let mut stories: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
        let mut dates: std::collections::BTreeMap<i64, i64> = Default::default();
        let check_lists =
            |idx: &CandidateIndex, stories: &std::collections::BTreeMap<i64, Vec<i64>>| {
                for story in 0..40 {
                    let listed: Vec<i64> = idx.story_members(story).map(|m| m.id).collect();
                    let expected = stories.get(&story).cloned().unwrap_or_default();
                    assert_eq!(listed, expected, "story {story}");
                }
                assert_eq!(
                    idx.stories.len(),
                    stories.values().filter(|l| !l.is_empty()).count()
                );
                for slot in idx.counted.keys() {
                    assert_eq!(
                        idx.slot(*slot).map(|s| s.chain.shares()),
                        Some(Shares::Some)
                    );
                }
            };
        for round in 0..8 {
            for _ in 0..400 {
                let id = rng.below(600) as i64 + 1;
                match rng.below(10) {
                    0 | 1 => {
                        idx.remove(id);
                        stories.values_mut().for_each(|l| l.retain(|e| *e != id));
                    }
                    2 => {
                        let (from, to) = (rng.below(40) as i64, rng.below(40) as i64);
                        idx.merge_story(from, to);
                        if from != to {
                            let moved = stories.remove(&from).unwrap_or_default();
                            stories.entry(to).or_default().extend(moved);
                        }
                    }
                    _ => {
                        let story = rng.below(40) as i64;
                        let time = (round * 2 * day as u64 + rng.below(4 * 24) * 3_600) as i64;
                        let f = features(&mut rng, story);
                        idx.insert(id, indexed(story, time, f));
                        stories.values_mut().for_each(|l| l.retain(|e| *e != id));
                        stories.entry(story).or_default().push(id);
                        dates.insert(id, time);
                    }
                }
            }
            assert_story_postings(&idx);
            check_lists(&idx, &stories);
            let before = ((round as i64) * 2 - 1) * day;
            idx.evict_before(before);
            stories
                .values_mut()
                .for_each(|l| l.retain(|e| dates.get(e).is_some_and(|t| *t >= before)));
            assert_story_postings(&idx);
            check_lists(&idx, &stories);
        }
        // Copies posted fewer keys than every entry would have, in each
        // table.
        for table in TABLES {
            let posted: usize = idx
                .parts
                .values()
                .map(|p| p.table(table))
                .flat_map(|t| t.cells.iter().filter_map(|c| t.list(c)))
                .map(|l| l.as_slice().len())
                .sum();
            let total: usize = idx
                .slots
                .iter()
                .flatten()
                .map(|s| table.keys(&*idx.features(s.id).expect("features")).len())
                .sum();
            assert!(posted < total, "{table:?}: {posted} of {total}");
        }
    }

    #[test]
    fn a_copy_between_its_storys_entries_posts_no_word_pair_they_post() {
        let text =
            "Oil prices rose sharply on Monday after the cartel met in Vienna to cut output.";
        let posted = |idx: &CandidateIndex, id: i64| {
            let slot = idx.by_id.get(id).expect("indexed");
            let part = &idx.parts[&0];
            let f = idx.features(id).expect("features");
            let n = sampled(&*f)
                .filter(|k| part.postings.carried_by(**k, &[slot]))
                .count();
            n
        };
        for (window, every) in [(72 * 3_600, false), (6 * 3_600, true)] {
            let mut idx = CandidateIndex::new();
            idx.set_lookup_window(window);
            idx.insert(1, entry(1, 7, 100, "Oil rises", text));
            idx.insert(2, entry(2, 7, 300, "Oil rises", text));
            idx.insert(3, entry(3, 7, 200, "Oil rises", text));
            let all = sampled(&extract("Oil rises", text)).count();
            assert!(all > 5);
            // The earliest and the latest post; the one between them does
            // not, unless lookups span less than a stretch.
            assert_eq!((posted(&idx, 1), posted(&idx, 2)), (all, all));
            assert_eq!(posted(&idx, 3), if every { all } else { 0 });
            // The earliest leaves: the next earliest takes its postings.
            idx.remove(1);
            assert_eq!(posted(&idx, 3), all);
            let q = extract("Oil up", text);
            assert_eq!(idx.candidates(&q, 250, 100, 10), vec![2, 3]);
        }
    }

    #[test]
    fn word_pair_counts_follow_inserts_and_removals() {
        let mut idx = CandidateIndex::new();
        let f = extract("Oil rises", "Oil prices rose sharply on Monday.");
        let key = f.shingles[0];
        idx.insert(
            1,
            entry(1, 1, 0, "Oil rises", "Oil prices rose sharply on Monday."),
        );
        idx.insert(
            2,
            entry(2, 2, 0, "Oil rises", "Oil prices rose sharply on Monday."),
        );
        assert_eq!(idx.df.get(key), 2);
        let rare = super::super::similarity::Rarity::shingle(&idx, key);
        idx.remove(2);
        assert_eq!(idx.df.get(key), 1);
        assert!(super::super::similarity::Rarity::shingle(&idx, key) > rare);
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
        assert_eq!(idx.candidates(&q, 0, 100, 10), vec![2]);
        idx.remove(2);
        assert!(idx.is_empty());
        assert!(
            idx.parts.is_empty()
                && idx.stories.is_empty()
                && idx.counted.is_empty()
                && idx.links.is_empty()
        );
    }

    #[test]
    fn a_link_carried_by_several_entries_lists_each_until_it_leaves() {
        let mut links = Links::default();
        let sorted = |links: &Links, link| {
            let mut v: Vec<u32> = links.slots(link).collect();
            v.sort_unstable();
            v
        };
        for slot in [4, 7, 9] {
            links.insert(1, slot);
        }
        links.insert(2, 5);
        assert_eq!(sorted(&links, 1), vec![4, 7, 9]);
        links.remove(1, 4);
        assert_eq!(sorted(&links, 1), vec![7, 9]);
        links.remove(1, 3);
        links.remove(3, 7);
        assert_eq!(sorted(&links, 1), vec![7, 9]);
        links.remove(1, 9);
        assert_eq!(sorted(&links, 1), vec![7]);
        assert!(links.more.is_empty(), "a link of one entry has no list");
        links.remove(1, 7);
        assert_eq!(sorted(&links, 1), Vec::<u32>::new());
        assert_eq!(sorted(&links, 2), vec![5]);
        links.remove(2, 5);
        assert!(links.is_empty());
    }

    #[test]
    fn by_link_finds_the_lowest_id_within_the_window() {
        let mut idx = CandidateIndex::new();
        for (id, time) in [(5, 0), (3, 1_000), (8, 10)] {
            let mut e = entry(id, id, time, "Oil rises", "Oil prices rose sharply.");
            e.link = 42;
            idx.insert(id, e);
        }
        assert_eq!(idx.by_link(42, 0, 100), Some(5));
        assert_eq!(idx.by_link(42, 1_000, 100), Some(3));
        assert_eq!(idx.by_link(42, 0, 10_000), Some(3));
        idx.remove(3);
        assert_eq!(idx.by_link(42, 0, 10_000), Some(5));
        idx.remove(5);
        assert_eq!(idx.by_link(42, 0, 10_000), Some(8));
        assert_eq!(idx.by_link(7, 0, 10_000), None);
    }

    #[test]
    fn links_sharing_a_key_find_only_their_own_entries() {
        let (a, b) = (42u64, 42u64 << 32);
        assert_eq!(link_key(a), link_key(b));
        let mut idx = CandidateIndex::new();
        for (id, link) in [(1, b), (2, a), (3, b)] {
            let mut e = entry(id, id, 0, "Oil rises", "Oil prices rose sharply.");
            e.link = link;
            idx.insert(id, e);
        }
        assert_eq!(idx.by_link(a, 0, 100), Some(2));
        assert_eq!(idx.by_link(b, 0, 100), Some(1));
        idx.remove(2);
        assert_eq!(idx.by_link(a, 0, 100), None);
        assert_eq!(idx.by_link(b, 0, 100), Some(1));
        idx.remove(1);
        assert_eq!(idx.by_link(b, 0, 100), Some(3));
    }

    #[test]
    fn row_ids_beyond_32_bits_are_indexed_like_the_others() {
        let mut idx = CandidateIndex::new();
        let ids = [7, i64::from(u32::MAX), i64::from(u32::MAX) + 7, -3];
        for (story, id) in ids.into_iter().enumerate() {
            let e = entry(1, story as i64, 0, "Oil rises", "Oil prices rose sharply.");
            idx.insert(id, e);
        }
        assert_eq!(idx.len(), 4);
        for (story, id) in ids.into_iter().enumerate() {
            assert!(idx.contains(id));
            assert_eq!(idx.get(id).map(|e| e.story_id), Some(story as i64));
        }
        assert!(!idx.contains(i64::from(u32::MAX) + 8));
        // A lookup gives every id back whole, whether or not its hit
        // counter could hold it (ties rank by id).
        let query = extract("Oil rises", "Oil prices rose sharply.");
        let mut found = idx.candidates(&query, 0, 3_600, 10);
        assert_eq!(
            found,
            vec![-3, 7, i64::from(u32::MAX), i64::from(u32::MAX) + 7]
        );
        found = idx.candidates(&query, 0, 3_600, 3);
        assert_eq!(found, vec![-3, 7, i64::from(u32::MAX)]);
        assert_eq!(
            idx.remove(i64::from(u32::MAX) + 7).map(|e| e.story_id),
            Some(2)
        );
        assert!(!idx.contains(i64::from(u32::MAX) + 7));
        assert_eq!(idx.len(), 3);
    }

    /// A store whose rows are all gone.
    struct Gone;

    impl FeatureSource for Gone {
        fn load(&mut self, _: i64) -> Result<Option<Packed>, super::super::SourceError> {
            Ok(None)
        }
    }

    #[test]
    fn an_entry_whose_features_cannot_be_read_back_leaves_without_giving_its_slot_away() {
        let mut idx = CandidateIndex::new();
        // One entry's features in memory at most, beside uncommitted ones.
        idx.set_feature_source(Box::new(Gone), 1);
        let oil = ("Oil rises", "Oil prices rose sharply on Monday in London.");
        let wheat = ("Wheat falls", "Wheat futures fell in Chicago on rain.");
        idx.insert(1, entry(1, 10, 0, oil.0, oil.1));
        idx.committed();
        idx.insert(2, entry(2, 20, 0, wheat.0, wheat.1));
        idx.committed();
        idx.insert(3, entry(3, 30, 0, wheat.0, wheat.1));
        idx.committed();
        // Entry 1 is out of memory and cannot be read back.
        assert!(idx.get(1).is_none());
        let q = extract(oil.0, oil.1);
        assert_eq!(idx.candidates(&q, 0, 100, 10), vec![1]);
        let removed = idx.remove(1).expect("entry 1 was indexed");
        assert!(removed.features.is_none());
        assert!(!idx.contains(1) && idx.len() == 2);
        // Its postings may remain, so its slot is not given to the next.
        idx.insert(4, entry(4, 40, 0, wheat.0, wheat.1));
        assert!(idx.candidates(&q, 0, 100, 10).iter().all(|id| *id != 4));
        assert_eq!(idx.get(4).map(|e| e.story_id), Some(40));
    }
}
