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
//!
//! The file is one unit (a little over 900 lines): the per-term event lists,
//! the bounds computed from them and the two decisions that read them
//! (placement, merging) keep one invariant between them (every list holds
//! exactly the events whose sum carries the term, with that sum), which is
//! easier to check in one place than across modules.

use std::collections::BTreeSet;
use std::hash::BuildHasherDefault;

use serde::{Deserialize, Serialize};

use super::index::KeyHasher;

use super::similarity::{shared, FIGURES_SHARE};

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

/// Maps keyed by terms and ids, with the index's fast hasher (the results
/// never depend on a map's order).
type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<KeyHasher>>;

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
    /// The sum of the (unweighted) term vectors of its entries, per term,
    /// with the event's place in the term's list of [`Events::by_term`].
    sum: Sums,
    tmin: i64,
    tmax: i64,
    stories: BTreeSet<i64>,
    /// The [`TOP_TERMS`] terms with the largest sums (ties by term), with
    /// their sums, in no order: what bounds the length of the weighted
    /// centroid from below. Kept in the event itself, not behind a
    /// pointer: every candidate of a search reads them.
    top: [(u32, f32); TOP_TERMS],
    /// How many of [`Event::top`] are set (fewer when the event has fewer
    /// terms).
    top_len: usize,
    /// Its place in [`Events::slots`].
    slot: u32,
    /// The [`Events::pass`] at which a story or an entry last joined it.
    touched: u64,
}

/// An event's sums per term, with its place in the term's list. Most
/// events of a window have one story, and a few dozen terms: those are
/// kept sorted by term, 12 bytes a term (a hash map took ~1.7 KB for 64);
/// an event past [`FEW_TERMS`] terms moves to a hash map, where the
/// searches look terms up fastest. Nothing reads the sums in their order
/// but to find a term: every figure computed from them sorts what it
/// takes.
#[derive(Debug, Clone)]
enum Sums {
    Few(Vec<(u32, (f32, u32))>),
    Many(HashMap<u32, (f32, u32)>),
}

/// The most terms an event keeps sorted (see [`Sums`]).
const FEW_TERMS: usize = 96;

impl Default for Sums {
    fn default() -> Self {
        Sums::Few(Vec::new())
    }
}

impl Sums {
    /// The sum and place of term `k`.
    fn get(&self, k: &u32) -> Option<&(f32, u32)> {
        match self {
            Sums::Few(few) => {
                let i = few.binary_search_by_key(k, |(t, _)| *t).ok()?;
                Some(&few[i].1)
            }
            Sums::Many(many) => many.get(k),
        }
    }

    /// The sum and place of term `k`, to change.
    fn get_mut(&mut self, k: &u32) -> Option<&mut (f32, u32)> {
        match self {
            Sums::Few(few) => {
                let i = few.binary_search_by_key(k, |(t, _)| *t).ok()?;
                Some(&mut few[i].1)
            }
            Sums::Many(many) => many.get_mut(k),
        }
    }

    /// Adds `w` to term `k`'s sum; a term it did not have yet starts at
    /// `w`, at the place `place` gives. Returns the sum, the place, and
    /// whether the term is new.
    fn add(&mut self, k: u32, w: f32, place: impl FnOnce() -> u32) -> (f32, u32, bool) {
        match self {
            Sums::Few(few) => match few.binary_search_by_key(&k, |(t, _)| *t) {
                Ok(i) => {
                    let (sum, at) = &mut few[i].1;
                    *sum += w;
                    (*sum, *at, false)
                }
                Err(i) => {
                    let at = place();
                    if few.len() < FEW_TERMS {
                        few.insert(i, (k, (w, at)));
                    } else {
                        let mut many: HashMap<u32, (f32, u32)> = few.drain(..).collect();
                        many.insert(k, (w, at));
                        *self = Sums::Many(many);
                    }
                    (w, at, true)
                }
            },
            Sums::Many(many) => match many.entry(k) {
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let (sum, at) = o.get_mut();
                    *sum += w;
                    (*sum, *at, false)
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    let at = place();
                    v.insert((w, at));
                    (w, at, true)
                }
            },
        }
    }

    /// The terms, their sums and places, in no order.
    fn iter(&self) -> impl Iterator<Item = (&u32, &(f32, u32))> + '_ {
        let (few, many) = match self {
            Sums::Few(few) => (Some(few.iter().map(|(k, v)| (k, v))), None),
            Sums::Many(many) => (None, Some(many.iter())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }

    /// How many terms.
    #[cfg(test)]
    fn len(&self) -> usize {
        match self {
            Sums::Few(few) => few.len(),
            Sums::Many(many) => many.len(),
        }
    }
}

