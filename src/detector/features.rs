//! Feature extraction for the near-duplicate detector (pure, no I/O).
//!
//! Runs in the normalizer's blocking stage, so the writer only compares.
//! From an entry's tokens ([`super::tokens`]) come:
//! - word 3-shingles (hashes of three consecutive content words), all of
//!   them and the *narrative* ones, mostly outside quotation marks: two
//!   outlets quoting one statement share its words, not their own;
//! - the lede (the first shingles), which every copy of a story keeps;
//! - the figures, which tell templated briefs and updated tolls apart;
//! - the headline words, the *names* of the lede (words capitalised inside
//!   a sentence), every word, and the word sets of the sentences (to align
//!   a reworded copy sentence by sentence);
//! - the event terms: headline and lede words, names and figures weighing
//!   more, for the event level;
//! - a 64-bit SimHash of the content words.
//!
//! Boilerplate that feeds stick on (author bios, "Source: X", share links,
//! copyright lines, "Read more", video prompts and picture captions) is
//! left out: lines that recur in several entries of one document, and lines
//! that match a short list of boilerplate openings.

use std::collections::HashMap;

use super::tokens::{tokenize_text, words, Tokens};

/// Version of the feature encoding stored in `entries.features`.
/// Changing tokenization or hashing changes this: stored features of an
/// older version are extracted again from the stored text.
pub const FEATURES_VERSION: u8 = 2;

/// Words per shingle.
pub const SHINGLE_WORDS: usize = 3;

/// How many leading shingles make up the lede.
pub const LEDE_SHINGLES: usize = 16;

/// How many leading words the names and the event terms come from.
pub const LEDE_WORDS: usize = 60;

/// Sentences with fewer own words than this are not aligned.
const MIN_SENTENCE_WORDS: usize = 5;

/// A text-less entry whose title has at least this many words (a lede
/// sent as the title) uses its title as its text.
const TITLE_AS_TEXT: usize = 15;

/// How much more a headline word weighs among the event terms.
const EVENT_TITLE_BOOST: f32 = 2.0;

/// How much more a name or a figure weighs among the event terms.
const EVENT_ENTITY_BOOST: f32 = 2.0;

/// Near-duplicate features of one entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// 64-bit SimHash of the content words of the text.
    pub simhash: u64,
    /// How many content words (tokens) the text has.
    pub tokens: u32,
    /// Sorted, unique hashes of the word 3-shingles of the text.
    pub shingles: Vec<u32>,
    /// The shingles mostly outside quotation marks: the writer's own words.
    pub narrative: Vec<u32>,
    /// Sorted, unique hashes of the first [`LEDE_SHINGLES`] shingles.
    pub lede: Vec<u32>,
    /// Sorted, unique hashes of the figures in the text.
    pub numbers: Vec<u32>,
    /// Sorted, unique hashes of the headline's words.
    pub title: Vec<u32>,
    /// Sorted, unique hashes of the words of the lede written with a
    /// capital inside a sentence: people, places, organisations.
    pub names: Vec<u32>,
    /// Sorted, unique hashes of every word of the text.
    pub words: Vec<u32>,
    /// The sorted, unique word hashes of each sentence of the writer's own
    /// words (outside quotations) with at least five of them, in order.
    pub sentences: Vec<Vec<u32>>,
    /// The event terms (headline and lede words, names and figures boosted)
    /// with their weight in this entry, sorted by term.
    pub event_terms: Vec<(u32, f32)>,
}

/// Read access to an entry's features, however they are held: a
/// [`Features`] as extracted, or [`super::packed::Packed`], the one
/// allocation the candidate index keeps per entry. The similarity figures
/// take either, so a new entry is compared with indexed ones as extracted.
pub trait FeatureView {
    /// See [`Features::simhash`].
    fn simhash(&self) -> u64;
    /// See [`Features::tokens`].
    fn tokens(&self) -> u32;
    /// See [`Features::shingles`].
    fn shingles(&self) -> &[u32];
    /// See [`Features::narrative`].
    fn narrative(&self) -> &[u32];
    /// See [`Features::lede`].
    fn lede(&self) -> &[u32];
    /// See [`Features::numbers`].
    fn numbers(&self) -> &[u32];
    /// See [`Features::title`].
    fn title(&self) -> &[u32];
    /// See [`Features::names`].
    fn names(&self) -> &[u32];
    /// See [`Features::words`].
    fn words(&self) -> &[u32];
    /// The word sets of the sentences, in order (see [`Features::sentences`]).
    fn sentences(&self) -> impl Iterator<Item = &[u32]> + Clone + '_;
    /// The event terms and their weights, sorted by term (see
    /// [`Features::event_terms`]).
    fn event_terms(&self) -> impl Iterator<Item = (u32, f32)> + Clone + '_;
}