/// A term's list in [`Events::by_term`]: the events whose sum carries it,
/// each as its slot and that sum. Most terms of a window are carried by
/// one event: its cell is kept in place (24 bytes in all, as an empty
/// `Vec`), not in a block of its own on the heap.
#[derive(Debug, Clone)]
enum TermList {
    One((u32, f32)),
    Many(Vec<(u32, f32)>),
}

impl Default for TermList {
    fn default() -> Self {
        TermList::Many(Vec::new())
    }
}

impl std::ops::Deref for TermList {
    type Target = [(u32, f32)];
    fn deref(&self) -> &[(u32, f32)] {
        match self {
            TermList::One(cell) => std::slice::from_ref(cell),
            TermList::Many(cells) => cells,
        }
    }
}

impl std::ops::DerefMut for TermList {
    fn deref_mut(&mut self) -> &mut [(u32, f32)] {
        match self {
            TermList::One(cell) => std::slice::from_mut(cell),
            TermList::Many(cells) => cells,
        }
    }
}

impl TermList {
    /// Adds a cell at the end.
    fn push(&mut self, cell: (u32, f32)) {
        match self {
            TermList::Many(cells) if cells.is_empty() => *self = TermList::One(cell),
            TermList::One(first) => *self = TermList::Many(vec![*first, cell]),
            TermList::Many(cells) => cells.push(cell),
        }
    }

    /// Removes the cell at `at` (in bounds), the last taking its place.
    fn swap_remove(&mut self, at: usize) {
        match self {
            TermList::One(_) => *self = TermList::default(),
            TermList::Many(cells) => {
                cells.swap_remove(at);
                if let [only] = cells[..] {
                    *self = TermList::One(only);
                }
            }
        }
    }
}

/// What an event shares with a vector, for the bounds of
/// [`Event::cosine_bound`].
#[derive(Debug, Clone, Copy, Default)]
struct Shared {
    /// The sum over the shared terms of the vector's value times the
    /// event's weighted sum.
    dot: f64,
    /// How many shared terms have a weighted sum above 0.
    count: usize,
    /// The sum of the squares of those weighted sums.
    squares: f64,
}

/// Per slot, the dates of the event holding it and what
/// [`Events::shared_terms`] gathers for it (the figures of [`Shared`]), all
/// but the dates at their default between calls: the posting loops read
/// one 40-byte cell per posting, not a date pair and a figures cell.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    tmin: i64,
    tmax: i64,
    dot: f64,
    squares: f64,
    count: u32,
    /// Whether the event carries a term of the vector at all (of weight 0
    /// or not).
    any: bool,
    /// Whether the event is among the ones looked at.
    seen: bool,
}

impl Tally {
    fn span(&self) -> (i64, i64) {
        (self.tmin, self.tmax)
    }

    fn shared(&self) -> Shared {
        Shared {
            dot: self.dot,
            count: self.count as usize,
            squares: self.squares,
        }
    }

    /// Back to the default, the dates kept.
    fn clear(&mut self) {
        *self = Tally {
            tmin: self.tmin,
            tmax: self.tmax,
            ..Tally::default()
        };
    }
}

/// A term of a searched vector: the term, its value, and its list of
/// [`Events::by_term`] (empty if no event carries it).
type ListedTerm<'a> = (u32, f32, &'a [(u32, f32)]);