impl FeatureView for Features {
    fn simhash(&self) -> u64 {
        self.simhash
    }
    fn tokens(&self) -> u32 {
        self.tokens
    }
    fn shingles(&self) -> &[u32] {
        &self.shingles
    }
    fn narrative(&self) -> &[u32] {
        &self.narrative
    }
    fn lede(&self) -> &[u32] {
        &self.lede
    }
    fn numbers(&self) -> &[u32] {
        &self.numbers
    }
    fn title(&self) -> &[u32] {
        &self.title
    }
    fn names(&self) -> &[u32] {
        &self.names
    }
    fn words(&self) -> &[u32] {
        &self.words
    }
    fn sentences(&self) -> impl Iterator<Item = &[u32]> + Clone + '_ {
        self.sentences.iter().map(Vec::as_slice)
    }
    fn event_terms(&self) -> impl Iterator<Item = (u32, f32)> + Clone + '_ {
        self.event_terms.iter().copied()
    }
}

/// What the extractor needs to know about one entry.
#[derive(Debug, Clone, Copy)]
pub struct EntryText<'a> {
    /// Title as plain text.
    pub title: &'a str,
    /// The longest plain text of the entry (content, else summary).
    pub text: &'a str,
}

/// FNV-1a, 64 bits: a specified hash, so stored features stay comparable
/// across builds and platforms.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// FNV-1a folded to 32 bits: the hash of every feature key.
pub fn hash32(s: &str) -> u32 {
    let h = fnv1a(s.as_bytes());
    (h ^ (h >> 32)) as u32
}

/// Words of a date or a time stamp, which a headline made of them lacks.
const DATE_WORDS: &[&str] = &[
    "am",
    "apr",
    "april",
    "aug",
    "august",
    "bst",
    "cet",
    "cst",
    "dec",
    "december",
    "edt",
    "est",
    "et",
    "feb",
    "february",
    "fri",
    "friday",
    "gmt",
    "ist",
    "jan",
    "january",
    "jul",
    "july",
    "jun",
    "june",
    "last",
    "mar",
    "march",
    "may",
    "modified",
    "mon",
    "monday",
    "nov",
    "november",
    "oct",
    "october",
    "pm",
    "posted",
    "pst",
    "published",
    "sat",
    "saturday",
    "sep",
    "sept",
    "september",
    "sun",
    "sunday",
    "thu",
    "thurs",
    "thursday",
    "today",
    "tue",
    "tues",
    "tuesday",
    "updated",
    "utc",
    "wed",
    "wednesday",
    "yesterday",
];

/// Line openings that mark boilerplate rather than story text.
const BOILERPLATE_OPENINGS: &[&str] = &[
    "source:",
    "source :",
    "sources:",
    "read more",
    "continue reading",
    "full story",
    "read the full",
    "share this",
    "share:",
    "follow us",
    "click here",
    "copyright",
    "\u{a9}",
    "(c) ",
    "all rights reserved",
    "about the author",
    "the author",
    "subscribe",
    "sign up",
    "related:",
    "related articles",
    "advertisement",
    "photo:",
    "file photo",
    "image:",
    "[...]",
    "\u{2026}",
    "...",
    "the post ",
    "this article",
    // Republishers' own interleaved lines: video prompts, picture credits
    // and captions.
    "scroll down for video",
    "watch the video",
    "click to",
    "(photo",
    "(ap photo",
    "ap photo",
    "getty images",
    "(getty",
    "pictured:",
    "caption:",
];

fn is_boilerplate_line(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    if l.is_empty() {
        return true;
    }
    BOILERPLATE_OPENINGS.iter().any(|p| l.starts_with(p)) || l.contains("all rights reserved")
}

fn line_key(line: &str) -> String {
    words(line).join(" ")
}

/// Lines (paragraphs) that recur in many entries of one document: bios,
/// sign-offs and share bars that a feed sticks on every entry. "Many" is at
/// least two entries and at least 30% of them, so two duplicate stories in
/// a long feed keep their text. Lines are compared by their tokens' key.
fn repeated_lines(entries: &[Vec<u64>]) -> std::collections::HashSet<u64> {
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for lines in entries {
        let mut seen = std::collections::HashSet::new();
        for key in lines {
            // (0: a line without words.)
            if *key != 0 && seen.insert(*key) {
                *counts.entry(*key).or_default() += 1;
            }
        }
    }
    let needed = (entries.len() * 3).div_ceil(10).max(2);
    counts
        .into_iter()
        .filter(|(_, n)| *n >= needed)
        .map(|(k, _)| k)
        .collect()
}

/// A feed's title decorations: a leading or trailing segment (" - Outlet",
/// "Outlet | ", "Analysis: ") that recurs in most titles of the document or
/// names the feed.
pub fn title_affixes(titles: &[&str], feed_title: Option<&str>) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for title in titles {
        for seg in affix_segments(title) {
            *counts.entry(seg).or_default() += 1;
        }
    }
    let feed_key = feed_title.map(line_key).unwrap_or_default();
    let needed = (titles.len() / 3).max(2);
    counts
        .into_iter()
        .filter(|(seg, n)| *n >= needed || (!feed_key.is_empty() && *seg == feed_key))
        .map(|(seg, _)| seg)
        .collect()
}

const TITLE_SEPARATORS: &[&str] = &[" - ", " | ", " \u{2013} ", " \u{2014} ", ": ", " :: "];

fn affix_segments(title: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sep in TITLE_SEPARATORS {
        if let Some(pos) = title.find(sep) {
            out.push(line_key(&title[..pos]));
        }
        if let Some(pos) = title.rfind(sep) {
            out.push(line_key(&title[pos + sep.len()..]));
        }
    }
    out.retain(|s| !s.is_empty() && s.split(' ').count() <= 4);
    out.sort();
    out.dedup();
    out
}

fn strip_title_affixes(title: &str, affixes: &[String]) -> String {
    let mut t = title.to_string();
    for sep in TITLE_SEPARATORS {
        if let Some(pos) = t.rfind(sep) {
            if affixes.contains(&line_key(&t[pos + sep.len()..])) {
                t.truncate(pos);
            }
        }
        if let Some(pos) = t.find(sep) {
            if affixes.contains(&line_key(&t[..pos])) {
                t = t[pos + sep.len()..].to_string();
            }
        }
    }
    t
}

/// Extracts features of every entry of one document at once, so that lines
/// and title decorations shared across the document are recognized.
pub fn extract_document(entries: &[EntryText<'_>], feed_title: Option<&str>) -> Vec<Features> {
    let mut scratch = Tokens::default();
    // Each line's key (its folded words): lines repeated across the
    // document's entries are boilerplate.
    let keys: Vec<Vec<u64>> = entries
        .iter()
        .map(|e| {
            e.text
                .lines()
                .map(|line| {
                    tokenize_text(std::iter::once(line), &mut scratch);
                    if scratch.is_empty() {
                        0
                    } else {
                        scratch.key()
                    }
                })
                .collect()
        })
        .collect();
    let repeated = repeated_lines(&keys);
    let titles: Vec<&str> = entries.iter().map(|e| e.title).collect();
    let affixes = title_affixes(&titles, feed_title);
    let mut body = Tokens::default();
    let mut title_tokens = Tokens::default();
    entries
        .iter()
        .zip(&keys)
        .map(|(e, keys)| {
            let title = strip_title_affixes(e.title, &affixes);
            // Boilerplate is a few lines of an entry; an entry most of whose
            // lines recur is a copy of another (a re-sent item, a rolling
            // update), and its lines are its text.
            let lines = keys.iter().filter(|k| **k != 0).count();
            let recurring = keys.iter().filter(|k| repeated.contains(*k)).count();
            let copy = recurring * 2 > lines;
            let kept: Vec<&str> = e
                .text
                .lines()
                .zip(keys)
                .filter(|(line, key)| {
                    !is_boilerplate_line(line) && (copy || !repeated.contains(key))
                })
                .map(|(line, _)| line)
                .collect();
            // Everything looked like boilerplate: better the whole text than none.
            if kept.is_empty() {
                tokenize_text(e.text.lines(), &mut body);
            } else {
                tokenize_text(kept.iter().copied(), &mut body);
            }
            tokenize_text(title.lines(), &mut title_tokens);
            from_tokens(&mut body, &title_tokens, e.text)
        })
        .collect()
}

/// Extracts the features of one entry from its (cleaned) title and text.
pub fn extract(title: &str, text: &str) -> Features {
    let mut body = Tokens::default();
    let mut title_tokens = Tokens::default();
    tokenize_text(text.lines(), &mut body);
    tokenize_text(title.lines(), &mut title_tokens);
    from_tokens(&mut body, &title_tokens, text)
}

/// The 64-bit SimHash of a stream of words, bit for bit what
/// `simhash::simhash_stream` computes (SipHash-2-4 of each word as `Hash`
/// feeds it, bits voted by every word), with the vote counted in a form
/// the compiler vectorizes: it runs for every word of every entry.
pub fn simhash_of<'w>(words: impl Iterator<Item = &'w str>) -> u64 {
    use std::hash::Hasher;
    let mut votes = [0_i64; 64];
    for word in words {
        let mut hasher = siphasher::sip::SipHasher::new();
        hasher.write(word.as_bytes());
        hasher.write_u8(0xff);
        let h = hasher.finish();
        for (i, vote) in votes.iter_mut().enumerate() {
            *vote += (((h >> i) & 1) as i64) * 2 - 1;
        }
    }
    votes
        .iter()
        .enumerate()
        .filter(|(_, vote)| **vote > 0)
        .fold(0, |hash, (i, _)| hash | 1 << i)
}