/// The order of [`Event::top`]: the larger sum first, ties by term.
fn before(x: &(u32, f32), y: &(u32, f32)) -> std::cmp::Ordering {
    y.1.total_cmp(&x.1).then(x.0.cmp(&y.0))
}

/// How many of an event's largest (unweighted) terms [`Event::top`] keeps.
const TOP_TERMS: usize = 8;

/// Relative and absolute margins on an upper bound of a cosine, far above
/// the rounding of the `f32` arithmetic the exact figure goes through: a
/// candidate is passed over only when even its bound with these margins is
/// below what it would have to reach.
const BOUND_MARGIN: (f64, f64) = (1e-4, 1e-6);

/// An upper bound with the margins of [`BOUND_MARGIN`].
fn with_margin(bound: f64) -> f64 {
    bound * (1.0 + BOUND_MARGIN.0) + BOUND_MARGIN.1
}

/// The cosine of a unit vector sorted by term with the unit vector
/// [`unit_top`] makes of `weights`, computed as `cosine(a, &unit_top(weights,
/// cap))` computes it (the same figure to the bit), with `buf` as scratch:
/// only the `cap` strongest are sorted.
fn cosine_with_top(
    a: &[(u32, f32)],
    weights: impl IntoIterator<Item = (u32, f32)>,
    cap: usize,
    buf: &mut Vec<(u32, f32)>,
) -> f64 {
    buf.clear();
    buf.extend(weights.into_iter().filter(|(_, w)| *w > 0.0));
    let strongest = |x: &(u32, f32), y: &(u32, f32)| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0));
    if buf.len() > cap {
        if cap == 0 {
            buf.clear();
        } else {
            buf.select_nth_unstable_by(cap - 1, strongest);
            buf.truncate(cap);
        }
    }
    // The order `unit_top` sums the squares in.
    buf.sort_unstable_by(strongest);
    let norm = buf.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, w) in buf.iter_mut() {
            *w /= norm;
        }
    }
    buf.sort_unstable_by_key(|(k, _)| *k);
    cosine(a, buf)
}

impl Event {
    /// Whether `time` is within `window` of its dates (the searches
    /// filter by the same dates in [`Events::slots`]; the exhaustive
    /// search of the tests reads them here).
    #[cfg(test)]
    fn near(&self, time: i64, window: i64) -> bool {
        self.tmin.saturating_sub(window) <= time && time <= self.tmax.saturating_add(window)
    }

    /// The terms of [`Event::top`], with their sums.
    fn top(&self) -> &[(u32, f32)] {
        &self.top[..self.top_len]
    }

    /// Recomputes [`Event::top`] from the sums.
    fn update_top(&mut self) {
        let mut all: Vec<(u32, f32)> = self.sum.iter().map(|(k, (w, _))| (*k, *w)).collect();
        if all.len() > TOP_TERMS {
            all.select_nth_unstable_by(TOP_TERMS - 1, before);
            all.truncate(TOP_TERMS);
        }
        self.top_len = all.len();
        self.top[..all.len()].copy_from_slice(&all);
    }

    /// Keeps [`Event::top`] right after the sum of term `k` grew to `sum`
    /// (and no other changed): a term outside it can only have entered it
    /// by growing, a term in it only grew.
    fn raise_top(&mut self, k: u32, sum: f32) {
        if let Some(t) = self.top[..self.top_len].iter_mut().find(|t| t.0 == k) {
            t.1 = sum;
        } else if self.top_len < TOP_TERMS {
            self.top[self.top_len] = (k, sum);
            self.top_len += 1;
        } else if let Some(last) = (0..TOP_TERMS)
            .max_by(|i, j| before(&self.top[*i], &self.top[*j]))
            .filter(|i| before(&(k, sum), &self.top[*i]).is_lt())
        {
            self.top[last] = (k, sum);
        }
    }

    fn centroid(&self, weight: &impl TermWeight, cap: usize) -> Vector {
        unit_top(
            self.sum
                .iter()
                .map(|(k, (w, _))| (*k, w * weight.weight(*k))),
            cap,
        )
    }