/// The headline's words (not figures, not single letters, not date
/// words): the title's, unless it is only a date or a time stamp; then a
/// short first line of the text (feeds without a real title repeat the
/// headline there).
fn headline(title: &Tokens, text: &str) -> Tokens {
    let keep = |tokens: &Tokens| {
        let mut out = Tokens::default();
        for (word, flags) in tokens.iter() {
            if !flags.number
                && word.chars().nth(1).is_some()
                && DATE_WORDS.binary_search(&word).is_err()
            {
                out.push_token(word, flags);
            }
        }
        out
    };
    let from_title = keep(title);
    if from_title.len() >= 2 {
        return from_title;
    }
    let mut line_tokens = Tokens::default();
    for line in text.lines().take(2) {
        if line.split_whitespace().count() <= 16 {
            tokenize_text(std::iter::once(line), &mut line_tokens);
            let words = keep(&line_tokens);
            if words.len() >= 2 {
                return words;
            }
        }
    }
    Tokens::default()
}

fn sorted(mut v: Vec<u32>) -> Vec<u32> {
    v.sort_unstable();
    v.dedup();
    v
}

fn from_tokens(tokens: &mut Tokens, title: &Tokens, text: &str) -> Features {
    if tokens.len() < SHINGLE_WORDS && title.len() >= TITLE_AS_TEXT {
        // A sentence-long title: the lede is all the text there is.
        *tokens = title.clone();
    }
    let tokens = &*tokens;
    let simhash = simhash_of(tokens.iter().map(|(word, _)| word));
    let n = tokens.len();
    let mut shingles = Vec::with_capacity(n);
    let mut narrative = Vec::with_capacity(n);
    let mut key = String::new();
    for i in 0..n.saturating_sub(SHINGLE_WORDS - 1) {
        key.clear();
        let mut quoted = 0;
        for k in 0..SHINGLE_WORDS {
            if k > 0 {
                key.push(' ');
            }
            key.push_str(tokens.word(i + k));
            quoted += usize::from(tokens.flags(i + k).quoted);
        }
        let h = hash32(&key);
        shingles.push(h);
        // Mostly outside quotation marks: the writer's own words.
        if quoted * 2 <= SHINGLE_WORDS {
            narrative.push(h);
        }
    }
    let lede = sorted(shingles.iter().take(LEDE_SHINGLES).copied().collect());
    let shingles = sorted(shingles);
    let narrative = sorted(narrative);
    let mut sentences: Vec<Vec<u32>> = Vec::new();
    let mut current: Option<u32> = None;
    let mut words: Vec<u32> = Vec::with_capacity(n);
    let mut numbers = Vec::new();
    let mut names = Vec::new();
    for (i, (word, flags)) in tokens.iter().enumerate() {
        let h = hash32(word);
        words.push(h);
        if flags.number {
            numbers.push(h);
        }
        if flags.cap && i < LEDE_WORDS {
            names.push(h);
        }
        if !flags.quoted {
            if current != Some(flags.sentence) {
                current = Some(flags.sentence);
                sentences.push(Vec::new());
            }
            if let Some(s) = sentences.last_mut() {
                s.push(h);
            }
        }
    }
    let sentences: Vec<Vec<u32>> = sentences
        .into_iter()
        .map(sorted)
        .filter(|s| s.len() >= MIN_SENTENCE_WORDS)
        .collect();
    let headline = headline(title, text);
    let mut terms: HashMap<u32, f32> = HashMap::new();
    for (word, flags) in headline.iter() {
        let entity = if flags.cap || flags.number {
            EVENT_ENTITY_BOOST
        } else {
            1.0
        };
        *terms.entry(hash32(word)).or_default() += EVENT_TITLE_BOOST * entity;
    }
    for (word, flags) in tokens.iter().take(LEDE_WORDS) {
        if word.chars().nth(1).is_none() {
            continue;
        }
        let entity = if flags.cap || flags.number {
            EVENT_ENTITY_BOOST
        } else {
            1.0
        };
        *terms.entry(hash32(word)).or_default() += entity;
    }
    let mut event_terms: Vec<(u32, f32)> = terms.into_iter().collect();
    event_terms.sort_unstable_by_key(|(k, _)| *k);
    Features {
        simhash,
        tokens: u32::try_from(n).unwrap_or(u32::MAX),
        shingles,
        narrative,
        lede,
        numbers: sorted(numbers),
        title: sorted(headline.iter().map(|(w, _)| hash32(w)).collect()),
        names: sorted(names),
        words: sorted(words),
        sentences,
        event_terms,
    }
}