    /// `cosine(a, &self.centroid(weight, cap))`, to the bit, with `buf` as
    /// scratch.
    fn cosine_with_centroid(
        &self,
        a: &[(u32, f32)],
        weight: &impl TermWeight,
        cap: usize,
        buf: &mut Vec<(u32, f32)>,
    ) -> f64 {
        cosine_with_top(
            a,
            self.sum
                .iter()
                .map(|(k, (w, _))| (*k, w * weight.weight(*k))),
            cap,
            buf,
        )
    }

    /// A quicker, looser bound than [`Event::cosine_bound`]: the shared
    /// terms alone bound the centroid's length from below.
    fn quick_bound(shared: Shared) -> f64 {
        let Shared { dot, squares, .. } = shared;
        if dot <= 0.0 || squares <= 0.0 {
            return 0.0;
        }
        (dot / squares.sqrt()).min(1.0)
    }

    /// An upper bound of `cosine(a, &self.centroid(weight, cap))` (before
    /// rounding) given `shared`: the sum over the terms of `a` the event
    /// carries of `a`'s value times the event's weighted sum, and how many
    /// such terms and the sum of the squares of those weighted sums. The
    /// centroid is the event's weighted sums over the length of its `cap`
    /// strongest, which is at least the length of any `cap` of them: those
    /// shared terms and, as far as `cap` allows, the event's [`Event::top`]
    /// terms `a` does not carry.
    fn cosine_bound(
        &self,
        a: &[(u32, f32)],
        shared: Shared,
        weight: &impl TermWeight,
        cap: usize,
    ) -> f64 {
        let Shared {
            dot,
            count,
            mut squares,
            ..
        } = shared;
        if dot <= 0.0 {
            return 0.0;
        }
        let mut room = cap.saturating_sub(count);
        for (k, sum) in self.top() {
            if room == 0 {
                break;
            }
            if a.binary_search_by_key(k, |(t, _)| *t).is_ok() {
                continue;
            }
            let w = sum * weight.weight(*k);
            if w > 0.0 {
                squares += f64::from(w) * f64::from(w);
                room -= 1;
            }
        }
        if squares <= 0.0 {
            return 1.0;
        }
        (dot / squares.sqrt()).min(1.0)
    }
}

/// Where a new story goes, and the figures that decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventPlacement {
    /// No event is close enough: a new one. (Then no event is close
    /// enough to merge with it either, as long as `events.merge` is at
    /// least `events.join`: the new event's centroid is the story's vector,
    /// and no event reached `events.join` with it.)
    Start,
    /// The closest event reached `events.join`, but the figures say
    /// another happening (see [`Events::place`]): a new event, which may
    /// still merge with another.
    StartApart {
        /// The closest event.
        closest: i64,
    },
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
    events: HashMap<i64, Event>,
    /// How many times [`Events::forget_idle_before`] has run.
    pass: u64,
    story_event: HashMap<i64, i64>,
    stories: HashMap<i64, StoryVector>,
    /// Per term, the events whose sum carries it: each event's slot and
    /// that sum, in a compact list (the searches read these lists).
    by_term: HashMap<u32, TermList>,
    /// Per slot, the event holding it.
    holders: Vec<i64>,
    /// Slots no event holds.
    free: Vec<u32>,
    /// Per slot, the first and last date of the event holding it, and the
    /// scratch of [`Events::shared_terms`] (the lock is never contended:
    /// only the writer places).
    slots: std::sync::Mutex<Vec<Tally>>,
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
        // Every event sharing a term, with an upper bound of its cosine;
        // the exact cosine (a sort of its weighted terms) only for those
        // whose bound could make them the best at or above `config.join`.
        // The events of the stories the entry shares enough text with may
        // get the bonus; the others have to reach `config.join` by their
        // cosine alone.
        // (An event holds a story exactly when `story_event` says so: the
        // events sharing enough text are those of these stories.)
        let texty: Vec<i64> = shared_text
            .iter()
            .filter(|(_, t)| *t >= config.shared_text)
            .filter_map(|(s, _)| self.story_event.get(s).copied())
            .collect();
        let bonus = config.shared_text_bonus.max(0.0);
        let with_bonus: &[i64] = if bonus > 0.0 { &texty } else { &[] };
        let mut bounds: Vec<(f64, i64)> = Vec::new();
        let near = |(tmin, tmax): (i64, i64)| {
            tmin.saturating_sub(window) <= time && time <= tmax.saturating_add(window)
        };
        // (Every event found is near in time: `shared_terms` kept only
        // those.)
        for (id, shared) in self.shared_terms(&vector, weight, config.join, with_bonus, near) {
            // The bound that needs no look-up of the event first.
            let bonus = if texty.contains(&id) {
                config.shared_text_bonus
            } else {
                0.0
            };
            if with_margin(Event::quick_bound(shared)) + bonus < config.join {
                continue;
            }
            let Some(event) = self.events.get(&id) else {
                continue;
            };
            let bound =
                with_margin(event.cosine_bound(&vector, shared, weight, config.terms)) + bonus;
            if bound >= config.join {
                bounds.push((bound, id));
            }
        }
        // Highest bound first: once a bound is below the best cosine, no
        // later event can beat it. The best is the highest cosine, the
        // lowest id among equals (the first in id order, as a scan by id
        // keeping only a strictly better one finds).
        bounds.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut buf = Vec::new();
        let mut best: Option<(i64, f64, f64)> = None;
        for (bound, id) in bounds {
            if best.is_some_and(|(_, b, _)| bound < b) {
                break;
            }
            let event = &self.events[&id];
            let mut similarity =
                event.cosine_with_centroid(&vector, weight, config.terms, &mut buf);
            let text = Self::text_shared(event, shared_text);
            if text >= config.shared_text {
                similarity += config.shared_text_bonus;
            }
            let better = match best {
                None => true,
                Some((b_id, b, _)) => similarity > b || (similarity == b && id < b_id),
            };
            if better {
                best = Some((id, similarity, text));
            }
        }
        self.settle(best, story, &vector, config, weight)
    }

    /// Where a story goes given the best event its search found (its id,
    /// similarity and shared text): that event if it reaches `config.join`
    /// and the figures agree, else a new event.
    fn settle(
        &self,
        best: Option<(i64, f64, f64)>,
        story: &StoryVector,
        vector: &[(u32, f32)],
        config: &EventsConfig,
        weight: &impl TermWeight,
    ) -> EventPlacement {
        let Some((event, similarity, shared_text)) = best.filter(|b| b.1 >= config.join) else {
            return EventPlacement::Start;
        };
        if !self.figures_agree(event, story) {
            return EventPlacement::StartApart { closest: event };
        }
        EventPlacement::Join {
            event,
            similarity,
            shared_text,
            closest: self.closest_story(event, vector, weight, config.terms),
        }
    }

    /// The story of `event` whose vector (weighted, the `cap` strongest
    /// terms kept) is most similar to `vector`, and that cosine; the first
    /// in id order among equals.
    fn closest_story(
        &self,
        event: i64,
        vector: &[(u32, f32)],
        weight: &impl TermWeight,
        cap: usize,
    ) -> Option<(i64, f64)> {
        self.events
            .get(&event)?
            .stories
            .iter()
            .filter_map(|s| {
                let theirs = weighted(&self.stories.get(s)?.vector, weight, cap);
                Some((*s, cosine(vector, &theirs)))
            })
            .fold(None, |best: Option<(i64, f64)>, (s, c)| match best {
                Some((_, b)) if b >= c => best,
                _ => Some((s, c)),
            })
    }

    /// The most text an entry shares with a story of `event`
    /// (`shared_text[story]`), 0 if none.
    fn text_shared(event: &Event, shared_text: &[(i64, f64)]) -> f64 {
        shared_text
            .iter()
            .filter(|(s, _)| event.stories.contains(s))
            .map(|(_, t)| *t)
            .fold(0.0, f64::max)
    }

    /// Per event whose dates `in_time` accepts, sharing a term with `vector`
    /// (sorted by term) and able to reach a cosine of `floor` with it, or
    /// of `also`, what [`Event::cosine_bound`] needs: the sum of `vector`'s
    /// value times the event's weighted sum over the shared terms, how many
    /// shared terms weigh more than 0, and the sum of the squares of their
    /// weighted sums.
    ///
    /// The events that share only "weak" terms of `vector` are left out
    /// without being looked at: whatever an event's sums, its cosine with
    /// `vector` is at most the length of `vector` over the terms they share
    /// (Cauchy-Schwarz), so an event sharing only terms whose squares add
    /// up to less than `floor` squared (with [`BOUND_MARGIN`]) cannot reach
    /// `floor`. Any such set of terms will do: the weak terms are those
    /// with the longest lists of events per unit of squared value, as many
    /// as fit. The other events are found through the other ("strong")
    /// terms, and the weak terms they share are added to their figures.
    fn shared_terms(
        &self,
        vector: &[(u32, f32)],
        weight: &impl TermWeight,
        floor: f64,
        also: &[i64],
        in_time: impl Fn((i64, i64)) -> bool,
    ) -> Vec<(i64, Shared)> {
        // The terms left out of the search ("weak"), as long as their length
        // stays under `floor`: any of them would do, and the cheapest to
        // leave out are those with the most postings per unit of squared
        // value (their lists are long, their share of the cosine small).
        let mut by_cost: Vec<ListedTerm<'_>> = vector
            .iter()
            .map(|(k, v)| (*k, *v, self.by_term.get(k).map_or(&[][..], |l| &l[..])))
            .collect();
        let per_square = |v: f32, n: usize| n as f64 / (f64::from(v) * f64::from(v));
        by_cost.sort_unstable_by(|a, b| {
            per_square(b.1, b.2.len())
                .total_cmp(&per_square(a.1, a.2.len()))
                .then(a.0.cmp(&b.0))
        });
        let mut squares = 0.0f64;
        let mut weak: Vec<ListedTerm<'_>> = Vec::new();
        let mut strong: Vec<ListedTerm<'_>> = Vec::new();
        for term in by_cost {
            let next = squares + f64::from(term.1) * f64::from(term.1);
            if with_margin(next.sqrt()) >= floor {
                strong.push(term);
            } else {
                squares = next;
                weak.push(term);
            }
        }
        let add = |e: &mut Tally, v: f32, w: f32| {
            // (A shared term of weight 0 still makes the event a
            // candidate, as the lists of `by_term` do.)
            e.any = true;
            e.seen = true;
            if w > 0.0 {
                let w = f64::from(w);
                e.dot += f64::from(v) * w;
                e.count += 1;
                e.squares += w * w;
            }
        };
        // Indexed by slot; `seen` lists the events touched.
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let shared: &mut Vec<Tally> = &mut slots;
        let mut seen: Vec<(u32, i64)> = Vec::new();
        for &(k, v, events) in &strong {
            let r = weight.weight(k);
            for (slot, sum) in events {
                let Some(e) = shared.get_mut(*slot as usize) else {
                    continue;
                };
                if !in_time(e.span()) {
                    continue;
                }
                if !e.seen {
                    seen.push((*slot, self.holders[*slot as usize]));
                }
                add(e, v, sum * r);
            }
        }
        for id in also {
            let Some(event) = self.events.get(id) else {
                continue;
            };
            let slot = event.slot;
            if let Some(e) = shared.get_mut(slot as usize) {
                if !e.seen && in_time((event.tmin, event.tmax)) {
                    e.seen = true;
                    seen.push((slot, *id));
                }
            }
        }
        // What the weak terms can add to an event's cosine is at most
        // their length (Cauchy-Schwarz again, the event's weighted sums
        // over them being at most the centroid's length): an event whose
        // bound from the strong terms plus that length is under `floor`
        // is left out before its weak terms are looked up.
        let weak_length = squares.sqrt();
        let mut alive: Vec<(u32, i64)> = Vec::with_capacity(seen.len());
        for &(slot, id) in &seen {
            let Some(e) = shared.get_mut(slot as usize) else {
                continue;
            };
            if also.contains(&id)
                || with_margin(Event::quick_bound(e.shared()) + weak_length) >= floor
            {
                alive.push((slot, id));
            } else {
                e.seen = false;
            }
        }
        // The weak terms of the events left: through a term's list of
        // events when it is short, else by looking the term up in each.
        let mut resolved: Option<Vec<(u32, &Event)>> = None;
        for &(k, v, events) in &weak {
            if events.is_empty() {
                continue;
            }
            let r = weight.weight(k);
            if events.len() <= alive.len() * 4 {
                for (slot, sum) in events {
                    if let Some(e) = shared.get_mut(*slot as usize) {
                        if e.seen {
                            add(e, v, sum * r);
                        }
                    }
                }
            } else {
                let resolved = resolved.get_or_insert_with(|| {
                    alive
                        .iter()
                        .filter_map(|(slot, id)| Some((*slot, self.events.get(id)?)))
                        .collect()
                });
                for (slot, event) in resolved.iter() {
                    if let (Some((sum, _)), Some(e)) =
                        (event.sum.get(&k), shared.get_mut(*slot as usize))
                    {
                        add(e, v, sum * r);
                    }
                }
            }
        }
        // Only the events that carry a term of `vector`.
        let found = alive
            .into_iter()
            .filter_map(|(slot, id)| {
                let e = shared.get(slot as usize)?;
                e.any.then(|| (id, e.shared()))
            })
            .collect();
        // Every slot touched was seen first: the scratch is clean again.
        for (slot, _) in seen {
            if let Some(e) = shared.get_mut(slot as usize) {
                e.clear();
            }
        }
        found
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
            || reports
                .iter()
                .any(|theirs| same_figures(&story.numbers, &theirs.numbers))
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
        // The exact cosine only for the events whose bound reaches
        // `config.merge`.
        let mut buf = Vec::new();
        // (In any order: the cosines do not depend on it, and the events
        // found are sorted below.)
        let mut found: Vec<(i64, f64)> = self
            .shared_terms(&centroid, weight, config.merge, &[], |(tmin, tmax)| {
                tmin.saturating_sub(window) <= e.tmax && e.tmin <= tmax.saturating_add(window)
            })
            .into_iter()
            .filter(|(id, shared)| {
                *id != event && with_margin(Event::quick_bound(*shared)) >= config.merge
            })
            .filter_map(|(id, shared)| {
                // (Near in time: `shared_terms` kept only those.)
                let other = self.events.get(&id)?;
                let bound = other.cosine_bound(&centroid, shared, weight, config.terms);
                if with_margin(bound) < config.merge {
                    return None;
                }
                let c = other.cosine_with_centroid(&centroid, weight, config.terms, &mut buf);
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
        ra.iter()
            .any(|x| rb.iter().any(|y| same_figures(&x.numbers, &y.numbers)))
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
        for (k, (_, at)) in e.sum.iter() {
            self.unlist(*k, *at);
        }
        for s in &e.stories {
            self.story_event.insert(*s, into);
        }
        let sums: Vec<(u32, f32)> = e.sum.iter().map(|(k, (w, _))| (*k, *w)).collect();
        self.add_terms(into, &sums, e.tmin);
        self.add_terms(into, &[], e.tmax);
        if let Some(target) = self.events.get_mut(&into) {
            target.stories.extend(e.stories);
        }
        self.free.push(e.slot);
    }

    /// Adds `vector` to the sums of event `id`, and `time` to its dates,
    /// keeping the term lists of [`Events::by_term`].
    fn add_terms(&mut self, id: i64, vector: &[(u32, f32)], time: i64) {
        let pass = self.pass;
        let Some(e) = self.events.get_mut(&id) else {
            return;
        };
        e.touched = pass;
        // Sums only grow (the vectors' values are positive): the top terms
        // follow each term that grew; else they are computed again.
        let growing = vector.iter().all(|(_, w)| *w >= 0.0);
        for (k, w) in vector {
            let by_term = &mut self.by_term;
            let (grown, at, new) = e
                .sum
                .add(*k, *w, || by_term.get(k).map_or(0, |l| l.len() as u32));
            if new {
                by_term.entry(*k).or_default().push((e.slot, *w));
            } else if let Some(cell) = by_term.get_mut(k).and_then(|l| l.get_mut(at as usize)) {
                cell.1 = grown;
            }
            if growing {
                e.raise_top(*k, grown);
            }
        }
        if !growing {
            e.update_top();
        }
        e.tmin = e.tmin.min(time);
        e.tmax = e.tmax.max(time);
        let slots = self.slots.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(tally) = slots.get_mut(e.slot as usize) {
            tally.tmin = e.tmin;
            tally.tmax = e.tmax;
        }
    }

    /// Takes the entry at `at` out of term `k`'s list, the last entry
    /// taking its place (and its event learning its new place).
    fn unlist(&mut self, k: u32, at: u32) {
        let Some(list) = self.by_term.get_mut(&k) else {
            return;
        };
        let at = at as usize;
        if at >= list.len() {
            return;
        }
        list.swap_remove(at);
        if let Some((moved, _)) = list.get(at) {
            let holder = self.holders.get(*moved as usize);
            if let Some(e) = holder.and_then(|id| self.events.get_mut(id)) {
                if let Some(place) = e.sum.get_mut(&k) {
                    place.1 = at as u32;
                }
            }
        } else if list.is_empty() {
            self.by_term.remove(&k);
        }
    }

    /// Adds a story to an event (a new event if `event` is unknown).
    pub fn add_story(&mut self, event: i64, story: i64, vector: StoryVector, time: i64) {
        if !self.events.contains_key(&event) {
            let slot = match self.free.pop() {
                Some(slot) => slot,
                None => {
                    let slots = self.slots.get_mut().unwrap_or_else(|e| e.into_inner());
                    slots.push(Tally {
                        tmin: time,
                        tmax: time,
                        ..Tally::default()
                    });
                    self.holders.push(event);
                    (slots.len() - 1) as u32
                }
            };
            if let Some(holder) = self.holders.get_mut(slot as usize) {
                *holder = event;
            }
            self.events.insert(
                event,
                Event {
                    tmin: time,
                    tmax: time,
                    slot,
                    ..Event::default()
                },
            );
        }
        self.add_terms(event, &vector.vector, time);
        if let Some(e) = self.events.get_mut(&event) {
            e.stories.insert(story);
        }
        self.story_event.insert(story, event);
        self.stories.insert(story, vector);
    }

    /// Adds the vector of an entry that joined a story of `event`.
    pub fn add_entry(&mut self, event: i64, vector: &[(u32, f32)], time: i64) {
        self.add_terms(event, vector, time);
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
            for (k, (_, at)) in e.sum.iter() {
                self.unlist(*k, *at);
            }
            for s in e.stories {
                self.story_event.remove(&s);
                self.stories.remove(&s);
            }
            self.free.push(e.slot);
        }
    }

    /// Forgets the events whose latest story is dated before `time` and
    /// that nothing joined since the previous call: an event an old entry
    /// just started or joined outlives one more call.
    pub fn forget_idle_before(&mut self, time: i64) -> usize {
        let pass = self.pass;
        let old: Vec<i64> = self
            .events
            .iter()
            .filter(|(_, e)| e.tmax < time && e.touched < pass)
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            self.forget(*id);
        }
        self.pass += 1;
        old.len()
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

/// Whether two figures reports carry the same figures: at least
/// [`FIGURES_SHARE`] of the fewer figures (sorted keys) are in both.
fn same_figures(a: &[u32], b: &[u32]) -> bool {
    let few = a.len().min(b.len());
    few > 0 && shared(a, b) as f64 >= FIGURES_SHARE * few as f64
}

#[cfg(test)]
mod tests;