fn put_list(out: &mut Vec<u8>, list: &[u32]) {
    let n = u32::try_from(list.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    for v in list.iter().take(n as usize) {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Reads `N` bytes off the front of `rest`.
fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    if rest.len() < N {
        return None;
    }
    let (head, tail) = rest.split_at(N);
    *rest = tail;
    head.try_into().ok()
}

fn take_u32(rest: &mut &[u8]) -> Option<u32> {
    take::<4>(rest).map(u32::from_le_bytes)
}

/// A list [`put_list`] wrote, as its bytes.
fn take_list_bytes<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = take_u32(rest)? as usize;
    let len = n.checked_mul(4)?;
    if rest.len() < len {
        return None;
    }
    let (head, tail) = rest.split_at(len);
    *rest = tail;
    Some(head)
}

/// The little-endian `u32`s of a list's bytes. (A loop the compiler
/// vectorizes: opening a store decodes the features of every entry of the
/// window.)
pub(super) fn list_values(bytes: &[u8]) -> impl ExactSizeIterator<Item = u32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// [`Features::encode`] output split into its parts, each list as its
/// bytes, and checked whole: the one reader of the format, for
/// [`Features::decode`] and [`super::packed::Packed::decode`].
pub(super) struct Encoded<'a> {
    pub(super) simhash: u64,
    pub(super) tokens: u32,
    /// shingles, narrative, lede, numbers, title, names and words, in
    /// that order.
    pub(super) lists: [&'a [u8]; 7],
    /// The sentences' lists, one after the other (see
    /// [`Encoded::sentences`]).
    sentences: &'a [u8],
    sentence_count: usize,
    /// The event terms: (key, weight) pairs, 8 bytes each.
    pub(super) terms: &'a [u8],
}

impl<'a> Encoded<'a> {
    /// Splits an encoding; `None` if it is not of this version or is cut
    /// short.
    pub(super) fn parse(bytes: &'a [u8]) -> Option<Encoded<'a>> {
        let (&version, mut rest) = bytes.split_first()?;
        if version != FEATURES_VERSION {
            return None;
        }
        let rest = &mut rest;
        let simhash = u64::from_le_bytes(take::<8>(rest)?);
        let tokens = take_u32(rest)?;
        let mut lists: [&[u8]; 7] = [&[]; 7];
        for list in &mut lists {
            *list = take_list_bytes(rest)?;
        }
        let sentence_count = take_u32(rest)? as usize;
        if rest.len() < sentence_count.checked_mul(4)? {
            return None;
        }
        let start = *rest;
        for _ in 0..sentence_count {
            take_list_bytes(rest)?;
        }
        let sentences = &start[..start.len() - rest.len()];
        let n = take_u32(rest)? as usize;
        let terms = rest.get(..n.checked_mul(8)?)?;
        Some(Encoded {
            simhash,
            tokens,
            lists,
            sentences,
            sentence_count,
            terms,
        })
    }

    /// Each sentence's list, as its bytes.
    pub(super) fn sentences(&self) -> impl Iterator<Item = &'a [u8]> + Clone + 'a {
        // Checked by `parse`: every list is there.
        let mut rest = self.sentences;
        std::iter::from_fn(move || take_list_bytes(&mut rest)).take(self.sentence_count)
    }
}

impl Features {
    /// Encodes the features for `entries.features` (little-endian, versioned).
    pub fn encode(&self) -> Vec<u8> {
        let lists = [
            &self.shingles,
            &self.narrative,
            &self.lede,
            &self.numbers,
            &self.title,
            &self.names,
            &self.words,
        ];
        let size = 1
            + 8
            + 4
            + lists.iter().map(|l| 4 + 4 * l.len()).sum::<usize>()
            + 4
            + self
                .sentences
                .iter()
                .map(|s| 4 + 4 * s.len())
                .sum::<usize>()
            + 4
            + 8 * self.event_terms.len();
        let mut out = Vec::with_capacity(size);
        out.push(FEATURES_VERSION);
        out.extend_from_slice(&self.simhash.to_le_bytes());
        out.extend_from_slice(&self.tokens.to_le_bytes());
        for list in lists {
            put_list(&mut out, list);
        }
        let n = u32::try_from(self.sentences.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for s in self.sentences.iter().take(n as usize) {
            put_list(&mut out, s);
        }
        let n = u32::try_from(self.event_terms.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&n.to_le_bytes());
        for (k, w) in self.event_terms.iter().take(n as usize) {
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Decodes [`Features::encode`] output; `None` if it is not of this
    /// version or is cut short.
    pub fn decode(bytes: &[u8]) -> Option<Features> {
        let e = Encoded::parse(bytes)?;
        let [shingles, narrative, lede, numbers, title, names, words] =
            e.lists.map(|l| list_values(l).collect());
        Some(Features {
            simhash: e.simhash,
            tokens: e.tokens,
            shingles,
            narrative,
            lede,
            numbers,
            title,
            names,
            words,
            sentences: e.sentences().map(|s| list_values(s).collect()).collect(),
            event_terms: e
                .terms
                .chunks_exact(8)
                .map(|t| {
                    (
                        u32::from_le_bytes([t[0], t[1], t[2], t[3]]),
                        f32::from_le_bytes([t[4], t[5], t[6], t[7]]),
                    )
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simhash_is_the_simhash_crates() {
        for text in [
            "",
            "oil",
            "Oil prices rose sharply on Monday after the cartel met in Vienna",
            "Путин готов к прекращению огня 停火 2,267,000 dlrs",
        ] {
            let words: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(
                simhash_of(words.iter().copied()),
                simhash::simhash_stream(words.iter().copied()),
                "{text}"
            );
        }
    }

    #[test]
    fn date_words_are_sorted_for_binary_search() {
        let mut sorted = DATE_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, DATE_WORDS);
    }

    #[test]
    fn repeated_lines_and_boilerplate_are_left_out() {
        let a = "Oil prices rose sharply on Monday after the cartel met.\nAbout the author: a reporter.";
        let b =
            "Gold fell in early trade in London on heavy selling.\nAbout the author: a reporter.";
        let with = extract_document(
            &[
                EntryText {
                    title: "Oil",
                    text: a,
                },
                EntryText {
                    title: "Gold",
                    text: b,
                },
            ],
            None,
        );
        let plain = extract(
            "Oil",
            "Oil prices rose sharply on Monday after the cartel met.",
        );
        assert_eq!(with[0].shingles, plain.shingles);
        let src = extract_document(
            &[EntryText {
                title: "x",
                text: "Gold fell sharply in London trade.\nSource: Skai\nScroll down for video",
            }],
            None,
        );
        assert_eq!(
            src[0].shingles,
            extract("x", "Gold fell sharply in London trade.").shingles
        );
    }

    #[test]
    fn an_entry_repeated_in_its_document_keeps_its_text() {
        let text = "A fire swept through a historic warehouse in Bergen early on Friday.\n\
                    Around 60 firefighters fought the blaze for five hours.\n\
                    Nobody was injured, the fire service said.\n\
                    Follow us on social media.";
        let update = format!("{text}\nThe fire was under control by noon.");
        let docs = extract_document(
            &[
                EntryText {
                    title: "Fire in Bergen",
                    text,
                },
                EntryText {
                    title: "Fire in Bergen under control",
                    text: &update,
                },
                EntryText {
                    title: "Wheat",
                    text: "Wheat fell in Chicago on rain.\nFollow us on social media.",
                },
            ],
            None,
        );
        let alone = extract(
            "Fire in Bergen",
            text.trim_end_matches("\nFollow us on social media."),
        );
        assert_eq!(docs[0].narrative, alone.narrative, "its lines are its text");
        let wheat = extract("Wheat", "Wheat fell in Chicago on rain.");
        assert_eq!(
            docs[2].shingles, wheat.shingles,
            "the sign-off is still boilerplate"
        );
    }

    #[test]
    fn title_decorations_of_the_feed_are_stripped() {
        let titles = [
            "Oil rises again - Dailybrief",
            "Gold falls again - Dailybrief",
            "Wheat steady again - Dailybrief",
        ];
        let entries: Vec<EntryText> = titles
            .iter()
            .map(|t| EntryText {
                title: t,
                text: "x",
            })
            .collect();
        let f = extract_document(&entries, Some("Dailybrief"));
        assert_eq!(f[0].title, extract("Oil rises again", "").title);
    }

    #[test]
    fn quotations_are_not_the_writers_narrative() {
        let f = extract(
            "Mayor speaks",
            "\"We will rebuild every home that was lost,\" the mayor told reporters on Tuesday.",
        );
        assert!(f.narrative.len() < f.shingles.len(), "{f:?}");
        assert!(!f.narrative.is_empty());
    }

    #[test]
    fn names_sentences_and_event_terms() {
        let f = extract(
            "Quake hits Chile",
            "A strong earthquake struck northern Chile on Monday, officials said. \
             Residents of Iquique fled to higher ground as sirens sounded across the city. \
             President Bachelet said there were no reports of major damage so far.",
        );
        assert!(f.names.contains(&hash32("chile")) && f.names.contains(&hash32("iquique")));
        assert!(!f.names.contains(&hash32("strong")));
        assert_eq!(f.sentences.len(), 3, "{:?}", f.sentences);
        let weight = |w: &str| {
            f.event_terms
                .iter()
                .find(|(k, _)| *k == hash32(w))
                .map(|(_, w)| *w)
        };
        // A headline name counts twice twice, then once more as a name of the lede.
        assert_eq!(
            weight("chile"),
            Some(EVENT_TITLE_BOOST * EVENT_ENTITY_BOOST + EVENT_ENTITY_BOOST)
        );
        assert_eq!(weight("residents"), Some(1.0));
        assert_eq!(
            f.title,
            sorted(vec![hash32("quake"), hash32("hits"), hash32("chile")])
        );
    }

    #[test]
    fn a_date_is_no_headline_and_a_long_title_stands_for_a_missing_text() {
        let f = extract(
            "Monday, 3 March",
            "Ferry strike ends\nDock workers went back to work.",
        );
        assert_eq!(
            f.title,
            sorted(vec![hash32("ferry"), hash32("strike"), hash32("ends")])
        );
        let long = "Rescue teams in northern Chile searched collapsed buildings through the night after the strongest earthquake in years left thousands of families sleeping outdoors near Iquique";
        let g = extract(long, "");
        assert!(!g.shingles.is_empty(), "the title is the text");
    }

    #[test]
    fn encoding_round_trips_and_rejects_garbage() {
        let f = extract(
            "Putin ready for ceasefire",
            "Putin is ready to negotiate a ceasefire, sources said 4 times. \"We want peace,\" he said.",
        );
        assert_eq!(Features::decode(&f.encode()), Some(f.clone()));
        assert_eq!(Features::decode(&[]), None);
        assert_eq!(Features::decode(&[FEATURES_VERSION, 1, 2]), None);
        let mut bad = f.encode();
        bad.truncate(bad.len() - 2);
        assert_eq!(Features::decode(&bad), None);
        let mut old = f.encode();
        old[0] = 1;
        assert_eq!(Features::decode(&old), None, "another version is not read");
    }
}
